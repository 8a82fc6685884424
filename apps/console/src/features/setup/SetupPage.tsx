import { SetupBody } from '@gatehouse/contracts';
import { isGatehouseError } from '@gatehouse/sdk/browser';
import { zodResolver } from '@hookform/resolvers/zod';
import { Alert, Button, Group, PasswordInput, Stack, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { AuthCard } from '../../components/AuthCard';
import { FormError } from '../../components/FormError';
import { AnchorLink } from '../../components/links';
import { PasswordChecklist } from '../../components/PasswordChecklist';
import { api } from '../../lib/api';
import { fieldErrorsOf } from '../../lib/problems';

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
  const serverFailed = (setup.error as { problem?: { failed_rules?: string[] } } | null)?.problem
    ?.failed_rules;
  const serverFields = fieldErrorsOf(setup.error);
  const errors = form.formState.errors;

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
          <Group grow align="flex-start" wrap="wrap">
            <TextInput
              label="First name"
              autoComplete="given-name"
              required
              miw={140}
              {...form.register('first_name')}
              error={errors.first_name?.message ?? serverFields.first_name}
            />
            <TextInput
              label="Last name"
              autoComplete="family-name"
              required
              miw={140}
              {...form.register('last_name')}
              error={errors.last_name?.message ?? serverFields.last_name}
            />
          </Group>
          <TextInput
            label="Email"
            type="email"
            autoComplete="email"
            required
            {...form.register('email')}
            error={errors.email?.message ?? serverFields.email}
          />
          <PasswordInput
            label="Password"
            autoComplete="new-password"
            required
            aria-describedby="setup-password-rules"
            {...form.register('password')}
            error={errors.password ? 'The password does not meet every rule below' : undefined}
          />
          <div id="setup-password-rules">
            <PasswordChecklist
              password={form.watch('password')}
              email={form.watch('email')}
              serverFailed={serverFailed}
            />
          </div>
          <PasswordInput
            label="Confirm password"
            autoComplete="new-password"
            required
            {...form.register('confirm')}
            error={errors.confirm?.message}
          />
          <FormError error={setup.error} title="The administrator was not created" />
          <Button type="submit" loading={setup.isPending}>
            Create administrator
          </Button>
        </Stack>
      </form>
    </AuthCard>
  );
}
