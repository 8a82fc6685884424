import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
  type TestResponse,
} from '../../../test/harness';
import { addMember, apiKey, createOrg, decodeJwtPayload } from '../../../test/seed';
import { generateTotp } from '../mfa/totp';

/**
 * Organization sign-in policies (SPEC §4, issue 5): maximum session age, idle timeout, allowed
 * sign-in methods (the organization's and a member's own login type) and a required second
 * factor. They judge every org-scoped request (the `member` hook and permission checks), the
 * switch to an organization, and the gateway's api-access-check.
 *
 * Access tokens live an hour here (ACCESS_TOKEN_TTL=3600) so that moving the clock by minutes
 * tests the policy, not the token's expiry. A session opened by a provider (Google, GitHub, an
 * OIDC issuer) is made by rewriting the session's amr: the policy reads nothing else of it, and
 * the provider flows have their own tests.
 */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ env: { ACCESS_TOKEN_TTL: '3600' } });
});
afterAll(async () => {
  await ctx?.close();
});

const MINUTE = 60_000;

async function setPolicies(admin: SignedIn, orgId: string, policies: Record<string, unknown>) {
  const res = await ctx.request('PATCH', `/v1/organizations/${orgId}`, {
    token: admin.accessToken,
    body: { policies },
  });
  if (res.status !== 200) throw new Error(`set policies failed: ${res.status} ${res.text}`);
  return res.body.policies;
}

/** The session now reads as opened by `amr` (e.g. `oauth:google`), as a provider sign-in opens it. */
async function signedInWith(user: SignedIn, amr: string[]): Promise<SignedIn> {
  await ctx.database.db
    .updateTable('sessions')
    .set({ amr: JSON.stringify(amr) })
    .where('id', '=', user.sessionId)
    .execute();
  ctx.gatehouse.rt.bus.publish(`session:${user.sessionId}`);
  return user;
}

/** A `member` route (assertMember). */
const getOrg = (who: SignedIn, orgId: string, token = who.accessToken) =>
  ctx.request('GET', `/v1/organizations/${orgId}`, { token });
/** A route behind a permission (authorize). */
const listMembers = (who: SignedIn, orgId: string) =>
  ctx.request('GET', `/v1/organizations/${orgId}/members`, { token: who.accessToken });
const switchTo = (who: SignedIn, orgId: string) =>
  ctx.request('POST', `/v1/organizations/${orgId}/switch`, { token: who.accessToken });
const introspect = (token: string) =>
  ctx.request('POST', '/v1/auth/api-access-check', { body: { token } });
const refresh = (who: SignedIn) =>
  ctx.request('POST', '/v1/auth/token/refresh', { body: { refresh_token: who.refreshToken } });

/** The session with its refreshed tokens (what a client does when its access token expired). */
async function refreshed(who: SignedIn): Promise<SignedIn> {
  const res = await refresh(who);
  if (res.status !== 200) throw new Error(`refresh failed: ${res.status} ${res.text}`);
  return { ...who, accessToken: res.body.access_token, refreshToken: res.body.refresh_token };
}

const totpCode = (secret: string) =>
  generateTotp({ secret, epoch: Math.floor(ctx.clock.now() / 1000) });

/** Enrols and confirms an authenticator app from `user`'s session; answers the secret. */
async function enrolTotp(user: SignedIn): Promise<string> {
  const started = await ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
  if (started.status !== 201) throw new Error(`totp enrol: ${started.status} ${started.text}`);
  const confirmed = await ctx.request('POST', '/v1/me/mfa/totp/confirm', {
    token: user.accessToken,
    body: { code: await totpCode(started.body.secret) },
  });
  if (confirmed.status !== 200)
    throw new Error(`totp confirm: ${confirmed.status} ${confirmed.text}`);
  return started.body.secret;
}

/** An owner with an organization of the given policies, and an admin member signed in by email code. */
async function strictOrg(policies: Record<string, unknown> = {}, ownerAmr?: string[]) {
  const owner = await ctx.signUp();
  if (ownerAmr) await signedInWith(owner, ownerAmr);
  const org = await createOrg(ctx, owner);
  const member = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
  if (Object.keys(policies).length > 0) await setPolicies(owner, org.id, policies);
  return { owner, org, member };
}

/** Waits for the (unawaited) write of a session's activity, so a reload from the database sees it. */
async function activityRecorded(sessionId: string, at: number) {
  await vi.waitFor(async () => {
    const row = await ctx.database.db
      .selectFrom('sessions')
      .select('last_seen_at')
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow();
    expect(Number(row.last_seen_at)).toBe(at);
  });
}

function expectAllowed(res: TestResponse) {
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status} ${res.text}`);
}

describe('allowed sign-in methods of the organization', () => {
  it('refuses a password session where only Google is allowed, naming both', async () => {
    const { org, member } = await strictOrg({ allowed_login_methods: ['google'] }, [
      'oauth:google',
    ]);
    const res = await getOrg(member, org.id);
    expectProblem(res, 403, 'login_method_not_allowed');
    expect(res.body).toMatchObject({ login_method: 'password', allowed_login_methods: ['google'] });
  });

  it('refuses on routes behind a permission as well', async () => {
    const { org, member } = await strictOrg({ allowed_login_methods: ['google'] }, [
      'oauth:google',
    ]);
    expectProblem(await listMembers(member, org.id), 403, 'login_method_not_allowed');
  });

  it('lets in a session opened through an allowed provider', async () => {
    const { org, member } = await strictOrg({ allowed_login_methods: ['google'] }, [
      'oauth:google',
    ]);
    await signedInWith(member, ['oauth:google']);
    expectAllowed(await getOrg(member, org.id));
    expectAllowed(await listMembers(member, org.id));
  });

  it('tells GitHub from Google', async () => {
    const { org, member } = await strictOrg({ allowed_login_methods: ['google'] }, [
      'oauth:google',
    ]);
    await signedInWith(member, ['oauth:github']);
    const res = await getOrg(member, org.id);
    expectProblem(res, 403, 'login_method_not_allowed');
    expect(res.body.login_method).toBe('github');
  });

  it('names an OpenID Connect issuer oidc:<name> and tells issuers apart', async () => {
    const { org, member } = await strictOrg({ allowed_login_methods: ['oidc:corp'] }, [
      'oidc:corp',
    ]);
    await signedInWith(member, ['oidc:partner']);
    const refused = await getOrg(member, org.id);
    expectProblem(refused, 403, 'login_method_not_allowed');
    expect(refused.body.login_method).toBe('oidc:partner');
    await signedInWith(member, ['oidc:corp']);
    expectAllowed(await getOrg(member, org.id));
  });

  it('counts the email code right after registration, and a password sign-in, as password', async () => {
    const { owner, org, member } = await strictOrg();
    await setPolicies(owner, org.id, { allowed_login_methods: ['password'] });
    // addMember's user holds the session its email verification opened (amr otp)
    expectAllowed(await getOrg(member, org.id));
    expectAllowed(await getOrg(await ctx.login(member.email, member.password), org.id));
  });

  it('judges by the first sign-in method, not by a later step-up with the password', async () => {
    const { org, member } = await strictOrg({ allowed_login_methods: ['password'] });
    await signedInWith(member, ['oauth:github', 'pwd']);
    expectProblem(await getOrg(member, org.id), 403, 'login_method_not_allowed');
  });

  it('refuses the switch to the organization', async () => {
    const { org, member } = await strictOrg({ allowed_login_methods: ['google'] }, [
      'oauth:google',
    ]);
    expectProblem(await switchTo(member, org.id), 403, 'login_method_not_allowed');
    await signedInWith(member, ['oauth:google']);
    const res = await switchTo(member, org.id);
    expectAllowed(res);
    expect(decodeJwtPayload(res.body.access_token).org).toBe(org.id);
  });

  it('reports the refusal to the gateway, with no organization and no grants', async () => {
    const { owner, org, member } = await strictOrg({}, ['oauth:google']);
    const token = (await switchTo(member, org.id)).body.access_token as string;
    expect((await introspect(token)).body).toMatchObject({ organization_id: org.id });
    await setPolicies(owner, org.id, { allowed_login_methods: ['google'] });
    const res = await introspect(token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      active: true,
      organization_id: null,
      grants: [],
      is_owner: false,
      organization_refusal: 'login_method_not_allowed',
    });
  });

  it('refuses an owner who would lock their own session out (409 policy_lockout)', async () => {
    const { owner, org } = await strictOrg();
    const res = await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: { policies: { allowed_login_methods: ['google'] } },
    });
    expectProblem(res, 409, 'policy_lockout');
  });
});

describe("a member's own login type", () => {
  /** Adds an existing user directly, with a login type. */
  async function addWithLoginType(owner: SignedIn, orgId: string, method: string) {
    const user = await ctx.signUp();
    const res = await ctx.request('POST', `/v1/organizations/${orgId}/members`, {
      token: owner.accessToken,
      body: { email: user.email, grants: [{ role: 'admin', scope: orgId }], login_method: method },
    });
    if (res.status !== 201) throw new Error(`add failed: ${res.status} ${res.text}`);
    return user;
  }

  it('refuses a session started another way, naming the member’s methods', async () => {
    const { owner, org } = await strictOrg();
    const member = await addWithLoginType(owner, org.id, 'google');
    const res = await getOrg(member, org.id);
    expectProblem(res, 403, 'login_method_not_allowed');
    expect(res.body).toMatchObject({ login_method: 'password', allowed_login_methods: ['google'] });
  });

  it('lets the member in with that method', async () => {
    const { owner, org } = await strictOrg();
    const member = await addWithLoginType(owner, org.id, 'google');
    await signedInWith(member, ['oauth:google']);
    expectAllowed(await getOrg(member, org.id));
  });

  it('binds that member only: other members still sign in any way the organization allows', async () => {
    const { owner, org, member: other } = await strictOrg();
    await addWithLoginType(owner, org.id, 'google');
    expectAllowed(await getOrg(other, org.id));
  });

  it('applies on top of the organization: both must accept the method', async () => {
    const { owner, org } = await strictOrg({}, ['oauth:google']);
    const member = await addWithLoginType(owner, org.id, 'github');
    await setPolicies(owner, org.id, { allowed_login_methods: ['google', 'github'] });
    await signedInWith(member, ['oauth:google']);
    const res = await getOrg(member, org.id);
    expectProblem(res, 403, 'login_method_not_allowed');
    expect(res.body.allowed_login_methods).toEqual(['github']);
    await signedInWith(member, ['oauth:github']);
    expectAllowed(await getOrg(member, org.id));
  });

  it('does not follow the member into another organization', async () => {
    const { owner, org } = await strictOrg();
    const member = await addWithLoginType(owner, org.id, 'google');
    const own = await createOrg(ctx, member);
    expectAllowed(await getOrg(member, own.id));
  });
});

describe('required second factor', () => {
  /** An organization requiring a second factor: its owner enrolled one first (policy_lockout otherwise). */
  async function mfaOrg() {
    const made = await strictOrg();
    await enrolTotp(made.owner);
    await setPolicies(made.owner, made.org.id, { require_mfa: true });
    return made;
  }

  it('cannot be turned on from a session without a second factor', async () => {
    const { owner, org } = await strictOrg();
    const res = await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: { policies: { require_mfa: true } },
    });
    expectProblem(res, 409, 'policy_lockout');
  });

  it('asks a member with no factor to enrol one (403 mfa_enrollment_required)', async () => {
    const { org, member } = await mfaOrg();
    expectProblem(await getOrg(member, org.id), 403, 'mfa_enrollment_required');
    expectProblem(await listMembers(member, org.id), 403, 'mfa_enrollment_required');
  });

  it('lets the member in once the factor is confirmed from the same session', async () => {
    const { org, member } = await mfaOrg();
    await enrolTotp(member);
    expectAllowed(await getOrg(member, org.id));
    expectAllowed(await listMembers(member, org.id));
  });

  it('asks a session opened before the enrolment for the factor (401 mfa_required)', async () => {
    const { org, member } = await mfaOrg();
    const older = await ctx.login(member.email, member.password);
    await enrolTotp(member);
    const res = await getOrg(older, org.id);
    expectProblem(res, 401, 'mfa_required');
    expect(res.body.step_up).toBe('/v1/auth/step-up');
  });

  it('lets that session in after a step-up with the factor', async () => {
    const { org, member } = await mfaOrg();
    const older = await ctx.login(member.email, member.password);
    const secret = await enrolTotp(member);
    ctx.clock.advance(30_000); // a new TOTP step: the enrolment's code is spent
    const stepped = await ctx.request('POST', '/v1/auth/step-up', {
      token: older.accessToken,
      body: { method: 'totp', code: await totpCode(secret) },
    });
    expect(stepped.status).toBe(200);
    expectAllowed(await getOrg(older, org.id));
  });

  it('is not satisfied by a step-up with the password', async () => {
    const { org, member } = await mfaOrg();
    const res = await ctx.request('POST', '/v1/auth/step-up', {
      token: member.accessToken,
      body: { method: 'password', password: member.password },
    });
    expect(res.status).toBe(200);
    expectProblem(await getOrg(member, org.id), 403, 'mfa_enrollment_required');
  });

  it('refuses the switch and reports the refusal to the gateway', async () => {
    const { org, member } = await mfaOrg();
    expectProblem(await switchTo(member, org.id), 403, 'mfa_enrollment_required');
    const res = await introspect(member.accessToken);
    expect(res.body).toMatchObject({ active: true, organization_id: null, grants: [] });
  });

  it('reports a member who switched before the policy with no grants until they enrol', async () => {
    const { owner, org, member } = await strictOrg();
    await enrolTotp(owner);
    const token = (await switchTo(member, org.id)).body.access_token as string;
    await setPolicies(owner, org.id, { require_mfa: true });
    const before = await introspect(token);
    expect(before.body).toMatchObject({
      organization_id: null,
      grants: [],
      organization_refusal: 'mfa_enrollment_required',
    });
    await enrolTotp(member);
    const after = await introspect(token);
    expect(after.body).toMatchObject({ organization_id: org.id, organization_refusal: null });
    expect(after.body.grants).toEqual([{ role: 'admin', scope: org.id }]);
  });
});

describe('maximum session age', () => {
  it('refuses a session older than the limit, even with a freshly refreshed token', async () => {
    const { org, member } = await strictOrg({ session_max_age_hours: 1 });
    ctx.clock.advance(61 * MINUTE);
    const res = await getOrg(await refreshed(member), org.id);
    expectProblem(res, 401, 'session_max_age_exceeded');
    expect(res.body.max_age_hours).toBe(1);
  });

  it('lets a session in until it reaches the limit', async () => {
    const { org, member } = await strictOrg({ session_max_age_hours: 1 });
    ctx.clock.advance(59 * MINUTE);
    expectAllowed(await getOrg(member, org.id));
  });

  it('leaves the session usable outside the organization, and a new sign-in gets in', async () => {
    const { org, member } = await strictOrg({ session_max_age_hours: 1 });
    ctx.clock.advance(61 * MINUTE);
    const aged = await refreshed(member);
    expectProblem(await getOrg(aged, org.id), 401, 'session_max_age_exceeded');
    expect((await ctx.request('GET', '/v1/me', { token: aged.accessToken })).status).toBe(200);
    expectAllowed(await getOrg(await ctx.login(member.email, member.password), org.id));
  });

  it('refuses the switch, and the gateway reports it', async () => {
    const { owner, org, member } = await strictOrg();
    const token = (await switchTo(member, org.id)).body.access_token as string;
    await setPolicies(owner, org.id, { session_max_age_hours: 1 });
    ctx.clock.advance(59 * MINUTE);
    expect((await introspect(token)).body.organization_refusal).toBeNull();
    ctx.clock.advance(2 * MINUTE);
    // The refresh judges the session against its current organization: refused there, the
    // session leaves it (the new token names no organization) and stays usable elsewhere.
    const aged = await refreshed(member);
    expect((await introspect(aged.accessToken)).body).toMatchObject({
      active: true,
      organization_id: null,
      grants: [],
      organization_refusal: null,
    });
    expectProblem(await switchTo(aged, org.id), 401, 'session_max_age_exceeded');
  });
});

describe('idle timeout', () => {
  it('refuses a session idle longer than the timeout (401 session_idle_timeout)', async () => {
    const { org, member } = await strictOrg({ session_idle_timeout_minutes: 15 });
    ctx.clock.advance(16 * MINUTE);
    const res = await getOrg(member, org.id);
    expectProblem(res, 401, 'session_idle_timeout');
    expect(res.body.idle_timeout_minutes).toBe(15);
  });

  it('ends the session: it is refused everywhere afterwards and cannot be refreshed', async () => {
    const { org, member } = await strictOrg({ session_idle_timeout_minutes: 15 });
    ctx.clock.advance(16 * MINUTE);
    expectProblem(await getOrg(member, org.id), 401, 'session_idle_timeout');
    expectProblem(await getOrg(member, org.id), 401, 'session_revoked');
    expectProblem(
      await ctx.request('GET', '/v1/me', { token: member.accessToken }),
      401,
      'session_revoked',
    );
    expectProblem(await refresh(member), 401, 'session_revoked');
  });

  it('lets in a session idle for less than the timeout', async () => {
    const { org, member } = await strictOrg({ session_idle_timeout_minutes: 15 });
    ctx.clock.advance(14 * MINUTE);
    expectAllowed(await getOrg(member, org.id));
  });

  it('counts activity anywhere in the session, not only in this organization', async () => {
    const { org, member } = await strictOrg({ session_idle_timeout_minutes: 15 });
    ctx.clock.advance(10 * MINUTE);
    expect((await ctx.request('GET', '/v1/me', { token: member.accessToken })).status).toBe(200);
    await activityRecorded(member.sessionId, ctx.clock.now());
    ctx.clock.advance(10 * MINUTE);
    // twenty minutes since sign-in, ten since the last request
    expectAllowed(await getOrg(member, org.id));
  });

  it('refuses the switch to the organization', async () => {
    const { org, member } = await strictOrg({ session_idle_timeout_minutes: 15 });
    ctx.clock.advance(16 * MINUTE);
    expectProblem(await switchTo(member, org.id), 401, 'session_idle_timeout');
  });

  it('is reported by the gateway check, which ends the session too', async () => {
    const { owner, org, member } = await strictOrg();
    const token = (await switchTo(member, org.id)).body.access_token as string;
    await setPolicies(owner, org.id, { session_idle_timeout_minutes: 15 });
    ctx.clock.advance(16 * MINUTE);
    expect((await introspect(token)).body).toMatchObject({
      organization_id: null,
      grants: [],
      organization_refusal: 'session_idle_timeout',
    });
    expect((await introspect(token)).body).toEqual({ active: false, reason: 'session_revoked' });
  });

  /**
   * A refresh is not activity: a client that refreshes first (as every client does once its
   * access token expired) must not make a session idle for an hour look fresh.
   */
  it('is not escaped by refreshing the tokens first', async () => {
    const { org, member } = await strictOrg({ session_idle_timeout_minutes: 15 });
    ctx.clock.advance(45 * MINUTE);
    const res = await getOrg(await refreshed(member), org.id);
    expectProblem(res, 401, 'session_idle_timeout');
  });
});

describe('who the policies judge', () => {
  it('answers a non-member 404, whatever the policies and the session', async () => {
    const { org } = await strictOrg(
      { allowed_login_methods: ['google'], session_max_age_hours: 1 },
      ['oauth:google'],
    );
    const outsider = await ctx.signUp();
    ctx.clock.advance(61 * MINUTE);
    const res = await getOrg(await refreshed(outsider), org.id);
    expectProblem(res, 404, 'not_found');
    expect(JSON.stringify({ ...res.body, request_id: undefined })).not.toMatch(
      /login_method|max_age|mfa/,
    );
  });

  it('answers a non-member 404 on the switch too', async () => {
    const { org } = await strictOrg({ allowed_login_methods: ['google'] }, ['oauth:google']);
    expectProblem(await switchTo(await ctx.signUp(), org.id), 404, 'not_found');
  });

  it('leaves the same user’s other organizations alone', async () => {
    const { org, member } = await strictOrg({ allowed_login_methods: ['google'] }, [
      'oauth:google',
    ]);
    const own = await createOrg(ctx, member);
    expectProblem(await getOrg(member, org.id), 403, 'login_method_not_allowed');
    expectAllowed(await getOrg(member, own.id));
    expectAllowed(await switchTo(member, own.id));
  });

  it('takes effect at the next request after a policy change, and is lifted the same way', async () => {
    const { owner, org, member } = await strictOrg({}, ['oauth:google']);
    expectAllowed(await getOrg(member, org.id));
    await setPolicies(owner, org.id, { allowed_login_methods: ['google'] });
    expectProblem(await getOrg(member, org.id), 403, 'login_method_not_allowed');
    await setPolicies(owner, org.id, { allowed_login_methods: null });
    expectAllowed(await getOrg(member, org.id));
  });

  /** A platform service asking with the user's token sees the refusal (README). */
  it('applies to the authorization API a platform service asks', async () => {
    const { org, member } = await strictOrg({ allowed_login_methods: ['google'] }, [
      'oauth:google',
    ]);
    const res = await ctx.request('POST', '/v1/authz/check', {
      token: member.accessToken,
      body: { permission: 'members:read', scope: org.id },
    });
    expect(res.body).toMatchObject({
      allowed: false,
      reason: { kind: 'sign_in_policy', code: 'login_method_not_allowed' },
    });
    const scopes = await ctx.request('POST', '/v1/authz/list-scopes', {
      token: member.accessToken,
      body: { organization_id: org.id, permission: 'accounts:read', level: 'account' },
    });
    expect(scopes.body).toEqual({ scopes: [] });
  });

  it('refreshes a session its current organization refuses into one with no organization', async () => {
    const { owner, org, member } = await strictOrg();
    expectAllowed(await switchTo(member, org.id));
    await setPolicies(owner, org.id, { session_max_age_hours: 1 });
    ctx.clock.advance(61 * MINUTE);
    const res = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: member.refreshToken },
    });
    expect(res.status, res.text).toBe(200);
    const claims = JSON.parse(
      Buffer.from(String(res.body.access_token).split('.')[1]!, 'base64url').toString(),
    );
    expect(claims.org).toBeNull();
    expectProblem(
      await switchTo({ ...member, accessToken: res.body.access_token }, org.id),
      401,
      'session_max_age_exceeded',
    );
  });

  it('does not apply to API keys, which have no session', async () => {
    const { owner, org } = await strictOrg({ session_max_age_hours: 1 });
    await enrolTotp(owner);
    await setPolicies(owner, org.id, { require_mfa: true });
    const key = await apiKey(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    ctx.clock.advance(61 * MINUTE);
    const res = await ctx.request('GET', `/v1/organizations/${org.id}`, {
      headers: { 'x-api-key': key.secret },
    });
    expectAllowed(res);
  });
});
