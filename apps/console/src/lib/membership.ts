import { useQuery } from '@tanstack/react-query';
import { api } from './api';
import { organizationsQuery } from './organizations';

/**
 * The signed-in user's membership in the current organization: its template, role names and
 * every permission held somewhere in it (menus and buttons show from this; the server still
 * judges every act at its own scope).
 */
export function useCurrentMembership() {
  const organizations = useQuery(organizationsQuery);
  const current = organizations.data?.data.find((o) => o.current);
  const membership = useQuery({
    queryKey: ['my-membership', current?.id],
    queryFn: () => api.members.mine(current!.id),
    enabled: Boolean(current),
  });
  return {
    organization: current,
    membership: membership.data,
    permissions: new Set(membership.data?.permissions_anywhere ?? []),
    isPending: organizations.isPending || (Boolean(current) && membership.isPending),
  };
}
