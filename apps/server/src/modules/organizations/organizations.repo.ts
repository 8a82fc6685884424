import type { Kysely, Transaction } from 'kysely';
import type { DB, OrganizationsTable, OwnershipOffersTable } from '../../db/schema';

type Executor = Kysely<DB> | Transaction<DB>;

export const insertOrganization = (db: Executor, row: OrganizationsTable) =>
  db.insertInto('organizations').values(row).execute();

export const findOrganization = (db: Executor, orgId: string) =>
  db.selectFrom('organizations').selectAll().where('id', '=', orgId).executeTakeFirst();

export const slugTaken = async (db: Executor, slug: string, exceptOrgId?: string) => {
  let q = db.selectFrom('organizations').select('id').where('slug', '=', slug);
  if (exceptOrgId) q = q.where('id', '!=', exceptOrgId);
  return (await q.executeTakeFirst()) !== undefined;
};

export const updateOrganization = (
  db: Executor,
  orgId: string,
  changes: Partial<Omit<OrganizationsTable, 'id'>>,
) => db.updateTable('organizations').set(changes).where('id', '=', orgId).executeTakeFirst();

export const deleteOrganization = (db: Executor, orgId: string) =>
  db.deleteFrom('organizations').where('id', '=', orgId).executeTakeFirst();

/** The organizations a user is a member of, with the membership, newest first. */
export function listOrganizationsOfUser(
  db: Executor,
  userId: string,
  limit: number,
  cursor?: string,
) {
  let q = db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.organization_id')
    .selectAll('organizations')
    .select(['memberships.status as membership_status'])
    .where('memberships.user_id', '=', userId);
  if (cursor) q = q.where('organizations.id', '<', cursor);
  return q
    .orderBy('organizations.id', 'desc')
    .limit(limit + 1)
    .execute();
}

export const insertMembership = (
  db: Executor,
  row: {
    organization_id: string;
    user_id: string;
    status: 'active' | 'suspended';
    invited_by: string | null;
    login_methods: string | null;
    sort_name: string;
    email: string;
    joined_at: number;
    updated_at: number;
  },
) => db.insertInto('memberships').values(row).execute();

export const findOffer = (db: Executor, orgId: string, offerId: string) =>
  db
    .selectFrom('ownership_offers')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('id', '=', offerId)
    .executeTakeFirst();

export const insertOffer = (db: Executor, row: OwnershipOffersTable) =>
  db.insertInto('ownership_offers').values(row).execute();

/** Moves a pending offer to its final state; of two concurrent callers, one wins. */
export const resolveOffer = (
  db: Executor,
  orgId: string,
  offerId: string,
  status: OwnershipOffersTable['status'],
  now: number,
) =>
  db
    .updateTable('ownership_offers')
    .set({ status, resolved_at: now })
    .where('organization_id', '=', orgId)
    .where('id', '=', offerId)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();

export const listOffers = (db: Executor, orgId: string, userId: string) =>
  db
    .selectFrom('ownership_offers')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('status', '=', 'pending')
    .where((eb) => eb.or([eb('from_user_id', '=', userId), eb('to_user_id', '=', userId)]))
    .orderBy('id', 'desc')
    .execute();

/** Sorting copy of a user's name for the members list (see the memberships table). */
export const sortName = (first: string, last: string) => `${first} ${last}`.trim().toLowerCase();

/**
 * The organization row, locked for the rest of the transaction on PostgreSQL (SQLite has one
 * writer). A deletion takes it before the audit-chain lock, the order every other writer follows
 * (a row referencing the organization, then the chain), so the two cannot deadlock.
 */
export const lockOrganization = (db: Executor, orgId: string, dialect: 'sqlite' | 'postgres') =>
  db
    .selectFrom('organizations')
    .selectAll()
    .where('id', '=', orgId)
    .$if(dialect === 'postgres', (q) => q.forUpdate())
    .executeTakeFirst();
