import { generateKeyPair, decodeProtectedHeader as headerOf, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouseClient } from './client';
import { GatehouseError } from './errors';
import { ISSUER, recordingFetch, type Served, seed, serve } from './test-support';
import { createAccessTokenVerifier, verifyAccessToken } from './verify';

let served: Served;
beforeAll(async () => {
  served = await serve();
});
afterAll(async () => {
  await served?.ctx.close();
});

const JWKS = '/.well-known/jwks.json';
const options = () => ({ issuer: ISSUER, baseUrl: served.baseUrl });

async function refusal(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the token to be refused');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  return error as GatehouseError;
}

/** Changes one character of a token's part (0 header, 1 payload, 2 signature). */
function tamper(token: string, part: 0 | 1 | 2): string {
  const parts = token.split('.');
  const p = parts[part]!;
  const i = Math.floor(p.length / 2);
  parts[part] = p.slice(0, i) + (p[i] === 'A' ? 'B' : 'A') + p.slice(i + 1);
  return parts.join('.');
}

describe('verifyAccessToken', () => {
  it('answers who a valid token speaks for', async () => {
    const signedUp = await served.ctx.signUp();
    const user = await served.ctx.login(signedUp.email, signedUp.password);
    const who = await verifyAccessToken(user.accessToken, options());
    expect(who).toMatchObject({
      userId: user.userId,
      sessionId: user.sessionId,
      organizationId: null,
      amr: ['pwd'],
    });
    expect(who.expiresAt - who.issuedAt).toBe(600);
  });

  it('reads the current organization after a switch', async () => {
    const user = await served.ctx.signUp();
    const org = await seed.createOrg(served.ctx, user);
    const gh = createGatehouseClient({ baseUrl: served.baseUrl, accessToken: user.accessToken });
    const { access_token } = await gh.organizations.switch(org.id);
    expect((await verifyAccessToken(access_token, options())).organizationId).toBe(org.id);
  });

  it('accepts a jwksUrl instead of the base URL', async () => {
    const user = await served.ctx.signUp();
    const who = await verifyAccessToken(user.accessToken, {
      issuer: ISSUER,
      jwksUrl: `${served.baseUrl}${JWKS}`,
    });
    expect(who.userId).toBe(user.userId);
  });

  it('refuses a tampered token', async () => {
    const user = await served.ctx.signUp();
    for (const part of [0, 1, 2] as const) {
      const error = await refusal(verifyAccessToken(tamper(user.accessToken, part), options()));
      expect(error).toMatchObject({ status: 401, code: 'invalid_token' });
    }
    expect((await refusal(verifyAccessToken('not-a-jwt', options()))).code).toBe('invalid_token');
    expect((await refusal(verifyAccessToken('', options()))).code).toBe('invalid_token');
  });

  it('refuses a token forged with another key under a published kid, or unsigned', async () => {
    const user = await served.ctx.signUp();
    const { kid } = headerOf(user.accessToken);
    const { privateKey } = await generateKeyPair('ES256');
    const claims = { sid: user.sessionId, org: null, amr: ['pwd'] };
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: kid!, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setSubject(user.userId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const error = await refusal(verifyAccessToken(forged, options()));
    expect(error.detail).toMatch(/signature/);

    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ ...claims, sub: user.userId, iss: ISSUER, iat: now, exp: now + 300 })}.`;
    expect((await refusal(verifyAccessToken(unsigned, options()))).code).toBe('invalid_token');
  });

  it('refuses a token that is not typed at+jwt', async () => {
    // The key that signs access tokens signs nothing else today; this guards against that changing.
    const user = await served.ctx.signUp();
    const key = served.ctx.gatehouse.rt.keys.active()!;
    const idToken = await new SignJWT({ sid: user.sessionId })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(user.userId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key.privateKey);
    const error = await refusal(verifyAccessToken(idToken, options()));
    expect(error.detail).toMatch(/typ/);
  });

  it('refuses an expired token', async () => {
    const user = await served.ctx.signUp();
    const { expiresAt } = await verifyAccessToken(user.accessToken, options());
    const error = await refusal(
      verifyAccessToken(user.accessToken, {
        ...options(),
        currentDate: new Date((expiresAt + 60) * 1000),
      }),
    );
    expect(error).toMatchObject({ code: 'invalid_token', detail: 'The access token has expired' });
  });

  it('refuses a token of another issuer', async () => {
    const user = await served.ctx.signUp();
    const error = await refusal(
      verifyAccessToken(user.accessToken, { ...options(), issuer: 'https://evil.example' }),
    );
    expect(error.code).toBe('invalid_token');
    expect(error.detail).toMatch(/"iss"/);
  });

  it('keeps the key set between calls', async () => {
    const rec = recordingFetch();
    const users = [await served.ctx.signUp(), await served.ctx.signUp()];
    for (const user of [...users, ...users])
      await verifyAccessToken(user.accessToken, { ...options(), fetch: rec.fetch });
    expect(rec.count('GET', JWKS)).toBe(1);
  });

  it('answers service_unavailable, not invalid_token, when the keys cannot be fetched', async () => {
    const user = await served.ctx.signUp();
    const down: typeof fetch = async () => new Response('upstream down', { status: 503 });
    const error = await refusal(verifyAccessToken(user.accessToken, { ...options(), fetch: down }));
    expect(error).toMatchObject({ status: 503, code: 'service_unavailable' });
  });
});

describe('signing key rotation', () => {
  // Signing at once (`--now`, a compromised key): the verifier must refetch for the new kid. On
  // a server of its own, so that the other tests' cached key sets never meet the new key.
  it('verifies tokens of the new key after refetching the key set, and old tokens still', async () => {
    const c = await serve();
    try {
      const rec = recordingFetch();
      const verify = createAccessTokenVerifier({
        issuer: ISSUER,
        baseUrl: c.baseUrl,
        fetch: rec.fetch,
        cooldownMs: 0,
      });
      const before = await c.ctx.signUp();
      await verify(before.accessToken);
      expect(rec.count('GET', JWKS)).toBe(1);

      const rotated = await c.ctx.gatehouse.rt.keys.rotate(undefined, { immediate: true });
      const after = await c.ctx.login(before.email, before.password);
      expect(headerOf(after.accessToken).kid).toBe(rotated.kid);
      expect(headerOf(before.accessToken).kid).not.toBe(rotated.kid);

      expect((await verify(after.accessToken)).sessionId).toBe(after.sessionId);
      expect(rec.count('GET', JWKS)).toBe(2);
      // the retired key stays published until its tokens have expired
      expect((await verify(before.accessToken)).userId).toBe(before.userId);
      expect((await verify(after.accessToken)).userId).toBe(before.userId);
      expect(rec.count('GET', JWKS)).toBe(2);
    } finally {
      await c.ctx.close();
    }
  });

  // @see issue 10 #20: publish before signing
  it('accepts every token across a rotation with a key set cached before it, never refetching for an unknown key', async () => {
    const c = await serve();
    try {
      const rec = recordingFetch();
      // A long cooldown: a token of a key not in the cached set would be refused, not refetched.
      const cached = createAccessTokenVerifier({
        issuer: ISSUER,
        baseUrl: c.baseUrl,
        fetch: rec.fetch,
        cooldownMs: 3_600_000,
      });
      const user = await c.ctx.signUp();
      await cached(user.accessToken);
      expect(rec.count('GET', JWKS)).toBe(1);

      const rotated = await c.ctx.gatehouse.rt.keys.rotate();
      // Until the lead time passes, tokens are still signed with the key the verifier has.
      const during = await c.ctx.login(user.email, user.password);
      expect(headerOf(during.accessToken).kid).not.toBe(rotated.kid);
      expect((await cached(during.accessToken)).userId).toBe(user.userId);
      // Within the lead time the verifier's cache expires (its max age is shorter) and is
      // fetched again, as a fresh verifier does here: it now holds both keys.
      const refreshed = createAccessTokenVerifier({
        issuer: ISSUER,
        baseUrl: c.baseUrl,
        fetch: rec.fetch,
        cooldownMs: 3_600_000,
      });
      expect((await refreshed(during.accessToken)).userId).toBe(user.userId);
      expect(rec.count('GET', JWKS)).toBe(2);

      c.ctx.clock.advance(c.ctx.gatehouse.rt.config.keyPublishLeadSeconds * 1000);
      const after = await c.ctx.login(user.email, user.password);
      expect(headerOf(after.accessToken).kid).toBe(rotated.kid);
      for (const token of [user.accessToken, during.accessToken, after.accessToken])
        expect((await refreshed(token)).userId).toBe(user.userId);
      expect(rec.count('GET', JWKS)).toBe(2);
    } finally {
      await c.ctx.close();
    }
  });

  it('refetches at most once per cooldown for unknown key ids', async () => {
    const c = await serve();
    try {
      const user = await c.ctx.signUp();
      // The key set as a verifier saw it just before the rotation: served first, whatever the timing.
      const stale = await (await fetch(`${c.baseUrl}${JWKS}`)).text();
      await c.ctx.gatehouse.rt.keys.rotate(undefined, { immediate: true });
      const after = await c.ctx.login(user.email, user.password);
      const rec = recordingFetch();
      let servedStale = false;
      const staleFirst: typeof fetch = (input, init) => {
        if (servedStale) return rec.fetch(input, init);
        servedStale = true;
        return Promise.resolve(
          new Response(stale, { status: 200, headers: { 'content-type': 'application/json' } }),
        );
      };
      const verify = createAccessTokenVerifier({
        issuer: ISSUER,
        baseUrl: c.baseUrl,
        fetch: staleFirst,
        cooldownMs: 300,
      });

      // just fetched: an unknown kid is not worth another fetch within the cooldown
      const early = await refusal(verify(after.accessToken));
      expect(early.detail).toMatch(/key Gatehouse does not publish/);
      expect(rec.count('GET', JWKS)).toBe(0);

      await new Promise((resolve) => setTimeout(resolve, 350));
      expect((await verify(after.accessToken)).userId).toBe(user.userId);
      expect(rec.count('GET', JWKS)).toBe(1);
    } finally {
      await c.ctx.close();
    }
  });

  it('refuses tokens of a key once it has left the key set', async () => {
    const c = await serve();
    try {
      const user = await c.ctx.signUp();
      const { issuedAt } = await verifyAccessToken(user.accessToken, {
        issuer: ISSUER,
        baseUrl: c.baseUrl,
      });
      await c.ctx.gatehouse.rt.keys.rotate(undefined, { immediate: true });
      // past the grace period (token lifetime + a minute), the old key is no longer published
      c.ctx.clock.advance((600 + 61) * 1000);
      const fresh = createAccessTokenVerifier({ issuer: ISSUER, baseUrl: c.baseUrl });
      // verified as of a time the token was still valid: only the missing key refuses it
      const error = await refusal(
        fresh(user.accessToken, { currentDate: new Date((issuedAt + 60) * 1000) }),
      );
      expect(error.detail).toMatch(/key Gatehouse does not publish/);
    } finally {
      await c.ctx.close();
    }
  });
});

// @see issue 10 #23: access tokens name their audience, and the SDK checks it
describe('verifyAccessToken and the audience', () => {
  it('accepts the default audience Gatehouse signs for', async () => {
    const user = await served.ctx.signUp();
    const who = await verifyAccessToken(user.accessToken, { ...options(), audience: 'gatehouse' });
    expect(who.userId).toBe(user.userId);
  });

  it('refuses a token when the service expects another audience', async () => {
    const user = await served.ctx.signUp();
    const error = await refusal(
      verifyAccessToken(user.accessToken, { ...options(), audience: 'billing-service' }),
    );
    expect(error).toMatchObject({ status: 401, code: 'invalid_token' });
    expect(error.detail).toMatch(/"aud"/);
  });

  it('refuses a token signed without an audience', async () => {
    const user = await served.ctx.signUp();
    const { kid } = headerOf(user.accessToken);
    const key = served.ctx.gatehouse.rt.keys.byKid(kid!);
    const noAud = await new SignJWT({ sid: user.sessionId, org: null, amr: ['pwd'] })
      .setProtectedHeader({ alg: 'ES256', kid: kid!, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setSubject(user.userId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key!.privateKey);
    const error = await refusal(verifyAccessToken(noAud, options()));
    expect(error.detail).toMatch(/"aud"/);
  });
});
