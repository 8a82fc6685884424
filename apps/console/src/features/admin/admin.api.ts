import { useInfiniteQuery } from '@tanstack/react-query';
import { api } from '../../lib/api';

/** Query keys of the platform admin console; every mutation invalidates the list it changes. */
export const adminKeys = {
  customers: ['admin', 'customers'] as const,
  users: ['admin', 'users'] as const,
  sessions: (userId: string) => ['admin', 'users', userId, 'sessions'] as const,
};

const PAGE = 25;

/** Customers (organizations), newest first, searched by name or slug; keyset pages. */
export function useCustomers(search: string) {
  return useInfiniteQuery({
    queryKey: [...adminKeys.customers, search],
    queryFn: ({ pageParam }) =>
      api.admin.customers.list({ limit: PAGE, search: search || undefined, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

/** Users across the platform, newest first, searched by email or name; keyset pages. */
export function useAdminUsers(search: string) {
  return useInfiniteQuery({
    queryKey: [...adminKeys.users, search],
    queryFn: ({ pageParam }) =>
      api.admin.users.list({ limit: PAGE, search: search || undefined, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}
