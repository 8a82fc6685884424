import type { Account, Resource, Role } from '@gatehouse/sdk/browser';
import { useQueries, useQuery } from '@tanstack/react-query';
import { api } from '../../../lib/api';
import { useCurrentMembership } from '../../../lib/membership';

/** A permission pattern (`*`, `video.*`, `*:read`, `billing:*`) against the catalog's names. */
export function expandPatterns(patterns: readonly string[], catalog: readonly string[]) {
  const out = new Set<string>();
  for (const p of patterns) {
    if (p === '*') for (const n of catalog) out.add(n);
    else if (p.startsWith('*:')) for (const n of catalog) n.endsWith(p.slice(1)) && out.add(n);
    else if (p.endsWith('.*')) for (const n of catalog) n.startsWith(p.slice(0, -1)) && out.add(n);
    else if (p.endsWith(':*')) for (const n of catalog) n.startsWith(p.slice(0, -1)) && out.add(n);
    else out.add(p);
  }
  return out;
}

export interface TreeAccount extends Account {
  resources: Resource[];
}

/** The organization's tree: organization → accounts → resources (first 100 of each). */
export function useOrganizationTree(orgId: string | undefined) {
  const accounts = useQuery({
    queryKey: ['accounts', orgId, 'tree'],
    queryFn: () => api.accounts.list(orgId!, { limit: 100 }),
    enabled: Boolean(orgId),
  });
  const list = accounts.data?.data ?? [];
  const resources = useQueries({
    queries: list.map((a) => ({
      queryKey: ['resources', orgId, a.id, 'tree'],
      queryFn: () => api.resources.list(orgId!, a.id, { limit: 100 }),
      enabled: Boolean(orgId),
    })),
  });
  const tree: TreeAccount[] = list.map((a, i) => ({
    ...a,
    resources: resources[i]?.data?.data ?? [],
  }));
  const names = new Map<string, string>();
  for (const a of tree) {
    names.set(a.id, a.name);
    for (const r of a.resources) names.set(r.id, `${r.name} (${a.name})`);
  }
  return { tree, names, isPending: accounts.isPending, error: accounts.error };
}

export const scopeLevel = (scope: string) =>
  scope.startsWith('acc_') ? 'account' : scope.startsWith('res_') ? 'resource' : 'organization';

/**
 * What the signed-in person may hand out here: the roles whose permissions they hold themselves
 * (no escalation), minus the template's owner-only roles unless they own the organization, and the
 * scopes where they may add people. A guide for what to offer: the server judges every grant.
 */
export function useGrantable() {
  const { organization, membership, permissions, isPending } = useCurrentMembership();
  const orgId = organization?.id;
  const roles = useQuery({
    queryKey: ['roles', orgId],
    queryFn: () => api.roles.list(orgId!),
    enabled: Boolean(orgId),
  });
  const templates = useQuery({
    queryKey: ['templates'],
    queryFn: () => api.templates.list(),
    staleTime: Number.POSITIVE_INFINITY,
  });
  const catalog = useQuery({
    queryKey: ['permission-catalog'],
    queryFn: () => api.permissions.list(),
    staleTime: Number.POSITIVE_INFINITY,
  });
  const tree = useOrganizationTree(orgId);
  const me = membership?.user_id;
  const isOwner = Boolean(membership?.is_owner);
  const template = templates.data?.data.find((t) => t.key === organization?.template);
  const policy = (template?.invite_policy ?? {}) as {
    inviters?: string;
    permission?: string | null;
    default_role?: string | null;
    owner_only_roles?: string[];
    owner_may_offer_ownership?: boolean;
  };
  const names = (catalog.data?.data ?? []).map((p) => p.name);
  const roleList = roles.data?.data ?? [];
  const roleByKey = new Map(roleList.map((r) => [r.key, r]));
  const ownerOnly = new Set(policy.owner_only_roles ?? []);
  const invitePermission = policy.permission ?? 'members:invite';

  const covers = (role: Role) =>
    [...expandPatterns(role.permissions, names)].every((p) => permissions.has(p));
  const offeredRoles = roleList.filter(
    (r) => r.grantable && (isOwner || (!ownerOnly.has(r.key) && covers(r))),
  );

  // Where may I add people? Owners anywhere; otherwise where a grant of mine gives the invite
  // permission (accounts: "only to accounts where they are Admin"), or (reseller) my accounts.
  const inviteScopes = new Set<string>();
  let everywhere = isOwner;
  if (!isOwner && membership) {
    if (policy.inviters === 'owners') {
      for (const a of tree.tree) if (a.owner_id === me) inviteScopes.add(a.id);
    } else if (policy.inviters !== 'organization-owner') {
      for (const g of membership.grants) {
        const gives = g.role
          ? expandPatterns(roleByKey.get(g.role)?.permissions ?? [], names)
          : expandPatterns(g.permissions ?? [], names);
        if (!gives.has(invitePermission)) continue;
        if (g.scope === orgId) everywhere = true;
        else inviteScopes.add(g.scope);
      }
    }
  }
  const mayInviteAt = (scope: string): boolean => {
    if (everywhere) return true;
    if (inviteScopes.has(scope)) return true;
    if (scope.startsWith('res_')) {
      const account = tree.tree.find((a) => a.resources.some((r) => r.id === scope));
      return Boolean(account && inviteScopes.has(account.id));
    }
    return false;
  };
  const mayInvite =
    policy.inviters === 'organization-owner'
      ? isOwner
      : everywhere || inviteScopes.size > 0 || (isOwner && Boolean(orgId));

  return {
    orgId,
    organization,
    membership,
    permissions,
    isOwner,
    policy,
    roles: roleList,
    roleByKey,
    /** the catalog's permission names (for pickers) */
    catalog: names,
    offeredRoles,
    tree,
    mayInvite,
    mayInviteAt,
    isPending: isPending || roles.isPending || templates.isPending || catalog.isPending,
    error: roles.error ?? templates.error ?? catalog.error ?? tree.error,
  };
}

/** Can `role` be given at `scope`: its levels, and a product role only on its product's accounts. */
export function roleFitsScope(role: Role, scope: string, tree: TreeAccount[]): boolean {
  const level = scopeLevel(scope);
  if (!role.grantable_at.includes(level)) return false;
  if (!role.product || level === 'organization') return true;
  const account =
    level === 'account'
      ? tree.find((a) => a.id === scope)
      : tree.find((a) => a.resources.some((r) => r.id === scope));
  return account?.product === role.product;
}
