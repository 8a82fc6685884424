/**
 * Managing sent invitations: list (status filter, `expired` computed from the clock, cursor
 * pagination), get, revoke, resend, and what a link answers once it expired or was revoked.
 * @see issue 4, item 3
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  mailsTo,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import {
  addMember,
  auditRows,
  createAccount,
  createOrg,
  invitationToken,
  inviteOne,
} from '../../../test/seed';

const DAY = 24 * 3600 * 1000;
const SIGN_UP = { first_name: 'Nia', last_name: 'Newcomer', password: STRONG_PASSWORD };

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'media', 'Manage Org');
});
afterAll(async () => {
  await ctx?.close();
});

/** Moves the clock, then signs the owner in again: their access token would have expired. */
async function advance(ms: number) {
  ctx.clock.advance(ms);
  owner = await ctx.login(owner.email, owner.password);
}

const list = (orgId: string, query = '', who: SignedIn = owner) =>
  ctx.request('GET', `/v1/organizations/${orgId}/invitations${query}`, { token: who.accessToken });
const get = (orgId: string, id: string, who: SignedIn = owner) =>
  ctx.request('GET', `/v1/organizations/${orgId}/invitations/${id}`, { token: who.accessToken });
const revoke = (orgId: string, id: string, who: SignedIn = owner) =>
  ctx.request('DELETE', `/v1/organizations/${orgId}/invitations/${id}`, { token: who.accessToken });
const resend = (orgId: string, id: string, who: SignedIn = owner) =>
  ctx.request('POST', `/v1/organizations/${orgId}/invitations/${id}/resend`, {
    token: who.accessToken,
  });
const accept = (token: string, body: Record<string, unknown> = SIGN_UP) =>
  ctx.request('POST', `/v1/invitations/${token}/accept`, { body });
const preview = (token: string) => ctx.request('GET', `/v1/invitations/${token}`);

/** An organization with one invitation in each status. */
async function orgWithEveryStatus() {
  const o = await createOrg(ctx, owner, 'media');
  const make = (label: string, days?: number) =>
    inviteOne(ctx, owner, o.id, uniqueEmail(label), [], days ? { expires_in_days: days } : {});
  const expired = await make('st-expired', 1);
  await advance(2 * DAY);
  const pending = await make('st-pending');
  const accepted = await make('st-accepted');
  const rejected = await make('st-rejected');
  const revoked = await make('st-revoked');
  expect((await accept(accepted.token)).status).toBe(200);
  expect((await ctx.request('POST', `/v1/invitations/${rejected.token}/reject`)).status).toBe(204);
  expect((await revoke(o.id, revoked.id)).status).toBe(200);
  return { o, pending, accepted, rejected, revoked, expired };
}

describe('list', () => {
  it('shows every invitation, newest first, with its status and without the token', async () => {
    const o = await createOrg(ctx, owner, 'media');
    const a = await inviteOne(ctx, owner, o.id, uniqueEmail('list-a'));
    ctx.clock.advance(10);
    const b = await inviteOne(ctx, owner, o.id, uniqueEmail('list-b'));
    const res = await list(o.id);
    expect(res.status).toBe(200);
    expect(res.body.data.map((i: { id: string }) => i.id)).toEqual([b.id, a.id]);
    expect(res.body.next_cursor).toBeNull();
    expect(Object.keys(res.body.data[0]).sort()).toEqual(
      [
        'created_at',
        'email',
        'expires_at',
        'grants',
        'id',
        'invited_by',
        'message',
        'offers_ownership',
        'organization_id',
        'resolved_at',
        'status',
        'updated_at',
      ].sort(),
    );
  });

  it.each(['pending', 'accepted', 'rejected', 'revoked', 'expired'] as const)(
    'filters by status=%s',
    async (status) => {
      const world = await orgWithEveryStatus();
      const res = await list(world.o.id, `?status=${status}`);
      expect(res.status).toBe(200);
      expect(res.body.data.map((i: { id: string }) => i.id)).toEqual([world[status].id]);
      expect(res.body.data[0].status).toBe(status);
    },
  );

  it('computes expired from the clock: the same invitation leaves pending for expired', async () => {
    const o = await createOrg(ctx, owner, 'media');
    const { id } = await inviteOne(ctx, owner, o.id, uniqueEmail('turns'), [], {
      expires_in_days: 1,
    });
    expect(
      (await list(o.id, '?status=pending')).body.data.map((i: { id: string }) => i.id),
    ).toEqual([id]);
    expect((await list(o.id, '?status=expired')).body.data).toEqual([]);
    await advance(DAY);
    expect((await list(o.id, '?status=pending')).body.data).toEqual([]);
    const expired = await list(o.id, '?status=expired');
    expect(expired.body.data.map((i: { id: string }) => i.id)).toEqual([id]);
    expect(expired.body.data[0].status).toBe('expired');
  });

  it('walks 25 invitations with a cursor, each exactly once', async () => {
    const o = await createOrg(ctx, owner, 'media');
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      ids.push((await inviteOne(ctx, owner, o.id, uniqueEmail(`page${i}`))).id);
      ctx.clock.advance(1);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list(o.id, `?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((i: { id: string }) => i.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('pages through a status filter too', async () => {
    const o = await createOrg(ctx, owner, 'media');
    const kept: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { id } = await inviteOne(ctx, owner, o.id, uniqueEmail(`fp${i}`));
      if (i % 2 === 0) await revoke(o.id, id);
      else kept.push(id);
      ctx.clock.advance(1);
    }
    const first = await list(o.id, '?status=pending&limit=2');
    const second = await list(o.id, `?status=pending&limit=2&cursor=${first.body.next_cursor}`);
    expect([...first.body.data, ...second.body.data].map((i: { id: string }) => i.id)).toEqual(
      [...kept].reverse(),
    );
    expect(second.body.next_cursor).toBeNull();
  });

  it("shows nothing of another organization's invitations", async () => {
    const mine = await createOrg(ctx, owner, 'media');
    const other = await createOrg(ctx, owner, 'media');
    await inviteOne(ctx, owner, other.id, uniqueEmail('elsewhere'));
    expect((await list(mine.id)).body.data).toEqual([]);
  });

  it('shows a member without members:read only the invitations they sent (none), and a non-member 404', async () => {
    const accountant = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    await inviteOne(ctx, owner, org.id, uniqueEmail('hidden'));
    const res = await list(org.id, '', accountant);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
    const stranger = await ctx.signUp();
    expectProblem(await list(org.id, '', stranger), 404, 'not_found');
  });

  it('shows a media admin (members:read) every invitation', async () => {
    const o = await createOrg(ctx, owner, 'media');
    const admin = await addMember(ctx, owner, o.id, [{ role: 'admin', scope: o.id }]);
    const { id } = await inviteOne(ctx, owner, o.id, uniqueEmail('seen'));
    expect((await list(o.id, '', admin)).body.data.map((i: { id: string }) => i.id)).toEqual([id]);
    expect((await get(o.id, id, admin)).status).toBe(200);
  });
});

describe('get', () => {
  it('shows one invitation with its grants, message, inviter and expiry', async () => {
    const email = uniqueEmail('get');
    const { id } = await inviteOne(
      ctx,
      owner,
      org.id,
      email,
      [{ role: 'accountant', scope: org.id }],
      {
        message: 'Hi',
      },
    );
    const res = await get(org.id, id);
    expect(res.body).toMatchObject({
      id,
      organization_id: org.id,
      email,
      grants: [{ role: 'accountant', scope: org.id }],
      message: 'Hi',
      offers_ownership: false,
      status: 'pending',
      invited_by: owner.userId,
      resolved_at: null,
    });
  });

  it("answers 404 to a member who may not see others' invitations", async () => {
    const accountant = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const { id } = await inviteOne(ctx, owner, org.id, uniqueEmail('not-yours'));
    expectProblem(await get(org.id, id, accountant), 404, 'not_found');
  });

  it('answers 404 for an id of another organization', async () => {
    const other = await createOrg(ctx, owner, 'media');
    const { id } = await inviteOne(ctx, owner, other.id, uniqueEmail('other-get'));
    expectProblem(await get(org.id, id), 404, 'not_found');
  });

  it('answers 404 for an unknown id', async () => {
    expectProblem(await get(org.id, 'inv_00000000000000000000000000'), 404, 'not_found');
  });
});

describe('revoke', () => {
  it('marks the invitation revoked, with the time', async () => {
    const { id } = await inviteOne(ctx, owner, org.id, uniqueEmail('rv'));
    const res = await revoke(org.id, id);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('revoked');
    expect(res.body.resolved_at).toBe(new Date(ctx.clock.now()).toISOString());
    expect((await get(org.id, id)).body.status).toBe('revoked');
  });

  it('makes the link answer invitation_revoked (410) on accept', async () => {
    const { id, token } = await inviteOne(ctx, owner, org.id, uniqueEmail('rv-accept'));
    await revoke(org.id, id);
    expectProblem(await accept(token), 410, 'invitation_revoked');
  });

  it('makes the link answer invitation_revoked (410) on reject', async () => {
    const { id, token } = await inviteOne(ctx, owner, org.id, uniqueEmail('rv-reject'));
    await revoke(org.id, id);
    expectProblem(
      await ctx.request('POST', `/v1/invitations/${token}/reject`),
      410,
      'invitation_revoked',
    );
  });

  it('shows status revoked on the preview', async () => {
    const { id, token } = await inviteOne(ctx, owner, org.id, uniqueEmail('rv-preview'));
    await revoke(org.id, id);
    expect((await preview(token)).body.status).toBe('revoked');
  });

  it('leaves nobody a member', async () => {
    const email = uniqueEmail('rv-none');
    const { id, token } = await inviteOne(ctx, owner, org.id, email);
    await revoke(org.id, id);
    await accept(token);
    const user = await ctx.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .executeTakeFirst();
    expect(user).toBeUndefined();
  });

  it('answers 409 when the invitation is no longer pending (revoked twice, or accepted)', async () => {
    const a = await inviteOne(ctx, owner, org.id, uniqueEmail('rv-twice'));
    await revoke(org.id, a.id);
    expectProblem(await revoke(org.id, a.id), 409, 'conflict');
    const b = await inviteOne(ctx, owner, org.id, uniqueEmail('rv-accepted'));
    await accept(b.token);
    expectProblem(await revoke(org.id, b.id), 409, 'conflict');
    expect((await get(org.id, b.id)).body.status).toBe('accepted');
  });

  it("answers 404 for another organization's invitation, which stays pending", async () => {
    const other = await createOrg(ctx, owner, 'media');
    const { id } = await inviteOne(ctx, owner, other.id, uniqueEmail('rv-other'));
    expectProblem(await revoke(org.id, id), 404, 'not_found');
    expect((await get(other.id, id)).body.status).toBe('pending');
  });

  it('is refused to a member who may not invite (media admin), and changes nothing', async () => {
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const { id } = await inviteOne(ctx, owner, org.id, uniqueEmail('rv-admin'));
    expectProblem(await revoke(org.id, id, admin), 403, 'forbidden');
    expect((await get(org.id, id)).body.status).toBe('pending');
  });

  it('is audited', async () => {
    const o = await createOrg(ctx, owner, 'media');
    const { id } = await inviteOne(ctx, owner, o.id, uniqueEmail('rv-audit'));
    await revoke(o.id, id);
    const [event] = await auditRows(ctx, o.id, 'invitation.revoked');
    expect(event).toMatchObject({ actor_id: owner.userId, target_id: id });
  });
});

describe('resend', () => {
  it('mails a new link; the old one answers 404 and the new one works', async () => {
    const email = uniqueEmail('rs');
    const { id, token } = await inviteOne(ctx, owner, org.id, email);
    ctx.clock.advance(1000);
    const res = await resend(org.id, id);
    expect(res.status).toBe(200);
    const fresh = await invitationToken(ctx, email);
    expect(fresh).not.toBe(token);
    expect(await mailsTo(ctx, email)).toHaveLength(2);
    expectProblem(await preview(token), 404, 'not_found');
    expectProblem(await accept(token), 404, 'not_found');
    expect((await accept(fresh)).status).toBe(200);
  });

  it('describes account-scoped grants in the new mail', async () => {
    const acc = await createAccount(ctx, owner, org.id, 'video', 'Resent Collection');
    const email = uniqueEmail('rs-words');
    const { id } = await inviteOne(ctx, owner, org.id, email, [
      { role: 'video-analyst', scope: acc.id },
    ]);
    expect((await resend(org.id, id)).status).toBe(200);
    expect((await mailsTo(ctx, email))[0]!.body).toContain('Video analyst on Resent Collection');
  });

  it('gives a new expiry from the policy', async () => {
    const { id } = await inviteOne(ctx, owner, org.id, uniqueEmail('rs-exp'), [], {
      expires_in_days: 1,
    });
    await advance(DAY / 2);
    const res = await resend(org.id, id);
    expect(Date.parse(res.body.expires_at)).toBe(ctx.clock.now() + 7 * DAY);
  });

  it('revives an expired invitation: pending again, and its new link works', async () => {
    const email = uniqueEmail('rs-revive');
    const { id, token } = await inviteOne(ctx, owner, org.id, email, [], { expires_in_days: 1 });
    await advance(2 * DAY);
    expectProblem(await accept(token), 410, 'invitation_expired');
    const res = await resend(org.id, id);
    expect(res.body.status).toBe('pending');
    expect((await accept(await invitationToken(ctx, email))).status).toBe(200);
  });

  it('answers 409 for a revoked, accepted or rejected invitation, and mails nothing', async () => {
    const email = uniqueEmail('rs-revoked');
    const { id } = await inviteOne(ctx, owner, org.id, email);
    await revoke(org.id, id);
    expectProblem(await resend(org.id, id), 409, 'conflict');
    expect(await mailsTo(ctx, email)).toHaveLength(1);
    const b = await inviteOne(ctx, owner, org.id, uniqueEmail('rs-accepted'));
    await accept(b.token);
    expectProblem(await resend(org.id, b.id), 409, 'conflict');
    const c = await inviteOne(ctx, owner, org.id, uniqueEmail('rs-rejected'));
    await ctx.request('POST', `/v1/invitations/${c.token}/reject`);
    expectProblem(await resend(org.id, c.id), 409, 'conflict');
  });

  it('answers 404 for an unknown id', async () => {
    expectProblem(await resend(org.id, 'inv_00000000000000000000000000'), 404, 'not_found');
  });

  it('is refused to a member who may not invite (media admin)', async () => {
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const email = uniqueEmail('rs-admin');
    const { id } = await inviteOne(ctx, owner, org.id, email);
    expectProblem(await resend(org.id, id, admin), 403, 'forbidden');
    expect(await mailsTo(ctx, email)).toHaveLength(1);
  });

  it('is audited', async () => {
    const o = await createOrg(ctx, owner, 'media');
    const { id } = await inviteOne(ctx, owner, o.id, uniqueEmail('rs-audit'));
    await resend(o.id, id);
    const [event] = await auditRows(ctx, o.id, 'invitation.resent');
    expect(event).toMatchObject({ actor_id: owner.userId, target_id: id });
  });
});

describe('expiry', () => {
  it('answers invitation_expired (410) on accept after the expiry, not a generic 404', async () => {
    const { token } = await inviteOne(ctx, owner, org.id, uniqueEmail('ex'), [], {
      expires_in_days: 1,
    });
    await advance(DAY + 1);
    expectProblem(await accept(token), 410, 'invitation_expired');
  });

  it('still accepts one millisecond before the expiry', async () => {
    const { token } = await inviteOne(ctx, owner, org.id, uniqueEmail('ex-edge'), [], {
      expires_in_days: 1,
    });
    await advance(DAY - 1);
    expect((await accept(token)).status).toBe(200);
  });

  it('answers invitation_expired (410) on reject after the expiry', async () => {
    const { token } = await inviteOne(ctx, owner, org.id, uniqueEmail('ex-reject'), [], {
      expires_in_days: 1,
    });
    await advance(2 * DAY);
    expectProblem(
      await ctx.request('POST', `/v1/invitations/${token}/reject`),
      410,
      'invitation_expired',
    );
  });

  it('shows status expired on the preview, and in get', async () => {
    const { id, token } = await inviteOne(ctx, owner, org.id, uniqueEmail('ex-preview'), [], {
      expires_in_days: 1,
    });
    await advance(2 * DAY);
    expect((await preview(token)).body.status).toBe('expired');
    expect((await get(org.id, id)).body.status).toBe('expired');
  });

  it('may still be revoked once expired, so that nobody resends it by mistake', async () => {
    const { id, token } = await inviteOne(ctx, owner, org.id, uniqueEmail('ex-revoke'), [], {
      expires_in_days: 1,
    });
    await advance(2 * DAY);
    expect((await revoke(org.id, id)).body.status).toBe('revoked');
    expectProblem(await resend(org.id, id), 409, 'conflict');
    expectProblem(await accept(token), 410, 'invitation_revoked');
  });
});
