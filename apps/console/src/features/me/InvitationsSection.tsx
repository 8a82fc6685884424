import { Button, Card, Group, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { FormError } from '../../components/FormError';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';

export const myInvitationsQuery = {
  queryKey: ['my-invitations'],
  queryFn: () => api.invitations.mine(),
};

/** Invitations to my verified address: who invites, to what; accept or decline right here. */
export function InvitationsSection({ emptyText }: { emptyText?: string }) {
  const queryClient = useQueryClient();
  const invitations = useQuery(myInvitationsQuery);
  const done = () => queryClient.invalidateQueries();
  const accept = useMutation({
    mutationFn: (id: string) => api.invitations.acceptMine(id),
    onSuccess: done,
  });
  const reject = useMutation({
    mutationFn: (id: string) => api.invitations.rejectMine(id),
    onSuccess: done,
  });
  const rows = invitations.data?.data ?? [];
  if (!rows.length && !emptyText) return null;
  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Title order={2} size="h3">
          Invitations for you
        </Title>
        {rows.length === 0 ? <Text size="sm">{emptyText}</Text> : null}
        {rows.map((inv) => (
          <Group key={inv.id} justify="space-between" wrap="wrap" gap="xs">
            <div>
              <Text>
                <strong>{inv.inviter.name}</strong> invited you to{' '}
                <strong>{inv.organization.name}</strong>
              </Text>
              <Text size="sm" c="dimmed">
                {inv.grants.join(' · ') || 'No role yet'} · valid until{' '}
                {formatDateTime(inv.expires_at)}
              </Text>
            </div>
            <Group gap="xs">
              <Button
                size="xs"
                onClick={() => accept.mutate(inv.id)}
                loading={accept.isPending && accept.variables === inv.id}
                aria-label={`Accept the invitation to ${inv.organization.name}`}
              >
                Accept
              </Button>
              <Button
                size="xs"
                variant="default"
                onClick={() => reject.mutate(inv.id)}
                loading={reject.isPending && reject.variables === inv.id}
                aria-label={`Decline the invitation to ${inv.organization.name}`}
              >
                Decline
              </Button>
            </Group>
          </Group>
        ))}
        <FormError error={accept.error ?? reject.error} title="The invitation was not answered" />
      </Stack>
    </Card>
  );
}
