import type { Role } from '@gatehouse/sdk/browser';
import {
  Button,
  Checkbox,
  Fieldset,
  Group,
  Modal,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { FormError } from '../../components/FormError';
import { api } from '../../lib/api';
import { fieldErrorsOf } from '../../lib/problems';
import { groupPermissions, rolesKey, usePermissionCatalog } from './roles.api';

const LEVELS = [
  { value: 'organization', label: 'Whole organization' },
  { value: 'account', label: 'One account' },
  { value: 'resource', label: 'One resource' },
] as const;

/** "Video assets" from `video.assets:create`'s area, for the picker's row label. */
const keyFrom = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 63);

/**
 * Create or edit a custom role: name, description, where it may be granted, and its
 * permissions picked from the catalog grouped by product. Only what the editor holds is
 * offered (the server refuses an escalation anyway, and that refusal is shown).
 */
export function RoleEditor(props: {
  orgId: string;
  /** the role being edited; absent: a new one */
  role?: Role;
  /** what the signed-in member holds (nothing else is offered) */
  held: ReadonlySet<string>;
  onClose: () => void;
}) {
  const { role, orgId } = props;
  const queryClient = useQueryClient();
  const catalog = usePermissionCatalog();
  const [name, setName] = useState(role?.name ?? '');
  const [key, setKey] = useState(role?.key ?? '');
  const [keyTouched, setKeyTouched] = useState(false);
  const [description, setDescription] = useState(role?.description ?? '');
  const [levels, setLevels] = useState<string[]>(
    role?.grantable_at ?? ['organization', 'account', 'resource'],
  );
  const [picked, setPicked] = useState<Set<string>>(new Set(role?.permissions ?? []));
  const [localError, setLocalError] = useState<string | null>(null);

  const save = useMutation({
    mutationFn: async () => {
      const permissions = [...picked].sort();
      const grantable_at = levels as ('organization' | 'account' | 'resource')[];
      return role
        ? api.roles.update(orgId, role.key, { name, description, permissions, grantable_at })
        : api.roles.create(orgId, { key, name, description, permissions, grantable_at });
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: rolesKey(orgId) });
      props.onClose();
    },
  });
  const fieldErrors = fieldErrorsOf(save.error);
  const groups = groupPermissions(catalog.data);
  const toggle = (permission: string, on: boolean) =>
    setPicked((prev) => {
      const next = new Set(prev);
      if (on) next.add(permission);
      else next.delete(permission);
      return next;
    });

  return (
    <Modal
      closeButtonProps={{ 'aria-label': 'Close' }}
      opened
      onClose={props.onClose}
      title={role ? `Edit role ${role.name}` : 'New custom role'}
      size="xl"
      centered
    >
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          if (!name.trim()) return setLocalError('Give the role a name.');
          if (picked.size === 0) return setLocalError('Pick at least one permission.');
          if (levels.length === 0) return setLocalError('Pick where the role may be granted.');
          setLocalError(null);
          save.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label="Role name"
            required
            value={name}
            onChange={(e) => {
              setName(e.currentTarget.value);
              if (!role && !keyTouched) setKey(keyFrom(e.currentTarget.value));
            }}
            error={fieldErrors.name}
          />
          {role ? null : (
            <TextInput
              label="Key"
              description="Used by the API and in grants; lowercase letters, digits, - and _. It cannot change later."
              required
              value={key}
              onChange={(e) => {
                setKeyTouched(true);
                setKey(e.currentTarget.value);
              }}
              error={fieldErrors.key}
            />
          )}
          <Textarea
            label="Description"
            value={description}
            onChange={(e) => setDescription(e.currentTarget.value)}
            autosize
            minRows={2}
            error={fieldErrors.description}
          />
          <Checkbox.Group
            label="May be granted on"
            value={levels}
            onChange={setLevels}
            error={fieldErrors.grantable_at}
          >
            <Group gap="md" mt={4}>
              {LEVELS.map((l) => (
                <Checkbox key={l.value} value={l.value} label={l.label} />
              ))}
            </Group>
          </Checkbox.Group>
          <Text fw={600} size="sm">
            Permissions ({picked.size} picked)
          </Text>
          {groups.map((group) => {
            const offered = group.permissions.filter(
              (p) => props.held.has(p.name) || picked.has(p.name),
            );
            if (offered.length === 0) return null;
            const all = offered.every((p) => picked.has(p.name));
            const some = offered.some((p) => picked.has(p.name));
            return (
              <Fieldset key={group.key} legend={group.name} variant="filled">
                <Stack gap={6}>
                  <Text size="xs" c="dimmed">
                    {group.description}
                  </Text>
                  <Checkbox
                    label={`Every ${group.name.toLowerCase()} permission`}
                    checked={all}
                    indeterminate={some && !all}
                    onChange={(e) => {
                      const on = e.currentTarget.checked;
                      setPicked((prev) => {
                        const next = new Set(prev);
                        for (const p of offered) {
                          if (on) next.add(p.name);
                          else next.delete(p.name);
                        }
                        return next;
                      });
                    }}
                  />
                  <SimpleGrid cols={{ base: 1, sm: 2 }} spacing={6} verticalSpacing={6}>
                    {offered.map((p) => (
                      <Checkbox
                        key={p.name}
                        label={p.name}
                        description={p.description}
                        checked={picked.has(p.name)}
                        onChange={(e) => toggle(p.name, e.currentTarget.checked)}
                      />
                    ))}
                  </SimpleGrid>
                </Stack>
              </Fieldset>
            );
          })}
          {localError ? (
            <Text c="red.8" size="sm" role="alert">
              {localError}
            </Text>
          ) : null}
          <FormError error={save.error ?? catalog.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              {role ? 'Save role' : 'Create role'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
