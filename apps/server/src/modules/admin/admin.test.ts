/**
 * Platform administration: customers (an organization with its owner, found or created, and a
 * mail to the owner), listing and searching, suspending and reactivating; users across the
 * platform: search, suspend, reactivate, deactivate. Platform admins only, every act audited.
 * @see issue 4, item 7
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
  allowed,
  createAccount,
  createOrg,
  invite,
  inviteOne,
  platformAdmin,
} from '../../../test/seed';

let ctx: TestContext;
let admin: SignedIn;

beforeAll(async () => {
  ctx = await createTestContext();
  admin = await platformAdmin(ctx);
});
afterAll(async () => {
  await ctx?.close();
});

const as = (who: SignedIn) => ({ token: who.accessToken });
const createCustomer = (body: Record<string, unknown>, who: SignedIn = admin) =>
  ctx.request('POST', '/v1/admin/customers', { ...as(who), body });
const newCustomer = (overrides: Record<string, unknown> = {}) =>
  createCustomer({
    name: `Customer ${Math.random().toString(36).slice(2, 8)}`,
    template: 'reseller',
    owner: { email: uniqueEmail('cust-owner'), first_name: 'Cora', last_name: 'Customer' },
    ...overrides,
  });
const userByEmail = (email: string) =>
  ctx.database.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
const setPasswordToken = (body: string | null) =>
  body?.match(/set-password\?token=([A-Za-z0-9_-]+)/)?.[1];
const platformAudit = (action: string, targetId: string) =>
  ctx.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('action', '=', action)
    .where('target_id', '=', targetId)
    .execute();

describe('only platform admins', () => {
  const routes: [string, string, unknown?][] = [
    [
      'POST',
      '/v1/admin/customers',
      { name: 'X', owner: { email: 'x@example.com', first_name: 'X', last_name: 'Y' } },
    ],
    ['GET', '/v1/admin/customers'],
    ['GET', '/v1/admin/customers/org_00000000000000000000000000'],
    ['POST', '/v1/admin/customers/org_00000000000000000000000000/suspend'],
    ['POST', '/v1/admin/customers/org_00000000000000000000000000/reactivate'],
    ['GET', '/v1/admin/users'],
    ['POST', '/v1/admin/users/usr_00000000000000000000000000/suspend'],
    ['POST', '/v1/admin/users/usr_00000000000000000000000000/reactivate'],
    ['POST', '/v1/admin/users/usr_00000000000000000000000000/deactivate'],
  ];

  it.each(routes)(
    '%s %s refuses a signed-in user with platform_admin_required (403)',
    async (method, url, body) => {
      const user = await ctx.signUp();
      expectProblem(
        await ctx.request(method, url, { ...as(user), body }),
        403,
        'platform_admin_required',
      );
    },
  );

  it.each(routes)('%s %s refuses an anonymous caller with 401', async (method, url, body) => {
    expectProblem(await ctx.request(method, url, { body }), 401, 'unauthenticated');
  });

  it('refuses an organization owner too: owning a tenant is not administering the platform', async () => {
    const owner = await ctx.signUp();
    await createOrg(ctx, owner, 'media');
    expectProblem(
      await ctx.request('GET', '/v1/admin/users', as(owner)),
      403,
      'platform_admin_required',
    );
  });

  it('a refused create writes no organization and no user', async () => {
    const user = await ctx.signUp();
    const email = uniqueEmail('refused-owner');
    await createCustomer(
      { name: 'Nope Inc', owner: { email, first_name: 'N', last_name: 'O' } },
      user,
    );
    expect(await userByEmail(email)).toBeUndefined();
    const org = await ctx.database.db
      .selectFrom('organizations')
      .select('id')
      .where('name', '=', 'Nope Inc')
      .executeTakeFirst();
    expect(org).toBeUndefined();
  });
});

describe('create a customer', () => {
  it('creates the organization with a new owner user from the customer profile', async () => {
    const email = uniqueEmail('new-owner');
    const res = await createCustomer({
      name: 'Stream Co',
      template: 'reseller',
      owner: { email, first_name: 'Sam', last_name: 'Streamer' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Stream Co', template: 'reseller', status: 'active' });
    const user = await userByEmail(email);
    expect(user).toMatchObject({
      first_name: 'Sam',
      last_name: 'Streamer',
      password_hash: null,
      managed_by_org_id: res.body.id,
    });
    expect(res.body.owner_id).toBe(user!.id);
  });

  it('mails the new owner a set-password link that works; they then sign in as the owner', async () => {
    const email = uniqueEmail('link-owner');
    const res = await newCustomer({ owner: { email, first_name: 'Lia', last_name: 'Link' } });
    const [mail] = await mailsTo(ctx, email);
    expect(mail!.subject).toContain('is ready for you');
    const token = setPasswordToken(mail!.body);
    expect(token).toBeTruthy();
    const reset = await ctx.request('POST', '/v1/auth/password/reset', {
      body: { reset_token: token, password: STRONG_PASSWORD },
    });
    expect(reset.status).toBe(204);
    const owner = await ctx.login(email, STRONG_PASSWORD);
    expect(await allowed(ctx, owner, 'billing:manage', res.body.id)).toBe(true);
    const me = await ctx.request('GET', '/v1/me', as(owner));
    expect(me.body.email_verified).toBe(true);
  });

  it('the set-password link works once', async () => {
    const email = uniqueEmail('once-owner');
    await newCustomer({ owner: { email, first_name: 'O', last_name: 'Nce' } });
    const token = setPasswordToken((await mailsTo(ctx, email))[0]!.body);
    const body = { reset_token: token, password: STRONG_PASSWORD };
    expect((await ctx.request('POST', '/v1/auth/password/reset', { body })).status).toBe(204);
    expectProblem(
      await ctx.request('POST', '/v1/auth/password/reset', { body }),
      401,
      'invalid_token',
    );
  });

  it('finds an existing user by email and makes them the owner, with a plain mail and no new user', async () => {
    const existing = await ctx.signUp();
    const before = await userByEmail(existing.email);
    const res = await newCustomer({
      owner: { email: existing.email, first_name: 'Other', last_name: 'Name' },
    });
    expect(res.body.owner_id).toBe(existing.userId);
    const after = await userByEmail(existing.email);
    // The customer profile does not rename or re-home an existing person.
    expect(after).toMatchObject({
      first_name: before!.first_name,
      password_hash: before!.password_hash,
      managed_by_org_id: null,
    });
    const [mail] = await mailsTo(ctx, existing.email);
    expect(mail!.subject).toContain('is ready for you');
    expect(setPasswordToken(mail!.body)).toBeUndefined();
    expect(await allowed(ctx, existing, 'members:invite', res.body.id)).toBe(true);
  });

  it('finds the owner whatever the case and spacing of the address', async () => {
    const existing = await ctx.signUp();
    const res = await newCustomer({
      owner: { email: `  ${existing.email.toUpperCase()} `, first_name: 'A', last_name: 'B' },
    });
    expect(res.body.owner_id).toBe(existing.userId);
  });

  it('sends a set-password link to an existing user who has no password yet', async () => {
    const other = await newCustomer();
    const ownerId = other.body.owner_id;
    const { email } = await ctx.database.db
      .selectFrom('users')
      .select('email')
      .where('id', '=', ownerId)
      .executeTakeFirstOrThrow();
    const res = await newCustomer({ owner: { email, first_name: 'A', last_name: 'B' } });
    expect(res.body.owner_id).toBe(ownerId);
    const [latest] = await mailsTo(ctx, email);
    expect(setPasswordToken(latest!.body)).toBeTruthy();
  });

  it('makes the owner a member of exactly that organization', async () => {
    const res = await newCustomer();
    const rows = await ctx.database.db
      .selectFrom('memberships')
      .selectAll()
      .where('organization_id', '=', res.body.id)
      .execute();
    expect(rows.map((r) => r.user_id)).toEqual([res.body.owner_id]);
  });

  it('defaults to the media template and derives the slug from the name', async () => {
    const res = await createCustomer({
      name: 'Ünïcode Média GmbH',
      owner: { email: uniqueEmail(), first_name: 'A', last_name: 'B' },
    });
    expect(res.body.template).toBe('media');
    expect(res.body.slug).toBe('unicode-media-gmbh');
  });

  it('gives a derived slug a suffix when the name is taken', async () => {
    const a = await createCustomer({
      name: 'Twin',
      owner: { email: uniqueEmail(), first_name: 'A', last_name: 'B' },
    });
    const b = await createCustomer({
      name: 'Twin',
      owner: { email: uniqueEmail(), first_name: 'A', last_name: 'B' },
    });
    expect(b.status).toBe(201);
    expect(b.body.slug).not.toBe(a.body.slug);
    expect(b.body.slug).toMatch(/^twin-/);
  });

  it('refuses a requested slug that is taken with 409, writing nothing', async () => {
    const email = uniqueEmail('slug-owner');
    await createCustomer({
      name: 'S1',
      slug: 'taken-slug',
      owner: { email: uniqueEmail(), first_name: 'A', last_name: 'B' },
    });
    const res = await createCustomer({
      name: 'S2',
      slug: 'taken-slug',
      owner: { email, first_name: 'A', last_name: 'B' },
    });
    expectProblem(res, 409, 'conflict');
    expect(await userByEmail(email)).toBeUndefined();
    expect(await mailsTo(ctx, email)).toHaveLength(0);
  });

  it('refuses an unknown template with 400', async () => {
    const res = await newCustomer({ template: 'no-such-template' });
    expectProblem(res, 400, 'validation_failed');
  });

  it('two customers created at once for one new owner: one user, two organizations owned by them', async () => {
    const email = uniqueEmail('twice-owner');
    const answers = await Promise.all(
      [1, 2].map((i) =>
        createCustomer({
          name: `Parallel ${i}`,
          owner: { email, first_name: 'P', last_name: 'P' },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    const users = await ctx.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .execute();
    expect(users).toHaveLength(1);
    const owned = await ctx.database.db
      .selectFrom('organizations')
      .select('id')
      .where('owner_user_id', '=', users[0]!.id)
      .execute();
    expect(owned).toHaveLength(2);
  });

  it('is audited as customer.created by a platform_admin', async () => {
    const res = await newCustomer();
    const [event] = await platformAudit('customer.created', res.body.id);
    expect(event).toMatchObject({
      actor_type: 'platform_admin',
      actor_id: admin.userId,
      organization_id: res.body.id,
    });
  });
});

describe('list and get customers', () => {
  it('lists customers newest first with their member counts', async () => {
    const a = await newCustomer({ name: 'Listed Alpha' });
    ctx.clock.advance(5);
    const b = await newCustomer({ name: 'Listed Beta' });
    const res = await ctx.request('GET', '/v1/admin/customers?search=listed', as(admin));
    expect(res.status).toBe(200);
    expect(res.body.data.map((c: { id: string }) => c.id)).toEqual([b.body.id, a.body.id]);
    expect(res.body.data[0].members).toBe(1);
  });

  it('searches by name, case-insensitively, and by slug', async () => {
    const c = await newCustomer({ name: 'Zebra Streaming', slug: 'zz-stripes' });
    const byName = await ctx.request('GET', '/v1/admin/customers?search=zEBRA', as(admin));
    expect(byName.body.data.map((x: { id: string }) => x.id)).toEqual([c.body.id]);
    const bySlug = await ctx.request('GET', '/v1/admin/customers?search=zz-str', as(admin));
    expect(bySlug.body.data.map((x: { id: string }) => x.id)).toEqual([c.body.id]);
  });

  it('treats % and _ in a search as plain characters', async () => {
    const pct = await newCustomer({ name: '100% Video' });
    await newCustomer({ name: '1000 Videos' });
    const res = await ctx.request(
      'GET',
      `/v1/admin/customers?search=${encodeURIComponent('100%')}`,
      as(admin),
    );
    expect(res.body.data.map((x: { id: string }) => x.id)).toEqual([pct.body.id]);
    const under = await newCustomer({ name: 'snake_case corp' });
    await newCustomer({ name: 'snakeXcase corp' });
    const res2 = await ctx.request('GET', '/v1/admin/customers?search=snake_case', as(admin));
    expect(res2.body.data.map((x: { id: string }) => x.id)).toEqual([under.body.id]);
  });

  it('filters by status', async () => {
    const c = await newCustomer({ name: 'Status Filter One' });
    await newCustomer({ name: 'Status Filter Two' });
    await ctx.request('POST', `/v1/admin/customers/${c.body.id}/suspend`, as(admin));
    const res = await ctx.request(
      'GET',
      '/v1/admin/customers?search=status%20filter&status=suspended',
      as(admin),
    );
    expect(res.body.data.map((x: { id: string }) => x.id)).toEqual([c.body.id]);
  });

  it('pages with a cursor, each customer once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await newCustomer({ name: `Paged ${i}` })).body.id);
      ctx.clock.advance(1);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await ctx.request(
        'GET',
        `/v1/admin/customers?search=paged&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        as(admin),
      );
      seen.push(...res.body.data.map((x: { id: string }) => x.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('shows organizations that users created themselves, too', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team', 'Self Made Org');
    const res = await ctx.request('GET', `/v1/admin/customers/${org.id}`, as(admin));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: org.id,
      name: 'Self Made Org',
      owner_id: owner.userId,
      members: 1,
    });
  });

  it('gets one customer, and 404 for an unknown id', async () => {
    const c = await newCustomer();
    const res = await ctx.request('GET', `/v1/admin/customers/${c.body.id}`, as(admin));
    expect(res.body).toMatchObject({ id: c.body.id, name: c.body.name, members: 1 });
    expectProblem(
      await ctx.request('GET', '/v1/admin/customers/org_00000000000000000000000000', as(admin)),
      404,
      'not_found',
    );
  });
});

describe('suspend and reactivate a customer', () => {
  async function customerWithMember() {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const video = await createAccount(ctx, owner, org.id, 'video');
    const member = await addMember(ctx, owner, org.id, [
      { role: 'video-developer', scope: org.id },
    ]);
    return { owner, org, video, member };
  }
  const suspend = (orgId: string) =>
    ctx.request('POST', `/v1/admin/customers/${orgId}/suspend`, as(admin));
  const reactivate = (orgId: string) =>
    ctx.request('POST', `/v1/admin/customers/${orgId}/reactivate`, as(admin));

  it('answers the customer with status suspended', async () => {
    const { org } = await customerWithMember();
    const res = await suspend(org.id);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('suspended');
  });

  it("refuses its members on the organization's routes at once", async () => {
    const { org, member, owner } = await customerWithMember();
    expect((await ctx.request('GET', `/v1/organizations/${org.id}`, as(member))).status).toBe(200);
    await suspend(org.id);
    for (const who of [member, owner]) {
      for (const url of [`/v1/organizations/${org.id}`, `/v1/organizations/${org.id}/accounts`]) {
        const res = await ctx.request('GET', url, as(who));
        expectProblem(res, 403, 'forbidden');
        expect(res.body.reason).toBe('organization_suspended');
      }
    }
  });

  it('makes /v1/authz/check deny everything in it, the owner included', async () => {
    const { org, video, member, owner } = await customerWithMember();
    expect(await allowed(ctx, member, 'video.assets:create', video.id)).toBe(true);
    await suspend(org.id);
    expect(await allowed(ctx, member, 'video.assets:create', video.id)).toBe(false);
    expect(await allowed(ctx, owner, 'organization:read', org.id)).toBe(false);
  });

  it('refuses its API keys', async () => {
    const { org, video, owner } = await customerWithMember();
    const key = await ctx.request('POST', `/v1/organizations/${org.id}/api-keys`, {
      ...as(owner),
      body: { name: 'svc', grants: [{ role: 'video-developer', scope: org.id }] },
    });
    const check = () =>
      ctx.request('POST', '/v1/authz/check', {
        headers: { 'x-api-key': key.body.secret },
        body: { permission: 'video.assets:create', scope: video.id },
      });
    expect((await check()).body.allowed).toBe(true);
    await suspend(org.id);
    expectProblem(await check(), 401, 'invalid_token');
  });

  it('refuses invitations from it, and the acceptance of its pending invitations', async () => {
    const { org, owner } = await customerWithMember();
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email);
    await suspend(org.id);
    const sent = await invite(ctx, owner, org.id, { emails: [uniqueEmail()] });
    expectProblem(sent, 403, 'forbidden');
    const accepted = await ctx.request('POST', `/v1/invitations/${token}/accept`, {
      ...as(invitee),
      body: {},
    });
    expectProblem(accepted, 403, 'forbidden');
    expect(accepted.body.reason).toBe('organization_suspended');
    const member = await ctx.database.db
      .selectFrom('memberships')
      .select('user_id')
      .where('organization_id', '=', org.id)
      .where('user_id', '=', invitee.userId)
      .executeTakeFirst();
    expect(member).toBeUndefined();
  });

  it('reactivating gives every member their rights back', async () => {
    const { org, video, member } = await customerWithMember();
    await suspend(org.id);
    const res = await reactivate(org.id);
    expect(res.body.status).toBe('active');
    expect(await allowed(ctx, member, 'video.assets:create', video.id)).toBe(true);
    expect((await ctx.request('GET', `/v1/organizations/${org.id}`, as(member))).status).toBe(200);
  });

  it('suspending twice is harmless and audited once', async () => {
    const { org } = await customerWithMember();
    await suspend(org.id);
    expect((await suspend(org.id)).body.status).toBe('suspended');
    expect(await platformAudit('customer.suspended', org.id)).toHaveLength(1);
  });

  it('is audited as customer.suspended and customer.reactivated by a platform_admin', async () => {
    const { org } = await customerWithMember();
    await suspend(org.id);
    await reactivate(org.id);
    for (const action of ['customer.suspended', 'customer.reactivated']) {
      const [event] = await platformAudit(action, org.id);
      expect(event).toMatchObject({
        actor_type: 'platform_admin',
        actor_id: admin.userId,
        organization_id: org.id,
      });
    }
  });

  it('answers 404 for an unknown customer', async () => {
    expectProblem(await suspend('org_00000000000000000000000000'), 404, 'not_found');
    expectProblem(await reactivate('org_00000000000000000000000000'), 404, 'not_found');
  });
});

describe('users', () => {
  const userAct = (userId: string, act: 'suspend' | 'reactivate' | 'deactivate', who = admin) =>
    ctx.request('POST', `/v1/admin/users/${userId}/${act}`, as(who));

  it('lists users with their status, verification, admin flag and organization count', async () => {
    const user = await ctx.signUp({ first_name: 'Listy', last_name: 'McUser' });
    await createOrg(ctx, user, 'media');
    const res = await ctx.request(
      'GET',
      `/v1/admin/users?search=${encodeURIComponent(user.email)}`,
      as(admin),
    );
    expect(res.body.data).toEqual([
      expect.objectContaining({
        id: user.userId,
        email: user.email,
        first_name: 'Listy',
        last_name: 'McUser',
        status: 'active',
        email_verified: true,
        is_platform_admin: false,
        organizations: 1,
      }),
    ]);
  });

  it('searches by first or last name, case-insensitively', async () => {
    const user = await ctx.signUp({ first_name: 'Quintessa', last_name: 'Zorro' });
    for (const term of ['quintESSA', 'zorr']) {
      const res = await ctx.request('GET', `/v1/admin/users?search=${term}`, as(admin));
      expect(res.body.data.map((u: { id: string }) => u.id)).toEqual([user.userId]);
    }
  });

  it('searches by email, case-insensitively', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request(
      'GET',
      `/v1/admin/users?search=${encodeURIComponent(user.email.toUpperCase())}`,
      as(admin),
    );
    expect(res.body.data.map((u: { id: string }) => u.id)).toEqual([user.userId]);
  });

  it('filters by status and pages with a cursor', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      made.push((await ctx.signUp({ first_name: 'Pagina', last_name: `N${i}` })).userId);
      ctx.clock.advance(1);
    }
    admin = await ctx.login(admin.email, admin.password);
    await userAct(made[1]!, 'suspend');
    const suspended = await ctx.request(
      'GET',
      '/v1/admin/users?search=pagina&status=suspended',
      as(admin),
    );
    expect(suspended.body.data.map((u: { id: string }) => u.id)).toEqual([made[1]]);
    const first = await ctx.request('GET', '/v1/admin/users?search=pagina&limit=2', as(admin));
    const second = await ctx.request(
      'GET',
      `/v1/admin/users?search=pagina&limit=2&cursor=${first.body.next_cursor}`,
      as(admin),
    );
    expect([...first.body.data, ...second.body.data].map((u: { id: string }) => u.id)).toEqual(
      [...made].reverse(),
    );
    expect(second.body.next_cursor).toBeNull();
  });

  it('suspending refuses the user on their next request and revokes every session', async () => {
    const user = await ctx.signUp();
    const second = await ctx.login(user.email, user.password);
    const res = await userAct(user.userId, 'suspend');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('suspended');
    // The revoked session is what the token meets first (sessions.service checks revocation
    // before the user's status); signing in again then answers user_inactive (next test).
    for (const session of [user, second])
      expectProblem(await ctx.request('GET', '/v1/me', as(session)), 401, 'session_revoked');
    const live = await ctx.database.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', user.userId)
      .where('revoked_at', 'is', null)
      .execute();
    expect(live).toEqual([]);
  });

  it('a suspended user cannot sign in again: user_inactive', async () => {
    const user = await ctx.signUp();
    await userAct(user.userId, 'suspend');
    const res = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expectProblem(res, 403, 'user_inactive');
  });

  it('a suspended user cannot refresh their way back in', async () => {
    const user = await ctx.signUp();
    await userAct(user.userId, 'suspend');
    const res = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expect(res.status).toBe(401);
  });

  it('reactivating lets the user sign in again', async () => {
    const user = await ctx.signUp();
    await userAct(user.userId, 'suspend');
    const res = await userAct(user.userId, 'reactivate');
    expect(res.body.status).toBe('active');
    const session = await ctx.login(user.email, user.password);
    expect((await ctx.request('GET', '/v1/me', as(session))).status).toBe(200);
  });

  it('deactivating revokes the sessions and refuses sign-in; reactivating restores it', async () => {
    const user = await ctx.signUp();
    const res = await userAct(user.userId, 'deactivate');
    expect(res.body.status).toBe('deactivated');
    expect((await ctx.request('GET', '/v1/me', as(user))).status).toBe(401);
    expectProblem(
      await ctx.request('POST', '/v1/auth/login', {
        body: { email: user.email, password: user.password },
      }),
      403,
      'user_inactive',
    );
    await userAct(user.userId, 'reactivate');
    await ctx.login(user.email, user.password);
  });

  it("a suspended member's rights in their organizations are denied meanwhile", async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const member = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    await userAct(member.userId, 'suspend');
    const ask = () =>
      ctx.request('POST', '/v1/authz/check', {
        ...as(owner),
        body: { subject: member.userId, permission: 'billing:pay', scope: org.id },
      });
    await userAct(member.userId, 'reactivate');
    expect((await ask()).body.allowed).toBe(true);
    await userAct(member.userId, 'suspend');
    expect((await ask()).body.allowed).toBe(false);
  });

  it('an admin cannot suspend or deactivate themselves (403), and stays active', async () => {
    expectProblem(await userAct(admin.userId, 'suspend'), 403, 'forbidden');
    expectProblem(await userAct(admin.userId, 'deactivate'), 403, 'forbidden');
    expect((await ctx.request('GET', '/v1/me', as(admin))).status).toBe(200);
  });

  it('an admin may suspend another admin', async () => {
    const other = await platformAdmin(ctx);
    const res = await userAct(other.userId, 'suspend');
    expect(res.body).toMatchObject({ status: 'suspended', is_platform_admin: true });
  });

  it('answers 404 for an unknown user', async () => {
    for (const act of ['suspend', 'reactivate', 'deactivate'] as const)
      expectProblem(await userAct('usr_00000000000000000000000000', act), 404, 'not_found');
  });

  it('each act is audited by a platform_admin, outside any organization', async () => {
    const user = await ctx.signUp();
    await userAct(user.userId, 'suspend');
    await userAct(user.userId, 'reactivate');
    await userAct(user.userId, 'deactivate');
    for (const action of ['user.suspended', 'user.reactivated', 'user.deactivated']) {
      const [event] = await platformAudit(action, user.userId);
      expect(event).toMatchObject({
        actor_type: 'platform_admin',
        actor_id: admin.userId,
        organization_id: null,
      });
    }
  });

  it('a repeated act changes nothing and writes no second audit event', async () => {
    const user = await ctx.signUp();
    await userAct(user.userId, 'suspend');
    expect((await userAct(user.userId, 'suspend')).body.status).toBe('suspended');
    expect(await platformAudit('user.suspended', user.userId)).toHaveLength(1);
  });
});
