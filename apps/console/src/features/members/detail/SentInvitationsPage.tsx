import type { Invitation } from '@gatehouse/sdk/browser';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  Select,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { api } from '../../../lib/api';
import { formatDateTime } from '../../../lib/dates';
import { useGrantable } from '../invite/grantable';
import { InviteButton } from '../invite/InviteButton';
import { refusalOf } from '../invite/words';
import { scopeName } from './scopes';

const STATUS_COLOURS: Record<string, string> = {
  pending: 'blue.8',
  accepted: 'teal.9',
  rejected: 'red.9',
  revoked: 'gray.7',
  expired: 'gray.7',
};
const STATUS_WORDS: Record<string, string> = {
  pending: 'Pending',
  accepted: 'Accepted',
  rejected: 'Declined',
  revoked: 'Revoked',
  expired: 'Expired',
};

/** The organization's sent invitations: status, what they offer; resend or revoke a pending one. */
export function SentInvitationsPage() {
  const g = useGrantable();
  const orgId = g.orgId;
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<string>('all');
  const list = useInfiniteQuery({
    queryKey: ['invitations', orgId, status],
    queryFn: ({ pageParam }) =>
      api.invitations.list(orgId!, {
        limit: 50,
        ...(pageParam ? { cursor: pageParam } : {}),
        ...(status !== 'all' ? { status: status as Invitation['status'] } : {}),
      }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: Boolean(orgId),
  });
  const done = () => void queryClient.invalidateQueries({ queryKey: ['invitations'] });
  const resend = useMutation({
    mutationFn: (id: string) => api.invitations.resend(orgId!, id),
    onSuccess: done,
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.invitations.revoke(orgId!, id),
    onSuccess: done,
  });
  const rows = list.data?.pages.flatMap((p) => p.data) ?? [];
  const error = resend.error ?? revoke.error;
  const grantWords = (inv: Invitation) =>
    inv.grants
      .map((gr) => {
        const role =
          typeof gr.role === 'string' ? (g.roleByKey.get(gr.role)?.name ?? gr.role) : null;
        const where = scopeName(String(gr.scope), g.organization, g.tree.names);
        return `${role ?? 'Permissions'} on ${where}`;
      })
      .join('; ');

  return (
    <Stack gap="md" maw={1100}>
      <Anchor component={Link} to="/members" size="sm">
        ← All members
      </Anchor>
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h2">
          Invitations sent
        </Title>
        <InviteButton />
      </Group>
      <Select
        label="Status"
        data={[
          { value: 'all', label: 'All' },
          ...Object.entries(STATUS_WORDS).map(([value, label]) => ({ value, label })),
        ]}
        value={status}
        onChange={(v) => setStatus(v ?? 'all')}
        allowDeselect={false}
        w={200}
      />
      {list.error ? (
        <Alert color="red" variant="light" role="alert" title="The invitations could not be shown">
          {refusalOf(list.error)}
        </Alert>
      ) : null}
      {error ? (
        <Alert color="red" variant="light" role="alert" title="That did not work">
          {refusalOf(error)}
        </Alert>
      ) : null}
      {resend.isSuccess ? (
        <Text size="sm" c="teal.9" role="status">
          Sent again to {resend.data.email}; the earlier link no longer works.
        </Text>
      ) : null}
      {revoke.isSuccess ? (
        <Text size="sm" c="teal.9" role="status">
          The invitation to {revoke.data.email} was revoked.
        </Text>
      ) : null}
      {list.isPending ? (
        <Text size="sm">Loading…</Text>
      ) : rows.length === 0 ? (
        <Text size="sm" c="dimmed">
          {status === 'all'
            ? 'No invitations sent yet. Invite someone with the button above.'
            : `No ${STATUS_WORDS[status]?.toLowerCase()} invitations.`}
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={760}>
          <Table aria-label="Invitations sent" verticalSpacing="xs" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Email</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Offers</Table.Th>
                <Table.Th>Sent</Table.Th>
                <Table.Th>Expires</Table.Th>
                <Table.Th>
                  <span className="visually-hidden">Actions</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((inv) => (
                <Table.Tr key={inv.id}>
                  <Table.Td style={{ wordBreak: 'break-all' }}>{inv.email}</Table.Td>
                  <Table.Td>
                    <Badge color={STATUS_COLOURS[inv.status] ?? 'gray.7'} variant="filled">
                      {STATUS_WORDS[inv.status] ?? inv.status}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">
                      {inv.offers_ownership ? 'Ownership of the organization. ' : ''}
                      {grantWords(inv) || (inv.offers_ownership ? '' : 'Membership only')}
                    </Text>
                  </Table.Td>
                  <Table.Td>{formatDateTime(inv.created_at)}</Table.Td>
                  <Table.Td>{formatDateTime(inv.expires_at)}</Table.Td>
                  <Table.Td>
                    {inv.status === 'pending' || inv.status === 'expired' ? (
                      <Group gap={4} wrap="nowrap">
                        <Button
                          size="xs"
                          variant="subtle"
                          onClick={() => resend.mutate(inv.id)}
                          loading={resend.isPending && resend.variables === inv.id}
                          aria-label={`Resend the invitation to ${inv.email}`}
                        >
                          Resend
                        </Button>
                        {inv.status === 'pending' ? (
                          <Button
                            size="xs"
                            variant="subtle"
                            color="red"
                            onClick={() => revoke.mutate(inv.id)}
                            loading={revoke.isPending && revoke.variables === inv.id}
                            aria-label={`Revoke the invitation to ${inv.email}`}
                          >
                            Revoke
                          </Button>
                        ) : null}
                      </Group>
                    ) : null}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {list.hasNextPage ? (
        <Button
          variant="default"
          w="fit-content"
          onClick={() => list.fetchNextPage()}
          loading={list.isFetchingNextPage}
        >
          Show more
        </Button>
      ) : null}
    </Stack>
  );
}
