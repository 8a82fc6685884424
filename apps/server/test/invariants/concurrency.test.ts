import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  engine,
  type SignedIn,
  type TestContext,
  type TestResponse,
} from '../harness';
import { addMember, createAccount, createOrg } from '../seed';
import { badAnswer, ownerViolations, snapshot } from './world';

/**
 * The invariants under concurrency (SPEC section 2: "even concurrently"): requests fired at
 * once, on one node, against SQLite (one writer) and PostgreSQL (real parallel transactions).
 * Every answer must be a 2xx or a clear 4xx, never a 500; and the state after must be one that
 * some serial order of the successful requests could have produced.
 */

let ctx: TestContext;
beforeAll(async () => {
  // CONC_LOG=1 shows the server's errors (a 500's cause: a deadlock, a constraint)
  ctx = await createTestContext(process.env.CONC_LOG ? { env: { LOG_LEVEL: 'error' } } : {});
});
afterAll(async () => {
  await ctx?.close();
});

const ROUNDS = 6;

function expectClear(responses: TestResponse[]) {
  for (const res of responses) {
    const bad = badAnswer(res);
    if (bad) throw new Error(bad);
  }
}

/** Fires every request at once; answers the responses in the order given. */
const together = (requests: (() => Promise<TestResponse>)[]) =>
  Promise.all(requests.map((r) => r()));

const post = (who: SignedIn, url: string, body?: unknown) => () =>
  ctx.request('POST', url, { token: who.accessToken, body });
const del = (who: SignedIn, url: string) => () =>
  ctx.request('DELETE', url, { token: who.accessToken });
const put = (who: SignedIn, url: string, body?: unknown) => () =>
  ctx.request('PUT', url, { token: who.accessToken, body });

describe(`concurrent ownership changes (${engine})`, () => {
  it('leaves exactly one owner, an active member, whatever races with an acceptance', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const owner = await ctx.signUp();
      const org = await createOrg(ctx, owner, 'team');
      const base = `/v1/organizations/${org.id}`;
      const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
      const a = await addMember(ctx, owner, org.id, []);
      const b = await addMember(ctx, owner, org.id, []);
      const offer = await ctx.request('POST', `${base}/transfer-ownership`, {
        token: owner.accessToken,
        body: { user_id: a.userId },
      });
      expect(offer.status).toBe(201);
      const accept = post(a, `${base}/ownership-offers/${offer.body.id}/accept`);
      // Everything that could demote or strand the owner, racing with the acceptance; the
      // round picks a different mix so that each kind meets the acceptance head on.
      const rivals = [
        post(admin, `${base}/members/${a.userId}/suspend`),
        del(admin, `${base}/members/${a.userId}`),
        del(a, `${base}/members/${a.userId}`),
        del(owner, `${base}/members/${owner.userId}`),
        post(admin, `${base}/members/${owner.userId}/suspend`),
        post(admin, `${base}/members/bulk`, {
          action: round % 2 ? 'suspend' : 'remove',
          user_ids: [owner.userId, a.userId, b.userId],
        }),
        del(owner, `${base}/ownership-offers/${offer.body.id}`),
        post(owner, `${base}/transfer-ownership`, { user_id: b.userId }),
        post(b, `${base}/ownership-offers/${offer.body.id}/accept`),
      ];
      const chosen = rivals.filter((_, i) => (i + round) % 3 !== 0 || i === round % rivals.length);
      const responses = await together(round % 2 ? [accept, ...chosen] : [...chosen, accept]);
      expectClear(responses);
      const snap = await snapshot(ctx, [org.id]);
      expect(await ownerViolations(ctx, snap)).toEqual([]);
      const owners = snap.get(org.id)!.organization.owner_user_id;
      const acceptedOk = responses[round % 2 ? 0 : responses.length - 1]!.status === 200;
      expect(owners).toBe(acceptedOk ? a.userId : owner.userId);
    }
  });

  it('never makes a suspended or removed member the owner, however close the race', async () => {
    // the two-request races, head on, many times: accept vs suspending (or removing) the
    // member who accepts; each side started first in turn, the other a few ticks later
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const base = `/v1/organizations/${org.id}`;
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    let current = owner;
    for (let round = 0; round < 4 * ROUNDS; round++) {
      const heir = await addMember(ctx, current, org.id, []);
      const offer = await ctx.request('POST', `${base}/transfer-ownership`, {
        token: current.accessToken,
        body: { user_id: heir.userId },
      });
      expect(offer.status).toBe(201);
      const accept = post(heir, `${base}/ownership-offers/${offer.body.id}/accept`);
      const demote =
        round % 4 < 2
          ? post(admin, `${base}/members/${heir.userId}/suspend`)
          : del(admin, `${base}/members/${heir.userId}`);
      const delay = (n: number, f: () => Promise<TestResponse>) => async () => {
        for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
        return f();
      };
      const responses = await together(
        round % 2 ? [accept, delay(round % 3, demote)] : [demote, delay(round % 3, accept)],
      );
      expectClear(responses);
      const snap = await snapshot(ctx, [org.id]);
      expect(await ownerViolations(ctx, snap)).toEqual([]);
      const ownerNow = snap.get(org.id)!.organization.owner_user_id;
      if (ownerNow === heir.userId) current = heir;
      // the admin may have been the one passed over; keep one who can act
      if (
        !snap
          .get(org.id)!
          .memberships.some((m) => m.user_id === admin.userId && m.status === 'active')
      )
        break;
    }
  });

  it('lets only one of several offers for one organization be accepted', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const owner = await ctx.signUp();
      const org = await createOrg(ctx, owner, 'team');
      const base = `/v1/organizations/${org.id}`;
      const members = [] as SignedIn[];
      for (let i = 0; i < 4; i++) members.push(await addMember(ctx, owner, org.id, []));
      // concurrent offers to four members: at most one may be pending at a time
      const offers = await together(
        members.map((m) => post(owner, `${base}/transfer-ownership`, { user_id: m.userId })),
      );
      expectClear(offers);
      const made = offers.filter((r) => r.status === 201);
      expect(made).toHaveLength(1);
      expect(offers.filter((r) => r.status === 409)).toHaveLength(3);
      const offerId = made[0]!.body.id;
      // everyone tries to accept it (only its addressee can), the owner withdraws meanwhile
      const answers = await together([
        ...members.map((m) => post(m, `${base}/ownership-offers/${offerId}/accept`)),
        del(owner, `${base}/ownership-offers/${offerId}`),
      ]);
      expectClear(answers);
      const acceptedBy = members.filter((_, i) => answers[i]!.status === 200);
      expect(acceptedBy.length).toBeLessThanOrEqual(1);
      const withdrawn = answers[members.length]!.status === 200;
      expect(acceptedBy.length + (withdrawn ? 1 : 0)).toBe(1);
      const snap = await snapshot(ctx, [org.id]);
      expect(await ownerViolations(ctx, snap)).toEqual([]);
      expect(snap.get(org.id)!.organization.owner_user_id).toBe(
        acceptedBy[0]?.userId ?? owner.userId,
      );
    }
  });

  it('keeps one owner per account when account transfers race with removals', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const owner = await ctx.signUp();
      const org = await createOrg(ctx, owner, 'team');
      const base = `/v1/organizations/${org.id}`;
      const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
      const acc = await createAccount(ctx, admin, org.id, 'video');
      const m = await addMember(ctx, owner, org.id, []);
      const offer = await ctx.request('POST', `${base}/accounts/${acc.id}/transfer-ownership`, {
        token: admin.accessToken,
        body: { user_id: m.userId },
      });
      expect(offer.status).toBe(201);
      const responses = await together([
        post(m, `${base}/ownership-offers/${offer.body.id}/accept`),
        del(owner, `${base}/members/${round % 2 ? m.userId : admin.userId}`),
        del(m, `${base}/members/${m.userId}`),
      ]);
      expectClear(responses);
      const snap = await snapshot(ctx, [org.id]);
      expect(await ownerViolations(ctx, snap)).toEqual([]);
    }
  });
});

describe(`concurrent grant edits (${engine})`, () => {
  it('leaves exactly one of the requested grant sets, never a mixture', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'accounts');
    const accounts = [] as string[];
    for (let i = 0; i < 4; i++)
      accounts.push((await createAccount(ctx, owner, org.id, 'video')).id);
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: accounts[0]! }]);
    const target = await addMember(ctx, owner, org.id, [{ role: 'viewer', scope: accounts[0]! }]);
    const url = `/v1/organizations/${org.id}/members/${target.userId}/grants`;
    for (let round = 0; round < ROUNDS; round++) {
      // each set is distinguishable from any mixture of the others
      const sets = accounts.map((acc, i) => [
        { role: 'viewer', scope: acc },
        { role: 'admin', scope: accounts[(i + 1) % accounts.length]! },
      ]);
      const responses = await together([
        ...sets.map((grants) => put(owner, url, { grants })),
        // an admin of one account racing too (its change is refused or applies in full)
        put(admin, url, { grants: [{ role: 'viewer', scope: accounts[0]! }] }),
        post(owner, url, { grants: [{ role: 'viewer', scope: accounts[2]! }] }),
      ]);
      expectClear(responses);
      const rows = await ctx.database.db
        .selectFrom('grants')
        .select(['role', 'scope_id'])
        .where('organization_id', '=', org.id)
        .where('user_id', '=', target.userId)
        .execute();
      const final = rows.map((r) => `${r.role}@${r.scope_id}`).sort();
      const key = (grants: { role: string; scope: string }[]) =>
        grants.map((g) => `${g.role}@${g.scope}`).sort();
      const candidates = [
        ...sets.map(key),
        [`viewer@${accounts[0]}`],
        // the added grant on top of any whole set
        ...sets.map((s) => [...key(s), `viewer@${accounts[2]}`].sort()),
        [`viewer@${accounts[0]}`, `viewer@${accounts[2]}`].sort(),
      ];
      expect(candidates.map((c) => JSON.stringify(c))).toContain(JSON.stringify(final));
      // and the cache agrees with the database at once
      const perms = await ctx.request(
        'GET',
        `/v1/organizations/${org.id}/members/${target.userId}/permissions?scope=${accounts[1]}`,
        { token: owner.accessToken },
      );
      const holdsAdmin = final.includes(`admin@${accounts[1]}`);
      expect(perms.body.permissions.includes('members:invite')).toBe(holdsAdmin);
    }
  });
});

describe(`concurrent bulk suspend and reactivate (${engine})`, () => {
  it('ends in a state the audit trail explains, member by member', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const base = `/v1/organizations/${org.id}`;
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const ids = [] as string[];
    for (let i = 0; i < 8; i++) ids.push((await addMember(ctx, owner, org.id, [])).userId);
    for (let round = 0; round < ROUNDS; round++) {
      const half = ids.filter((_, i) => (i + round) % 2 === 0);
      const responses = await together([
        post(owner, `${base}/members/bulk`, { action: 'suspend', user_ids: ids }),
        post(admin, `${base}/members/bulk`, { action: 'reactivate', user_ids: ids }),
        post(admin, `${base}/members/bulk`, { action: 'suspend', user_ids: half }),
        post(owner, `${base}/members/bulk`, { action: 'reactivate', user_ids: half }),
        post(owner, `${base}/members/${ids[round]}/suspend`),
      ]);
      expectClear(responses);
      for (const res of responses.slice(0, 4)) expect(res.status).toBe(200);
      const members = await ctx.database.db
        .selectFrom('memberships')
        .select(['user_id', 'status'])
        .where('organization_id', '=', org.id)
        .where('user_id', 'in', ids)
        .execute();
      const events = await ctx.database.db
        .selectFrom('audit_events')
        .select(['target_id', 'action', 'changes'])
        .where('organization_id', '=', org.id)
        .where('action', 'in', ['member.suspended', 'member.reactivated'])
        .orderBy('seq')
        .execute();
      for (const m of members) {
        // each recorded change starts from the state the previous one left: no double
        // suspension recorded for one real change, and the last one is the state now
        let state = 'active';
        for (const e of events.filter((x) => x.target_id === m.user_id)) {
          const { before, after } = JSON.parse(e.changes!) as {
            before: { status: string };
            after: { status: string };
          };
          expect(before.status).toBe(state);
          expect(after.status).not.toBe(state);
          state = after.status;
        }
        expect(m.status).toBe(state);
      }
      // the caches agree with the database at once: a suspended member is refused
      for (const m of members.slice(0, 3)) {
        const decision = await ctx.gatehouse.services.access.check(
          org.id,
          m.user_id,
          'organization:read',
          org.id,
        );
        // these members hold no grant: active ones are refused for that, suspended ones first
        expect(decision.decision.allowed ? 'allowed' : decision.decision.reason.kind).toBe(
          m.status === 'active' ? 'no_grant' : 'membership_suspended',
        );
      }
      // reset for the next round
      await ctx.request('POST', `${base}/members/bulk`, {
        token: owner.accessToken,
        body: { action: 'reactivate', user_ids: ids },
      });
    }
  });
});

describe(`concurrent adds of one person (${engine})`, () => {
  it('makes exactly one membership for a new email; the others get 409', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    for (let round = 0; round < ROUNDS; round++) {
      const email = `race-${round}-${Date.now()}@example.test`;
      const responses = await together(
        Array.from({ length: 5 }, () =>
          post(owner, `/v1/organizations/${org.id}/members`, { email }),
        ),
      );
      expectClear(responses);
      expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
      for (const r of responses.filter((x) => x.status !== 201)) {
        expect(r.status).toBe(409);
        expect(r.body.code).toBe('conflict');
      }
      const users = await ctx.database.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', email)
        .execute();
      expect(users).toHaveLength(1);
      const memberships = await ctx.database.db
        .selectFrom('memberships')
        .select('user_id')
        .where('organization_id', '=', org.id)
        .where('user_id', '=', users[0]!.id)
        .execute();
      expect(memberships).toHaveLength(1);
    }
  });

  it('makes exactly one membership for an existing user added twice at once', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    for (let round = 0; round < ROUNDS; round++) {
      const person = await ctx.signUp();
      const responses = await together(
        Array.from({ length: 5 }, () =>
          post(owner, `/v1/organizations/${org.id}/members`, { email: person.email }),
        ),
      );
      expectClear(responses);
      expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
      expect(responses.filter((r) => r.status === 409)).toHaveLength(4);
      const memberships = await ctx.database.db
        .selectFrom('memberships')
        .select('user_id')
        .where('organization_id', '=', org.id)
        .where('user_id', '=', person.userId)
        .execute();
      expect(memberships).toHaveLength(1);
    }
  });
});
