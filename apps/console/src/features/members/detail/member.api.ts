import type { Grant, GrantInput } from '@gatehouse/sdk/browser';
import { type QueryClient, useQuery } from '@tanstack/react-query';
import { api } from '../../../lib/api';

/** One member's detail: `['member', orgId, userId]`; every change here invalidates it and the lists. */
export const memberKey = (orgId: string | undefined, userId: string) => ['member', orgId, userId];

export function useMember(orgId: string | undefined, userId: string) {
  return useQuery({
    queryKey: memberKey(orgId, userId),
    queryFn: () => api.members.get(orgId!, userId),
    enabled: Boolean(orgId),
  });
}

export function invalidateMember(queryClient: QueryClient, orgId: string, userId: string) {
  void queryClient.invalidateQueries({ queryKey: memberKey(orgId, userId) });
  void queryClient.invalidateQueries({ queryKey: ['member', orgId, userId, 'permissions'] });
  void queryClient.invalidateQueries({ queryKey: ['members'] });
}

export const toGrantInput = (g: Grant): GrantInput =>
  g.role ? { role: g.role, scope: g.scope } : { permissions: g.permissions ?? [], scope: g.scope };
