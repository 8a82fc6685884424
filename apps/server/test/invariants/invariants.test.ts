import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileRoles,
  effectivePermissions,
  type Principal,
  type ScopeChain,
} from '../../src/authz';
import { rowToGrant, rowToRole } from '../../src/modules/access/access.service';
import {
  createTestContext,
  engine,
  type SignedIn,
  type TestContext,
  type TestResponse,
} from '../harness';
import { badAnswer, idsOf, type OrgRows, ownerViolations, type Snapshot, snapshot } from './world';

/**
 * The SPEC section 2 invariants, tried to be broken by random sequences of API calls made by
 * random actors over five organizations (one per template). After every step:
 *
 * (a) tenant isolation: no other organization's rows changed (database snapshot before/after);
 *     a refused request changed nothing at all; no answer carries another organization's ids
 *     (unless the request itself named them); every probe with another tenant's id (an account,
 *     resource, grant, offer, user or the organization itself) is answered exactly as the same
 *     request with an id that does not exist; a non-member or suspended member gets nothing
 *     from an organization's routes;
 * (b) every organization has exactly one owner, an active member; every account one owner, a
 *     member; ownership moved only by an offer of the then owner accepted by the new one (or,
 *     for an account, back to the organization owner when its owner left);
 * (c) no escalation, as a ledger: for each member and each scope we keep the permissions that
 *     someone allowed to grant them there held at the time (the adder's, the grant changer's,
 *     the custom role editor's effective permissions at that scope just before the step). After
 *     every step each member's effective permissions at each scope of the organization, as
 *     `GET /members/{user}/permissions?scope=` reports them, must be within their ledger
 *     (owners excepted where they own). And the per-node caches must agree with the database:
 *     the access service's answer for every member and scope equals the pure engine run on
 *     rows read straight from the database.
 *
 * Runs: INVARIANT_RUNS (default 10) sequences of INVARIANT_STEPS (default 230) steps, of which
 * at least 2,000 make requests (checked), in well under a minute per engine. A failure names
 * its seed and carries the log of the last steps; INVARIANT_SEED=<seed> replays it exactly (the
 * test clock moves 1 ms per request, so ids, hence every random choice, come out the same).
 * INVARIANT_DEBUG=<operation> prints every step of that operation.
 */

const RUNS = Number(process.env.INVARIANT_RUNS ?? 10);
const STEPS = Number(process.env.INVARIANT_STEPS ?? 230);
/** ~8% of generated steps find nothing to do (no offer to answer, ...): 10 x 230 makes 2,000+ */
const MIN_STEPS = Number(
  process.env.INVARIANT_MIN_STEPS ??
    (process.env.INVARIANT_RUNS || process.env.INVARIANT_STEPS ? 0 : 2000),
);
const SEED = process.env.INVARIANT_SEED ? Number(process.env.INVARIANT_SEED) : undefined;

let ctx: TestContext;
let pool: SignedIn[];
let templateRoles: Map<string, string[]>;
let catalogPermissions: string[];
let totalSteps = 0;
/** steps whose operation found nothing to do (no request made): not counted in totalSteps */
let idleSteps = 0;
/** per operation: how many steps ran, and how many had a request succeed (to see the mix is meaningful) */
const stats = new Map<string, { steps: number; succeeded: number }>();
const timing = { op: 0, snapshot: 0, check: 0, api: 0, coherence: 0, apiCalls: 0 };
let fakeCounter = 0;

beforeAll(async () => {
  ctx = await createTestContext();
  pool = [];
  for (const name of ['Ann', 'Ben', 'Cid', 'Dee', 'Eve', 'Fay', 'Gus', 'Hal', 'Ivy', 'Jo']) {
    tick();
    pool.push(await ctx.signUp({ first_name: name, last_name: 'Pool' }));
  }
  const templates = await ctx.request('GET', '/v1/templates');
  templateRoles = new Map(
    templates.body.data.map((t: { key: string; roles: { key: string }[] }) => [
      t.key,
      t.roles.map((r) => r.key),
    ]),
  );
  const permissions = await ctx.request('GET', '/v1/permissions');
  catalogPermissions = permissions.body.data.map((p: { name: string }) => p.name);
});

afterAll(async () => {
  console.log(
    `[invariants/${engine}] ${totalSteps} random steps checked (and ${idleSteps} that found nothing to do); per operation (steps/with a success): ${[
      ...stats,
    ]
      .map(([k, v]) => `${k} ${v.steps}/${v.succeeded}`)
      .join(', ')}`,
  );
  console.log(
    `[invariants/${engine}] ms in: ${Object.entries(timing)
      .map(([k, v]) => `${k} ${Math.round(v)}`)
      .join(', ')}`,
  );
  await ctx?.close();
});

// ---------------------------------------------------------------------------------------------
// The world of one run

type Perms = Map<string, Map<string, Set<string>>>; // user -> scope -> permissions

interface World {
  orgs: { id: string; template: string }[];
  snap: Snapshot;
  /** effective permissions per organization, as the API last reported them */
  P: Map<string, Perms>;
  /** the ledger: what someone allowed to grant it held, per organization, member and scope */
  J: Map<string, Perms>;
  /** every id seen, with the organization it belongs to (deleted ones included) */
  idOrg: Map<string, string>;
  log: string[];
  emails: number;
}

interface Call {
  method: string;
  url: string;
  body?: unknown;
  res: TestResponse;
}

/** What a step did, for the checks to judge. */
interface Step {
  label: string;
  actor: SignedIn;
  /** the organization the step is about (its ids may appear in answers) */
  org: string;
  calls: Call[];
  /** a probe: must change nothing anywhere */
  probe?: boolean;
  /** pairs of answers that must be the same (another tenant's id vs an unknown id) */
  same?: [Call, Call, string, string][];
  /** what a success means for the ledger */
  effect?: Effect;
  failures: string[];
}

/**
 * What a successful step gives, for the ledger. Departures, new scopes and ownership moves are
 * read from the database diff instead.
 */
type Effect =
  | { type: 'new-member'; scopes: string[] }
  | { type: 'grant'; target: string; scopes: string[] }
  | { type: 'role' }
  | { type: 'accept' }
  | { type: 'none' };

/**
 * Ids start with their creation millisecond (then random bits), and snapshots list rows by id.
 * Moving the test clock on by 1 ms before each request makes that order the creation order, so
 * that a seed replays the same choices (INVARIANT_SEED), whatever the random bits.
 */
const tick = () => ctx.clock.advance(1);

const ok = (res: TestResponse) => res.status >= 200 && res.status < 300;
const pick = <T>(list: readonly T[], r: number): T | undefined =>
  list.length === 0 ? undefined : list[r % list.length];
const scopesOf = (rows: OrgRows) => [
  rows.organization.id,
  ...rows.accounts.map((a) => a.id),
  ...rows.resources.map((r) => r.id),
];
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** A well-formed id that exists nowhere (ids are 10 time chars + 16 random chars). */
function fakeId(prefix: string) {
  let tail = '';
  let n = ++fakeCounter;
  for (let i = 0; i < 16; i++) {
    tail = ALPHABET[n % 32] + tail;
    n = Math.floor(n / 32);
  }
  return `${prefix}_0000000000${tail}`;
}
const prefixOf = (id: string) => id.slice(0, id.indexOf('_'));

const PATTERNS = [
  '*',
  'video.*',
  'image.*',
  'meeting.*',
  '*:read',
  'members:*',
  'billing:*',
  'accounts:*',
  'resources:*',
];

async function call(
  step: Step,
  method: string,
  url: string,
  body?: unknown,
  who: SignedIn = step.actor,
): Promise<Call> {
  tick();
  const res = await ctx.request(method, url, { token: who.accessToken, body });
  const c = { method, url, body, res };
  step.calls.push(c);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Effective permissions: through the API, and the cache-coherence oracle

async function permissionsViaApi(w: World, orgId: string, userIds: string[]) {
  const rows = w.snap.get(orgId)!;
  const owner = pool.find((u) => u.userId === rows.organization.owner_user_id)!;
  const perms: Perms = w.P.get(orgId) ?? new Map();
  const members = new Set(rows.memberships.map((m) => m.user_id));
  for (const u of [...perms.keys()]) if (!members.has(u)) perms.delete(u);
  const jobs: Promise<void>[] = [];
  for (const userId of userIds) {
    const byScope = new Map<string, Set<string>>();
    perms.set(userId, byScope);
    for (const scope of scopesOf(rows)) {
      jobs.push(
        ctx
          .request(
            'GET',
            `/v1/organizations/${orgId}/members/${userId}/permissions?scope=${scope}`,
            {
              token: owner.accessToken,
            },
          )
          .then((res) => {
            if (res.status !== 200)
              throw new Error(`permissions of ${userId} at ${scope}: ${res.status} ${res.text}`);
            byScope.set(scope, new Set(res.body.permissions));
          }),
      );
    }
  }
  const t0 = performance.now();
  await Promise.all(jobs);
  timing.api += performance.now() - t0;
  timing.apiCalls += jobs.length;
  w.P.set(orgId, perms);
}

/** The pure engine on rows read from the database: what every cache must agree with. */
async function coherenceFailures(w: World, orgId: string): Promise<string[]> {
  const rows = w.snap.get(orgId)!;
  const access = ctx.gatehouse.services.access;
  const template = access.catalog.templates.get(String(rows.organization.template))!;
  const compiled = compileRoles(
    access.catalog,
    template,
    rows.roles.map((r) => rowToRole(r as never)),
  );
  const failures: string[] = [];
  const chains = new Map<string, ScopeChain>();
  chains.set(orgId, { organizationId: orgId });
  for (const a of rows.accounts)
    chains.set(a.id, { organizationId: orgId, accountId: a.id, accountProduct: a.product });
  for (const r of rows.resources) {
    const a = rows.accounts.find((x) => x.id === r.account_id)!;
    chains.set(r.id, {
      organizationId: orgId,
      accountId: a.id,
      accountProduct: a.product,
      resourceId: r.id,
    });
  }
  for (const m of rows.memberships) {
    const principal: Principal = {
      organizationId: orgId,
      userStatus: 'active',
      membershipStatus: m.status as 'active' | 'suspended',
      isOrganizationOwner: rows.organization.owner_user_id === m.user_id,
      ownedAccountIds: rows.accounts.filter((a) => a.owner_user_id === m.user_id).map((a) => a.id),
      grants: rows.grants.filter((g) => g.user_id === m.user_id).map(rowToGrant),
    };
    for (const [scope, chain] of chains) {
      const expected = [...effectivePermissions(access.catalog, compiled, principal, chain)].sort();
      const actual = await access.effective(orgId, m.user_id, scope);
      if (JSON.stringify(expected) !== JSON.stringify(actual))
        failures.push(
          `cache disagrees with the database for ${m.user_id} at ${scope}: ` +
            `cached ${actual.length} permissions, database says ${expected.length}`,
        );
    }
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------
// Setup of one run: five organizations, one per template, with accounts, resources, members

async function setup(): Promise<World> {
  const w: World = {
    orgs: [],
    snap: new Map(),
    P: new Map(),
    J: new Map(),
    idOrg: new Map(),
    log: [],
    emails: 0,
  };
  const [ann, ben, cid, dee, eve, fay, gus, hal, ivy, jo] = pool as [
    SignedIn,
    SignedIn,
    SignedIn,
    SignedIn,
    SignedIn,
    SignedIn,
    SignedIn,
    SignedIn,
    SignedIn,
    SignedIn,
  ];
  const must = async (method: string, url: string, who: SignedIn, body?: unknown) => {
    tick();
    const res = await ctx.request(method, url, { token: who.accessToken, body });
    if (!ok(res)) throw new Error(`setup ${method} ${url}: ${res.status} ${res.text}`);
    return res.body;
  };
  const plan: [string, SignedIn][] = [
    ['media', ann],
    ['accounts', ben],
    ['team', cid],
    ['permissions', dee],
    ['reseller', eve],
  ];
  for (const [template, owner] of plan) {
    const org = await must('POST', '/v1/organizations', owner, {
      name: `${template} ${totalSteps}`,
      template,
    });
    const o = org.id as string;
    const base = `/v1/organizations/${o}`;
    const video = (await must('POST', `${base}/accounts`, owner, { name: 'V', product: 'video' }))
      .id as string;
    const image = (await must('POST', `${base}/accounts`, owner, { name: 'I', product: 'image' }))
      .id as string;
    const res = (
      await must('POST', `${base}/accounts/${video}/resources`, owner, {
        name: 'R',
        type: 'collection',
      })
    ).id as string;
    const add = (who: SignedIn | string, grants: unknown[]) =>
      must('POST', `${base}/members`, owner, {
        email: typeof who === 'string' ? who : who.email,
        grants,
      });
    const managed = () => `managed-${o}-${w.emails++}@inv.test`;
    switch (template) {
      case 'media':
        await add(ben, [{ role: 'admin', scope: o }]);
        await add(fay, [{ role: 'video-developer', scope: video }]);
        await add(gus, [{ role: 'accountant', scope: o }]);
        await add(managed(), [{ role: 'image-source-specific', scope: image }]);
        break;
      case 'accounts':
        await add(cid, [{ role: 'admin', scope: video }]);
        await add(fay, [{ role: 'viewer', scope: image }]);
        await add(hal, [
          { role: 'admin', scope: image },
          { role: 'viewer', scope: res },
        ]);
        await add(managed(), [{ role: 'viewer', scope: video }]);
        break;
      case 'team':
        await add(dee, [{ role: 'admin', scope: o }]);
        await add(gus, [{ role: 'user', scope: video }]);
        await add(ivy, [{ role: 'user', scope: image }]);
        await add(managed(), []);
        break;
      case 'permissions':
        await add(eve, [{ role: 'admin', scope: o }]);
        await add(hal, [
          { role: 'project', scope: video },
          { role: 'billing', scope: o },
        ]);
        await add(jo, [{ role: 'member', scope: o }]);
        await add(managed(), [{ role: 'api-access', scope: o }]);
        break;
      case 'reseller':
        await add(ann, [{ permissions: ['organization:read', 'members:read'], scope: o }]);
        await add(ivy, [{ role: 'member', scope: o }]);
        await add(jo, [{ permissions: ['meeting.*', 'accounts:read'], scope: video }]);
        // an account owned by a member who is not the organization owner
        await must('POST', `${base}/accounts`, owner, {
          name: 'Ivy',
          product: 'meeting',
          owner_id: ivy.userId,
        });
        break;
    }
    w.orgs.push({ id: o, template });
  }
  w.snap = await snapshot(
    ctx,
    w.orgs.map((o) => o.id),
  );
  for (const [orgId, rows] of w.snap) {
    for (const id of idsOf(rows)) w.idOrg.set(id, orgId);
    await permissionsViaApi(
      w,
      orgId,
      rows.memberships.map((m) => m.user_id),
    );
    // Everyone here was given what they hold by the owner, who holds everything: the ledger
    // starts as exactly that (not "everything", which would hide any later escalation).
    const ledger: Perms = new Map();
    for (const [userId, byScope] of w.P.get(orgId)!)
      ledger.set(userId, new Map([...byScope].map(([scope, set]) => [scope, new Set(set)])));
    w.J.set(orgId, ledger);
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// Random grants, roles and targets

function randomGrant(w: World, orgId: string, r: number) {
  const rows = w.snap.get(orgId)!;
  const template = w.orgs.find((o) => o.id === orgId)!.template;
  const roles = [...templateRoles.get(template)!, ...rows.roles.map((x) => x.key)];
  const roll = r % 100;
  let scope: string;
  if (roll < 80) scope = pick(scopesOf(rows), r >>> 3)!;
  else if (roll < 92) {
    // another organization's scope
    const other = pick(
      w.orgs.filter((o) => o.id !== orgId),
      r >>> 3,
    )!;
    scope = pick(scopesOf(w.snap.get(other.id)!), r >>> 6)!;
  } else scope = fakeId(pick(['org', 'acc', 'res'], r >>> 3)!);
  if ((r >>> 9) % 3 === 0) {
    const n = 1 + ((r >>> 11) % 3);
    const perms = new Set<string>();
    for (let i = 0; i < n; i++) {
      const k = (r >>> (13 + i * 4)) % (catalogPermissions.length + PATTERNS.length);
      perms.add(
        k < catalogPermissions.length
          ? catalogPermissions[k]!
          : PATTERNS[k - catalogPermissions.length]!,
      );
    }
    return { permissions: [...perms], scope };
  }
  const role = (r >>> 11) % 25 === 0 ? 'no-such-role' : pick(roles, r >>> 13)!;
  return { role, scope };
}

const randomGrants = (w: World, orgId: string, r: number, max: number) =>
  Array.from({ length: r % (max + 1) }, (_, i) =>
    randomGrant(w, orgId, (Math.imul(r, 2654435761 + i * 40503) >>> 0) ^ (i * 7919)),
  );

function randomRolePermissions(r: number) {
  const n = 1 + (r % 3);
  const out = new Set<string>();
  for (let i = 0; i < n; i++) {
    const k = (r >>> (2 + i * 5)) % (catalogPermissions.length + PATTERNS.length);
    out.add(
      k < catalogPermissions.length
        ? catalogPermissions[k]!
        : PATTERNS[k - catalogPermissions.length]!,
    );
  }
  return [...out];
}

/** The organization's owner (always someone with a session: offers to others cannot be accepted). */
const ownerOf = (w: World, orgId: string) =>
  pool.find((u) => u.userId === w.snap.get(orgId)!.organization.owner_user_id)!;

/** The users with a session (the pool) that are members of an organization. */
const poolMembers = (rows: OrgRows, status?: string) =>
  pool.filter((u) =>
    rows.memberships.some((m) => m.user_id === u.userId && (!status || m.status === status)),
  );

/** An id of another organization of the given kind, with the organization it belongs to. */
function foreignId(
  w: World,
  orgId: string,
  kind: 'org' | 'acc' | 'res' | 'mem' | 'tok' | 'scope',
  r: number,
  notMemberOf?: SignedIn,
) {
  const others = w.orgs
    .map((o) => w.snap.get(o.id)!)
    .filter(
      (rows) =>
        rows.organization.id !== orgId &&
        (!notMemberOf || !rows.memberships.some((m) => m.user_id === notMemberOf.userId)),
    );
  const rows = pick(others, r);
  if (!rows) return undefined;
  const ids =
    kind === 'org'
      ? [rows.organization.id]
      : kind === 'acc'
        ? rows.accounts.map((a) => a.id)
        : kind === 'res'
          ? rows.resources.map((x) => x.id)
          : kind === 'mem'
            ? rows.grants.map((g) => g.id)
            : kind === 'tok'
              ? rows.offers.map((x) => x.id)
              : scopesOf(rows);
  const id = pick(ids, r >>> 4);
  return id ? { id, org: rows.organization.id } : undefined;
}

/** A user who is a member of another organization but not of this one. */
function foreignUser(w: World, orgId: string, r: number) {
  const here = new Set(w.snap.get(orgId)!.memberships.map((m) => m.user_id));
  const there = w.orgs
    .filter((o) => o.id !== orgId)
    .flatMap((o) => w.snap.get(o.id)!.memberships.map((m) => m.user_id))
    .filter((u) => !here.has(u));
  return pick([...new Set(there)].sort(), r);
}

// ---------------------------------------------------------------------------------------------
// The steps

type Op = (w: World, step: Step, s: number[]) => Promise<void>;

const ops: [number, string, Op][] = [
  [
    9,
    'add-member',
    async (w, step, s) => {
      const rows = w.snap.get(step.org)!;
      const roll = s[3]! % 10;
      const email =
        roll < 5
          ? `new-${step.org}-${w.emails++}@inv.test`
          : roll < 9
            ? pick(pool, s[4]!)!.email
            : String(pick(rows.memberships, s[4]!)!.email);
      const grants = randomGrants(w, step.org, s[5]!, 2);
      await call(step, 'POST', `/v1/organizations/${step.org}/members`, { email, grants });
      step.effect = { type: 'new-member', scopes: grants.map((g) => g.scope) };
    },
  ],
  [
    9,
    'replace-grants',
    async (w, step, s) => {
      const target = pick(w.snap.get(step.org)!.memberships, s[3]!)!.user_id;
      const grants = randomGrants(w, step.org, s[5]!, 3);
      await call(step, 'PUT', `/v1/organizations/${step.org}/members/${target}/grants`, {
        grants,
      });
      step.effect = { type: 'grant', target, scopes: grants.map((g) => g.scope) };
    },
  ],
  [
    8,
    'add-grants',
    async (w, step, s) => {
      const target = pick(w.snap.get(step.org)!.memberships, s[3]!)!.user_id;
      const grants = [randomGrant(w, step.org, s[5]!), ...randomGrants(w, step.org, s[6]!, 1)];
      await call(step, 'POST', `/v1/organizations/${step.org}/members/${target}/grants`, {
        grants,
      });
      step.effect = { type: 'grant', target, scopes: grants.map((g) => g.scope) };
    },
  ],
  [
    6,
    'remove-grant',
    async (w, step, s) => {
      const rows = w.snap.get(step.org)!;
      const grant = pick(rows.grants, s[3]!);
      if (!grant) return;
      await call(
        step,
        'DELETE',
        `/v1/organizations/${step.org}/members/${grant.user_id}/grants/${grant.id}`,
      );
      step.effect = { type: 'none' };
    },
  ],
  [
    8,
    'suspend-reactivate-remove',
    async (w, step, s) => {
      const rows = w.snap.get(step.org)!;
      const target = pick(rows.memberships, s[3]!)!.user_id;
      const action = pick(['suspend', 'reactivate', 'remove'] as const, s[4]!)!;
      if (action === 'remove') {
        await call(step, 'DELETE', `/v1/organizations/${step.org}/members/${target}`);
        step.effect = { type: 'none' };
      } else {
        await call(step, 'POST', `/v1/organizations/${step.org}/members/${target}/${action}`);
        step.effect = { type: 'none' };
      }
    },
  ],
  [
    4,
    'bulk',
    async (w, step, s) => {
      const rows = w.snap.get(step.org)!;
      const ids = new Set<string>();
      for (let i = 0; i < 1 + (s[3]! % 4); i++)
        ids.add(pick(rows.memberships, s[4]! >>> (i * 3))!.user_id);
      if (s[5]! % 3 === 0) ids.add(foreignUser(w, step.org, s[6]!) ?? fakeId('usr'));
      const action = pick(['suspend', 'reactivate', 'remove'] as const, s[7]!)!;
      await call(step, 'POST', `/v1/organizations/${step.org}/members/bulk`, {
        action,
        user_ids: [...ids],
      });
      step.effect = { type: 'none' };
    },
  ],
  [
    2,
    'leave',
    async (_w, step) => {
      await call(step, 'DELETE', `/v1/organizations/${step.org}/members/${step.actor.userId}`);
      step.effect = { type: 'none' };
    },
  ],
  [
    4,
    'create-account',
    async (w, step, s) => {
      const rows = w.snap.get(step.org)!;
      const body: Record<string, unknown> = {
        name: `acc ${s[3]! % 100}`,
        product: pick(['video', 'image', 'meeting'], s[4]!)!,
      };
      if (s[5]! % 4 === 0) body.owner_id = pick(rows.memberships, s[6]!)!.user_id;
      await call(step, 'POST', `/v1/organizations/${step.org}/accounts`, body);
      step.effect = { type: 'none' };
    },
  ],
  [
    2,
    'delete-account',
    async (w, step, s) => {
      const acc = pick(w.snap.get(step.org)!.accounts, s[3]!);
      if (!acc) return;
      await call(step, 'DELETE', `/v1/organizations/${step.org}/accounts/${acc.id}`);
      step.effect = { type: 'none' };
    },
  ],
  [
    3,
    'create-resource',
    async (w, step, s) => {
      const acc = pick(w.snap.get(step.org)!.accounts, s[3]!);
      if (!acc) return;
      await call(step, 'POST', `/v1/organizations/${step.org}/accounts/${acc.id}/resources`, {
        name: `res ${s[4]! % 100}`,
        type: pick(['room', 'collection', 'source', 'folder'], s[5]!)!,
      });
      step.effect = { type: 'none' };
    },
  ],
  [
    1,
    'delete-resource',
    async (w, step, s) => {
      const res = pick(w.snap.get(step.org)!.resources, s[3]!);
      if (!res) return;
      await call(
        step,
        'DELETE',
        `/v1/organizations/${step.org}/accounts/${res.account_id}/resources/${res.id}`,
      );
      step.effect = { type: 'none' };
    },
  ],
  [
    4,
    'create-role',
    async (_w, step, s) => {
      const levels = (['organization', 'account', 'resource'] as const).filter(
        (_, i) => ((s[6]! % 7) + 1) & (1 << i),
      );
      await call(step, 'POST', `/v1/organizations/${step.org}/roles`, {
        key: pick(['c1', 'c2', 'c3'], s[3]!)!,
        name: 'Custom',
        permissions: randomRolePermissions(s[4]!),
        product: pick([null, null, 'video', 'image'], s[5]!),
        grantable_at: levels,
      });
      step.effect = { type: 'role' };
    },
  ],
  [
    4,
    'edit-role',
    async (w, step, s) => {
      const rows = w.snap.get(step.org)!;
      const template = w.orgs.find((o) => o.id === step.org)!.template;
      const key =
        s[3]! % 8 === 0 || rows.roles.length === 0
          ? pick([...templateRoles.get(template)!, 'c1'], s[4]!)!
          : pick(rows.roles, s[4]!)!.key;
      const body: Record<string, unknown> = { permissions: randomRolePermissions(s[5]!) };
      if (s[6]! % 3 === 0) body.product = pick([null, 'video', 'image'], s[7]!);
      await call(step, 'PATCH', `/v1/organizations/${step.org}/roles/${key}`, body);
      step.effect = { type: 'role' };
    },
  ],
  [
    2,
    'delete-role',
    async (w, step, s) => {
      const rows = w.snap.get(step.org)!;
      const role = pick(rows.roles, s[3]!);
      if (!role) return;
      const template = w.orgs.find((o) => o.id === step.org)!.template;
      const replacement = pick(
        [undefined, ...templateRoles.get(template)!, ...rows.roles.map((r) => r.key)],
        s[4]!,
      );
      await call(
        step,
        'DELETE',
        `/v1/organizations/${step.org}/roles/${role.key}${replacement ? `?replace_with=${replacement}` : ''}`,
      );
      step.effect = { type: 'role' };
    },
  ],
  [
    4,
    'offer-ownership',
    async (w, step, s) => {
      const rows = w.snap.get(step.org)!;
      // owner-only acts: mostly tried by the owner, so that offers exist to be answered
      if (s[7]! % 4 !== 0) step.actor = ownerOf(w, step.org);
      // mostly to someone with a session, who can then accept it
      const withSession = poolMembers(rows).map((u) => u.userId);
      const to =
        s[3]! % 5 === 0 || withSession.length === 0
          ? pick(rows.memberships, s[3]! >>> 3)!.user_id
          : pick(withSession, s[3]! >>> 3)!;
      const account = s[4]! % 2 === 0 ? pick(rows.accounts, s[5]!) : undefined;
      await call(
        step,
        'POST',
        account
          ? `/v1/organizations/${step.org}/accounts/${account.id}/transfer-ownership`
          : `/v1/organizations/${step.org}/transfer-ownership`,
        { user_id: to },
      );
      step.effect = { type: 'none' };
    },
  ],
  [
    6,
    'answer-offer',
    async (w, step, s) => {
      const rows = w.snap.get(step.org)!;
      const pending = rows.offers.filter((o) => o.status === 'pending');
      const offer = pick(s[3]! % 5 === 0 ? rows.offers : pending, s[4]!);
      if (!offer) return;
      // mostly the person it was made to (or by, to withdraw), sometimes anyone
      const party = s[5]! % 4 === 0 ? step.actor : undefined;
      const how = pick(['accept', 'accept', 'accept', 'decline', 'withdraw'] as const, s[6]!)!;
      const who =
        party ??
        pool.find((u) => u.userId === (how === 'withdraw' ? offer.from_user_id : offer.to_user_id));
      if (!who) return;
      step.actor = who;
      if (how === 'withdraw')
        await call(step, 'DELETE', `/v1/organizations/${step.org}/ownership-offers/${offer.id}`);
      else
        await call(
          step,
          'POST',
          `/v1/organizations/${step.org}/ownership-offers/${offer.id}/${how}`,
        );
      step.effect = how === 'accept' ? { type: 'accept' } : { type: 'none' };
    },
  ],
  [
    10,
    'read',
    async (w, step, s) => {
      // Ordinary reads inside the organization: their answers must carry no other tenant's ids.
      const rows = w.snap.get(step.org)!;
      const base = `/v1/organizations/${step.org}`;
      const member = pick(rows.memberships, s[4]!)!.user_id;
      const scope = pick(scopesOf(rows), s[5]!)!;
      switch (s[3]! % 9) {
        case 0:
          await call(
            step,
            'GET',
            `${base}/members?limit=100&sort=${pick(['name', 'email', 'joined'], s[6]!)}`,
          );
          break;
        case 1:
          await call(step, 'GET', `${base}/members?role=${pick(['owner', 'admin', 'c1'], s[6]!)}`);
          break;
        case 2:
          await call(step, 'GET', `${base}/members/${member}`);
          break;
        case 3:
          await call(step, 'GET', `${base}/members/${member}/permissions?scope=${scope}`);
          break;
        case 4:
          await call(step, 'GET', `${base}/accounts?limit=100`);
          break;
        case 5:
          await call(step, 'GET', `${base}/roles`);
          break;
        case 6:
          await call(step, 'POST', '/v1/authz/check', {
            ...(s[6]! % 2 ? { subject: member } : {}),
            permission: pick(catalogPermissions, s[7]!),
            scope,
          });
          break;
        case 7:
          await call(step, 'POST', '/v1/authz/list-scopes', {
            organization_id: step.org,
            permission: pick(catalogPermissions, s[7]!),
            ...(s[6]! % 2 ? { subject: member } : {}),
          });
          break;
        default:
          await call(step, 'GET', `${base}/ownership-offers`);
      }
      step.probe = true;
    },
  ],
  [
    16,
    'cross-tenant-probe',
    async (w, step, s) => {
      await crossTenantProbe(w, step, s);
      step.probe = true;
    },
  ],
];
const TOTAL_WEIGHT = ops.reduce((n, [weight]) => n + weight, 0);
function pickOp(roll: number) {
  let rest = roll;
  for (const op of ops) {
    if (rest < op[0]) return op;
    rest -= op[0];
  }
  return ops[ops.length - 1]!;
}

/**
 * The permission an operation needs, to pick actors who hold it somewhere often enough: the
 * escalation checks matter most for successful grant changes by people who are not the owner.
 */
const NEEDS: Record<string, string> = {
  'add-member': 'members:invite',
  'replace-grants': 'members:update',
  'add-grants': 'members:update',
  'remove-grant': 'members:update',
  'suspend-reactivate-remove': 'members:update',
  bulk: 'members:update',
  'create-account': 'accounts:create',
  'delete-account': 'accounts:delete',
  'create-resource': 'resources:create',
  'delete-resource': 'resources:delete',
  'create-role': 'roles:manage',
  'edit-role': 'roles:manage',
  'delete-role': 'roles:manage',
};

/** Pool members of the organization holding `permission` at some scope (per the last API read). */
function capable(w: World, orgId: string, permission: string | undefined) {
  const perms = w.P.get(orgId);
  if (!permission || !perms) return [];
  return poolMembers(w.snap.get(orgId)!).filter((u) =>
    [...(perms.get(u.userId)?.values() ?? [])].some((set) => set.has(permission)),
  );
}

/**
 * The same request twice: once with another organization's id, once with an id that exists
 * nowhere. The answers must be the same, but for the id itself.
 */
async function same(step: Step, foreign: string, make: (id: string) => [string, string, unknown?]) {
  const unknown = fakeId(prefixOf(foreign));
  const [m1, u1, b1] = make(foreign);
  const a = await call(step, m1, u1, b1);
  const [m2, u2, b2] = make(unknown);
  const b = await call(step, m2, u2, b2);
  step.same = [...(step.same ?? []), [a, b, foreign, unknown]];
}

async function crossTenantProbe(w: World, step: Step, s: number[]) {
  const O = step.org;
  const rows = w.snap.get(O)!;
  const base = `/v1/organizations/${O}`;
  const r = s[4]!;
  const member = pick(rows.memberships, s[5]!)!.user_id;
  const ownAccount = pick(rows.accounts, s[6]!);
  const fid = (kind: Parameters<typeof foreignId>[2], notMember?: SignedIn) =>
    foreignId(w, O, kind, r, notMember)?.id;
  const kind = s[3]! % 20;
  switch (kind) {
    case 0: {
      // an organization the actor does not belong to, as a whole
      const y = fid('org', step.actor);
      if (!y) return;
      step.org = y;
      const yRows = w.snap.get(y)!;
      const paths = [
        '',
        '/members',
        `/members/${pick(yRows.memberships, s[5]!)!.user_id}`,
        '/accounts',
        `/accounts/${pick(yRows.accounts, s[6]!)?.id ?? fakeId('acc')}`,
        '/roles',
        '/ownership-offers',
      ];
      const path = pick(paths, s[7]!)!;
      await same(step, y, (id) => ['GET', `/v1/organizations/${id}${path}`]);
      break;
    }
    case 1: {
      const f = fid('acc');
      if (f) await same(step, f, (id) => ['GET', `${base}/accounts/${id}`]);
      break;
    }
    case 2: {
      const f = fid('acc');
      if (f) await same(step, f, (id) => ['GET', `${base}/accounts/${id}/resources`]);
      break;
    }
    case 3: {
      const f = fid('res');
      if (f && ownAccount)
        await same(step, f, (id) => ['GET', `${base}/accounts/${ownAccount.id}/resources/${id}`]);
      break;
    }
    case 4: {
      const f = fid('acc');
      if (f) await same(step, f, (id) => ['GET', `${base}/members?account=${id}`]);
      break;
    }
    case 5: {
      const f = fid('scope');
      if (f)
        await same(step, f, (id) => [
          'GET',
          `${base}/members/${s[7]! % 2 ? member : step.actor.userId}/permissions?scope=${id}`,
        ]);
      break;
    }
    case 6:
    case 7: {
      const f = fid('scope');
      const grant = randomGrant(w, O, s[7]!);
      if (f)
        await same(step, f, (id) => [
          kind === 6 ? 'POST' : 'PUT',
          `${base}/members/${member}/grants`,
          { grants: [{ ...grant, scope: id }] },
        ]);
      break;
    }
    case 8: {
      const f = fid('scope');
      const grant = randomGrant(w, O, s[7]!);
      const email = `probe-${O}-${w.emails++}@inv.test`;
      if (f)
        await same(step, f, (id) => [
          'POST',
          `${base}/members`,
          { email, grants: [{ ...grant, scope: id }] },
        ]);
      break;
    }
    case 9: {
      const f = fid('mem');
      if (f) await same(step, f, (id) => ['DELETE', `${base}/members/${member}/grants/${id}`]);
      break;
    }
    case 10:
    case 11: {
      const u = foreignUser(w, O, r);
      if (!u) return;
      const paths: [string, string, unknown?][] = [
        ['GET', `${base}/members/${u}`],
        ['GET', `${base}/members/${u}/permissions`],
        ['PATCH', `${base}/members/${u}`, { first_name: 'Probe' }],
        ['POST', `${base}/members/${u}/suspend`],
        ['DELETE', `${base}/members/${u}`],
        ['POST', `${base}/transfer-ownership`, { user_id: u }],
        ['POST', `${base}/members/bulk`, { action: 'suspend', user_ids: [u] }],
        ['POST', `${base}/accounts`, { name: 'x', product: 'video', owner_id: u }],
      ];
      if (ownAccount)
        paths.push([
          'POST',
          `${base}/accounts/${ownAccount.id}/transfer-ownership`,
          { user_id: u },
        ]);
      const [method, path, body] = pick(paths, s[7]!)!;
      await same(step, u, (id) => [
        method,
        path.replaceAll(u, id),
        body && JSON.parse(JSON.stringify(body).replaceAll(u, id)),
      ]);
      break;
    }
    case 12: {
      const f = fid('tok');
      const how = pick(['accept', 'decline'], s[7]!)!;
      if (f) await same(step, f, (id) => ['POST', `${base}/ownership-offers/${id}/${how}`]);
      else {
        const g = fid('tok');
        if (g) await same(step, g, (id) => ['DELETE', `${base}/ownership-offers/${id}`]);
      }
      break;
    }
    case 13: {
      // searching for another tenant's member by email finds nobody
      const u = foreignUser(w, O, r);
      const email = u
        ? w.orgs.flatMap((o) => w.snap.get(o.id)!.memberships).find((m) => m.user_id === u)?.email
        : undefined;
      if (!email) return;
      const { res } = await call(
        step,
        'GET',
        `${base}/members?search=${encodeURIComponent(String(email))}`,
      );
      if (ok(res) && res.body.data.length > 0)
        step.failures.push(`search for another tenant's member ${email} found ${res.text}`);
      break;
    }
    case 14:
    case 15:
    case 16: {
      // the authorization API on a scope of an organization the caller does not belong to
      const f = fid('scope', step.actor);
      if (!f) return;
      const subject = kind === 14 ? undefined : kind === 15 ? member : pick(pool, s[7]!)!.userId;
      const permission = pick(catalogPermissions, s[7]!)!;
      await same(step, f, (id) => [
        'POST',
        '/v1/authz/check',
        { ...(subject ? { subject } : {}), permission, scope: id },
      ]);
      break;
    }
    case 17: {
      const f = fid('scope', step.actor);
      if (!f) return;
      await same(step, f, (id) => [
        'POST',
        '/v1/authz/check-batch',
        {
          ...(s[7]! % 2 ? { subject: member } : {}),
          checks: [
            { permission: 'organization:read', scope: id },
            { permission: pick(catalogPermissions, s[7]!)!, scope: id },
          ],
        },
      ]);
      break;
    }
    case 18: {
      const y = fid('org', step.actor);
      if (!y) return;
      await same(step, y, (id) => [
        'POST',
        '/v1/authz/list-scopes',
        {
          organization_id: id,
          permission: pick(catalogPermissions, s[7]!)!,
          ...(s[7]! % 2 ? { subject: member } : {}),
        },
      ]);
      break;
    }
    default: {
      // a resource of ours named as the parent of a resource in another organization's account,
      // and another tenant's resource as the parent of one in ours
      const f = fid('res');
      if (f && ownAccount)
        await same(step, f, (id) => [
          'POST',
          `${base}/accounts/${ownAccount.id}/resources`,
          { name: 'child', type: 'folder', parent_id: id },
        ]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The checks after a step

const normalize = (c: Call, id: string) =>
  JSON.stringify({
    status: c.res.status,
    body: c.res.text.replaceAll(id, '<id>').replace(/"request_id":"[^"]*"/, '"request_id":""'),
  });

function activeMember(rows: OrgRows | undefined, userId: string) {
  return rows?.memberships.find((m) => m.user_id === userId)?.status === 'active';
}

async function checkStep(w: World, step: Step, before: Snapshot, after: Snapshot) {
  const f = step.failures;
  const O = step.org;
  for (const c of step.calls) {
    const bad = badAnswer(c.res);
    if (bad) f.push(`${c.method} ${c.url}: ${bad}`);
  }

  // (a) isolation: nothing of another organization changed; a refusal or a probe changed nothing
  const refused = step.calls.length > 0 && step.calls.every((c) => !ok(c.res));
  for (const [orgId, rows] of after) {
    const changed = JSON.stringify(rows) !== JSON.stringify(before.get(orgId));
    if (!changed) continue;
    if (orgId !== O) f.push(`organization ${orgId} changed by a step about ${O}`);
    else if (step.probe) f.push(`a probe changed ${orgId}`);
    else if (refused) f.push(`a refused request changed ${orgId}`);
  }
  // ... no answer carries ids of another organization the request did not name itself
  for (const c of step.calls) {
    const asked = `${c.url} ${JSON.stringify(c.body ?? null)}`;
    for (const id of c.res.text.match(/\b(org|acc|res|mem|rol|tok)_[0-9a-z]{26}\b/g) ?? []) {
      const owner = w.idOrg.get(id);
      if (owner && owner !== O && !asked.includes(id))
        f.push(`${c.method} ${c.url} answered an id of ${owner}: ${id}`);
    }
  }
  // ... another tenant's id reads exactly like an unknown one
  for (const [a, b, foreign, unknown] of step.same ?? []) {
    if (normalize(a, foreign) !== normalize(b, unknown))
      f.push(
        `another tenant's id and an unknown id answered differently:\n  ${a.method} ${a.url} ${JSON.stringify(a.body ?? '')}\n  -> ${a.res.status} ${a.res.text}\n  vs ${b.res.status} ${b.res.text}`,
      );
    // reads answer (with nothing), and so do the authorization API and bulk (per id); any
    // other write naming another tenant's id must be refused
    const answersInBody = a.method === 'GET' || /\/v1\/authz\/|\/members\/bulk$/.test(a.url);
    if (ok(a.res) && !answersInBody)
      f.push(`a write with another tenant's id succeeded: ${a.method} ${a.url}`);
  }
  // ... an organization's routes give nothing to a non-member or a suspended member
  for (const c of step.calls) {
    const m = c.url.match(/^\/v1\/organizations\/(org_[0-9a-z]{26})/);
    if (!m || !before.has(m[1]!)) continue;
    if (ok(c.res) && !activeMember(before.get(m[1]!), step.actor.userId))
      f.push(`${c.method} ${c.url} succeeded for ${step.actor.userId}, not an active member`);
  }

  // (b) owners
  f.push(...(await ownerViolations(ctx, after)));
  const b = before.get(O);
  const a = after.get(O);
  if (a && b) {
    const acceptedOffer = step.calls.find(
      (c) => ok(c.res) && /\/ownership-offers\/[^/]+\/accept$/.test(c.url),
    )?.res.body;
    if (a.organization.owner_user_id !== b.organization.owner_user_id) {
      if (
        !acceptedOffer ||
        acceptedOffer.subject_id !== O ||
        acceptedOffer.from_user_id !== b.organization.owner_user_id ||
        acceptedOffer.to_user_id !== a.organization.owner_user_id ||
        step.actor.userId !== a.organization.owner_user_id
      )
        f.push(`the owner of ${O} changed without an accepted offer of the owner`);
    }
    for (const acc of a.accounts) {
      const old = b.accounts.find((x) => x.id === acc.id);
      if (!old) {
        const creator = step.calls.find((c) => c.method === 'POST' && c.url.endsWith('/accounts'));
        const named = (creator?.body as { owner_id?: string } | undefined)?.owner_id;
        if (acc.owner_user_id !== (named ?? step.actor.userId))
          f.push(`account ${acc.id} created with owner ${acc.owner_user_id}`);
        continue;
      }
      if (old.owner_user_id === acc.owner_user_id) continue;
      const byOffer =
        acceptedOffer?.subject_id === acc.id &&
        acceptedOffer.from_user_id === old.owner_user_id &&
        acceptedOffer.to_user_id === acc.owner_user_id;
      const leftToOwner =
        !a.memberships.some((m) => m.user_id === old.owner_user_id) &&
        acc.owner_user_id === a.organization.owner_user_id;
      if (!byOffer && !leftToOwner)
        f.push(`account ${acc.id} changed owner without an accepted offer`);
    }
    // an offer made is made by the owner of what it offers
    for (const offer of a.offers) {
      if (b.offers.some((x) => x.id === offer.id)) continue;
      const subjectOwner =
        offer.subject_id === O
          ? b.organization.owner_user_id
          : b.accounts.find((x) => x.id === offer.subject_id)?.owner_user_id;
      const allowed =
        offer.subject_id === O
          ? [b.organization.owner_user_id]
          : [subjectOwner, b.organization.owner_user_id];
      if (!allowed.includes(step.actor.userId))
        f.push(`${step.actor.userId} offered ${offer.subject_id} without owning it`);
    }
  }

  // (c) no escalation (judged on a world that is otherwise sound: stop at the first breach)
  if (f.length > 0) return;
  if (a && b && JSON.stringify(a) !== JSON.stringify(b)) await ledgerStep(w, step, b, a);
  const tc = performance.now();
  if (f.length === 0 && a && JSON.stringify(a) !== JSON.stringify(b))
    f.push(...(await coherenceFailures(w, O)));
  timing.coherence += performance.now() - tc;
}

async function ledgerStep(w: World, step: Step, b: OrgRows, a: OrgRows) {
  const O = a.organization.id;
  const Pbefore = w.P.get(O)!;
  const actorBefore = Pbefore.get(step.actor.userId) ?? new Map<string, Set<string>>();
  const J = w.J.get(O)!;
  const scopes = scopesOf(a);
  /** The scopes a grant at any of `at` reaches: each of them and everything below it. */
  const reachOf = (at: string[]) =>
    scopes.filter(
      (x) =>
        at.includes(O) ||
        at.includes(x) ||
        (x.startsWith('res_') && at.includes(a.resources.find((r) => r.id === x)!.account_id)),
    );
  /** The ledger of `target` takes what `perms` says the granter held, where the grants reach. */
  const grantFrom = (target: string, perms: Map<string, Set<string>>, reach: string[] = scopes) => {
    const mine = J.get(target) ?? new Map<string, Set<string>>();
    for (const scope of reach) {
      const set = mine.get(scope) ?? new Set<string>();
      for (const p of perms.get(scope) ?? []) set.add(p);
      mine.set(scope, set);
    }
    J.set(target, mine);
  };
  const succeeded = step.calls.some((c) => ok(c.res));
  const e = step.effect ?? { type: 'none' };
  // members that left lose their ledger
  for (const m of b.memberships)
    if (!a.memberships.some((x) => x.user_id === m.user_id)) J.delete(m.user_id);
  // new scopes inherit their parent's ledger (grants above them reach them, nothing else does)
  const oldScopes = new Set(scopesOf(b));
  for (const scope of scopes) {
    if (oldScopes.has(scope)) continue;
    const parent = scope.startsWith('res_')
      ? a.resources.find((r) => r.id === scope)!.account_id
      : O;
    for (const ledger of J.values()) ledger.set(scope, new Set(ledger.get(parent) ?? []));
  }
  if (succeeded) {
    if (e.type === 'new-member') {
      for (const m of a.memberships)
        if (!b.memberships.some((x) => x.user_id === m.user_id)) {
          J.delete(m.user_id);
          grantFrom(m.user_id, actorBefore, reachOf(e.scopes));
        }
    } else if (e.type === 'grant') grantFrom(e.target, actorBefore, reachOf(e.scopes));
    else if (e.type === 'role') for (const m of a.memberships) grantFrom(m.user_id, actorBefore);
    else if (e.type === 'accept') {
      // the former owner keeps an admin-level grant: they held everything there a moment ago
      const offer = step.calls.find((c) => ok(c.res))?.res.body;
      if (offer) grantFrom(offer.from_user_id, Pbefore.get(offer.from_user_id) ?? new Map());
    }
  }

  // whose effective permissions may have changed: everyone when roles, scopes or owners
  // changed; otherwise the members whose grants or membership changed
  const structural = ['organization', 'accounts', 'resources', 'roles'].some(
    (k) => JSON.stringify(a[k as keyof OrgRows]) !== JSON.stringify(b[k as keyof OrgRows]),
  );
  const changed = structural
    ? a.memberships.map((m) => m.user_id)
    : a.memberships
        .map((m) => m.user_id)
        .filter(
          (u) =>
            JSON.stringify(a.grants.filter((g) => g.user_id === u)) !==
              JSON.stringify(b.grants.filter((g) => g.user_id === u)) ||
            JSON.stringify(a.memberships.find((m) => m.user_id === u)) !==
              JSON.stringify(b.memberships.find((m) => m.user_id === u)),
        );
  await permissionsViaApi(w, O, changed);

  const P = w.P.get(O)!;
  for (const m of a.memberships) {
    if (a.organization.owner_user_id === m.user_id) continue;
    const owned = new Set(
      a.accounts.filter((acc) => acc.owner_user_id === m.user_id).map((acc) => acc.id),
    );
    for (const scope of scopes) {
      const account = scope.startsWith('res_')
        ? a.resources.find((r) => r.id === scope)!.account_id
        : scope;
      if (owned.has(account)) continue;
      const justified = J.get(m.user_id)?.get(scope) ?? new Set<string>();
      const gained = [...(P.get(m.user_id)?.get(scope) ?? [])].filter((p) => !justified.has(p));
      if (gained.length > 0)
        step.failures.push(
          `escalation: ${m.user_id} holds ${gained.join(', ')} at ${scope}, which nobody allowed to grant it gave`,
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function runSequence(steps: number[][]) {
  const w = await setup();
  const orgIds = w.orgs.map((o) => o.id);
  for (const [i, s] of steps.entries()) {
    const org = pick(w.orgs, s[1]!)!.id;
    const rows = w.snap.get(org)!;
    const [, label, op] = pickOp(s[0]! % TOTAL_WEIGHT);
    // the owner sometimes; mostly a member who holds what the operation needs somewhere (else
    // any member); anyone (members of other organizations included) now and then
    const owner = pool.find((u) => u.userId === rows.organization.owner_user_id)!;
    const members = poolMembers(rows);
    const able = capable(w, org, NEEDS[label]).filter((u) => u.userId !== owner.userId);
    const who = s[2]! % 10;
    const actor =
      who < 2
        ? owner
        : who < 6 && able.length > 0
          ? pick(able, s[2]! >>> 4)!
          : who < 8 && members.length > 0
            ? pick(members, s[2]! >>> 4)!
            : pick(pool, s[2]! >>> 4)!;
    const step: Step = { label, actor, org, calls: [], failures: [] };
    const before = w.snap;
    let t = performance.now();
    await op(w, step, s);
    timing.op += performance.now() - t;
    if (step.calls.length === 0) {
      idleSteps++;
      continue;
    }
    t = performance.now();
    const after = await snapshot(ctx, orgIds);
    timing.snapshot += performance.now() - t;
    w.snap = after;
    for (const [orgId, r] of after)
      for (const id of idsOf(r)) if (!w.idOrg.has(id)) w.idOrg.set(id, orgId);
    totalSteps++;
    const stat = stats.get(label) ?? { steps: 0, succeeded: 0 };
    stat.steps++;
    if (step.calls.some((c) => ok(c.res))) stat.succeeded++;
    stats.set(label, stat);
    w.log.push(
      `#${i} ${label} by ${step.actor.userId} in ${org}: ${step.calls
        .map(
          (c) =>
            `${c.method} ${c.url} ${c.body ? JSON.stringify(c.body) : ''} -> ${c.res.status}${
              ok(c.res) ? '' : ` ${c.res.body?.detail ?? ''}`
            }`,
        )
        .join(' | ')}`,
    );
    if (process.env.INVARIANT_DEBUG && step.label === process.env.INVARIANT_DEBUG)
      console.log(w.log[w.log.length - 1]);
    t = performance.now();
    await checkStep(w, step, before, after);
    timing.check += performance.now() - t;
    if (step.failures.length > 0)
      throw new Error(
        `invariant broken at step #${i} (${label}):\n- ${step.failures.join('\n- ')}\n\nsteps:\n${w.log.slice(-25).join('\n')}`,
      );
  }
}

describe(`invariants under random operations (${engine})`, () => {
  it('keeps tenants isolated, one owner each, and no escalation', async () => {
    // uniform numbers: fast-check's default bias towards small ones would skew the mix of
    // operations (they are picked by `n % weight`) towards the first few
    const stepArb = fc.array(fc.noBias(fc.nat()), { minLength: 8, maxLength: 8 });
    // No shrinking: a run rebuilds its world from scratch, and the step log says enough.
    const result = await fc.check(
      fc.asyncProperty(fc.array(stepArb, { minLength: STEPS, maxLength: STEPS }), async (steps) => {
        await runSequence(steps);
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true },
    );
    if (result.failed) {
      const error = result.errorInstance as Error | undefined;
      throw new Error(
        `run ${result.numRuns} of seed ${result.seed} failed (replay: INVARIANT_SEED=${result.seed} on ${engine}):\n${error?.message ?? String(error)}`,
      );
    }
    expect(totalSteps).toBeGreaterThanOrEqual(MIN_STEPS);
  }, 600_000);
});
