import { Badge, Card, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useSearch } from '@tanstack/react-router';
import { organizationsQuery } from '../../components/ConsoleLayout';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';
import { useMe } from '../../lib/session';

/** The first screen after signing in: the organizations the user belongs to. */
export function HomePage() {
  const me = useMe();
  const search = useSearch({ strict: false }) as { welcome?: string };
  const organizations = useQuery(organizationsQuery);
  const invitations = useQuery({
    queryKey: ['my-invitations'],
    queryFn: () => api.me.invitations(),
  });
  return (
    <Stack gap="lg" maw={960}>
      <div>
        <Title order={1} size="h2">
          Welcome{me.data ? `, ${me.data.first_name}` : ''}
        </Title>
        {search.welcome ? (
          <Text c="teal.8" role="status">
            You joined {search.welcome}.
          </Text>
        ) : null}
      </div>
      <Card withBorder>
        <Title order={2} size="h4" mb="sm">
          Your organizations
        </Title>
        {organizations.data?.data.length ? (
          <Table.ScrollContainer minWidth={420}>
            <Table verticalSpacing="xs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Your part</Table.Th>
                  <Table.Th>Created</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {organizations.data.data.map((org) => (
                  <Table.Tr key={org.id}>
                    <Table.Td>
                      <Group gap="xs">
                        {org.name}
                        {org.current ? <Badge size="sm">Current</Badge> : null}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      {org.is_owner ? 'Owner' : 'Member'}
                      {org.membership_status === 'suspended' ? ' (suspended)' : ''}
                    </Table.Td>
                    <Table.Td>{formatDateTime(org.created_at)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        ) : (
          <Text c="dimmed">
            You do not belong to any organization yet. When someone invites you, the invitation
            appears here and in your email.
          </Text>
        )}
      </Card>
      {invitations.data?.data.length ? (
        <Card withBorder>
          <Title order={2} size="h4" mb="sm">
            Invitations waiting for you
          </Title>
          <Stack gap="xs">
            {invitations.data.data.map((inv) => (
              <Text key={inv.id} size="sm">
                {inv.inviter.name} invited you to <strong>{inv.organization.name}</strong> (
                {inv.grants.join(', ')}). Open the link in the invitation email to answer it.
              </Text>
            ))}
          </Stack>
        </Card>
      ) : null}
    </Stack>
  );
}
