import { Button, Card, Group, Stack, Text, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from '@tanstack/react-router';
import { type MouseEvent, useRef, useState } from 'react';
import { labelFor, NAVIGATION } from '../../app/navigation';
import { FormError } from '../../components/FormError';
import { api } from '../../lib/api';
import { useCurrentMembership } from '../../lib/membership';
import { InviteButton } from './invite/InviteButton';
import { BulkActions, BulkResults } from './list/BulkActions';
import { type FilterValues, MembersFilters } from './list/MembersFilters';
import { MembersTable, type SortKey } from './list/MembersTable';
import {
  type BulkAction,
  type BulkOutcome,
  type MembersFilters as ListFilters,
  memberName,
  membersKey,
  useMembersPage,
} from './list/members.list';

/** Where the invite dialog opens (the invite button's dialog reads `?invite=1`). */
const INVITE_HREF = '/members?invite=1';

const NO_FILTERS: FilterValues = {
  search: '',
  role: null,
  account: null,
  status: null,
  loginMethod: null,
};

/**
 * The organization's members ("Manage Users", "Users and Accounts", "Users", "Members": the
 * template's word, from the menu's data): search as you type, filters, sort, keyset pages with a
 * stack of cursors for "Previous", bulk suspend / reactivate / remove with a result per row.
 * The server answers only the members within the signed-in member's reach (an account admin sees
 * their accounts' users); a refusal is shown in words.
 */
export function MembersPage() {
  const queryClient = useQueryClient();
  const router = useRouter();
  const { organization, membership, permissions } = useCurrentMembership();
  const orgId = organization?.id;
  const template = membership?.organization.template ?? organization?.template;
  const entry = NAVIGATION.find((e) => e.to === '/members');
  const title = entry ? labelFor(entry, template) : 'Members';

  const [values, setValues] = useState<FilterValues>(NO_FILTERS);
  const [search] = useDebouncedValue(values.search.trim(), 250);
  const [sort, setSort] = useState<SortKey>('name');
  const [order, setOrder] = useState<'asc' | 'desc'>('asc');
  const filters: ListFilters = {
    sort,
    order,
    ...(search ? { search } : {}),
    ...(values.role ? { role: values.role } : {}),
    ...(values.account ? { account: values.account } : {}),
    ...(values.status ? { status: values.status as 'active' | 'suspended' } : {}),
    ...(values.loginMethod ? { login_method: values.loginMethod } : {}),
  };
  // The cursors of the pages after the first, for "Previous"; a new search, filter or sort
  // starts again at the first page (the stack belongs to the filters it was made under).
  const filtersKey = JSON.stringify(filters);
  const [paging, setPaging] = useState<{ key: string; cursors: string[] }>({
    key: filtersKey,
    cursors: [],
  });
  const cursors = paging.key === filtersKey ? paging.cursors : [];
  const list = useMembersPage(orgId, filters, cursors.at(-1));
  const rows = list.data?.data ?? [];

  const roles = useQuery({
    queryKey: ['roles', orgId],
    queryFn: () => api.roles.list(orgId!),
    enabled: Boolean(orgId) && permissions.has('roles:read'),
    retry: false,
  });
  const accounts = useQuery({
    queryKey: ['accounts', orgId, 'all'],
    queryFn: () => api.accounts.list(orgId!, { limit: 100 }),
    enabled: Boolean(orgId) && permissions.has('accounts:read'),
    retry: false,
  });
  const roleNames = new Map(roles.data?.data.map((r) => [r.key, r.name]));
  const accountNames = new Map(accounts.data?.data.map((a) => [a.id, a.name]));

  // Names of the rows seen, to word each bulk result even after the row has left the page.
  const names = useRef(new Map<string, string>());
  for (const m of rows) names.current.set(m.user_id, `${memberName(m)} (${m.email})`);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [results, setResults] = useState<{ action: BulkAction; results: BulkOutcome[] }>();
  const bulk = useMutation({
    mutationFn: (action: BulkAction) =>
      api.members.bulk(orgId!, { action, user_ids: [...selected] }),
    onSuccess: (answer, action) => {
      setResults({ action, results: answer.results });
      if (action === 'remove') {
        const removed = new Set(
          answer.results.filter((r) => r.status !== 'forbidden').map((r) => r.user_id),
        );
        setSelected((s) => new Set([...s].filter((id) => !removed.has(id))));
      }
    },
    onSettled: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: membersKey(orgId) }),
        queryClient.invalidateQueries({ queryKey: ['my-membership', orgId] }),
      ]),
  });

  const change = (patch: Partial<FilterValues>) => setValues((v) => ({ ...v, ...patch }));
  const sortBy = (key: SortKey) => {
    if (key === sort) setOrder((o) => (o === 'asc' ? 'desc' : 'asc'));
    else {
      setSort(key);
      setOrder(key === 'joined' ? 'desc' : 'asc');
    }
  };
  const select = (ids: string[], on: boolean) =>
    setSelected((s) => {
      const next = new Set(s);
      for (const id of ids)
        if (on) next.add(id);
        else next.delete(id);
      return next;
    });

  const filtered = Boolean(
    search || values.role || values.account || values.status || values.loginMethod,
  );
  const mayUpdate = permissions.has('members:update');
  const mayRemove = permissions.has('members:remove');
  const mayInvite = permissions.has('members:invite');
  const nextCursor = list.data?.next_cursor ?? null;

  return (
    <Stack gap="md" maw={1200}>
      <Group justify="space-between" wrap="wrap">
        <div>
          <Title order={1} size="h2">
            {title}
          </Title>
          {organization ? (
            <Text c="dimmed" size="sm">
              The people of {organization.name}
              {values.account && accountNames.get(values.account)
                ? `, with access to ${accountNames.get(values.account)}`
                : ''}
              .
            </Text>
          ) : null}
        </div>
        <InviteButton />
      </Group>

      <Card withBorder padding="md">
        <Stack gap="sm">
          <MembersFilters
            values={values}
            onChange={change}
            accountLabel="Account"
            choices={{
              roles: roles.data?.data.map((r) => ({ value: r.key, label: r.name })),
              accounts: accounts.data?.data.map((a) => ({ value: a.id, label: a.name })),
            }}
          />
          {filtered ? (
            <Group>
              <Button variant="subtle" size="xs" onClick={() => setValues(NO_FILTERS)}>
                Clear search and filters
              </Button>
            </Group>
          ) : null}
        </Stack>
      </Card>

      <FormError error={list.error} title={`You cannot open ${title} in this organization`} />
      <FormError error={bulk.error} title="The selected members were not changed" />
      {results ? (
        <BulkResults
          action={results.action}
          results={results.results}
          nameOf={(id) => names.current.get(id) ?? id}
          onClose={() => setResults(undefined)}
        />
      ) : null}

      {list.isError ? null : (
        <Card withBorder padding="md">
          <Stack gap="sm">
            <BulkActions
              count={selected.size}
              mayUpdate={mayUpdate}
              mayRemove={mayRemove}
              pending={bulk.isPending ? bulk.variables : undefined}
              onRun={(action) => bulk.mutate(action)}
              onClear={() => setSelected(new Set())}
            />
            {list.isPending ? (
              <Text size="sm" role="status">
                Loading members…
              </Text>
            ) : rows.length === 0 ? (
              <Stack gap="xs" align="flex-start" py="lg">
                <Text fw={500}>
                  {filtered ? 'Nobody matches this search and these filters.' : 'No members yet.'}
                </Text>
                <Text size="sm" c="dimmed">
                  {mayInvite
                    ? 'Invite the people who should work here; they appear in this list once they join.'
                    : 'Ask an administrator to invite the people who should work here.'}
                </Text>
                {mayInvite ? (
                  <Button
                    size="sm"
                    component="a"
                    href={INVITE_HREF}
                    onClick={(e: MouseEvent<HTMLAnchorElement>) => {
                      // A literal `invite=1` (the router would write a string as JSON, "1").
                      e.preventDefault();
                      router.history.push(INVITE_HREF);
                    }}
                  >
                    Invite users
                  </Button>
                ) : null}
              </Stack>
            ) : (
              <MembersTable
                rows={rows}
                selected={selected}
                onSelect={select}
                sort={sort}
                order={order}
                onSort={sortBy}
                roleName={(key) => roleNames.get(key) ?? key}
                scopeName={(scope) => accountNames.get(scope)}
                selectable={mayUpdate || mayRemove}
              />
            )}
            <Group justify="space-between" wrap="wrap">
              <Text size="sm" c="dimmed" aria-live="polite" data-testid="members-page-note">
                {rows.length
                  ? `Page ${cursors.length + 1}: ${rows.length} ${rows.length === 1 ? 'member' : 'members'}`
                  : ''}
              </Text>
              <Group gap="xs">
                <Button
                  variant="default"
                  size="xs"
                  disabled={cursors.length === 0}
                  onClick={() => setPaging({ key: filtersKey, cursors: cursors.slice(0, -1) })}
                >
                  Previous page
                </Button>
                <Button
                  variant="default"
                  size="xs"
                  disabled={!nextCursor || list.isPlaceholderData}
                  onClick={() =>
                    nextCursor && setPaging({ key: filtersKey, cursors: [...cursors, nextCursor] })
                  }
                >
                  Next page
                </Button>
              </Group>
            </Group>
          </Stack>
        </Card>
      )}
    </Stack>
  );
}
