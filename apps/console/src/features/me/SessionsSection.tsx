import { Badge, Button, Card, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { FormError } from '../../components/FormError';
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
        <Table.ScrollContainer minWidth={560}>
          <Table verticalSpacing="xs" aria-label="Sessions">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Device</Table.Th>
                <Table.Th>Address</Table.Th>
                <Table.Th>Last seen</Table.Th>
                <Table.Th>Signed in</Table.Th>
                <Table.Th>
                  <span className="visually-hidden">Action</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((s) => (
                <Table.Tr key={s.id}>
                  <Table.Td>
                    <Group gap="xs">
                      {s.device}
                      {s.current ? <Badge size="sm">This session</Badge> : null}
                    </Group>
                  </Table.Td>
                  <Table.Td>{s.ip ?? '—'}</Table.Td>
                  <Table.Td>{formatDateTime(s.last_seen_at)}</Table.Td>
                  <Table.Td>{formatDateTime(s.created_at)}</Table.Td>
                  <Table.Td>
                    {s.current ? null : (
                      <Button
                        variant="subtle"
                        color="red"
                        size="xs"
                        onClick={() => revoke.mutate(s.id)}
                        loading={revoke.isPending && revoke.variables === s.id}
                        aria-label={`Sign out ${s.device}, last seen ${formatDateTime(s.last_seen_at)}`}
                      >
                        Sign out
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
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
