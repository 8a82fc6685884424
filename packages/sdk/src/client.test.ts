import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouseClient, type TokenSet } from './client';
import { GatehouseError, isGatehouseError } from './errors';
import { harness, recordingFetch, type Served, serve } from './test-support';

let served: Served;
beforeAll(async () => {
  served = await serve();
});
afterAll(async () => {
  await served?.ctx.close();
});

const client = (options: Partial<Parameters<typeof createGatehouseClient>[0]> = {}) =>
  createGatehouseClient({ baseUrl: served.baseUrl, ...options });

/** Signs a new user up through the client, reading the mailed code from the outbox. */
async function signedUpClient(onTokens?: (t: TokenSet | null) => void) {
  const email = harness.uniqueEmail('sdk');
  const gh = client(onTokens ? { onTokens } : {});
  await gh.auth.register({
    email,
    password: harness.STRONG_PASSWORD,
    first_name: 'Grace',
    last_name: 'Hopper',
  });
  const code = await harness.lastCodeFor(served.ctx, email, 'verify_email');
  const tokens = await gh.auth.verifyEmail({ email, code });
  return { gh, email, tokens };
}

async function rejection(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  return error as GatehouseError;
}

describe('typed calls, end to end', () => {
  it('registers, verifies the email with the mailed code, and reads the profile', async () => {
    const seen: (TokenSet | null)[] = [];
    const { gh, email, tokens } = await signedUpClient((t) => seen.push(t));
    expect(tokens.token_type).toBe('Bearer');
    expect(seen).toEqual([
      {
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        expiresIn: tokens.expires_in,
        sessionId: tokens.session_id,
      },
    ]);
    const me = await gh.me.get();
    expect(me).toMatchObject({ email, first_name: 'Grace', email_verified: true });
  });

  it('signs in, creates an organization and an account, and checks permissions', async () => {
    const { email } = await signedUpClient();
    const gh = client();
    await gh.auth.login({ email, password: harness.STRONG_PASSWORD });

    const org = await gh.organizations.create({ name: 'Acme Media' });
    expect(org).toMatchObject({ name: 'Acme Media', template: 'media', status: 'active' });
    const account = await gh.accounts.create(org.id, { name: 'Trailers', product: 'video' });
    expect(account.organization_id).toBe(org.id);

    const check = await gh.authz.check({ permission: 'video.assets:read', scope: account.id });
    expect(check.allowed).toBe(true);
    expect(check.reason.kind).toBe('owner');

    const batch = await gh.authz.checkBatch({
      checks: [
        { permission: 'accounts:read', scope: account.id },
        { permission: 'no.such:thing', scope: account.id },
      ],
    });
    expect(batch.results.map((r) => r.allowed)).toEqual([true, expect.any(Boolean)]);

    const scopes = await gh.authz.listScopes({
      organization_id: org.id,
      permission: 'video.assets:read',
    });
    expect(scopes.scopes.map((s) => s.id)).toEqual([account.id]);

    const mine = await gh.organizations.list({ limit: 10 });
    expect(mine.data.map((o) => o.id)).toContain(org.id);
    expect(mine.next_cursor).toBeNull();
  });

  it('manages members, grants and roles', async () => {
    const { gh: owner } = await signedUpClient();
    const org = await owner.organizations.create({ name: 'Members Inc' });
    const account = await owner.accounts.create(org.id, { name: 'Main', product: 'video' });
    const { gh: other, email } = await signedUpClient();
    const otherMe = await other.me.get();

    const added = await owner.members.add(org.id, {
      email,
      grants: [{ role: 'video-analyst', scope: account.id }],
    });
    expect(added.user_id).toBe(otherMe.id);
    expect(added.grants.map((g) => g.role)).toEqual(['video-analyst']);

    const grants = await owner.members.grants.add(org.id, otherMe.id, [
      { role: 'video-developer', scope: account.id },
    ]);
    expect(grants.data.map((g) => g.role).sort()).toEqual(['video-analyst', 'video-developer']);

    const perms = await other.members.permissions(org.id, otherMe.id, { scope: account.id });
    expect(perms.permissions).toContain('video.assets:read');

    const listed = await owner.members.list(org.id, { search: 'Grace', sort: 'email' });
    expect(listed.data.length).toBeGreaterThanOrEqual(1);

    const roles = await owner.roles.list(org.id);
    expect(roles.data.map((r) => r.key)).toContain('video-developer');

    const bulk = await owner.members.bulk(org.id, { action: 'suspend', user_ids: [otherMe.id] });
    expect(bulk.results).toEqual([{ user_id: otherMe.id, status: 'done' }]);
    const refused = await rejection(other.organizations.get(org.id));
    expect(refused.code).toBe('forbidden');
  });

  it('sends an invitation that a new user accepts by signing up through the client', async () => {
    const { gh: owner } = await signedUpClient();
    const org = await owner.organizations.create({ name: 'Invites Ltd' });
    const email = harness.uniqueEmail('invitee');
    const sent = await owner.invitations.send(org.id, { emails: [email] });
    expect(sent.results).toEqual([{ email, status: 'invited', invitation_id: expect.any(String) }]);
    const mail = (await harness.mailsTo(served.ctx, email))[0];
    const token = /\/invitations\/([A-Za-z0-9_-]{16,128})/.exec(mail?.body ?? '')?.[1];
    expect(token).toBeDefined();

    const guest = client();
    const preview = await guest.invitations.preview(token!);
    expect(preview).toMatchObject({ email, account_exists: false, status: 'pending' });
    const accepted = await guest.invitations.accept(token!, {
      first_name: 'New',
      last_name: 'Member',
      password: harness.STRONG_PASSWORD,
    });
    expect(accepted.organization_id).toBe(org.id);
    expect(accepted.session).not.toBeNull();
    // the client keeps the session the invitation opened
    expect((await guest.me.get()).email).toBe(email);
    expect((await guest.organizations.get(org.id)).id).toBe(org.id);
  });

  it('switches organization: the client uses the token that carries it', async () => {
    const seen: (TokenSet | null)[] = [];
    const { gh } = await signedUpClient((t) => seen.push(t));
    const org = await gh.organizations.create({ name: 'Switchers' });
    const switched = await gh.organizations.switch(org.id);
    expect(switched.organization_id).toBe(org.id);
    expect(gh.getTokens().accessToken).toBe(switched.access_token);
    expect(seen.at(-1)?.accessToken).toBe(switched.access_token);
    const sessions = await gh.auth.sessions.list();
    expect(sessions.data.find((s) => s.current)?.current_organization_id).toBe(org.id);
  });

  it('logs out: the session is revoked and the client forgets its tokens', async () => {
    const seen: (TokenSet | null)[] = [];
    const { gh, tokens } = await signedUpClient((t) => seen.push(t));
    await gh.auth.logout();
    expect(seen.at(-1)).toBeNull();
    expect(gh.getTokens()).toEqual({});
    const stale = await rejection(client({ accessToken: tokens.access_token }).me.get());
    expect(stale.status).toBe(401);
    expect((await rejection(gh.me.get())).code).toBe('unauthenticated');
  });

  it('resets a forgotten password with the mailed code', async () => {
    const { email } = await signedUpClient();
    const gh = client();
    await gh.auth.password.forgot({ email });
    const code = await harness.lastCodeFor(served.ctx, email, 'password_reset');
    const { reset_token } = await gh.auth.password.verifyCode({ email, code });
    await gh.auth.password.reset({ reset_token, password: 'An0ther-Passw0rd!' });
    await gh.auth.login({ email, password: 'An0ther-Passw0rd!' });
    expect((await gh.me.get()).email).toBe(email);
  });

  it('reads the public catalog without credentials', async () => {
    const gh = client();
    const permissions = await gh.permissions.list();
    expect(permissions.data.map((p) => p.name)).toContain('video.assets:read');
    const templates = await gh.templates.list();
    expect(templates.data.map((t) => t.key)).toContain('media');
    const jwks = await gh.system.jwks();
    expect(jwks.keys.length).toBeGreaterThan(0);
  });

  it('encodes ids as path segments: an id cannot reach another route', async () => {
    const { gh } = await signedUpClient();
    const rec = recordingFetch();
    const spy = client({ accessToken: gh.getTokens().accessToken!, fetch: rec.fetch });
    const error = await rejection(spy.organizations.get('../../v1/me'));
    expect(error.code).toBe('not_found');
    expect(rec.calls[0]?.path).toBe('/v1/organizations/..%2F..%2Fv1%2Fme');
  });
});

describe('API keys', () => {
  it('creates a key, acts with it, reads the audit log, and revokes it', async () => {
    const { gh: owner } = await signedUpClient();
    const org = await owner.organizations.create({ name: 'Keyed' });
    const account = await owner.accounts.create(org.id, { name: 'Vids', product: 'video' });
    const created = await owner.apiKeys.create(org.id, {
      name: 'transcoder',
      grants: [{ role: 'video-developer', scope: account.id }],
    });
    expect(created.secret).toMatch(/^gh_/);
    const listed = await owner.apiKeys.list(org.id);
    expect(listed.data.map((k) => k.id)).toEqual([created.id]);
    expect(JSON.stringify(listed)).not.toContain(created.secret);

    const machine = client({ apiKey: created.secret });
    const allowed = await machine.authz.check({
      permission: 'video.assets:read',
      scope: account.id,
    });
    expect(allowed).toMatchObject({ allowed: true, reason: { role: 'video-developer' } });
    expect((await machine.accounts.get(org.id, account.id)).id).toBe(account.id);
    // changes are made by people: a key is refused routes that act as a user
    const asUser = await rejection(machine.organizations.create({ name: 'Nope' }));
    expect(asUser).toMatchObject({ status: 403, code: 'forbidden' });

    const who = await client().auth.apiAccessCheck({ token: created.secret });
    expect(who).toMatchObject({ active: true, type: 'api_key', organization_id: org.id });

    const events = await owner.auditLogs.list(org.id, { action: 'api_key.*' });
    expect(events.data.map((e) => e.action)).toContain('api_key.created');
    expect((await owner.auditLogs.verify(org.id)).valid).toBe(true);
    const exported = await owner.auditLogs.export(org.id);
    expect(exported.map((e) => e.action)).toContain('organization.created');

    const revoked = await owner.apiKeys.revoke(org.id, created.id);
    expect(revoked.status).toBe('revoked');
    const refused = await rejection(
      machine.authz.check({ permission: 'video.assets:read', scope: account.id }),
    );
    expect(refused.status).toBe(401);
    expect(await client().auth.apiAccessCheck({ token: created.secret })).toMatchObject({
      active: false,
    });
  });
});

describe('errors', () => {
  it('throws a GatehouseError with the code and status of the problem', async () => {
    const { email } = await signedUpClient();
    const error = await rejection(client().auth.login({ email, password: 'Wrong-passw0rd!' }));
    expect(error).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(error.message).toBe(error.detail ?? 'Email or password is incorrect');
    expect(error.requestId).toEqual(expect.any(String));
    expect(error.problem?.type).toMatch(/invalid-credentials$/);
    expect(isGatehouseError(error, 'invalid_credentials')).toBe(true);
    expect(isGatehouseError(error, 'not_found')).toBe(false);
  });

  it('carries the failing fields of a validation error', async () => {
    const { gh } = await signedUpClient();
    const error = await rejection(
      // @ts-expect-error: a wrong type on purpose, as a JavaScript caller could send it
      gh.organizations.create({ name: 42 }),
    );
    expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(error.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'body.name' })]),
    );
  });

  it('reports a missing credential as unauthenticated, and an unknown organization as not_found', async () => {
    const anonymous = await rejection(client().me.get());
    expect(anonymous).toMatchObject({ status: 401, code: 'unauthenticated' });
    const { gh } = await signedUpClient();
    const missing = await rejection(gh.organizations.get('org_00000000000000000000000000'));
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('reports an answer that is not problem+json by its status', async () => {
    const html: typeof fetch = async () =>
      new Response('<html>Bad gateway</html>', {
        status: 502,
        headers: { 'content-type': 'text/html' },
      });
    const error = await rejection(client({ fetch: html }).me.get());
    expect(error).toMatchObject({ status: 502, code: 'service_unavailable' });
    expect(error.detail).toContain('Bad gateway');
  });
});
