import type { Role } from '@gatehouse/sdk/browser';
import { isGatehouseError } from '@gatehouse/sdk/browser';
import {
  Badge,
  Button,
  Card,
  Group,
  Loader,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { FormError } from '../../components/FormError';
import { api } from '../../lib/api';
import { useCurrentMembership } from '../../lib/membership';
import { RoleEditor } from './RoleEditor';
import { rolesKey, useRoles } from './roles.api';
import { TestPermission } from './TestPermission';

const LEVEL_WORDS: Record<string, string> = {
  organization: 'organization',
  account: 'account',
  resource: 'resource',
};

/** `*` and friends in words, so the read-only table explains the patterns it shows. */
function permissionLabel(p: string): string {
  if (p === '*') return 'everything';
  return p;
}

function RoleRow(props: { role: Role; onEdit?: () => void; onDelete?: () => void }) {
  const { role } = props;
  return (
    <Table.Tr>
      <Table.Td>
        <Text fw={600} size="sm">
          {role.name}
        </Text>
        <Text size="xs" c="dimmed">
          {role.key}
          {role.product ? ` · ${role.product} only` : ''}
        </Text>
      </Table.Td>
      <Table.Td>
        <Text size="sm">{role.description || '—'}</Text>
        <Text size="xs" c="dimmed">
          {role.grantable
            ? `Granted on: ${role.grantable_at.map((l) => LEVEL_WORDS[l] ?? l).join(', ')}`
            : 'Comes only from ownership'}
        </Text>
      </Table.Td>
      <Table.Td>
        <Group gap={4}>
          {role.permissions.map((p) => (
            <Badge key={p} size="sm" variant="light" tt="none">
              {permissionLabel(p)}
            </Badge>
          ))}
        </Group>
      </Table.Td>
      {props.onEdit || props.onDelete ? (
        <Table.Td>
          <Group gap={4} wrap="nowrap">
            <Button
              size="xs"
              variant="subtle"
              onClick={props.onEdit}
              aria-label={`Edit role ${role.name}`}
            >
              Edit
            </Button>
            <Button
              size="xs"
              variant="subtle"
              color="red"
              onClick={props.onDelete}
              aria-label={`Delete role ${role.name}`}
            >
              Delete
            </Button>
          </Group>
        </Table.Td>
      ) : null}
    </Table.Tr>
  );
}

function RolesTable(props: {
  label: string;
  roles: Role[];
  onEdit?: (r: Role) => void;
  onDelete?: (r: Role) => void;
}) {
  const editable = Boolean(props.onEdit);
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table verticalSpacing="xs" aria-label={props.label}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Role</Table.Th>
            <Table.Th>What it is for</Table.Th>
            <Table.Th>Permissions</Table.Th>
            {editable ? (
              <Table.Th>
                <span className="visually-hidden">Actions</span>
              </Table.Th>
            ) : null}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {props.roles.map((r) => (
            <RoleRow
              key={r.key}
              role={r}
              onEdit={props.onEdit ? () => props.onEdit?.(r) : undefined}
              onDelete={props.onDelete ? () => props.onDelete?.(r) : undefined}
            />
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** Deleting a role still granted asks which role its holders get instead. */
function DeleteRole(props: { orgId: string; role: Role; roles: Role[]; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [replacement, setReplacement] = useState<string | null>(null);
  const remove = useMutation({
    mutationFn: () =>
      api.roles.delete(
        props.orgId,
        props.role.key,
        replacement ? { replace_with: replacement } : undefined,
      ),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: rolesKey(props.orgId) });
      props.onClose();
    },
  });
  const inUse = isGatehouseError(remove.error, 'conflict');
  return (
    <Modal
      closeButtonProps={{ 'aria-label': 'Close' }}
      opened
      onClose={props.onClose}
      title={`Delete role ${props.role.name}?`}
      centered
    >
      <Stack gap="sm">
        <Text size="sm">
          Members and API keys holding this role lose what it gives. This cannot be undone.
        </Text>
        {inUse ? (
          <>
            <Text size="sm" role="alert">
              This role is still granted. Pick the role its holders get instead.
            </Text>
            <Select
              label="Replace with"
              data={props.roles
                .filter((r) => r.grantable && r.key !== props.role.key)
                .map((r) => ({ value: r.key, label: r.name }))}
              value={replacement}
              onChange={setReplacement}
            />
          </>
        ) : (
          <FormError error={remove.error} />
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={props.onClose}>
            Cancel
          </Button>
          <Button
            color="red"
            onClick={() => remove.mutate()}
            loading={remove.isPending}
            disabled={inUse && !replacement}
          >
            Delete role
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/**
 * Roles: the template's built-in roles with their permissions (read-only), the organization's
 * custom roles (create, edit, delete with roles:manage), and the "test permission" box.
 */
export function RolesPage() {
  const { organization, membership, permissions, isPending } = useCurrentMembership();
  const orgId = organization?.id;
  const roles = useRoles(orgId);
  const [editing, setEditing] = useState<Role | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Role | null>(null);
  if (isPending) return <Loader aria-label="Loading roles" />;
  if (!organization || !membership)
    return <Text>Roles belong to an organization. Choose or create one first.</Text>;
  const mayManage = permissions.has('roles:manage');
  const all = roles.data?.data ?? [];
  const builtIn = all.filter((r) => r.built_in);
  const custom = all.filter((r) => !r.built_in);
  return (
    <Stack gap="lg" maw={1100}>
      <Title order={1} size="h2">
        Roles
      </Title>
      <FormError error={roles.error} />
      <Card withBorder padding="lg">
        <Stack gap="sm">
          <Title order={2} size="h3">
            Roles of the {membership.organization.template} template
          </Title>
          <Text size="sm" c="dimmed">
            These come with the organization's template and cannot be changed.
          </Text>
          {roles.isPending ? (
            <Loader size="sm" aria-label="Loading roles" />
          ) : (
            <RolesTable label="Built-in roles" roles={builtIn} />
          )}
        </Stack>
      </Card>
      <Card withBorder padding="lg">
        <Stack gap="sm">
          <Group justify="space-between">
            <Title order={2} size="h3">
              Custom roles
            </Title>
            {mayManage ? (
              <Button onClick={() => setEditing('new')}>Create custom role</Button>
            ) : null}
          </Group>
          {custom.length === 0 ? (
            <Text size="sm">
              {mayManage
                ? 'No custom roles yet. Create one when the built-in roles do not fit.'
                : 'No custom roles yet.'}
            </Text>
          ) : (
            <RolesTable
              label="Custom roles"
              roles={custom}
              onEdit={mayManage ? setEditing : undefined}
              onDelete={mayManage ? setDeleting : undefined}
            />
          )}
        </Stack>
      </Card>
      <TestPermission
        orgId={organization.id}
        orgName={organization.name}
        myUserId={membership.user_id}
        mayAskAboutOthers={permissions.has('members:read')}
        roles={all}
      />
      {editing ? (
        <RoleEditor
          orgId={organization.id}
          role={editing === 'new' ? undefined : editing}
          held={permissions}
          onClose={() => setEditing(null)}
        />
      ) : null}
      {deleting ? (
        <DeleteRole
          orgId={organization.id}
          role={deleting}
          roles={all}
          onClose={() => setDeleting(null)}
        />
      ) : null}
    </Stack>
  );
}
