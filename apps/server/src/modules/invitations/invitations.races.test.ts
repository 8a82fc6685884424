/**
 * Concurrency and atomicity, on SQLite and PostgreSQL: one invitation is spent once, accept and
 * revoke never both win, simultaneous sends keep one pending invitation per address, and a
 * refused request writes nothing at all.
 * @see issue 4, item 8
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  mailsTo,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  type TestResponse,
  uniqueEmail,
} from '../../../test/harness';
import {
  addExisting,
  addMember,
  createAccount,
  createOrg,
  invite,
  inviteOne,
} from '../../../test/seed';

const SIGN_UP = { first_name: 'Race', last_name: 'Runner', password: STRONG_PASSWORD };

let ctx: TestContext;
let owner: SignedIn;

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
});
afterAll(async () => {
  await ctx?.close();
});

const memberships = (orgId: string, userId?: string) => {
  let q = ctx.database.db
    .selectFrom('memberships')
    .selectAll()
    .where('organization_id', '=', orgId);
  if (userId) q = q.where('user_id', '=', userId);
  return q.execute();
};
const grantsOf = (orgId: string, userId: string) =>
  ctx.database.db
    .selectFrom('grants')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('user_id', '=', userId)
    .execute();
const invitationRow = (id: string) =>
  ctx.database.db
    .selectFrom('invitations')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
const pendingTo = (orgId: string, email: string) =>
  ctx.database.db
    .selectFrom('invitations')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('email', '=', email)
    .where('status', '=', 'pending')
    .execute();

const statuses = (answers: TestResponse[]) => answers.map((a) => a.status);

/** A refusal a client can act on: a problem with a stable code, never a 500. */
function expectClearRefusal(res: TestResponse, codes: string[]) {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(codes).toContain(res.body.code);
}

describe('20 simultaneous accepts', () => {
  it('signed in: exactly one membership, and 19 clear refusals', async () => {
    const o = await createOrg(ctx, owner, 'team');
    const project = await createAccount(ctx, owner, o.id, 'video');
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, o.id, invitee.email, [
      { role: 'user', scope: project.id },
    ]);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        ctx.request('POST', `/v1/invitations/${token}/accept`, {
          token: invitee.accessToken,
          body: {},
        }),
      ),
    );
    expect(statuses(answers).filter((s) => s === 200)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200))
      expectClearRefusal(a, ['invitation_used', 'conflict']);
    expect(await memberships(o.id, invitee.userId)).toHaveLength(1);
    expect(await grantsOf(o.id, invitee.userId)).toHaveLength(1);
  });

  it('signing up: exactly one user and one membership, and 19 clear refusals', async () => {
    const o = await createOrg(ctx, owner, 'team');
    const email = uniqueEmail('race-signup');
    const { token } = await inviteOne(ctx, owner, o.id, email);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        ctx.request('POST', `/v1/invitations/${token}/accept`, { body: SIGN_UP }),
      ),
    );
    expect(statuses(answers).filter((s) => s === 200)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200))
      expectClearRefusal(a, ['invitation_used', 'login_required']);
    const users = await ctx.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .execute();
    expect(users).toHaveLength(1);
    expect(await memberships(o.id, users[0]!.id)).toHaveLength(1);
  });
});

describe('accept racing revoke', () => {
  it('ends in one consistent outcome, every time', async () => {
    const o = await createOrg(ctx, owner, 'team');
    for (let round = 0; round < 8; round++) {
      const invitee = await ctx.signUp();
      const { id, token } = await inviteOne(ctx, owner, o.id, invitee.email);
      const acceptFirst = round % 2 === 0;
      const acceptCall = () =>
        ctx.request('POST', `/v1/invitations/${token}/accept`, {
          token: invitee.accessToken,
          body: {},
        });
      const revokeCall = () =>
        ctx.request('DELETE', `/v1/organizations/${o.id}/invitations/${id}`, {
          token: owner.accessToken,
        });
      const [accepted, revoked] = acceptFirst
        ? await Promise.all([acceptCall(), revokeCall()])
        : await Promise.all([revokeCall(), acceptCall()]).then(([r, a]) => [a, r] as const);
      const row = await invitationRow(id);
      const member = (await memberships(o.id, invitee.userId)).length === 1;
      if (accepted!.status === 200) {
        expect(row.status).toBe('accepted');
        expect(member).toBe(true);
        expectClearRefusal(revoked!, ['conflict']);
      } else {
        expect(revoked!.status).toBe(200);
        expect(row.status).toBe('revoked');
        expect(member).toBe(false);
        expectClearRefusal(accepted!, ['invitation_revoked', 'invitation_used']);
      }
    }
  });

  it('by sign-up: either a user who is a member, or no user at all', async () => {
    const o = await createOrg(ctx, owner, 'team');
    for (let round = 0; round < 4; round++) {
      const email = uniqueEmail('race-rv-signup');
      const { id, token } = await inviteOne(ctx, owner, o.id, email);
      const [accepted, revoked] = await Promise.all([
        ctx.request('POST', `/v1/invitations/${token}/accept`, { body: SIGN_UP }),
        ctx.request('DELETE', `/v1/organizations/${o.id}/invitations/${id}`, {
          token: owner.accessToken,
        }),
      ]);
      const user = await ctx.database.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', email)
        .executeTakeFirst();
      const row = await invitationRow(id);
      if (accepted.status === 200) {
        expect(row.status).toBe('accepted');
        expect(await memberships(o.id, user!.id)).toHaveLength(1);
        expect(revoked.status).toBe(409);
      } else {
        expect(row.status).toBe('revoked');
        expect(user).toBeUndefined();
        expect(revoked.status).toBe(200);
      }
    }
  });
});

describe('accept racing resend', () => {
  it('one of the two wins: accepted (resend refused), or a new link (the old one refused)', async () => {
    const o = await createOrg(ctx, owner, 'team');
    for (let round = 0; round < 6; round++) {
      const invitee = await ctx.signUp();
      const { id, token } = await inviteOne(ctx, owner, o.id, invitee.email);
      const [accepted, resent] = await Promise.all([
        ctx.request('POST', `/v1/invitations/${token}/accept`, {
          token: invitee.accessToken,
          body: {},
        }),
        ctx.request('POST', `/v1/organizations/${o.id}/invitations/${id}/resend`, {
          token: owner.accessToken,
        }),
      ]);
      const row = await invitationRow(id);
      const member = (await memberships(o.id, invitee.userId)).length === 1;
      if (accepted.status === 200) {
        expect(row.status).toBe('accepted');
        expect(member).toBe(true);
        expectClearRefusal(resent, ['conflict']);
      } else {
        // The resend replaced the link first: from that moment the old link is gone.
        expectClearRefusal(accepted, ['not_found']);
        expect(resent.status).toBe(200);
        expect(row.status).toBe('pending');
        expect(member).toBe(false);
      }
    }
  });
});

describe('simultaneous sends to one address', () => {
  it('leave one pending invitation, and every request answers 200', async () => {
    const o = await createOrg(ctx, owner, 'team');
    const email = uniqueEmail('race-send');
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => invite(ctx, owner, o.id, { emails: [email] })),
    );
    expect(statuses(answers)).toEqual(Array(10).fill(200));
    const ids = new Set(answers.map((a) => a.body.results[0].invitation_id));
    expect(ids.size).toBe(1);
    expect(await pendingTo(o.id, email)).toHaveLength(1);
    expect(answers.filter((a) => a.body.results[0].status === 'invited')).toHaveLength(1);
  });

  it('in overlapping batches, leave one pending invitation per address', async () => {
    const o = await createOrg(ctx, owner, 'team');
    const emails = Array.from({ length: 5 }, (_, i) => uniqueEmail(`race-batch${i}`));
    const answers = await Promise.all([
      invite(ctx, owner, o.id, { emails }),
      invite(ctx, owner, o.id, { emails: [...emails].reverse() }),
      invite(ctx, owner, o.id, { emails: emails.slice(1, 4) }),
    ]);
    expect(statuses(answers)).toEqual([200, 200, 200]);
    for (const email of emails) expect(await pendingTo(o.id, email)).toHaveLength(1);
  });

  it('the link mailed last is the one that works', async () => {
    const o = await createOrg(ctx, owner, 'team');
    const email = uniqueEmail('race-last-link');
    await Promise.all(
      Array.from({ length: 5 }, () => invite(ctx, owner, o.id, { emails: [email] })),
    );
    const mails = await mailsTo(ctx, email);
    const tokens = mails.map((m) => m.body!.match(/\/invitations\/([A-Za-z0-9_-]+)/)![1]!);
    const working = [];
    for (const t of tokens)
      if ((await ctx.request('GET', `/v1/invitations/${t}`)).status === 200) working.push(t);
    expect(working).toHaveLength(1);
  });
});

describe('nothing half-written', () => {
  it('a batch with one grant the inviter does not hold writes no invitation and sends no mail', async () => {
    const o = await createOrg(ctx, owner, 'team');
    const project = await createAccount(ctx, owner, o.id, 'video');
    const admin = await addMember(ctx, owner, o.id, [{ role: 'admin', scope: o.id }]);
    const emails = [uniqueEmail('half-a'), uniqueEmail('half-b')];
    const res = await invite(ctx, admin, o.id, {
      emails,
      grants: [
        { role: 'user', scope: project.id },
        { permissions: ['organization:delete'], scope: o.id },
      ],
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    const rows = await ctx.database.db
      .selectFrom('invitations')
      .select('id')
      .where('organization_id', '=', o.id)
      .execute();
    expect(rows).toHaveLength(0);
    for (const e of emails) expect(await mailsTo(ctx, e)).toHaveLength(0);
  });

  it('a refused sign-up through the link (weak password) creates no user and spends nothing', async () => {
    const o = await createOrg(ctx, owner, 'team');
    const email = uniqueEmail('half-signup');
    const { id, token } = await inviteOne(ctx, owner, o.id, email);
    const res = await ctx.request('POST', `/v1/invitations/${token}/accept`, {
      body: { ...SIGN_UP, password: 'weak' },
    });
    expect(res.status).toBe(400);
    expect((await invitationRow(id)).status).toBe('pending');
    const user = await ctx.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .executeTakeFirst();
    expect(user).toBeUndefined();
  });

  it('an accept that fails after spending the invitation (already a member) rolls back whole', async () => {
    const o = await createOrg(ctx, owner, 'team');
    const project = await createAccount(ctx, owner, o.id, 'video');
    const invitee = await ctx.signUp();
    const { id, token } = await inviteOne(ctx, owner, o.id, invitee.email, [
      { role: 'user', scope: project.id },
    ]);
    await addExisting(ctx, owner, o.id, invitee.email, []);
    const res = await ctx.request('POST', `/v1/invitations/${token}/accept`, {
      token: invitee.accessToken,
      body: {},
    });
    expect(res.status).toBe(409);
    expect((await invitationRow(id)).status).toBe('pending');
    expect(await grantsOf(o.id, invitee.userId)).toHaveLength(0);
  });
});
