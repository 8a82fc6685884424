import type { ApiKey, CreatedApiKey } from '@gatehouse/sdk/browser';
import {
  Button,
  Card,
  Checkbox,
  Code,
  CopyButton,
  Group,
  Loader,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { FormError } from '../../components/FormError';
import { useStepUp } from '../../components/StepUp';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';
import { useCurrentMembership } from '../../lib/membership';
import { useMe } from '../../lib/session';
import { apiKeysKey, useApiKeys, useMemberNames, useRoles } from './api-keys.api';

type GrantChoice = { role: string; scope: string } | { permissions: string[]; scope: string };

const expiryChoices = [
  { value: 'never', label: 'Never' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In one year' },
];

const grantKey = (g: GrantChoice) =>
  'role' in g ? `role:${g.role}@${g.scope}` : `perms:${g.permissions.join(',')}@${g.scope}`;

/** Names for scopes: the organization itself, or its accounts by name. */
function useScopeNames(orgId: string | undefined, orgName: string | undefined) {
  const accounts = useQuery({
    queryKey: ['accounts', orgId, 'names'],
    queryFn: () => api.accounts.list(orgId!, { limit: 100 }),
    enabled: Boolean(orgId),
  });
  return (scope: string) => {
    if (scope === orgId) return `the whole organization${orgName ? ` (${orgName})` : ''}`;
    const account = accounts.data?.data.find((a) => a.id === scope);
    return account ? `account ${account.name}` : scope;
  };
}

/**
 * API keys (issue 12 #6): the organization's keys with their grants, who made them and when they
 * were last used; a new key carries at most what its creator holds (only that is offered), and
 * its secret is shown this once.
 */
export function ApiKeysPage() {
  const { organization, membership, permissions, isPending } = useCurrentMembership();
  const orgId = organization?.id;
  const me = useMe();
  const keys = useApiKeys(orgId);
  const roles = useRoles(orgId);
  const names = useMemberNames(orgId, permissions.has('members:read'));
  const scopeName = useScopeNames(orgId, organization?.name);
  const queryClient = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const canManage = permissions.has('api_keys:manage');

  const roleName = (key: string) => roles.data?.data.find((r) => r.key === key)?.name ?? key;
  const describeGrant = (g: Record<string, unknown>) => {
    const scope = scopeName(String(g.scope ?? ''));
    if (typeof g.role === 'string') return `${roleName(g.role)} on ${scope}`;
    const perms = Array.isArray(g.permissions) ? g.permissions.join(', ') : '';
    return `${perms} on ${scope}`;
  };
  const creatorName = (id: string) =>
    id === me.data?.id ? 'You' : (names.get(id) ?? `Member ${id.slice(-6)}`);

  // What the creator may put on a key: each grant they hold, and for the owner every grantable
  // role at the organization (the owner holds everything there).
  const choices: GrantChoice[] = [];
  const seen = new Set<string>();
  const add = (g: GrantChoice) => {
    if (!seen.has(grantKey(g))) {
      seen.add(grantKey(g));
      choices.push(g);
    }
  };
  if (membership?.is_owner && orgId)
    for (const r of roles.data?.data ?? [])
      if (r.grantable && r.grantable_at.includes('organization'))
        add({ role: r.key, scope: orgId });
  for (const g of membership?.grants ?? [])
    if (g.role) add({ role: g.role, scope: g.scope });
    else if (g.permissions?.length) add({ permissions: g.permissions, scope: g.scope });

  const revoke = useMutation({
    mutationFn: (id: string) => api.apiKeys.revoke(orgId!, id),
    onSuccess: () => {
      setRevoking(null);
      return queryClient.invalidateQueries({ queryKey: apiKeysKey(orgId) });
    },
  });

  if (isPending || !organization) return <Loader aria-label="Loading API keys" />;
  const rows = keys.data?.data ?? [];
  return (
    <Stack gap="lg" maw={1100}>
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h2">
          API keys
        </Title>
        {canManage ? <Button onClick={() => setCreating(true)}>Create API key</Button> : null}
      </Group>
      <Text c="dimmed" maw={720}>
        Programs use an API key to act on {organization.name} without a person signing in. A key can
        do only what its grants allow, and never more than the person who created it.
      </Text>
      {created ? <CreatedSecret created={created} onDismiss={() => setCreated(null)} /> : null}
      <Card withBorder padding="lg">
        {keys.isPending ? (
          <Loader aria-label="Loading API keys" />
        ) : rows.length === 0 ? (
          <Text>
            No API keys yet.{' '}
            {canManage ? 'Create one for each program that needs to reach Gatehouse.' : ''}
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={900}>
            <Table verticalSpacing="sm" aria-label="API keys">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Prefix</Table.Th>
                  <Table.Th>Grants</Table.Th>
                  <Table.Th>Created by</Table.Th>
                  <Table.Th>Last used</Table.Th>
                  <Table.Th>Expires</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>
                    <span className="visually-hidden">Action</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((k) => (
                  <Table.Tr key={k.id}>
                    <Table.Td>{k.name}</Table.Td>
                    <Table.Td>
                      <Code>{k.prefix}…</Code>
                    </Table.Td>
                    <Table.Td>
                      <Stack gap={2}>
                        {k.grants.map((g) => (
                          <Text size="sm" key={JSON.stringify(g)}>
                            {describeGrant(g)}
                          </Text>
                        ))}
                      </Stack>
                    </Table.Td>
                    <Table.Td>
                      {creatorName(k.created_by)}
                      <Text size="xs" c="dimmed">
                        {formatDateTime(k.created_at)}
                      </Text>
                    </Table.Td>
                    <Table.Td>{k.last_used_at ? formatDateTime(k.last_used_at) : 'Never'}</Table.Td>
                    <Table.Td>{k.expires_at ? formatDateTime(k.expires_at) : 'Never'}</Table.Td>
                    <Table.Td>
                      <Text
                        size="sm"
                        fw={600}
                        c={
                          k.status === 'active'
                            ? 'teal.9'
                            : k.status === 'expired'
                              ? 'gray.8'
                              : 'red.9'
                        }
                      >
                        {k.status === 'active'
                          ? 'Active'
                          : k.status === 'expired'
                            ? 'Expired'
                            : 'Revoked'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      {canManage && k.status === 'active' ? (
                        <Button
                          variant="subtle"
                          color="red"
                          size="xs"
                          onClick={() => {
                            revoke.reset();
                            setRevoking(k);
                          }}
                          aria-label={`Revoke ${k.name}`}
                        >
                          Revoke
                        </Button>
                      ) : null}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <FormError error={keys.error} title="The keys could not be loaded" />
      </Card>

      {creating ? (
        <CreateKeyDialog
          orgId={organization.id}
          choices={choices}
          describe={(g) => describeGrant(g as Record<string, unknown>)}
          onClose={() => setCreating(false)}
          onCreated={(key) => {
            setCreating(false);
            setCreated(key);
          }}
        />
      ) : null}

      <Modal
        closeButtonProps={{ 'aria-label': 'Close' }}
        opened={revoking !== null}
        onClose={() => setRevoking(null)}
        title="Revoke this API key?"
        centered
      >
        <Stack gap="sm">
          <Text size="sm">
            Programs using <strong>{revoking?.name}</strong> ({revoking?.prefix}…) are refused at
            once. This cannot be undone.
          </Text>
          <FormError error={revoke.error} title="The key was not revoked" />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRevoking(null)}>
              Cancel
            </Button>
            <Button
              color="red"
              loading={revoke.isPending}
              onClick={() => revoking && revoke.mutate(revoking.id)}
            >
              Revoke key
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

/** The one moment the secret exists outside the program that will use it. */
function CreatedSecret({ created, onDismiss }: { created: CreatedApiKey; onDismiss: () => void }) {
  return (
    <Card
      withBorder
      padding="lg"
      role="status"
      style={{ borderColor: 'var(--mantine-color-teal-7)' }}
    >
      <Stack gap="xs">
        <Text fw={700} c="teal.9">
          API key “{created.name}” created
        </Text>
        <Text size="sm">
          Copy the secret now and store it where the program can read it. It is shown only this
          once: afterwards only its prefix ({created.prefix}…) is visible.
        </Text>
        <Group gap="xs" wrap="nowrap" align="center">
          <Code data-testid="api-key-secret" style={{ wordBreak: 'break-all' }}>
            {created.secret}
          </Code>
          <CopyButton value={created.secret}>
            {({ copied, copy }) => (
              <Button size="xs" variant="light" onClick={copy}>
                {copied ? 'Copied' : 'Copy secret'}
              </Button>
            )}
          </CopyButton>
        </Group>
        <Button size="xs" variant="default" w="fit-content" onClick={onDismiss}>
          I have stored it
        </Button>
      </Stack>
    </Card>
  );
}

function CreateKeyDialog(props: {
  orgId: string;
  choices: GrantChoice[];
  describe: (g: GrantChoice) => string;
  onClose: () => void;
  onCreated: (key: CreatedApiKey) => void;
}) {
  const queryClient = useQueryClient();
  const stepUp = useStepUp();
  const [name, setName] = useState('');
  const [picked, setPicked] = useState<string[]>([]);
  const [expiry, setExpiry] = useState('90');
  const [touched, setTouched] = useState(false);
  const create = useMutation({
    mutationFn: () => {
      const grants = props.choices.filter((g) => picked.includes(grantKey(g)));
      const days = expiry === 'never' ? null : Number(expiry);
      const expires_at = days ? new Date(Date.now() + days * 86_400_000).toISOString() : null;
      return stepUp(() =>
        api.apiKeys.create(props.orgId, { name: name.trim(), grants, expires_at }),
      );
    },
    onSuccess: (key) => {
      void queryClient.invalidateQueries({ queryKey: apiKeysKey(props.orgId) });
      props.onCreated(key);
    },
  });
  const nameError = touched && !name.trim() ? 'Give the key a name' : undefined;
  const grantError = touched && picked.length === 0 ? 'Choose at least one grant' : undefined;
  return (
    <Modal
      closeButtonProps={{ 'aria-label': 'Close' }}
      opened
      onClose={props.onClose}
      title="Create API key"
      centered
      size="lg"
    >
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          setTouched(true);
          if (!name.trim() || picked.length === 0) return;
          create.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label="Name"
            description="What uses it, such as “Billing export”."
            value={name}
            maxLength={100}
            onChange={(e) => setName(e.currentTarget.value)}
            error={nameError}
            required
            data-autofocus
          />
          <Checkbox.Group
            label="Grants"
            description="A key can hold only what you hold yourself."
            value={picked}
            onChange={setPicked}
            error={grantError}
          >
            <Stack gap={6} mt={6}>
              {props.choices.length === 0 ? (
                <Text size="sm">You hold no grant that a key could carry.</Text>
              ) : (
                props.choices.map((g) => (
                  <Checkbox key={grantKey(g)} value={grantKey(g)} label={props.describe(g)} />
                ))
              )}
            </Stack>
          </Checkbox.Group>
          <Select
            label="Expires"
            data={expiryChoices}
            value={expiry}
            onChange={(v) => setExpiry(v ?? 'never')}
            allowDeselect={false}
          />
          <FormError
            error={
              create.error instanceof Error && create.error.message === 'cancelled'
                ? null
                : create.error
            }
            title="The key was not created"
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create key
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
