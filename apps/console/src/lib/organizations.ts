import { api } from './api';

/** The organizations the signed-in user belongs to, with the current one marked. */
export const organizationsQuery = {
  queryKey: ['organizations'],
  queryFn: () => api.organizations.list({ limit: 100 }),
};
