import { Stack, Text } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { AuthCard } from '../../components/AuthCard';
import { AnchorLink } from '../../components/links';
import { api } from '../../lib/api';
import { LinkInvalidCard } from './LinkInvalidPage';
import { NewPasswordFields } from './NewPasswordFields';

/** The page the "set your password" mail links to (a user added directly, or a new customer's owner). */
export function SetPasswordPage() {
  const search = useSearch({ strict: false }) as { token?: string };
  const navigate = useNavigate();
  const set = useMutation({
    mutationFn: (password: string) =>
      api.auth.password.reset({ reset_token: search.token ?? '', password }),
    onSuccess: () =>
      navigate({
        to: '/sign-in',
        search: { notice: 'Your password is set. Sign in with it now.' },
      }),
  });
  if (!search.token) return <LinkInvalidCard />;
  const linkDead = set.error && (set.error as { code?: string }).code === 'invalid_token';
  if (linkDead) return <LinkInvalidCard />;
  return (
    <AuthCard
      title="Set your password"
      subtitle="You were added to an organization on Gatehouse. Choose a password to sign in."
      footer={<AnchorLink to="/sign-in">Back to sign in</AnchorLink>}
    >
      <Stack gap="sm">
        <NewPasswordFields
          submitLabel="Set password"
          pending={set.isPending}
          error={set.error}
          errorTitle="The password was not set"
          onSubmit={(password) => set.mutate(password)}
        />
        <Text size="xs" c="dimmed">
          The link in your email is valid for 7 days and works once.
        </Text>
      </Stack>
    </AuthCard>
  );
}
