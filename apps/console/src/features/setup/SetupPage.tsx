import { SetupBody } from '@gatehouse/contracts';
import { isGatehouseError } from '@gatehouse/sdk/browser';
import { zodResolver } from '@hookform/resolvers/zod';
import { Alert, Button, Stack } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { AuthCard } from '../../components/AuthCard';
import { FormError } from '../../components/FormError';
import { AnchorLink } from '../../components/links';
import { api } from '../../lib/api';
import { NewAccountFields } from '../auth/NewAccountFields';

const SetupForm = SetupBody.omit({ token: true })
  .extend({ confirm: z.string() })
  .refine((v) => v.password === v.confirm, {
    message: 'The passwords do not match',
    path: ['confirm'],
  });
type SetupValues = z.input<typeof SetupForm>;

/**
 * The first platform administrator, from the link `npm start` prints (`/setup?token=…`). The
 * form is sent as JSON by script (POST); it has method="post" so that even a broken script can
 * never put the password in a URL.
 */
export function SetupPage() {
  const search = useSearch({ strict: false }) as { token?: string };
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const form = useForm<SetupValues>({
    resolver: zodResolver(SetupForm),
    defaultValues: { email: '', first_name: '', last_name: '', password: '', confirm: '' },
  });
  const setup = useMutation({
    mutationFn: async ({ confirm: _c, ...values }: SetupValues) => {
      await api.request('POST', '/v1/setup', {
        body: { ...values, token: search.token ?? '' },
        auth: false,
      });
      await api.auth.login({ email: values.email, password: values.password, mode: 'cookie' });
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      await navigate({ to: '/' });
    },
  });
  const done = isGatehouseError(setup.error, 'setup_done');

  if (!search.token)
    return (
      <AuthCard title="Set up Gatehouse">
        <Alert color="yellow" variant="light">
          Open the setup link printed by the server when it started (it ends in
          <code> /setup?token=…</code>), or create the administrator from a shell with
          <code> npm run gatehouse -- create-admin</code>.
        </Alert>
      </AuthCard>
    );
  if (done)
    return (
      <AuthCard title="Gatehouse is set up">
        <Alert color="teal" variant="light">
          The platform already has an administrator.
        </Alert>
        <AnchorLink to="/sign-in">Sign in</AnchorLink>
      </AuthCard>
    );
  return (
    <AuthCard
      title="Create the platform administrator"
      subtitle="The first account of this Gatehouse. It can create customers and manage every user."
    >
      <form method="post" noValidate onSubmit={form.handleSubmit((values) => setup.mutate(values))}>
        <Stack gap="sm">
          <NewAccountFields form={form} error={setup.error} rulesId="setup-password-rules" />
          <FormError error={setup.error} title="The administrator was not created" />
          <Button type="submit" loading={setup.isPending}>
            Create administrator
          </Button>
        </Stack>
      </form>
    </AuthCard>
  );
}
