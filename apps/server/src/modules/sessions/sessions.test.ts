import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { describeDevice } from './sessions.service';

/** Sessions: list mine, revoke one, revoke all others. SPEC §4; issue 2, item 6. */

const CHROME_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const FIREFOX_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const me = (token: string) => ctx.request('GET', '/v1/me', { token });
const list = (token: string, query = '') =>
  ctx.request('GET', `/v1/auth/sessions${query}`, { token });

/** Signs in again from a given device and address; answers the new session's tokens. */
async function loginFrom(user: SignedIn, userAgent: string, remoteAddress: string) {
  const res = await ctx.request('POST', '/v1/auth/login', {
    body: { email: user.email, password: user.password },
    headers: { 'user-agent': userAgent },
    remoteAddress,
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
  return {
    accessToken: res.body.access_token as string,
    refreshToken: res.body.refresh_token as string,
    sessionId: res.body.session_id as string,
  };
}

describe('list my sessions', () => {
  it('shows each session with its device, address and times', async () => {
    const user = await ctx.signUp();
    const chrome = await loginFrom(user, CHROME_MAC, '203.0.113.7');
    const res = await list(chrome.accessToken);
    expect(res.status).toBe(200);
    const row = res.body.data.find((s: { id: string }) => s.id === chrome.sessionId);
    expect(row).toMatchObject({
      device: 'Chrome on macOS',
      ip: '203.0.113.7',
      user_agent: CHROME_MAC,
      amr: ['pwd'],
      created_at: new Date(ctx.clock.now()).toISOString(),
      last_seen_at: expect.any(String),
      expires_at: expect.any(String),
    });
  });

  it('flags the session making the request as current, and only that one', async () => {
    const user = await ctx.signUp();
    const firefox = await loginFrom(user, FIREFOX_WINDOWS, '203.0.113.8');
    const res = await list(firefox.accessToken);
    const current = res.body.data.filter((s: { current: boolean }) => s.current);
    expect(current.map((s: { id: string }) => s.id)).toEqual([firefox.sessionId]);
    expect(res.body.data).toHaveLength(2); // the sign-up session and this one
  });

  it('does not show another user sessions', async () => {
    const alice = await ctx.signUp();
    const bob = await ctx.signUp();
    const res = await list(alice.accessToken);
    const ids = res.body.data.map((s: { id: string }) => s.id);
    expect(ids).toEqual([alice.sessionId]);
    expect(ids).not.toContain(bob.sessionId);
  });

  it('leaves out revoked sessions', async () => {
    const user = await ctx.signUp();
    const other = await ctx.login(user.email, user.password);
    await ctx.request('POST', '/v1/auth/logout', { token: other.accessToken });
    const ids = (await list(user.accessToken)).body.data.map((s: { id: string }) => s.id);
    expect(ids).toEqual([user.sessionId]);
  });

  it('pages with limit and next_cursor', async () => {
    const user = await ctx.signUp();
    for (let i = 0; i < 2; i++) await ctx.login(user.email, user.password);
    const first = await list(user.accessToken, '?limit=2');
    expect(first.body.data).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await list(user.accessToken, `?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.data).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();
    const all = [...first.body.data, ...second.body.data].map((s: { id: string }) => s.id);
    expect(new Set(all).size).toBe(3);
  });

  it('requires a signed-in caller', async () => {
    expectProblem(await ctx.request('GET', '/v1/auth/sessions'), 401, 'unauthenticated');
  });
});

describe('revoke one session', () => {
  const revoke = (token: string, id: string) =>
    ctx.request('DELETE', `/v1/auth/sessions/${id}`, { token });

  it('answers 204', async () => {
    const user = await ctx.signUp();
    const other = await ctx.login(user.email, user.password);
    expect((await revoke(user.accessToken, other.sessionId)).status).toBe(204);
  });

  it('refuses the revoked session access token at once', async () => {
    const user = await ctx.signUp();
    const other = await ctx.login(user.email, user.password);
    expect((await me(other.accessToken)).status).toBe(200); // cached as valid first
    await revoke(user.accessToken, other.sessionId);
    expectProblem(await me(other.accessToken), 401, 'session_revoked');
  });

  it('refuses the revoked session refresh token', async () => {
    const user = await ctx.signUp();
    const other = await ctx.login(user.email, user.password);
    await revoke(user.accessToken, other.sessionId);
    const res = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: other.refreshToken },
    });
    expectProblem(res, 401, 'session_revoked');
  });

  it('keeps the calling session signed in', async () => {
    const user = await ctx.signUp();
    const other = await ctx.login(user.email, user.password);
    await revoke(user.accessToken, other.sessionId);
    expect((await me(user.accessToken)).status).toBe(200);
  });

  it('answers not_found for another user session, which keeps working', async () => {
    const alice = await ctx.signUp();
    const bob = await ctx.signUp();
    expectProblem(await revoke(alice.accessToken, bob.sessionId), 404, 'not_found');
    expect((await me(bob.accessToken)).status).toBe(200);
  });

  it('answers not_found for an unknown id', async () => {
    const user = await ctx.signUp();
    expectProblem(await revoke(user.accessToken, 'ses_doesnotexist'), 404, 'not_found');
  });

  it('answers not_found for a session already revoked', async () => {
    const user = await ctx.signUp();
    const other = await ctx.login(user.email, user.password);
    await revoke(user.accessToken, other.sessionId);
    expectProblem(await revoke(user.accessToken, other.sessionId), 404, 'not_found');
  });

  it('can revoke the calling session itself, which is then refused', async () => {
    const user = await ctx.signUp();
    expect((await revoke(user.accessToken, user.sessionId)).status).toBe(204);
    expectProblem(await me(user.accessToken), 401, 'session_revoked');
  });
});

describe('revoke all other sessions', () => {
  const revokeOthers = (token: string) => ctx.request('DELETE', '/v1/auth/sessions', { token });

  it('answers how many sessions it revoked', async () => {
    const user = await ctx.signUp();
    for (let i = 0; i < 3; i++) await ctx.login(user.email, user.password);
    const res = await revokeOthers(user.accessToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 3 });
  });

  it('keeps the calling session working', async () => {
    const user = await ctx.signUp();
    await ctx.login(user.email, user.password);
    await revokeOthers(user.accessToken);
    expect((await me(user.accessToken)).status).toBe(200);
  });

  it('refuses the other sessions at once', async () => {
    const user = await ctx.signUp();
    const a = await ctx.login(user.email, user.password);
    const b = await ctx.login(user.email, user.password);
    await revokeOthers(user.accessToken);
    expectProblem(await me(a.accessToken), 401, 'session_revoked');
    expectProblem(await me(b.accessToken), 401, 'session_revoked');
  });

  it('leaves only the calling session in the list', async () => {
    const user = await ctx.signUp();
    await ctx.login(user.email, user.password);
    await revokeOthers(user.accessToken);
    const ids = (await list(user.accessToken)).body.data.map((s: { id: string }) => s.id);
    expect(ids).toEqual([user.sessionId]);
  });

  it('answers 0 when there is no other session', async () => {
    const user = await ctx.signUp();
    expect((await revokeOthers(user.accessToken)).body).toEqual({ revoked: 0 });
  });

  it('leaves another user sessions alone', async () => {
    const alice = await ctx.signUp();
    const bob = await ctx.signUp();
    await revokeOthers(alice.accessToken);
    expect((await me(bob.accessToken)).status).toBe(200);
  });
});

describe('session expiry', () => {
  let short: TestContext;
  beforeAll(async () => {
    short = await createTestContext({ env: { SESSION_TTL: '300' } });
  });
  afterAll(async () => {
    await short?.close();
  });

  it('refuses the refresh token once the session has expired, as invalid_token', async () => {
    const user = await short.signUp();
    short.clock.advance(301_000);
    const res = await short.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expectProblem(res, 401, 'invalid_token');
  });

  it('accepts the refresh token just before the session expires', async () => {
    const user = await short.signUp();
    short.clock.advance(299_000);
    const res = await short.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expect(res.status).toBe(200);
  });

  it('leaves expired sessions out of the list', async () => {
    const user = await short.signUp();
    short.clock.advance(200_000);
    const fresh = await short.login(user.email, user.password);
    short.clock.advance(101_000);
    const res = await short.request('GET', '/v1/auth/sessions', { token: fresh.accessToken });
    expect(res.body.data.map((s: { id: string }) => s.id)).toEqual([fresh.sessionId]);
  });
});

describe('describeDevice', () => {
  it.each([
    [CHROME_MAC, 'Chrome on macOS'],
    [FIREFOX_WINDOWS, 'Firefox on Windows'],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      'Safari on iOS',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36',
      'Chrome on Android',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0',
      'Edge on Windows',
    ],
    ['curl/8.5.0', 'curl'],
    ['gatehouse-sdk/1.0 node', 'gatehouse-sdk'],
    [null, 'Unknown device'],
  ])('describes %s as %s', (ua, expected) => {
    expect(describeDevice(ua)).toBe(expected);
  });
});
