import type { MemberDetail } from '@gatehouse/sdk/browser';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Modal,
  SimpleGrid,
  Stack,
  Text,
  Title,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { api } from '../../../lib/api';
import { formatDateTime } from '../../../lib/dates';
import { useMe } from '../../../lib/session';
import { useGrantable } from '../invite/grantable';
import { refusalOf } from '../invite/words';
import { GrantsSection } from './GrantsSection';
import { LoginMethodsSection } from './LoginMethodsSection';
import { ManagedProfileSection } from './ManagedProfileSection';
import { invalidateMember, useMember } from './member.api';
import { PermissionsSection } from './PermissionsSection';

/**
 * The User Console (seed 004): who the member is (id, full name, email, created and modified,
 * last sign-in), their status with enable/disable, their grants per scope, what they can do at a
 * scope, their login type, and, for a user this organization manages alone, name, time zone and
 * email. Acts the signed-in person may not do are not offered; the server still judges each.
 */
export function MemberDetailPage() {
  const { userId } = useParams({ strict: false }) as { userId: string };
  const g = useGrantable();
  const member = useMember(g.orgId, userId);
  if (!g.orgId)
    return (
      <Text size="sm" c="dimmed">
        {g.isPending ? 'Loading…' : 'You are not in an organization right now.'}
      </Text>
    );
  if (member.error)
    return (
      <Stack gap="sm">
        <BackLink />
        <Alert color="red" variant="light" role="alert" title="This member could not be shown">
          {refusalOf(member.error)}
        </Alert>
      </Stack>
    );
  if (!member.data) return <Text size="sm">Loading…</Text>;
  return <MemberConsole member={member.data} orgId={g.orgId} />;
}

function BackLink() {
  return (
    <Anchor component={Link} to="/members" size="sm">
      ← All members
    </Anchor>
  );
}

function MemberConsole({ member, orgId }: { member: MemberDetail; orgId: string }) {
  const g = useGrantable();
  const me = useMe();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const self = me.data?.id === member.user_id;
  const mayUpdate = g.permissions.has('members:update');
  const mayRemove = g.permissions.has('members:remove') || g.isOwner;
  const fullName = `${member.first_name} ${member.last_name}`.trim();
  const suspended = member.status === 'suspended';

  const status = useMutation({
    mutationFn: () =>
      suspended
        ? api.members.reactivate(orgId, member.user_id)
        : api.members.suspend(orgId, member.user_id),
    onSuccess: () => invalidateMember(queryClient, orgId, member.user_id),
  });
  const remove = useMutation({
    mutationFn: () => api.members.remove(orgId, member.user_id),
    onSuccess: async () => {
      invalidateMember(queryClient, orgId, member.user_id);
      await navigate({ to: '/members' });
    },
  });

  return (
    <Stack gap="lg" maw={960}>
      <BackLink />
      <Group justify="space-between" align="flex-start" wrap="wrap">
        <Stack gap={4}>
          <Title order={1} size="h2">
            {fullName || member.email}
          </Title>
          <Group gap="xs">
            <Text size="sm" c="dimmed">
              {member.email}
            </Text>
            <Badge color={suspended ? 'red.9' : 'teal.9'} variant="filled">
              {suspended ? 'Disabled' : 'Active'}
            </Badge>
            {member.user_status !== 'active' ? (
              <Badge color="red.9" variant="outline">
                User {member.user_status} on the platform
              </Badge>
            ) : null}
            {member.is_owner ? <Badge variant="light">Owner</Badge> : null}
          </Group>
        </Stack>
        {!member.is_owner && !self ? (
          <Group gap="xs">
            {mayUpdate ? (
              <Button
                variant={suspended ? 'filled' : 'default'}
                color={suspended ? 'teal' : undefined}
                onClick={() => status.mutate()}
                loading={status.isPending}
              >
                {suspended ? 'Enable access' : 'Disable access'}
              </Button>
            ) : null}
            {mayRemove ? (
              <Button color="red" variant="light" onClick={() => setConfirmRemove(true)}>
                Delete user
              </Button>
            ) : null}
          </Group>
        ) : null}
      </Group>
      {status.error ? (
        <Alert color="red" variant="light" role="alert" title="The status was not changed">
          {refusalOf(status.error)}
        </Alert>
      ) : null}
      {status.isSuccess ? (
        <Text size="sm" c="teal.9" role="status">
          {suspended
            ? 'Access disabled: they can no longer reach this organization.'
            : 'Access enabled.'}
        </Text>
      ) : null}

      <Card withBorder padding="lg">
        <Stack gap="sm">
          <Title order={2} size="h3">
            Overview
          </Title>
          <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm" component="dl" m={0}>
            <Fact label="User ID" value={<code>{member.user_id}</code>} />
            <Fact label="Full name" value={fullName || '—'} />
            <Fact label="Email" value={member.email} />
            <Fact label="Time zone" value={member.timezone ?? 'Not set'} />
            <Fact label="Created" value={formatDateTime(member.created_at)} />
            <Fact label="Last modified" value={formatDateTime(member.updated_at)} />
            <Fact label="Joined this organization" value={formatDateTime(member.joined_at)} />
            <Fact
              label="Last sign-in"
              value={member.last_login_at ? formatDateTime(member.last_login_at) : 'Never'}
            />
          </SimpleGrid>
          {member.managed_by_organization ? null : (
            <Text size="sm" c="dimmed">
              Name, email and time zone are the person’s own: they change them in their Personal
              Settings.
            </Text>
          )}
        </Stack>
      </Card>

      {member.managed_by_organization && mayUpdate ? (
        <ManagedProfileSection member={member} orgId={orgId} />
      ) : null}
      <GrantsSection member={member} orgId={orgId} />
      <PermissionsSection member={member} orgId={orgId} />
      <LoginMethodsSection member={member} orgId={orgId} mayUpdate={mayUpdate} />

      <Modal
        opened={confirmRemove}
        onClose={() => setConfirmRemove(false)}
        title={`Delete ${fullName || member.email} from ${g.organization?.name ?? 'the organization'}?`}
        centered
        closeButtonProps={{ 'aria-label': 'Close' }}
      >
        <Stack gap="sm">
          <Text size="sm">
            Their membership and every grant in this organization end now. The audit log keeps what
            they did. Their user and other organizations are not touched.
          </Text>
          {remove.error ? (
            <Alert color="red" variant="light" role="alert" title="Not deleted">
              {refusalOf(remove.error)}
            </Alert>
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirmRemove(false)}>
              Cancel
            </Button>
            <Button color="red" onClick={() => remove.mutate()} loading={remove.isPending}>
              Delete
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

function Fact({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <div>
      <Text component="dt" size="xs" c="dimmed" fw={500}>
        {label}
      </Text>
      <Text component="dd" size="sm" m={0} style={{ wordBreak: 'break-word' }}>
        {value}
      </Text>
    </div>
  );
}
