import type { Account, OwnershipOffer, Resource } from '@gatehouse/sdk/browser';
import {
  Badge,
  Button,
  Card,
  Group,
  Loader,
  Select,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { FormError } from '../../components/FormError';
import { useStepUp } from '../../components/StepUp';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';
import { useCurrentMembership } from '../../lib/membership';
import {
  accountsKey,
  defaultTypeFor,
  offersKey,
  personName,
  RESOURCE_TYPES,
  resourcesKey,
  useAccounts,
  useMembers,
  useOffers,
  useResources,
} from './accounts.api';
import { DeleteDialog, RenameDialog, TransferDialog } from './dialogs';

/** The page's word for accounts, per template (the source documents' own words), as data. */
const ACCOUNT_WORDS: Record<string, { one: string; many: string }> = {
  team: { one: 'project', many: 'Projects' },
  permissions: { one: 'project', many: 'Projects' },
};
const wordsFor = (template: string | undefined) =>
  (template && ACCOUNT_WORDS[template]) || { one: 'account', many: 'Accounts' };

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A nested list without bullets, indented one step per level. */
const TREE = { listStyle: 'none', margin: 0, paddingLeft: 'var(--mantine-spacing-md)' } as const;

type Dialog =
  | { kind: 'rename-account'; account: Account }
  | { kind: 'delete-account'; account: Account }
  | { kind: 'transfer'; account: Account }
  | { kind: 'rename-resource'; account: Account; resource: Resource }
  | { kind: 'delete-resource'; account: Account; resource: Resource };

interface Ctx {
  orgId: string;
  myUserId: string;
  isOrgOwner: boolean;
  permissions: ReadonlySet<string>;
  nameOf: (userId: string) => string;
  open: (d: Dialog) => void;
  word: string;
}

/**
 * Accounts and resources as a tree: the customer (the organization) → its accounts (product,
 * owner) → their resources (rooms, collections, sources, folders). Create, rename, delete (the
 * name typed to confirm), and change an account's owner by an offer the new owner accepts;
 * offers waiting for the signed-in member are shown on top with accept and decline.
 */
export function AccountsPage() {
  const { organization, membership, permissions, isPending } = useCurrentMembership();
  if (isPending) return <Loader aria-label="Loading accounts" />;
  if (!organization || !membership)
    return <Text>Accounts belong to an organization. Choose or create one first.</Text>;
  return (
    <AccountsTree
      orgId={organization.id}
      orgName={organization.name}
      template={membership.organization.template}
      myUserId={membership.user_id}
      isOrgOwner={membership.is_owner}
      permissions={permissions}
    />
  );
}

function AccountsTree(props: {
  orgId: string;
  orgName: string;
  template: string;
  myUserId: string;
  isOrgOwner: boolean;
  permissions: ReadonlySet<string>;
}) {
  const { orgId, permissions } = props;
  const words = wordsFor(props.template);
  const accounts = useAccounts(orgId);
  const members = useMembers(orgId, permissions.has('members:read'));
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const queryClient = useQueryClient();
  const stepUp = useStepUp();
  const nameOf = (userId: string) => {
    if (userId === props.myUserId) return 'you';
    const m = members.data?.data.find((x) => x.user_id === userId);
    return m ? personName(m) : 'a member';
  };
  const ctx: Ctx = {
    orgId,
    myUserId: props.myUserId,
    isOrgOwner: props.isOrgOwner,
    permissions,
    nameOf,
    open: setDialog,
    word: words.one,
  };
  const list = accounts.data?.data ?? [];
  const refreshAccounts = () => queryClient.invalidateQueries({ queryKey: accountsKey(orgId) });
  const refreshResources = (accountId: string) =>
    queryClient.invalidateQueries({ queryKey: resourcesKey(orgId, accountId) });

  return (
    <Stack gap="lg" maw={1000}>
      <Title order={1} size="h2">
        {words.many}
      </Title>
      <PendingOffers
        orgId={orgId}
        orgName={props.orgName}
        myUserId={props.myUserId}
        accounts={list}
        nameOf={nameOf}
        word={words.one}
      />
      {permissions.has('accounts:create') ? (
        <CreateAccount orgId={orgId} word={words.one} onCreated={refreshAccounts} />
      ) : null}
      <Card withBorder padding="lg">
        <Stack gap="sm">
          <Title order={2} size="h3">
            {props.orgName}{' '}
            <Text span size="sm" c="dimmed" fw={400}>
              (customer)
            </Text>
          </Title>
          <FormError error={accounts.error} />
          {accounts.isPending ? (
            <Loader size="sm" aria-label={`Loading ${words.many.toLowerCase()}`} />
          ) : list.length === 0 ? (
            <Text size="sm">
              No {words.many.toLowerCase()} yet
              {permissions.has('accounts:create')
                ? `. Create the first one above.`
                : ' that you can see.'}
            </Text>
          ) : (
            <ul style={TREE} aria-label={`${words.many} of ${props.orgName}`}>
              {list.map((a) => (
                <AccountNode key={a.id} account={a} ctx={ctx} />
              ))}
            </ul>
          )}
        </Stack>
      </Card>
      {dialog?.kind === 'rename-account' ? (
        <RenameDialog
          what={`${words.one} ${dialog.account.name}`}
          current={dialog.account.name}
          save={async (name) => {
            await api.accounts.update(orgId, dialog.account.id, { name });
            await refreshAccounts();
          }}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {dialog?.kind === 'delete-account' ? (
        <DeleteDialog
          what={words.one}
          name={dialog.account.name}
          consequence={`Every resource in it and every grant on it goes with it.`}
          remove={async () => {
            await api.accounts.delete(orgId, dialog.account.id);
            await refreshAccounts();
          }}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {dialog?.kind === 'rename-resource' ? (
        <RenameDialog
          what={`${dialog.resource.type} ${dialog.resource.name}`}
          current={dialog.resource.name}
          save={async (name) => {
            await api.resources.update(orgId, dialog.account.id, dialog.resource.id, { name });
            await refreshResources(dialog.account.id);
          }}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {dialog?.kind === 'delete-resource' ? (
        <DeleteDialog
          what={dialog.resource.type}
          name={dialog.resource.name}
          consequence="Every grant on it goes with it."
          remove={async () => {
            await api.resources.delete(orgId, dialog.account.id, dialog.resource.id);
            await refreshResources(dialog.account.id);
          }}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {dialog?.kind === 'transfer' ? (
        <TransferDialog
          accountName={dialog.account.name}
          candidates={(members.data?.data ?? [])
            .filter((m) => m.user_id !== dialog.account.owner_id && m.status === 'active')
            .map((m) => ({ value: m.user_id, label: `${personName(m)} (${m.email})` }))}
          offer={async (userId) => {
            await stepUp(() => api.accounts.transferOwnership(orgId, dialog.account.id, userId));
            await queryClient.invalidateQueries({ queryKey: offersKey(orgId) });
          }}
          onClose={() => setDialog(null)}
        />
      ) : null}
    </Stack>
  );
}

function CreateAccount(props: { orgId: string; word: string; onCreated: () => Promise<unknown> }) {
  const [name, setName] = useState('');
  const [product, setProduct] = useState<string | null>(null);
  const catalog = useProducts();
  const create = useMutation({
    mutationFn: () => api.accounts.create(props.orgId, { name: name.trim(), product: product! }),
    onSuccess: async () => {
      setName('');
      await props.onCreated();
    },
  });
  return (
    <Card withBorder padding="lg">
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim() && product) create.mutate();
        }}
      >
        <Stack gap="sm">
          <Title order={2} size="h3">
            New {props.word}
          </Title>
          <Group align="flex-end" wrap="wrap">
            <TextInput
              label={`Name of the ${props.word}`}
              required
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              miw={220}
            />
            <Select
              label="Product"
              required
              data={catalog}
              value={product}
              onChange={setProduct}
              allowDeselect={false}
              miw={180}
            />
            <Button type="submit" loading={create.isPending} disabled={!name.trim() || !product}>
              Create {props.word}
            </Button>
          </Group>
          {create.isSuccess ? (
            <Text size="sm" c="teal.9" role="status">
              {create.data.name} was created.
            </Text>
          ) : null}
          <FormError error={create.error} />
        </Stack>
      </form>
    </Card>
  );
}

function useProducts() {
  const catalog = useQuery({
    queryKey: ['permission-catalog'],
    queryFn: () => api.permissions.list(),
    staleTime: 10 * 60_000,
  });
  return (catalog.data?.products ?? []).map((p) => ({ value: p.key, label: p.name }));
}

function ActionButton(props: {
  label: string;
  onClick: () => void;
  children: ReactNode;
  danger?: boolean;
}) {
  return (
    <Button
      size="xs"
      variant="subtle"
      color={props.danger ? 'red' : undefined}
      onClick={props.onClick}
      aria-label={props.label}
    >
      {props.children}
    </Button>
  );
}

function AccountNode({ account, ctx }: { account: Account; ctx: Ctx }) {
  const resources = useResources(ctx.orgId, account.id);
  const queryClient = useQueryClient();
  const owns = account.owner_id === ctx.myUserId;
  const list = resources.data?.data ?? [];
  const top = list.filter((r) => !r.parent_id || !list.some((p) => p.id === r.parent_id));
  const childrenOf = (id: string) => list.filter((r) => r.parent_id === id);
  // What the member holds somewhere in the organization; the server judges this account.
  const may = (p: string) => owns || ctx.isOrgOwner || ctx.permissions.has(p);
  const resourceRow = (r: Resource) => (
    <li key={r.id}>
      <Group gap="xs" wrap="wrap" justify="space-between">
        <Group gap="xs">
          <Badge size="sm" variant="outline" tt="none">
            {r.type}
          </Badge>
          <Text size="sm">{r.name}</Text>
        </Group>
        <Group gap={2}>
          {may('resources:update') ? (
            <ActionButton
              label={`Rename ${r.type} ${r.name}`}
              onClick={() => ctx.open({ kind: 'rename-resource', account, resource: r })}
            >
              Rename
            </ActionButton>
          ) : null}
          {may('resources:delete') ? (
            <ActionButton
              danger
              label={`Delete ${r.type} ${r.name}`}
              onClick={() => ctx.open({ kind: 'delete-resource', account, resource: r })}
            >
              Delete
            </ActionButton>
          ) : null}
        </Group>
      </Group>
      {childrenOf(r.id).length > 0 ? (
        <ul style={TREE} aria-label={`Inside ${r.name}`}>
          {childrenOf(r.id).map(resourceRow)}
        </ul>
      ) : null}
    </li>
  );
  return (
    <li>
      <Card withBorder padding="sm" mb="xs">
        <Stack gap="xs">
          <Group justify="space-between" wrap="wrap">
            <div>
              <Title order={3} size="h4">
                {account.name}
              </Title>
              <Group gap="xs">
                <Badge size="sm" variant="light" tt="none">
                  {account.product}
                </Badge>
                <Text size="xs" c="dimmed">
                  Owner: {ctx.nameOf(account.owner_id)}
                </Text>
              </Group>
            </div>
            <Group gap={2}>
              {may('accounts:update') ? (
                <ActionButton
                  label={`Rename ${ctx.word} ${account.name}`}
                  onClick={() => ctx.open({ kind: 'rename-account', account })}
                >
                  Rename
                </ActionButton>
              ) : null}
              {(owns || ctx.isOrgOwner) && ctx.permissions.has('members:read') ? (
                <ActionButton
                  label={`Change owner of ${account.name}`}
                  onClick={() => ctx.open({ kind: 'transfer', account })}
                >
                  Change owner
                </ActionButton>
              ) : null}
              {may('accounts:delete') ? (
                <ActionButton
                  danger
                  label={`Delete ${ctx.word} ${account.name}`}
                  onClick={() => ctx.open({ kind: 'delete-account', account })}
                >
                  Delete
                </ActionButton>
              ) : null}
            </Group>
          </Group>
          <FormError error={resources.error} />
          {list.length === 0 ? (
            <Text size="sm" c="dimmed">
              {resources.isPending ? 'Loading resources…' : 'No resources in it yet.'}
            </Text>
          ) : (
            <ul style={TREE} aria-label={`Resources of ${account.name}`}>
              {top.map(resourceRow)}
            </ul>
          )}
          {may('resources:create') ? (
            <AddResource
              orgId={ctx.orgId}
              account={account}
              onCreated={() =>
                queryClient.invalidateQueries({ queryKey: resourcesKey(ctx.orgId, account.id) })
              }
            />
          ) : null}
        </Stack>
      </Card>
    </li>
  );
}

function AddResource(props: {
  orgId: string;
  account: Account;
  onCreated: () => Promise<unknown>;
}) {
  const [name, setName] = useState('');
  const [type, setType] = useState<string>(defaultTypeFor(props.account.product));
  const create = useMutation({
    mutationFn: () =>
      api.resources.create(props.orgId, props.account.id, { name: name.trim(), type }),
    onSuccess: async () => {
      setName('');
      await props.onCreated();
    },
  });
  return (
    <form
      method="post"
      aria-label={`Add a resource to ${props.account.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (name.trim()) create.mutate();
      }}
    >
      <Stack gap={4}>
        <Group align="flex-end" gap="xs" wrap="wrap">
          <Select
            label={
              <>
                Type
                <span className="visually-hidden">
                  {' '}
                  of the new resource in {props.account.name}
                </span>
              </>
            }
            data={RESOURCE_TYPES.map((t) => ({ value: t, label: t }))}
            value={type}
            onChange={(v) => v && setType(v)}
            allowDeselect={false}
            size="xs"
            w={150}
          />
          <TextInput
            label={
              <>
                New resource<span className="visually-hidden"> in {props.account.name}</span>
              </>
            }
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            size="xs"
            miw={200}
          />
          <Button
            type="submit"
            size="xs"
            variant="light"
            loading={create.isPending}
            disabled={!name.trim()}
          >
            Add resource
          </Button>
        </Group>
        <FormError error={create.error} />
      </Stack>
    </form>
  );
}

/** Offers waiting for the signed-in member (accept or decline) and offers they made (withdraw). */
function PendingOffers(props: {
  orgId: string;
  orgName: string;
  myUserId: string;
  accounts: Account[];
  nameOf: (userId: string) => string;
  word: string;
}) {
  const offers = useOffers(props.orgId);
  const queryClient = useQueryClient();
  const answer = useMutation({
    mutationFn: ({
      offer,
      how,
    }: {
      offer: OwnershipOffer;
      how: 'accept' | 'decline' | 'withdraw';
    }) =>
      how === 'accept'
        ? api.organizations.ownershipOffers.accept(props.orgId, offer.id)
        : how === 'decline'
          ? api.organizations.ownershipOffers.decline(props.orgId, offer.id)
          : api.organizations.ownershipOffers.withdraw(props.orgId, offer.id),
    onSuccess: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: offersKey(props.orgId) }),
        queryClient.invalidateQueries({ queryKey: accountsKey(props.orgId) }),
        queryClient.invalidateQueries({ queryKey: ['my-membership'] }),
      ]),
  });
  const pending = (offers.data?.data ?? []).filter((o) => o.status === 'pending');
  if (pending.length === 0 && !offers.error && !answer.error && !answer.isSuccess) return null;
  const subjectName = (o: OwnershipOffer) => {
    if (o.subject_id === props.orgId) return `the organization ${props.orgName}`;
    const a = props.accounts.find((x) => x.id === o.subject_id);
    return a ? `${props.word} ${a.name}` : `a ${props.word}`;
  };
  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Title order={2} size="h3">
          Ownership offers
        </Title>
        {pending.length === 0 ? (
          <Text size="sm">No ownership offers are waiting.</Text>
        ) : (
          <ul style={TREE} aria-label="Ownership offers">
            {pending.map((o) => {
              const toMe = o.to_user_id === props.myUserId;
              return (
                <li key={o.id}>
                  <Group justify="space-between" wrap="wrap">
                    <Text size="sm">
                      {toMe
                        ? `${capitalized(props.nameOf(o.from_user_id))} offers you the ownership of ${subjectName(o)}`
                        : `You offered the ownership of ${subjectName(o)} to ${props.nameOf(o.to_user_id)}`}{' '}
                      <Text span size="xs" c="dimmed">
                        ({formatDateTime(o.created_at)})
                      </Text>
                    </Text>
                    <Group gap="xs">
                      {toMe ? (
                        <>
                          <Button
                            size="xs"
                            onClick={() => answer.mutate({ offer: o, how: 'accept' })}
                            loading={answer.isPending && answer.variables?.offer.id === o.id}
                          >
                            Accept ownership
                          </Button>
                          <Button
                            size="xs"
                            variant="default"
                            onClick={() => answer.mutate({ offer: o, how: 'decline' })}
                          >
                            Decline
                          </Button>
                        </>
                      ) : (
                        <Button
                          size="xs"
                          variant="default"
                          onClick={() => answer.mutate({ offer: o, how: 'withdraw' })}
                        >
                          Withdraw offer
                        </Button>
                      )}
                    </Group>
                  </Group>
                </li>
              );
            })}
          </ul>
        )}
        {answer.isSuccess ? (
          <Text size="sm" c="teal.9" role="status">
            {answer.data.status === 'accepted'
              ? 'You are now the owner.'
              : answer.data.status === 'declined'
                ? 'You declined the offer.'
                : 'The offer was withdrawn.'}
          </Text>
        ) : null}
        <FormError error={answer.error ?? offers.error} />
      </Stack>
    </Card>
  );
}
