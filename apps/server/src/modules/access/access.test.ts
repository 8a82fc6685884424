import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { addMember, check, createAccount, createOrg, createResource } from '../../../test/seed';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const NO_ACCESS = {
  allowed: false,
  reason: {
    kind: 'no_access',
    message: 'No such scope, or the subject is not a member of its organization',
  },
};

async function checkAs(
  who: SignedIn,
  body: { subject?: string; permission: string; scope: string },
) {
  return ctx.request('POST', '/v1/authz/check', { token: who.accessToken, body });
}

describe('POST /v1/authz/check: reasons', () => {
  let owner: SignedIn;
  let orgId: string;
  let video: string;
  let image: string;
  let collection: string;
  beforeAll(async () => {
    owner = await ctx.signUp();
    orgId = (await createOrg(ctx, owner, 'media')).id;
    video = (await createAccount(ctx, owner, orgId, 'video')).id;
    image = (await createAccount(ctx, owner, orgId, 'image')).id;
    collection = (await createResource(ctx, owner, orgId, video, 'collection')).id;
  });

  it('names the granting role and the scope of the grant, however deep the target', async () => {
    const dev = await addMember(ctx, owner, orgId, [
      { role: 'accountant', scope: orgId },
      { role: 'video-developer', scope: video },
    ]);
    expect(await check(ctx, dev, 'video.assets:create', collection)).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'video-developer', scope: video },
    });
    expect(await check(ctx, dev, 'billing:pay', collection)).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'accountant', scope: orgId },
    });
  });

  it('names the permissions of an inline grant', async () => {
    const m = await addMember(ctx, owner, orgId, [
      { permissions: ['video.assets:read', 'video.usage:read'], scope: collection },
    ]);
    expect(await check(ctx, m, 'video.usage:read', collection)).toEqual({
      allowed: true,
      reason: {
        kind: 'grant',
        permissions: ['video.assets:read', 'video.usage:read'],
        scope: collection,
      },
    });
    // the grant is on the collection: nothing on its account
    expect((await check(ctx, m, 'video.usage:read', video)).reason.kind).toBe('no_grant');
  });

  it('answers owner for the organization owner and for an account owner', async () => {
    expect(await check(ctx, owner, 'organization:delete', collection)).toEqual({
      allowed: true,
      reason: { kind: 'owner', scope: orgId },
    });
    const admin = await addMember(ctx, owner, orgId, [{ role: 'admin', scope: orgId }]);
    const own = await createAccount(ctx, admin, orgId, 'video');
    expect(await check(ctx, admin, 'members:update', own.id)).toEqual({
      allowed: true,
      reason: { kind: 'owner', scope: own.id },
    });
    expect((await check(ctx, admin, 'members:update', video)).allowed).toBe(false);
  });

  it('denies with no_grant, product_mismatch, membership_suspended, unknown_permission', async () => {
    const dev = await addMember(ctx, owner, orgId, [{ role: 'video-developer', scope: orgId }]);
    expect((await check(ctx, dev, 'billing:read', orgId)).reason.kind).toBe('no_grant');
    const mismatch = await check(ctx, dev, 'video.assets:create', image);
    expect(mismatch.allowed).toBe(false);
    expect(mismatch.reason.kind).toBe('product_mismatch');
    expect(mismatch.reason.message).toContain('video-developer');
    expect((await check(ctx, dev, 'video.nothing:ever', video)).reason.kind).toBe(
      'unknown_permission',
    );
    const s = await ctx.request(
      'POST',
      `/v1/organizations/${orgId}/members/${dev.userId}/suspend`,
      {
        token: owner.accessToken,
      },
    );
    expect(s.status).toBe(204);
    expect(await check(ctx, dev, 'video.assets:create', video)).toMatchObject({
      allowed: false,
      reason: { kind: 'membership_suspended' },
    });
    // the owner asking about them sees the same
    const about = await checkAs(owner, {
      subject: dev.userId,
      permission: 'video.assets:create',
      scope: video,
    });
    expect(about.body.reason.kind).toBe('membership_suspended');
  });
});

describe('POST /v1/authz/check: tenants and subjects', () => {
  let owner: SignedIn;
  let orgId: string;
  let acc: string;
  let stranger: SignedIn;
  let theirOrg: string;
  let theirAcc: string;
  let theirRes: string;
  beforeAll(async () => {
    owner = await ctx.signUp();
    orgId = (await createOrg(ctx, owner, 'team')).id;
    acc = (await createAccount(ctx, owner, orgId, 'video')).id;
    stranger = await ctx.signUp();
    theirOrg = (await createOrg(ctx, stranger, 'team')).id;
    theirAcc = (await createAccount(ctx, stranger, theirOrg, 'video')).id;
    theirRes = (await createResource(ctx, stranger, theirOrg, theirAcc, 'room')).id;
  });

  it("answers the same no_access for an unknown scope and another tenant's", async () => {
    for (const [scope, unknown] of [
      [theirOrg, `org_${'0'.repeat(26)}`],
      [theirAcc, `acc_${'0'.repeat(26)}`],
      [theirRes, `res_${'0'.repeat(26)}`],
    ] as const) {
      for (const subject of [undefined, owner.userId, stranger.userId]) {
        const a = await checkAs(owner, { subject, permission: 'accounts:read', scope });
        const b = await checkAs(owner, { subject, permission: 'accounts:read', scope: unknown });
        expect(a.status).toBe(200);
        expect(a.body).toEqual(NO_ACCESS);
        expect(b.body).toEqual(NO_ACCESS);
      }
    }
  });

  it('needs members:read in the organization to ask about another subject', async () => {
    const acct = await ctx.signUp();
    const user = await addMember(ctx, owner, orgId, [{ role: 'user', scope: acc }]);
    await addMember(ctx, owner, orgId, []);
    const res = await checkAs(user, {
      subject: owner.userId,
      permission: 'accounts:read',
      scope: acc,
    });
    expectProblem(res, 403, 'forbidden');
    // asking about oneself by id is asking about oneself
    const self = await checkAs(user, {
      subject: user.userId,
      permission: 'accounts:read',
      scope: acc,
    });
    expect(self.body.allowed).toBe(true);
    // an admin (members:read) may ask about anyone in the organization, non-members included
    const admin = await addMember(ctx, owner, orgId, [{ role: 'admin', scope: orgId }]);
    const about = await checkAs(admin, {
      subject: user.userId,
      permission: 'resources:create',
      scope: acc,
    });
    expect(about.body).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'user', scope: acc },
    });
    const outsider = await checkAs(admin, {
      subject: acct.userId,
      permission: 'accounts:read',
      scope: acc,
    });
    expect(outsider.body).toEqual(NO_ACCESS);
  });

  // @see issue 12 #4: the console's "test permission" box, used by an account's admin.
  it('lets a member holding members:read at the scope (not above it) ask about another member there', async () => {
    const org = (await createOrg(ctx, owner, 'accounts')).id;
    const a = (await createAccount(ctx, owner, org, 'video', 'A')).id;
    const b = (await createAccount(ctx, owner, org, 'video', 'B')).id;
    const room = (await createResource(ctx, owner, org, a, 'collection')).id;
    const admin = await addMember(ctx, owner, org, [{ role: 'admin', scope: a }]);
    const viewer = await addMember(ctx, owner, org, [
      { role: 'viewer', scope: a },
      { role: 'viewer', scope: b },
    ]);
    const ask = (who: SignedIn, subject: string, scope: string) =>
      checkAs(who, { subject, permission: 'accounts:read', scope });
    const atA = await ask(admin, viewer.userId, a);
    expect(atA.status).toBe(200);
    expect(atA.body).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'viewer', scope: a },
    });
    // below its account too: members:read is inherited by the account's resources
    expect((await ask(admin, viewer.userId, room)).body.allowed).toBe(true);
    // not at another account, nor at the organization, where it holds no members:read
    expectProblem(await ask(admin, viewer.userId, b), 403, 'forbidden');
    expectProblem(await ask(admin, viewer.userId, org), 403, 'forbidden');
    // a member with no grant there asks only about itself
    const plain = await addMember(ctx, owner, org, []);
    expectProblem(await ask(plain, viewer.userId, a), 403, 'forbidden');
    expect((await ask(plain, plain.userId, a)).body.allowed).toBe(false);
  });

  it('answers 400 to malformed requests, never 500', async () => {
    for (const body of [
      {},
      { permission: 'accounts:read' },
      { permission: 'accounts:read', scope: 'acc_short' },
      { permission: 'accounts:read', scope: acc, subject: 'nobody' },
      { permission: 'accounts:read', scope: acc, extra: true },
      { permission: '', scope: acc },
    ]) {
      expectProblem(await checkAs(owner, body as never), 400, 'validation_failed');
    }
  });
});

describe('POST /v1/authz/check-batch', () => {
  it('answers up to 100 checks in order, refuses 101', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const video = await createAccount(ctx, owner, org.id, 'video');
    const image = await createAccount(ctx, owner, org.id, 'image');
    const dev = await addMember(ctx, owner, org.id, [{ role: 'video-developer', scope: org.id }]);
    const checks = Array.from({ length: 100 }, (_, i) => ({
      permission: i % 2 ? 'video.assets:create' : 'billing:read',
      scope: i % 3 ? video.id : image.id,
    }));
    const res = await ctx.request('POST', '/v1/authz/check-batch', {
      token: dev.accessToken,
      body: { checks },
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(100);
    for (const [i, r] of (res.body.results as { allowed: boolean }[]).entries()) {
      expect(r.allowed).toBe(i % 2 === 1 && i % 3 !== 0);
    }
    expectProblem(
      await ctx.request('POST', '/v1/authz/check-batch', {
        token: dev.accessToken,
        body: { checks: [...checks, checks[0]] },
      }),
      400,
      'validation_failed',
    );
    expectProblem(
      await ctx.request('POST', '/v1/authz/check-batch', {
        token: dev.accessToken,
        body: { checks: [] },
      }),
      400,
      'validation_failed',
    );
  });

  it('needs members:read for another subject, like the single check', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const acct = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const res = await ctx.request('POST', '/v1/authz/check-batch', {
      token: acct.accessToken,
      body: { subject: owner.userId, checks: [{ permission: 'billing:read', scope: org.id }] },
    });
    expectProblem(res, 403, 'forbidden');
  });
});

describe('POST /v1/authz/list-scopes', () => {
  it('lists exactly the accounts (or resources) where the subject holds the permission', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const v1 = await createAccount(ctx, owner, org.id, 'video', 'v1');
    const v2 = await createAccount(ctx, owner, org.id, 'video', 'v2');
    const i1 = await createAccount(ctx, owner, org.id, 'image', 'i1');
    const c1 = await createResource(ctx, owner, org.id, v1.id, 'collection', 'c1');
    const c2 = await createResource(ctx, owner, org.id, v2.id, 'collection', 'c2');
    const m = await addMember(ctx, owner, org.id, [
      { role: 'video-source-specific', scope: c2.id },
      { role: 'video-analyst', scope: v1.id },
    ]);
    const list = async (who: SignedIn, body: Record<string, unknown>) => {
      const res = await ctx.request('POST', '/v1/authz/list-scopes', {
        token: who.accessToken,
        body: { organization_id: org.id, ...body },
      });
      return res;
    };
    const ids = (res: { body: { scopes: { id: string }[] } }) =>
      res.body.scopes.map((s) => s.id).sort();
    expect(ids(await list(m, { permission: 'video.usage:read' }))).toEqual([v1.id].sort());
    expect(ids(await list(m, { permission: 'video.usage:read', level: 'resource' }))).toEqual(
      [c1.id, c2.id].sort(),
    );
    expect(ids(await list(m, { permission: 'video.assets:read', level: 'resource' }))).toEqual([
      c2.id,
    ]);
    expect(ids(await list(m, { permission: 'image.usage:read' }))).toEqual([]);
    expect(ids(await list(owner, { permission: 'accounts:delete' }))).toEqual(
      [v1.id, v2.id, i1.id].sort(),
    );
    // about another subject: needs members:read (the owner has it)
    expect(ids(await list(owner, { subject: m.userId, permission: 'video.usage:read' }))).toEqual([
      v1.id,
    ]);
    // a member without members:read knows the organization exists: 403, as for a check
    expectProblem(
      await list(m, { subject: owner.userId, permission: 'accounts:read' }),
      403,
      'forbidden',
    );
    expectProblem(await list(m, { permission: 'no.such:thing' }), 400, 'validation_failed');
  });

  it("answers 404 for another tenant's organization as for an unknown one", async () => {
    const a = await ctx.signUp();
    const b = await ctx.signUp();
    const theirs = await createOrg(ctx, b, 'media');
    await createOrg(ctx, a, 'media');
    const r1 = await ctx.request('POST', '/v1/authz/list-scopes', {
      token: a.accessToken,
      body: { organization_id: theirs.id, permission: 'accounts:read' },
    });
    const r2 = await ctx.request('POST', '/v1/authz/list-scopes', {
      token: a.accessToken,
      body: { organization_id: `org_${'0'.repeat(26)}`, permission: 'accounts:read' },
    });
    expectProblem(r1, 404, 'not_found');
    expect(r1.body.detail).toBe(r2.body.detail);
  });
});

describe('a change through the API is visible to the very next check', () => {
  it('sees a removed grant, a replaced set, a suspension and a reactivation at once', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const user = await addMember(ctx, owner, org.id, [{ role: 'user', scope: acc.id }]);
    const base = `/v1/organizations/${org.id}/members/${user.userId}`;
    expect((await check(ctx, user, 'resources:create', acc.id)).allowed).toBe(true);
    const grants = await ctx.request('GET', `${base}/grants`, { token: owner.accessToken });
    const removed = await ctx.request('DELETE', `${base}/grants/${grants.body.data[0].id}`, {
      token: owner.accessToken,
    });
    expect(removed.status).toBe(200);
    expect((await check(ctx, user, 'resources:create', acc.id)).allowed).toBe(false);

    await ctx.request('PUT', `${base}/grants`, {
      token: owner.accessToken,
      body: { grants: [{ role: 'user', scope: acc.id }] },
    });
    expect((await check(ctx, user, 'resources:create', acc.id)).allowed).toBe(true);

    await ctx.request('POST', `${base}/suspend`, { token: owner.accessToken });
    expect((await check(ctx, user, 'resources:create', acc.id)).reason.kind).toBe(
      'membership_suspended',
    );
    await ctx.request('POST', `${base}/reactivate`, { token: owner.accessToken });
    expect((await check(ctx, user, 'resources:create', acc.id)).allowed).toBe(true);

    await ctx.request('DELETE', base, { token: owner.accessToken });
    expect(await check(ctx, user, 'resources:create', acc.id)).toEqual(NO_ACCESS);
  });

  it('sees a custom role edited or deleted at once, for everyone holding it', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const role = await ctx.request('POST', `/v1/organizations/${org.id}/roles`, {
      token: owner.accessToken,
      body: { key: 'uploader', name: 'Uploader', permissions: ['video.assets:create'] },
    });
    expect(role.status).toBe(201);
    const a = await addMember(ctx, owner, org.id, [{ role: 'uploader', scope: acc.id }]);
    const b = await addMember(ctx, owner, org.id, [{ role: 'uploader', scope: org.id }]);
    for (const who of [a, b]) {
      expect(await check(ctx, who, 'video.assets:create', acc.id)).toMatchObject({
        allowed: true,
        reason: { role: 'uploader' },
      });
      expect((await check(ctx, who, 'video.assets:delete', acc.id)).allowed).toBe(false);
    }
    const edited = await ctx.request('PATCH', `/v1/organizations/${org.id}/roles/uploader`, {
      token: owner.accessToken,
      body: { permissions: ['video.assets:delete'] },
    });
    expect(edited.status).toBe(200);
    for (const who of [a, b]) {
      expect((await check(ctx, who, 'video.assets:create', acc.id)).allowed).toBe(false);
      expect((await check(ctx, who, 'video.assets:delete', acc.id)).allowed).toBe(true);
    }
    // restricting it to another product takes it away inside video accounts
    await ctx.request('PATCH', `/v1/organizations/${org.id}/roles/uploader`, {
      token: owner.accessToken,
      body: { permissions: ['image.sources:read'], product: 'image' },
    });
    expect((await check(ctx, a, 'image.sources:read', acc.id)).allowed).toBe(false);
    const deleted = await ctx.request(
      'DELETE',
      `/v1/organizations/${org.id}/roles/uploader?replace_with=video-analyst`,
      { token: owner.accessToken },
    );
    expect(deleted.status).toBe(204);
    expect(await check(ctx, b, 'video.usage:read', acc.id)).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'video-analyst', scope: org.id },
    });
  });

  it('sees ownership move at once', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const heir = await addMember(ctx, owner, org.id, []);
    expect((await check(ctx, heir, 'organization:delete', org.id)).allowed).toBe(false);
    const offer = await ctx.request('POST', `/v1/organizations/${org.id}/transfer-ownership`, {
      token: owner.accessToken,
      body: { user_id: heir.userId },
    });
    expect(offer.status).toBe(201);
    const accepted = await ctx.request(
      'POST',
      `/v1/organizations/${org.id}/ownership-offers/${offer.body.id}/accept`,
      { token: heir.accessToken },
    );
    expect(accepted.status).toBe(200);
    expect(await check(ctx, heir, 'organization:delete', org.id)).toEqual({
      allowed: true,
      reason: { kind: 'owner', scope: org.id },
    });
    // the former owner keeps admin, which does not delete the organization
    expect(await check(ctx, owner, 'organization:delete', org.id)).toMatchObject({
      allowed: false,
    });
    expect(await check(ctx, owner, 'members:update', org.id)).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'admin', scope: org.id },
    });
  });

  it('sees an account deleted at once: its id becomes unknown', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const user = await addMember(ctx, owner, org.id, [{ role: 'user', scope: acc.id }]);
    expect((await check(ctx, user, 'accounts:read', acc.id)).allowed).toBe(true);
    const res = await ctx.request('DELETE', `/v1/organizations/${org.id}/accounts/${acc.id}`, {
      token: owner.accessToken,
    });
    expect(res.status).toBe(204);
    expect(await check(ctx, user, 'accounts:read', acc.id)).toEqual(NO_ACCESS);
  });
});
