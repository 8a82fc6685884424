import type { Member, PermissionCatalog } from '@gatehouse/sdk/browser';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../lib/api';

/** Query keys of the roles feature: every mutation invalidates the one it changes. */
export const rolesKey = (orgId: string) => ['roles', orgId] as const;

export const useRoles = (orgId: string | undefined) =>
  useQuery({
    queryKey: rolesKey(orgId ?? ''),
    queryFn: () => api.roles.list(orgId!),
    enabled: Boolean(orgId),
  });

/** The platform's permission catalog: it changes only with a deployment. */
export const usePermissionCatalog = () =>
  useQuery({
    queryKey: ['permission-catalog'],
    queryFn: () => api.permissions.list(),
    staleTime: 10 * 60_000,
  });

export interface PermissionGroup {
  key: string;
  /** "Organization" for the core permissions, else the product's name */
  name: string;
  description: string;
  permissions: PermissionCatalog['data'];
}

/** The catalog grouped the way roles are written: core first, then `video.*`, `image.*`, … */
export function groupPermissions(catalog: PermissionCatalog | undefined): PermissionGroup[] {
  if (!catalog) return [];
  const groups: PermissionGroup[] = [
    {
      key: 'core',
      name: 'Organization',
      description: 'Members, roles, accounts, billing, API keys and audit.',
      permissions: catalog.data.filter((p) => !p.product),
    },
  ];
  for (const product of catalog.products) {
    groups.push({
      key: product.key,
      name: product.name,
      description: `${product.description} (${product.key}.*)`,
      permissions: catalog.data.filter((p) => p.product === product.key),
    });
  }
  return groups.filter((g) => g.permissions.length > 0);
}

export const memberName = (m: Pick<Member, 'first_name' | 'last_name' | 'email'>) =>
  `${m.first_name} ${m.last_name}`.trim() || m.email;

/** The first 100 members, for pickers (search narrows it on the server). */
export const useMemberOptions = (orgId: string | undefined, enabled: boolean, search = '') =>
  useQuery({
    queryKey: ['members', orgId, 'picker', search],
    queryFn: () => api.members.list(orgId!, { limit: 100, search: search || undefined }),
    enabled: Boolean(orgId) && enabled,
  });
