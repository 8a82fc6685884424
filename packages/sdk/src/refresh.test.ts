import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouseClient, type TokenSet } from './client';
import { GatehouseError } from './errors';
import { recordingFetch, type Served, serve } from './test-support';

let served: Served;
beforeAll(async () => {
  served = await serve();
});
afterAll(async () => {
  await served?.ctx.close();
});

/** Past the 10-minute access token lifetime; the server reads this clock. */
const ELEVEN_MINUTES = 11 * 60_000;
const REFRESH = '/v1/auth/token/refresh';

function signedInClient(
  user: { accessToken?: string; refreshToken: string },
  extra: Partial<Parameters<typeof createGatehouseClient>[0]> = {},
) {
  const rec = recordingFetch();
  const seen: (TokenSet | null)[] = [];
  const gh = createGatehouseClient({
    baseUrl: served.baseUrl,
    accessToken: user.accessToken,
    refreshToken: user.refreshToken,
    fetch: rec.fetch,
    onTokens: (t) => {
      seen.push(t);
    },
    ...extra,
  });
  return { gh, rec, seen };
}

describe('automatic refresh', () => {
  it('renews an expired access token once for concurrent calls, and retries them', async () => {
    const user = await served.ctx.signUp();
    const { gh, rec, seen } = signedInClient(user);
    expect((await gh.me.get()).id).toBe(user.userId);

    served.ctx.clock.advance(ELEVEN_MINUTES);
    const answers = await Promise.all([
      gh.me.get(),
      gh.me.get(),
      gh.organizations.list(),
      gh.auth.sessions.list(),
      gh.me.get(),
    ]);

    expect(answers[0].id).toBe(user.userId);
    expect(rec.count('POST', REFRESH)).toBe(1);
    expect(seen).toHaveLength(1);
    const renewed = seen[0]!;
    expect(renewed.accessToken).not.toBe(user.accessToken);
    expect(renewed.refreshToken).not.toBe(user.refreshToken);
    expect(renewed.sessionId).toBe(user.sessionId);
    expect(gh.getTokens()).toMatchObject({
      accessToken: renewed.accessToken,
      refreshToken: renewed.refreshToken,
    });
    // every call but the first round went out again with the new token
    const retried = rec.calls.filter(
      (c) => c.path !== REFRESH && c.headers.authorization === `Bearer ${renewed.accessToken}`,
    );
    expect(retried).toHaveLength(5);
  });

  it('keeps working across several expiries (the refresh token rotates each time)', async () => {
    const user = await served.ctx.signUp();
    const { gh, rec, seen } = signedInClient(user);
    for (let round = 0; round < 3; round++) {
      served.ctx.clock.advance(ELEVEN_MINUTES);
      expect((await gh.me.get()).id).toBe(user.userId);
    }
    expect(rec.count('POST', REFRESH)).toBe(3);
    expect(new Set(seen.map((t) => t?.refreshToken)).size).toBe(3);
  });

  it('gets an access token first when built from a refresh token alone', async () => {
    const user = await served.ctx.signUp();
    const { gh, rec } = signedInClient({ refreshToken: user.refreshToken });
    expect((await gh.me.get()).id).toBe(user.userId);
    expect(rec.calls.map((c) => c.path)).toEqual([REFRESH, '/v1/me']);
  });

  it('gives up when the session is over: throws, forgets the tokens, reports null', async () => {
    const user = await served.ctx.signUp();
    const { gh, seen } = signedInClient(user);
    // the session is revoked elsewhere (signed out on another device)
    const other = createGatehouseClient({
      baseUrl: served.baseUrl,
      accessToken: user.accessToken,
    });
    await other.auth.logout();

    served.ctx.clock.advance(ELEVEN_MINUTES);
    const error = await gh.me.get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).status).toBe(401);
    expect(seen).toEqual([null]);
    expect(gh.getTokens()).toEqual({});
  });

  it('does not refresh on other 401s (wrong password) nor for API keys', async () => {
    const user = await served.ctx.signUp();
    const { gh, rec } = signedInClient(user);
    const wrong = await gh.auth
      .login({ email: user.email, password: 'Not-the-passw0rd' })
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'invalid_credentials' });

    const keyed = signedInClient(user, { apiKey: `gh_${'x'.repeat(43)}` });
    const refused = await keyed.gh.me.get().catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 401 });
    expect(keyed.rec.calls[0]?.headers.authorization).toMatch(/^Bearer gh_/);
    expect(rec.count('POST', REFRESH) + keyed.rec.count('POST', REFRESH)).toBe(0);
  });

  it('refreshes on demand and reports the new tokens', async () => {
    const user = await served.ctx.signUp();
    const { gh, seen } = signedInClient(user);
    const tokens = await gh.auth.refresh();
    expect(tokens).toMatchObject({ token_type: 'Bearer', session_id: user.sessionId });
    expect(seen.map((t) => t?.accessToken)).toEqual([tokens.access_token]);
    // the old refresh token is spent: presenting it again, past the reuse grace window (issue 10
    // #14: within it, the same pair comes back), revokes the session
    served.ctx.clock.advance(31_000);
    const replay = createGatehouseClient({ baseUrl: served.baseUrl });
    const reused = await replay.auth.refresh(user.refreshToken).catch((e: unknown) => e);
    expect(reused).toMatchObject({ status: 401 });
  });
});
