import type { Member } from '@gatehouse/sdk/browser';
import { Anchor, Badge, Checkbox, Group, Table, Text, UnstyledButton } from '@mantine/core';
import { useRouter } from '@tanstack/react-router';
import type { MouseEvent } from 'react';
import { formatDateTime } from '../../../lib/dates';
import { loginMethodsInWords, memberName } from './members.list';

export type SortKey = 'name' | 'email' | 'joined';

/** The page's rows: select, name (links to the member's console), email, roles, status, dates. */
export function MembersTable({
  rows,
  selected,
  onSelect,
  sort,
  order,
  onSort,
  roleName,
  scopeName,
  selectable,
}: {
  rows: Member[];
  selected: ReadonlySet<string>;
  onSelect: (ids: string[], on: boolean) => void;
  sort: SortKey;
  order: 'asc' | 'desc';
  onSort: (key: SortKey) => void;
  roleName: (key: string) => string;
  scopeName: (scope: string) => string | undefined;
  selectable: boolean;
}) {
  const router = useRouter();
  const open = (e: MouseEvent<HTMLAnchorElement>, href: string) => {
    // A plain click stays in the console; a modified click opens a tab as links do.
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    router.history.push(href);
  };
  const allOn = rows.length > 0 && rows.every((r) => selected.has(r.user_id));
  const someOn = rows.some((r) => selected.has(r.user_id));
  const header = (key: SortKey, label: string) => (
    <Table.Th aria-sort={sort === key ? (order === 'asc' ? 'ascending' : 'descending') : undefined}>
      <UnstyledButton onClick={() => onSort(key)} fw={700} fz="sm">
        {label}
        <span aria-hidden="true">{sort === key ? (order === 'asc' ? ' ▲' : ' ▼') : ''}</span>
        <span className="visually-hidden">
          {sort === key
            ? `, sorted ${order === 'asc' ? 'ascending' : 'descending'}`
            : ', sort by this column'}
        </span>
      </UnstyledButton>
    </Table.Th>
  );
  return (
    <Table.ScrollContainer minWidth={760}>
      <Table verticalSpacing="xs" highlightOnHover aria-label="Members">
        <Table.Thead>
          <Table.Tr>
            {selectable ? (
              <Table.Th w={40}>
                <Checkbox
                  aria-label="Select every member on this page"
                  checked={allOn}
                  indeterminate={someOn && !allOn}
                  onChange={(e) =>
                    onSelect(
                      rows.map((r) => r.user_id),
                      e.currentTarget.checked,
                    )
                  }
                />
              </Table.Th>
            ) : null}
            {header('name', 'Name')}
            {header('email', 'Email')}
            <Table.Th>Roles</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Login method</Table.Th>
            {header('joined', 'Joined')}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((m) => {
            const href = `/members/${encodeURIComponent(m.user_id)}`;
            const roles = m.is_owner ? ['Owner'] : [];
            for (const g of m.grants) {
              const what = g.role ? roleName(g.role) : 'Chosen permissions';
              const where =
                g.scope_type === 'organization'
                  ? undefined
                  : (scopeName(g.scope) ??
                    (g.scope_type === 'account' ? 'an account' : 'a resource'));
              roles.push(where ? `${what} on ${where}` : what);
            }
            return (
              <Table.Tr key={m.user_id}>
                {selectable ? (
                  <Table.Td>
                    <Checkbox
                      aria-label={`Select ${memberName(m)}`}
                      checked={selected.has(m.user_id)}
                      onChange={(e) => onSelect([m.user_id], e.currentTarget.checked)}
                    />
                  </Table.Td>
                ) : null}
                <Table.Td>
                  <Anchor href={href} onClick={(e) => open(e, href)} fw={500}>
                    {memberName(m)}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Text size="sm" style={{ wordBreak: 'break-all' }}>
                    {m.email}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{roles.length ? roles.join(', ') : 'No role yet'}</Text>
                </Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {m.status === 'suspended' ? (
                      <Badge color="red.9">Suspended</Badge>
                    ) : m.user_status !== 'active' ? (
                      <Badge color="gray.7">
                        {m.user_status === 'deactivated' ? 'Deactivated' : 'Blocked'}
                      </Badge>
                    ) : (
                      <Badge color="teal.9">Active</Badge>
                    )}
                  </Group>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{loginMethodsInWords(m.login_methods)}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{formatDateTime(m.joined_at)}</Text>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
