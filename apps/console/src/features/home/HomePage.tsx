import { Badge, Card, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useSearch } from '@tanstack/react-router';
import { formatDateTime } from '../../lib/dates';
import { organizationsQuery } from '../../lib/organizations';
import { useMe } from '../../lib/session';
import { InvitationsSection } from '../me/InvitationsSection';

/** The first screen after signing in: the organizations the user belongs to. */
export function HomePage() {
  const me = useMe();
  const search = useSearch({ strict: false }) as { welcome?: string };
  const organizations = useQuery(organizationsQuery);
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
      <InvitationsSection />
    </Stack>
  );
}
