import type { Member } from '@gatehouse/sdk/browser';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../lib/api';

/** Query keys of the accounts feature: every mutation invalidates the one it changes. */
export const accountsKey = (orgId: string) => ['accounts', orgId] as const;
export const resourcesKey = (orgId: string, accountId: string) =>
  ['resources', orgId, accountId] as const;
export const offersKey = (orgId: string) => ['ownership-offers', orgId] as const;

export const useAccounts = (orgId: string) =>
  useQuery({
    queryKey: accountsKey(orgId),
    queryFn: () => api.accounts.list(orgId, { limit: 100 }),
  });

export const useResources = (orgId: string, accountId: string) =>
  useQuery({
    queryKey: resourcesKey(orgId, accountId),
    queryFn: () => api.resources.list(orgId, accountId, { limit: 100 }),
  });

export const useOffers = (orgId: string) =>
  useQuery({
    queryKey: offersKey(orgId),
    queryFn: () => api.organizations.ownershipOffers.list(orgId),
  });

/** Members by id, for owner names and the new-owner picker (needs members:read). */
export const useMembers = (orgId: string, enabled: boolean) =>
  useQuery({
    queryKey: ['members', orgId, 'picker', ''],
    queryFn: () => api.members.list(orgId, { limit: 100 }),
    enabled,
  });

export const personName = (m: Pick<Member, 'first_name' | 'last_name' | 'email'>) =>
  `${m.first_name} ${m.last_name}`.trim() || m.email;

/** The resource type a new resource of an account's product usually is. */
export const RESOURCE_TYPES = ['room', 'collection', 'source', 'folder'] as const;
export const defaultTypeFor = (product: string) =>
  product === 'meeting'
    ? 'room'
    : product === 'video'
      ? 'collection'
      : product === 'image'
        ? 'source'
        : 'folder';
