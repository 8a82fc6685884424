import { OrganizationPolicies } from '@gatehouse/contracts';
import type { OrganizationsTable, OwnershipOffersTable } from '../../db/schema';
import { toIso, toIsoOrNull } from '../../lib/clock';
import { parseJsonObject } from '../users/users.presenter';

export const policiesOf = (row: Pick<OrganizationsTable, 'policies'>) =>
  OrganizationPolicies.parse(parseJsonObject(row.policies));

export function toOrganization(row: OrganizationsTable) {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    template: row.template,
    owner_id: row.owner_user_id,
    status: row.status,
    settings: parseJsonObject(row.settings),
    policies: policiesOf(row),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}

export const toOffer = (row: OwnershipOffersTable) => ({
  id: row.id,
  subject_id: row.subject_id,
  from_user_id: row.from_user_id,
  to_user_id: row.to_user_id,
  status: row.status,
  created_at: toIso(row.created_at),
  resolved_at: toIsoOrNull(row.resolved_at),
});
