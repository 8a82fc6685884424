import { Button, Card, Group, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { FormError } from '../../components/FormError';
import { SessionsTable } from '../../components/SessionsTable';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';

/** Where the user is signed in: device, address, last seen; revoke one, or every other one. */
export function SessionsSection() {
  const queryClient = useQueryClient();
  const sessions = useQuery({
    queryKey: ['sessions'],
    queryFn: () => api.auth.sessions.list({ limit: 100 }),
  });
  const done = () => queryClient.invalidateQueries({ queryKey: ['sessions'] });
  const revoke = useMutation({
    mutationFn: (id: string) => api.auth.sessions.revoke(id),
    onSuccess: done,
  });
  const revokeOthers = useMutation({
    mutationFn: () => api.auth.sessions.revokeOthers(),
    onSuccess: done,
  });
  const rows = sessions.data?.data ?? [];
  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Group justify="space-between" wrap="wrap">
          <Title order={2} size="h3">
            Where you are signed in
          </Title>
          <Button
            variant="default"
            size="xs"
            onClick={() => revokeOthers.mutate()}
            loading={revokeOthers.isPending}
            disabled={rows.filter((s) => !s.current).length === 0}
          >
            Sign out everywhere else
          </Button>
        </Group>
        <SessionsTable
          sessions={rows}
          label="Sessions"
          currentLabel="This session"
          onRevoke={(id) => revoke.mutate(id)}
          revokingId={revoke.isPending ? revoke.variables : undefined}
          revokeLabel={(s) => `Sign out ${s.device}, last seen ${formatDateTime(s.last_seen_at)}`}
        />
        {revokeOthers.isSuccess ? (
          <Text size="sm" c="teal.8" role="status">
            Signed out {revokeOthers.data.revoked} other session
            {revokeOthers.data.revoked === 1 ? '' : 's'}.
          </Text>
        ) : null}
        <FormError error={revoke.error ?? revokeOthers.error ?? sessions.error} />
      </Stack>
    </Card>
  );
}
