import { decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  engine,
  expectProblem,
  type SignedIn,
  type TestContext,
  type TestResponse,
} from '../../../test/harness';
import { addMember, createOrg, decodeJwtPayload, suspendMember } from '../../../test/seed';

/**
 * Refreshing a session: the reuse grace window (issue 10 #14), the organization a refreshed token
 * may name (#2), and the audience every access token carries (#23).
 */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const refresh = (token: string) =>
  ctx.request('POST', '/v1/auth/token/refresh', { body: { refresh_token: token } });
const me = (token: string) => ctx.request('GET', '/v1/me', { token });
const strip = (r: TestResponse) => ({ ...r.body, request_id: undefined });

async function switchTo(user: SignedIn, orgId: string) {
  const res = await ctx.request('POST', `/v1/organizations/${orgId}/switch`, {
    token: user.accessToken,
  });
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

// @see issue 10 #14
describe(`refresh token reuse grace (${engine})`, () => {
  it('answers ten simultaneous refreshes with one token with the same new pair', async () => {
    const user = await ctx.signUp();
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(user.refreshToken)));
    for (const r of results) expect(r.status).toBe(200);
    const first = results[0]!.body;
    for (const r of results) {
      expect(r.body.refresh_token).toBe(first.refresh_token);
      expect(r.body.access_token).toBe(first.access_token);
      expect(strip(r)).toEqual(strip(results[0]!));
    }
    // the session is alive, and the pair works
    expect((await me(first.access_token)).status).toBe(200);
    const next = await refresh(first.refresh_token);
    expect(next.status).toBe(200);
    expect(next.body.refresh_token).not.toBe(first.refresh_token);
  });

  it('answers a retry within the window (its answer was lost) with the same pair', async () => {
    const user = await ctx.signUp();
    const lost = await refresh(user.refreshToken);
    ctx.clock.advance(29_000);
    const retry = await refresh(user.refreshToken);
    expect(retry.status).toBe(200);
    expect(retry.body.refresh_token).toBe(lost.body.refresh_token);
    expect(retry.body.access_token).toBe(lost.body.access_token);
  });

  it('revokes the session on a reuse after the window', async () => {
    const user = await ctx.signUp();
    const rotated = await refresh(user.refreshToken);
    ctx.clock.advance(31_000);
    expectProblem(await refresh(user.refreshToken), 401, 'refresh_token_reused');
    expectProblem(await me(rotated.body.access_token), 401, 'session_revoked');
    expectProblem(await refresh(rotated.body.refresh_token), 401, 'session_revoked');
  });

  it('revokes the session on a reuse within the window once the new token was used', async () => {
    const user = await ctx.signUp();
    const rotated = await refresh(user.refreshToken);
    const onward = await refresh(rotated.body.refresh_token);
    expect(onward.status).toBe(200);
    expectProblem(await refresh(user.refreshToken), 401, 'refresh_token_reused');
    expectProblem(await me(onward.body.access_token), 401, 'session_revoked');
  });

  it('keeps the pair only sealed, and erases it when the window ends', async () => {
    const user = await ctx.signUp();
    const rotated = await refresh(user.refreshToken);
    const rows = await ctx.database.db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('session_id', '=', user.sessionId)
      .execute();
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(rotated.body.refresh_token);
    expect(dump).not.toContain(rotated.body.access_token);
    expect(rows.filter((r) => r.successor_sealed !== null)).toHaveLength(1);
    ctx.clock.advance(31_000);
    // any refresh sweeps the windows that ended
    await refresh((await ctx.signUp()).refreshToken);
    const after = await ctx.database.db
      .selectFrom('refresh_tokens')
      .select(['successor_sealed', 'successor_until'])
      .where('session_id', '=', user.sessionId)
      .execute();
    for (const r of after) expect(r).toEqual({ successor_sealed: null, successor_until: null });
  });

  it('has no grace when REFRESH_REUSE_GRACE_SECONDS=0', async () => {
    const strict = await createTestContext({ env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
    try {
      const user = await strict.signUp();
      const body = { refresh_token: user.refreshToken };
      expect((await strict.request('POST', '/v1/auth/token/refresh', { body })).status).toBe(200);
      expectProblem(
        await strict.request('POST', '/v1/auth/token/refresh', { body }),
        401,
        'refresh_token_reused',
      );
    } finally {
      await strict.close();
    }
  });
});

// @see issue 10 #2
describe(`a refresh judges the organization as a switch does (${engine})`, () => {
  async function memberInOrg() {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const member = await addMember(ctx, owner, org.id, [
      { role: 'video-developer', scope: org.id },
    ]);
    const token = await switchTo(member, org.id);
    expect(decodeJwtPayload(token).org).toBe(org.id);
    return { owner, org, member };
  }

  it('keeps the organization for an active member', async () => {
    const { org, member } = await memberInOrg();
    const res = await refresh(member.refreshToken);
    expect(res.status).toBe(200);
    expect(decodeJwtPayload(res.body.access_token).org).toBe(org.id);
  });

  it('drops the organization after the member was removed; the session lives on', async () => {
    const { owner, org, member } = await memberInOrg();
    const removed = await ctx.request(
      'DELETE',
      `/v1/organizations/${org.id}/members/${member.userId}`,
      { token: owner.accessToken },
    );
    expect(removed.status).toBe(204);
    const res = await refresh(member.refreshToken);
    expect(res.status).toBe(200);
    expect(decodeJwtPayload(res.body.access_token).org).toBeNull();
    expect((await me(res.body.access_token)).status).toBe(200);
    // and it stays dropped on the next refresh
    const again = await refresh(res.body.refresh_token);
    expect(decodeJwtPayload(again.body.access_token).org).toBeNull();
  });

  it('drops the organization after the member was suspended', async () => {
    const { owner, org, member } = await memberInOrg();
    await suspendMember(ctx, owner, org.id, member.userId);
    const res = await refresh(member.refreshToken);
    expect(res.status).toBe(200);
    expect(decodeJwtPayload(res.body.access_token).org).toBeNull();
  });

  it('drops the organization after the organization was suspended', async () => {
    const { org, member } = await memberInOrg();
    await ctx.database.db
      .updateTable('organizations')
      .set({ status: 'suspended' })
      .where('id', '=', org.id)
      .execute();
    ctx.gatehouse.rt.bus.publish(`org:${org.id}`);
    const res = await refresh(member.refreshToken);
    expect(res.status).toBe(200);
    expect(decodeJwtPayload(res.body.access_token).org).toBeNull();
  });
});

// @see issue 10 #23 (access tokens carry no audience)
describe(`the audience of access tokens (${engine})`, () => {
  it('names ACCESS_TOKEN_AUDIENCE (default gatehouse) in every access token', async () => {
    const user = await ctx.signUp();
    expect(decodeJwtPayload(user.accessToken).aud).toBe('gatehouse');
    const res = await refresh(user.refreshToken);
    expect(decodeJwtPayload(res.body.access_token).aud).toBe('gatehouse');
  });

  it('refuses a token signed with our key for another audience, or none', async () => {
    const user = await ctx.signUp();
    const { kid } = decodeProtectedHeader(user.accessToken);
    const key = ctx.gatehouse.rt.keys.byKid(kid!)!;
    const forge = (aud?: string) => {
      const jwt = new SignJWT({ sid: user.sessionId, org: null, amr: ['pwd'] })
        .setProtectedHeader({ alg: 'ES256', kid: kid!, typ: 'at+jwt' })
        .setIssuer('http://gatehouse.test')
        .setSubject(user.userId)
        .setIssuedAt(Math.floor(ctx.clock.now() / 1000))
        .setExpirationTime(Math.floor(ctx.clock.now() / 1000) + 300);
      if (aud) jwt.setAudience(aud);
      return jwt.sign(key.privateKey);
    };
    // the forgery is otherwise right: with our audience it is accepted
    expect((await me(await forge('gatehouse'))).status).toBe(200);
    expectProblem(await me(await forge('billing')), 401, 'invalid_token');
    expectProblem(await me(await forge()), 401, 'invalid_token');
  });
});
