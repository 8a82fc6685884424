import { useQuery } from '@tanstack/react-query';
import { api } from '../../lib/api';

export const apiKeysKey = (orgId: string | undefined) => ['api-keys', orgId] as const;

/** The organization's keys, newest first (a hundred at most on one screen). */
export function useApiKeys(orgId: string | undefined) {
  return useQuery({
    queryKey: apiKeysKey(orgId),
    queryFn: () => api.apiKeys.list(orgId!, { limit: 100 }),
    enabled: Boolean(orgId),
  });
}

/** The organization's roles: names for the grants, and what an owner may put on a key. */
export function useRoles(orgId: string | undefined) {
  return useQuery({
    queryKey: ['roles', orgId],
    queryFn: () => api.roles.list(orgId!),
    enabled: Boolean(orgId),
  });
}

/** Names for user ids (creators), when the signed-in member may read the member list. */
export function useMemberNames(orgId: string | undefined, enabled: boolean) {
  const members = useQuery({
    queryKey: ['members', orgId, 'names'],
    queryFn: () => api.members.list(orgId!, { limit: 100 }),
    enabled: Boolean(orgId) && enabled,
  });
  const names = new Map<string, string>();
  for (const m of members.data?.data ?? [])
    names.set(m.user_id, `${m.first_name} ${m.last_name}`.trim() || m.email);
  return names;
}
