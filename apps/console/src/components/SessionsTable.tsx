import type { Session } from '@gatehouse/sdk/browser';
import { Badge, Button, Group, Table } from '@mantine/core';
import { formatDateTime } from '../lib/dates';

/**
 * Sessions as a table: device (the current one marked), address, last seen, signed in, and a
 * sign-out button on every other one. Used for one's own sessions (Personal settings) and for a
 * user's sessions on the support desk.
 */
export function SessionsTable(props: {
  sessions: Session[];
  label: string;
  /** the badge on the session the viewer is using */
  currentLabel: string;
  onRevoke: (sessionId: string) => void;
  revokingId: string | undefined;
  /** the sign-out button's accessible name for a session */
  revokeLabel: (session: Session) => string;
  buttonVariant?: 'subtle' | 'default';
}) {
  return (
    <Table.ScrollContainer minWidth={560} type="native" tabIndex={0}>
      <Table verticalSpacing="xs" aria-label={props.label}>
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
          {props.sessions.map((s) => (
            <Table.Tr key={s.id}>
              <Table.Td>
                <Group gap="xs">
                  {s.device}
                  {s.current ? <Badge size="sm">{props.currentLabel}</Badge> : null}
                </Group>
              </Table.Td>
              <Table.Td>{s.ip ?? '—'}</Table.Td>
              <Table.Td>{formatDateTime(s.last_seen_at)}</Table.Td>
              <Table.Td>{formatDateTime(s.created_at)}</Table.Td>
              <Table.Td>
                {s.current ? null : (
                  <Button
                    variant={props.buttonVariant ?? 'subtle'}
                    color={props.buttonVariant === 'default' ? undefined : 'red'}
                    size="xs"
                    onClick={() => props.onRevoke(s.id)}
                    loading={props.revokingId === s.id}
                    aria-label={props.revokeLabel(s)}
                    data-session-id={s.id}
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
  );
}
