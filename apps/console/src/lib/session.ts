import { isGatehouseError } from '@gatehouse/sdk/browser';
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from './api';
import { setUserTimeZone } from './dates';

/**
 * Who is signed in: `/v1/me` through the cookie session, or `null` when nobody is. Every screen
 * that needs the user reads this one query; signing in or out invalidates it.
 */
export const meQuery = queryOptions({
  queryKey: ['me'],
  queryFn: async () => {
    try {
      const me = await api.me.get();
      setUserTimeZone(me.timezone);
      return me;
    } catch (error) {
      if (isGatehouseError(error) && error.status === 401) return null;
      throw error;
    }
  },
  staleTime: 30_000,
});

export function useMe() {
  return useQuery(meQuery);
}
