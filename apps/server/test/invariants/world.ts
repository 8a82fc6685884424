import { sql } from 'kysely';
import type { TestContext, TestResponse } from '../harness';

/**
 * What the invariant tests read straight from the database: every tenant-owned row of a set of
 * organizations, grouped by organization, so a step can be checked for what it changed and where.
 */
export interface OrgRows {
  organization: Record<string, unknown> & { id: string; owner_user_id: string; status: string };
  accounts: (Record<string, unknown> & { id: string; owner_user_id: string; product: string })[];
  resources: (Record<string, unknown> & { id: string; account_id: string })[];
  roles: (Record<string, unknown> & { id: string; key: string })[];
  memberships: (Record<string, unknown> & { user_id: string; status: string })[];
  grants: (Record<string, unknown> & {
    id: string;
    user_id: string;
    role: string | null;
    permissions: string | null;
    scope_id: string;
  })[];
  offers: (Record<string, unknown> & {
    id: string;
    subject_id: string;
    from_user_id: string;
    to_user_id: string;
    status: string;
  })[];
}

export type Snapshot = Map<string, OrgRows>;

const byId = <T extends Record<string, unknown>>(rows: T[], key = 'id') =>
  [...rows].sort((a, b) => String(a[key]).localeCompare(String(b[key])));

type Rows = Record<string, unknown>[];

/**
 * PostgreSQL: every table in one round trip (the invariant tests take a snapshot per step, and
 * seven round trips a step were a third of their time there).
 */
async function readAllPostgres(ctx: TestContext, orgIds: string[]) {
  const agg = (table: string, column: string) =>
    sql`(select coalesce(json_agg(x), '[]'::json) from ${sql.table(table)} x where ${sql.ref(`x.${column}`)} = any(${orgIds}))`;
  const { rows } = await sql<Record<string, Rows>>`select ${agg('organizations', 'id')} as o, ${agg(
    'accounts',
    'organization_id',
  )} as a, ${agg('resources', 'organization_id')} as r, ${agg('roles', 'organization_id')} as ro, ${agg(
    'memberships',
    'organization_id',
  )} as m, ${agg('grants', 'organization_id')} as g, ${agg('ownership_offers', 'organization_id')} as f`.execute(
    ctx.database.db,
  );
  const r = rows[0]!;
  return [r.o, r.a, r.r, r.ro, r.m, r.g, r.f] as Rows[];
}

/** One read per table; rows sorted so that two snapshots of the same state compare equal. */
export async function snapshot(ctx: TestContext, orgIds: string[]): Promise<Snapshot> {
  if (ctx.database.dialect === 'postgres') {
    const all = (await readAllPostgres(ctx, orgIds)) as never[][];
    return group(
      orgIds,
      ...(all as [never[], never[], never[], never[], never[], never[], never[]]),
    );
  }
  const db = ctx.database.db;
  const [orgs, accounts, resources, roles, memberships, grants, offers] = await Promise.all([
    db.selectFrom('organizations').selectAll().where('id', 'in', orgIds).execute(),
    db.selectFrom('accounts').selectAll().where('organization_id', 'in', orgIds).execute(),
    db.selectFrom('resources').selectAll().where('organization_id', 'in', orgIds).execute(),
    db.selectFrom('roles').selectAll().where('organization_id', 'in', orgIds).execute(),
    db.selectFrom('memberships').selectAll().where('organization_id', 'in', orgIds).execute(),
    db.selectFrom('grants').selectAll().where('organization_id', 'in', orgIds).execute(),
    db.selectFrom('ownership_offers').selectAll().where('organization_id', 'in', orgIds).execute(),
  ]);
  return group(orgIds, orgs, accounts, resources, roles, memberships, grants, offers);
}

function group(
  orgIds: string[],
  orgs: OrgRows['organization'][],
  accounts: (OrgRows['accounts'][number] & { organization_id: string })[],
  resources: (OrgRows['resources'][number] & { organization_id: string })[],
  roles: (OrgRows['roles'][number] & { organization_id: string })[],
  memberships: (OrgRows['memberships'][number] & { organization_id: string })[],
  grants: (OrgRows['grants'][number] & { organization_id: string })[],
  offers: (OrgRows['offers'][number] & { organization_id: string })[],
): Snapshot {
  const out: Snapshot = new Map();
  for (const id of orgIds) {
    const organization = orgs.find((o) => o.id === id);
    if (!organization) continue;
    const of = <T extends { organization_id: string }>(rows: T[]) =>
      rows.filter((r) => r.organization_id === id);
    out.set(id, {
      organization,
      accounts: byId(of(accounts)),
      resources: byId(of(resources)),
      roles: byId(of(roles)),
      memberships: byId(of(memberships), 'user_id'),
      grants: byId(of(grants)),
      offers: byId(of(offers)),
    });
  }
  return out;
}

/** The ids an organization's rows carry (its own, its accounts', resources', grants', roles', offers'). */
export function idsOf(rows: OrgRows): string[] {
  return [
    rows.organization.id,
    ...rows.accounts.map((r) => r.id),
    ...rows.resources.map((r) => r.id),
    ...rows.roles.map((r) => r.id),
    ...rows.grants.map((r) => r.id),
    ...rows.offers.map((r) => r.id),
  ];
}

/**
 * Invariant: an organization has exactly one owner (structural: a column), who is an active
 * member and an active user; an account has exactly one owner, who is a member of its
 * organization (a suspended member may keep owning an account: the organization's owner holds
 * every right over it meanwhile). Answers the violations, empty when none.
 */
export async function ownerViolations(ctx: TestContext, snap: Snapshot): Promise<string[]> {
  const problems: string[] = [];
  const ownerIds = [...snap.values()].map((o) => o.organization.owner_user_id);
  const users = ownerIds.length
    ? await ctx.database.db
        .selectFrom('users')
        .select(['id', 'status'])
        .where('id', 'in', ownerIds)
        .execute()
    : [];
  for (const [orgId, rows] of snap) {
    const ownerId = rows.organization.owner_user_id;
    const m = rows.memberships.find((r) => r.user_id === ownerId);
    if (!ownerId) problems.push(`${orgId} has no owner`);
    else if (!m) problems.push(`${orgId}: owner ${ownerId} is not a member`);
    else if (m.status !== 'active') problems.push(`${orgId}: owner ${ownerId} is ${m.status}`);
    const user = users.find((u) => u.id === ownerId);
    if (user?.status !== 'active') problems.push(`${orgId}: owner user ${ownerId} is not active`);
    for (const acc of rows.accounts) {
      if (!rows.memberships.some((r) => r.user_id === acc.owner_user_id))
        problems.push(`${orgId}: account ${acc.id} owner ${acc.owner_user_id} is not a member`);
    }
    const pending = rows.offers.filter((o) => o.status === 'pending').map((o) => o.subject_id);
    if (new Set(pending).size !== pending.length)
      problems.push(`${orgId}: two pending offers for one subject`);
  }
  return problems;
}

/** A 5xx, or an error that is not problem+json, is always a failure. */
export function badAnswer(res: TestResponse): string | null {
  if (res.status >= 500) return `answered ${res.status}: ${res.text.slice(0, 300)}`;
  if (res.status >= 400) {
    const ct = String(res.headers['content-type'] ?? '');
    if (!ct.startsWith('application/problem+json') || typeof res.body?.code !== 'string')
      return `answered ${res.status} without a problem+json body`;
    if (res.text.includes('    at ')) return 'a stack trace leaked';
  }
  return null;
}
