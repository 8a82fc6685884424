import type { BulkMembersResult, Member, MembersQuery } from '@gatehouse/sdk/browser';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from '../../../lib/api';

/**
 * Query keys of the members list. Everything that changes a member invalidates `['members', orgId]`
 * (the list under any filter, and any member's detail kept below it).
 */
export const membersKey = (orgId: string | undefined) => ['members', orgId] as const;

export type MembersFilters = Pick<
  MembersQuery,
  'search' | 'role' | 'account' | 'status' | 'login_method' | 'sort' | 'order'
>;

export function useMembersPage(
  orgId: string | undefined,
  filters: MembersFilters,
  cursor: string | undefined,
) {
  const query: MembersQuery = { ...filters, limit: 20, ...(cursor ? { cursor } : {}) };
  return useQuery({
    queryKey: [...membersKey(orgId), 'list', query],
    queryFn: () => api.members.list(orgId!, query),
    enabled: Boolean(orgId),
    // The table keeps its rows while the next page or search loads (no jump to empty).
    placeholderData: keepPreviousData,
    retry: false,
  });
}

export const memberName = (m: Pick<Member, 'first_name' | 'last_name' | 'email'>) =>
  `${m.first_name} ${m.last_name}`.trim() || m.email;

export type BulkAction = 'suspend' | 'reactivate' | 'remove';
export type BulkOutcome = BulkMembersResult['results'][number];

/** One row's result of a bulk action, in words. */
export function outcomeInWords(action: BulkAction, outcome: BulkOutcome): string {
  switch (outcome.status) {
    case 'done':
      return action === 'suspend'
        ? 'Suspended'
        : action === 'reactivate'
          ? 'Reactivated'
          : 'Removed';
    case 'unchanged':
      return action === 'suspend'
        ? 'Already suspended'
        : action === 'reactivate'
          ? 'Already active'
          : 'Not changed';
    case 'not_found':
      return 'No longer a member';
    case 'forbidden':
      return `Not allowed${outcome.detail ? ` (${outcome.detail})` : ''}`;
  }
}

/** Sign-in methods a member's login type may name (the filter's choices). */
export const LOGIN_METHODS = [
  { value: 'password', label: 'Password' },
  { value: 'google', label: 'Google' },
  { value: 'github', label: 'GitHub' },
];

export function loginMethodsInWords(methods: string[] | null): string {
  if (!methods) return 'Any allowed';
  return methods
    .map(
      (m) =>
        LOGIN_METHODS.find((l) => l.value === m)?.label ??
        (m.startsWith('oidc:') ? `Single sign-on (${m.slice(5)})` : m),
    )
    .join(', ');
}
