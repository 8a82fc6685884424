import type { AdminUser } from '@gatehouse/sdk/browser';
import {
  Alert,
  Badge,
  Button,
  Group,
  Modal,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { FormError } from '../../components/FormError';
import { SessionsTable } from '../../components/SessionsTable';
import { useStepUp } from '../../components/StepUp';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';
import { useMe } from '../../lib/session';
import { adminKeys, useAdminUsers } from './admin.api';
import { PlatformAdminOnly } from './PlatformAdminOnly';

/**
 * Platform admin console, users across every customer: search as you type, suspend and
 * reactivate, and what a support desk needs — reset a user's second factors (they are mailed)
 * and see and sign out their sessions.
 */
export function UsersPage() {
  return (
    <PlatformAdminOnly>
      <Users />
    </PlatformAdminOnly>
  );
}

const nameOf = (u: AdminUser) => `${u.first_name} ${u.last_name}`.trim() || u.email;

function Users() {
  const queryClient = useQueryClient();
  const me = useMe();
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const [resetting, setResetting] = useState<AdminUser | null>(null);
  const [sessionsOf, setSessionsOf] = useState<AdminUser | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const users = useAdminUsers(debounced);
  const setStatus = useMutation({
    mutationFn: ({ id, to }: { id: string; to: 'suspend' | 'reactivate' }) =>
      to === 'suspend' ? api.admin.users.suspend(id) : api.admin.users.reactivate(id),
    onSuccess: (user) => {
      setNotice(
        `${nameOf(user)} is ${user.status === 'active' ? 'active again' : 'suspended and signed out everywhere'}.`,
      );
      return queryClient.invalidateQueries({ queryKey: adminKeys.users });
    },
  });
  const rows = users.data?.pages.flatMap((p) => p.data) ?? [];

  return (
    <Stack gap="md" maw={1200}>
      <Title order={1} size="h2">
        Users
      </Title>
      <Text size="sm" c="dimmed">
        Every user of the platform, whichever customers they belong to.
      </Text>
      {notice ? (
        <Alert
          color="teal"
          variant="light"
          role="status"
          withCloseButton
          closeButtonLabel="Dismiss"
          onClose={() => setNotice(null)}
        >
          {notice}
        </Alert>
      ) : null}
      <TextInput
        label="Search users"
        description="By email or name"
        value={search}
        onChange={(e) => setSearch(e.currentTarget.value)}
        maw={420}
      />
      <FormError error={users.error ?? setStatus.error} />
      <Table.ScrollContainer minWidth={860} type="native" tabIndex={0}>
        <Table verticalSpacing="xs" aria-label="Users">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Email</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Customers</Table.Th>
              <Table.Th>Last sign-in</Table.Th>
              <Table.Th>
                <span className="visually-hidden">Actions</span>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((u) => {
              const self = u.id === me.data?.id;
              const active = u.status === 'active';
              return (
                <Table.Tr key={u.id}>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      {nameOf(u)}
                      {u.is_platform_admin ? <Badge size="sm">Platform admin</Badge> : null}
                    </Group>
                  </Table.Td>
                  <Table.Td>{u.email}</Table.Td>
                  <Table.Td>
                    <Badge color={active ? 'teal.9' : 'red.9'}>
                      {active ? 'Active' : u.status === 'suspended' ? 'Suspended' : 'Deactivated'}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{u.organizations}</Table.Td>
                  <Table.Td>{u.last_login_at ? formatDateTime(u.last_login_at) : 'Never'}</Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      <Button
                        size="xs"
                        variant="subtle"
                        onClick={() => setSessionsOf(u)}
                        aria-label={`Sessions of ${u.email}`}
                      >
                        Sessions
                      </Button>
                      {self ? null : (
                        <>
                          <Button
                            size="xs"
                            variant="subtle"
                            onClick={() => setResetting(u)}
                            aria-label={`Reset second factors of ${u.email}`}
                          >
                            Reset second factors
                          </Button>
                          <Button
                            size="xs"
                            variant="default"
                            loading={setStatus.isPending && setStatus.variables?.id === u.id}
                            onClick={() =>
                              setStatus.mutate({ id: u.id, to: active ? 'suspend' : 'reactivate' })
                            }
                            aria-label={`${active ? 'Suspend' : 'Reactivate'} ${u.email}`}
                          >
                            {active ? 'Suspend' : 'Reactivate'}
                          </Button>
                        </>
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {users.isSuccess && rows.length === 0 ? (
        <Text role="status">{debounced ? `No user matches “${debounced}”.` : 'No users yet.'}</Text>
      ) : null}
      {users.hasNextPage ? (
        <Button
          variant="default"
          w="fit-content"
          onClick={() => users.fetchNextPage()}
          loading={users.isFetchingNextPage}
        >
          Show more users
        </Button>
      ) : null}
      {resetting ? (
        <ResetFactorsDialog
          user={resetting}
          onClose={() => setResetting(null)}
          onDone={(text) => {
            setResetting(null);
            setNotice(text);
          }}
        />
      ) : null}
      {sessionsOf ? <SessionsDialog user={sessionsOf} onClose={() => setSessionsOf(null)} /> : null}
    </Stack>
  );
}

/** Confirms the reset; the server asks for a recent sign-in (step-up) first when needed. */
function ResetFactorsDialog(props: {
  user: AdminUser;
  onClose: () => void;
  onDone: (notice: string) => void;
}) {
  const stepUp = useStepUp();
  const reset = useMutation({
    mutationFn: () => stepUp(() => api.admin.users.resetMfa(props.user.id)),
    onSuccess: (result) =>
      props.onDone(
        result.factors_removed + result.recovery_codes_removed === 0
          ? `${props.user.email} had no second factors; nothing was removed.`
          : `Removed ${result.factors_removed} second factor${result.factors_removed === 1 ? '' : 's'} and ${result.recovery_codes_removed} recovery code${result.recovery_codes_removed === 1 ? '' : 's'} of ${props.user.email}. They were mailed about it and now sign in with their password alone.`,
      ),
  });
  return (
    <Modal
      opened
      onClose={props.onClose}
      closeButtonProps={{ 'aria-label': 'Close' }}
      title="Reset second factors"
      centered
    >
      <Stack gap="sm">
        <Text size="sm">
          This removes every authenticator app, phone number and recovery code of{' '}
          <strong>{props.user.email}</strong>. Do it only once you are sure the request comes from
          them. They are mailed about it, their sessions keep working, and they sign in with their
          password alone until they set up a second factor again.
        </Text>
        <FormError
          error={
            reset.error instanceof Error && reset.error.message === 'cancelled' ? null : reset.error
          }
          title="Nothing was reset"
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={props.onClose}>
            Cancel
          </Button>
          <Button color="red" loading={reset.isPending} onClick={() => reset.mutate()}>
            Reset second factors
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** A user's active sessions; signing one out refuses it on its next request. */
function SessionsDialog(props: { user: AdminUser; onClose: () => void }) {
  const queryClient = useQueryClient();
  const key = adminKeys.sessions(props.user.id);
  const sessions = useQuery({
    queryKey: key,
    queryFn: () => api.admin.users.sessions(props.user.id, { limit: 100 }),
  });
  const revoke = useMutation({
    mutationFn: (sessionId: string) => api.admin.users.revokeSession(props.user.id, sessionId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: key }),
  });
  const rows = sessions.data?.data ?? [];
  return (
    <Modal
      opened
      onClose={props.onClose}
      closeButtonProps={{ 'aria-label': 'Close' }}
      title={`Sessions of ${props.user.email}`}
      size="xl"
      centered
    >
      <Stack gap="sm">
        <SessionsTable
          sessions={rows}
          label={`Sessions of ${props.user.email}`}
          currentLabel="Your session"
          onRevoke={(id) => revoke.mutate(id)}
          revokingId={revoke.isPending ? revoke.variables : undefined}
          revokeLabel={(s) =>
            `Sign out the session ${s.device}, signed in ${formatDateTime(s.created_at)}`
          }
          buttonVariant="default"
        />
        {sessions.isSuccess && rows.length === 0 ? (
          <Text role="status">{props.user.email} is signed in nowhere.</Text>
        ) : null}
        {revoke.isSuccess ? (
          <Text size="sm" c="teal.8" role="status">
            The session was signed out; it is refused from its next request on.
          </Text>
        ) : null}
        <FormError error={sessions.error ?? revoke.error} />
      </Stack>
    </Modal>
  );
}
