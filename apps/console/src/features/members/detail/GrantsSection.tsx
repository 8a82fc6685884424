import type { MemberDetail } from '@gatehouse/sdk/browser';
import { Alert, Button, Card, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../../lib/api';
import { formatDateTime } from '../../../lib/dates';
import { roleFitsScope, useGrantable } from '../invite/grantable';
import { refusalOf } from '../invite/words';
import { invalidateMember, toGrantInput } from './member.api';
import { scopeChoices, scopeName } from './scopes';

/**
 * Grants per scope: change a grant's role ("edit role"), remove it, add one. Only roles the
 * signed-in person may give, at scopes where they may, are offered.
 */
export function GrantsSection({ member, orgId }: { member: MemberDetail; orgId: string }) {
  const g = useGrantable();
  const queryClient = useQueryClient();
  const org = g.organization;
  const mayChange = g.permissions.has('members:update') && !member.is_owner;
  const [newRole, setNewRole] = useState<string | null>(null);
  const [newScope, setNewScope] = useState<string | null>(null);
  const done = () => invalidateMember(queryClient, orgId, member.user_id);

  const changeRole = useMutation({
    mutationFn: ({ grantId, role }: { grantId: string; role: string }) =>
      api.members.grants.replace(
        orgId,
        member.user_id,
        member.grants.map((x) => (x.id === grantId ? { role, scope: x.scope } : toGrantInput(x))),
      ),
    onSuccess: done,
  });
  const removeGrant = useMutation({
    mutationFn: (grantId: string) => api.members.grants.remove(orgId, member.user_id, grantId),
    onSuccess: done,
  });
  const addGrant = useMutation({
    mutationFn: () =>
      api.members.grants.add(orgId, member.user_id, [{ role: newRole!, scope: newScope! }]),
    onSuccess: () => {
      setNewRole(null);
      setNewScope(null);
      done();
    },
  });
  const error = changeRole.error ?? removeGrant.error ?? addGrant.error;
  const roleName = (key: string | null) => (key ? (g.roleByKey.get(key)?.name ?? key) : null);
  const chosen = newRole ? g.roleByKey.get(newRole) : undefined;
  const scopes = org
    ? scopeChoices(org, g.tree.tree).filter(
        (s) => g.mayInviteAt(s.value) && (!chosen || roleFitsScope(chosen, s.value, g.tree.tree)),
      )
    : [];

  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Title order={2} size="h3">
          Roles and access
        </Title>
        {member.is_owner ? (
          <Text size="sm">Owner of the organization: every permission everywhere in it.</Text>
        ) : null}
        {member.grants.length === 0 ? (
          <Text size="sm" c="dimmed">
            No roles given in this organization{member.is_owner ? ' (none needed)' : ''}.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={520}>
            <Table aria-label="Grants" verticalSpacing="xs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Role</Table.Th>
                  <Table.Th>Where</Table.Th>
                  <Table.Th>Given</Table.Th>
                  <Table.Th>
                    <span className="visually-hidden">Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {member.grants.map((grant) => {
                  const where = scopeName(grant.scope, org, g.tree.names);
                  const editable = mayChange && g.mayInviteAt(grant.scope);
                  const choices = g.offeredRoles
                    .filter((r) => roleFitsScope(r, grant.scope, g.tree.tree))
                    .map((r) => ({ value: r.key, label: r.name }));
                  if (grant.role && !choices.some((c) => c.value === grant.role))
                    choices.unshift({ value: grant.role, label: roleName(grant.role)! });
                  return (
                    <Table.Tr key={grant.id}>
                      <Table.Td>
                        {grant.role ? (
                          editable ? (
                            <Select
                              aria-label={`Role on ${where}`}
                              data={choices}
                              value={grant.role}
                              allowDeselect={false}
                              onChange={(v) =>
                                v &&
                                v !== grant.role &&
                                changeRole.mutate({ grantId: grant.id, role: v })
                              }
                              size="xs"
                              w={200}
                            />
                          ) : (
                            roleName(grant.role)
                          )
                        ) : (
                          <Text size="sm">Permissions: {(grant.permissions ?? []).join(', ')}</Text>
                        )}
                      </Table.Td>
                      <Table.Td>{where}</Table.Td>
                      <Table.Td>{formatDateTime(grant.created_at)}</Table.Td>
                      <Table.Td>
                        {editable ? (
                          <Button
                            variant="subtle"
                            color="red"
                            size="xs"
                            onClick={() => removeGrant.mutate(grant.id)}
                            loading={removeGrant.isPending && removeGrant.variables === grant.id}
                            aria-label={`Remove ${roleName(grant.role) ?? 'permissions'} on ${where}`}
                          >
                            Remove
                          </Button>
                        ) : null}
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {changeRole.isSuccess || removeGrant.isSuccess || addGrant.isSuccess ? (
          <Text size="sm" c="teal.9" role="status">
            Roles saved.
          </Text>
        ) : null}
        {error ? (
          <Alert color="red" variant="light" role="alert" title="The roles were not changed">
            {refusalOf(error)}
          </Alert>
        ) : null}
        {mayChange && g.offeredRoles.length > 0 ? (
          <form
            method="post"
            onSubmit={(e) => {
              e.preventDefault();
              if (newRole && newScope) addGrant.mutate();
            }}
          >
            <Group align="flex-end" wrap="wrap" gap="sm">
              <Select
                label="Add a role"
                placeholder="Choose a role"
                data={g.offeredRoles.map((r) => ({ value: r.key, label: r.name }))}
                value={newRole}
                onChange={(v) => {
                  setNewRole(v);
                  setNewScope(null);
                }}
                w={220}
              />
              <Select
                label="Where"
                placeholder="Choose where"
                data={scopes}
                value={newScope}
                onChange={setNewScope}
                searchable
                nothingFoundMessage="Nowhere this role can be given"
                w={280}
              />
              <Button type="submit" disabled={!newRole || !newScope} loading={addGrant.isPending}>
                Add
              </Button>
            </Group>
          </form>
        ) : null}
      </Stack>
    </Card>
  );
}
