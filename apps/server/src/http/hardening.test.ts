import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  setCookieOf,
  type TestContext,
  type TestResponse,
} from '../../test/harness';
import { createOrg } from '../../test/seed';

/**
 * Web hardening (README "Web hardening"): security headers from @fastify/helmet, the CORS
 * allow-list, session cookie flags, CSRF on cookie sessions, and the body size limit. Each
 * deployment shape (plain http, https with a console origin, http with COOKIE_SECURE=on) is its
 * own app; the answers are what a browser would act on.
 */

const CONSOLE = 'https://console.example.com';

let http: TestContext;
let https: TestContext;
beforeAll(async () => {
  http = await createTestContext();
  https = await createTestContext({
    env: { PUBLIC_URL: 'https://id.example.com', CORS_ORIGINS: CONSOLE },
  });
});
afterAll(async () => {
  await http?.close();
  await https?.close();
});

const header = (res: TestResponse, name: string) => {
  const value = res.headers[name];
  return value === undefined ? undefined : String(value);
};
/** The directives of the Content-Security-Policy, by name. */
function csp(res: TestResponse): Map<string, string> {
  const directives = new Map<string, string>();
  for (const part of (header(res, 'content-security-policy') ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name, values.join(' '));
  }
  return directives;
}

describe('security headers', () => {
  it.each([
    ['a public answer', 'GET', '/health'],
    ['an error answer', 'GET', '/v1/no-such-route'],
    ['an unauthenticated answer', 'GET', '/v1/me'],
  ])('are on %s', async (_what, method, url) => {
    const res = await http.request(method, url);
    expect(header(res, 'x-content-type-options')).toBe('nosniff');
    expect(header(res, 'x-frame-options')).toBe('DENY');
    expect(header(res, 'referrer-policy')).toBe('no-referrer');
    expect(csp(res).get('frame-ancestors')).toBe("'none'");
  });

  it('keep scripts to this origin and forbid plugins', async () => {
    const policy = csp(await http.request('GET', '/health'));
    expect(policy.get('default-src')).toBe("'self'");
    expect(policy.get('script-src')).toBe("'self'");
    expect(policy.get('object-src')).toBe("'none'");
  });

  it('leave out HSTS and upgrade-insecure-requests when PUBLIC_URL is plain http', async () => {
    const res = await http.request('GET', '/health');
    expect(header(res, 'strict-transport-security')).toBeUndefined();
    expect(csp(res).has('upgrade-insecure-requests')).toBe(false);
  });

  it('send HSTS for a year with subdomains when PUBLIC_URL is https', async () => {
    const res = await https.request('GET', '/health');
    const hsts = header(res, 'strict-transport-security') ?? '';
    expect(hsts).toMatch(/max-age=31536000/);
    expect(hsts).toMatch(/includeSubDomains/);
    expect(csp(res).has('upgrade-insecure-requests')).toBe(true);
  });

  it('are on the documentation UI too', async () => {
    const res = await http.request('GET', '/docs');
    expect(res.status).toBeLessThan(400);
    expect(header(res, 'x-frame-options')).toBe('DENY');
    expect(csp(res).get('frame-ancestors')).toBe("'none'");
  });
});

describe('CORS', () => {
  const preflight = (c: TestContext, origin: string) =>
    c.request('OPTIONS', '/v1/me', {
      headers: {
        origin,
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'content-type, x-csrf-token',
      },
    });

  it('answers a preflight from an allowed origin, with credentials', async () => {
    const res = await preflight(https, CONSOLE);
    expect(res.status).toBeLessThan(300);
    expect(header(res, 'access-control-allow-origin')).toBe(CONSOLE);
    expect(header(res, 'access-control-allow-credentials')).toBe('true');
    expect(header(res, 'access-control-allow-methods')).toMatch(/PATCH/);
    expect(header(res, 'access-control-allow-headers')).toMatch(/x-csrf-token/);
  });

  it('lets the allowed origin read answers, never with a wildcard', async () => {
    const res = await https.request('GET', '/health', { headers: { origin: CONSOLE } });
    expect(header(res, 'access-control-allow-origin')).toBe(CONSOLE);
    expect(header(res, 'vary')).toMatch(/Origin/i);
  });

  it('exposes Retry-After and the request id to the allowed origin', async () => {
    const res = await https.request('GET', '/health', { headers: { origin: CONSOLE } });
    expect(header(res, 'access-control-expose-headers')).toMatch(/retry-after/);
    expect(header(res, 'access-control-expose-headers')).toMatch(/x-request-id/);
  });

  it('gives a foreign origin no Access-Control-Allow-Origin, on a preflight or an answer', async () => {
    const evil = 'https://evil.example';
    expect(header(await preflight(https, evil), 'access-control-allow-origin')).toBeUndefined();
    const res = await https.request('GET', '/health', { headers: { origin: evil } });
    expect(header(res, 'access-control-allow-origin')).toBeUndefined();
  });

  it('does not take a look-alike of an allowed origin for it', async () => {
    for (const origin of [
      'https://console.example.com.evil.example',
      'http://console.example.com',
      'https://evilconsole.example.com',
      'null',
    ]) {
      expect(header(await preflight(https, origin), 'access-control-allow-origin')).toBeUndefined();
    }
  });

  it('sends no CORS headers at all when CORS_ORIGINS is unset', async () => {
    for (const res of [
      await preflight(http, CONSOLE),
      await http.request('GET', '/health', { headers: { origin: CONSOLE } }),
    ]) {
      const cors = Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));
      expect(cors).toEqual([]);
    }
  });
});

describe('session cookies', () => {
  async function cookieLogin(c: TestContext) {
    const user = await c.signUp();
    const res = await c.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password, mode: 'cookie' },
    });
    if (res.status !== 200) throw new Error(`cookie login failed: ${res.status} ${res.text}`);
    return res;
  }

  it('are httpOnly and SameSite=Lax; the CSRF cookie is readable by scripts', async () => {
    const res = await cookieLogin(http);
    expect(setCookieOf(res, 'gatehouse_session')?.attributes).toMatchObject({
      httponly: true,
      samesite: 'Lax',
    });
    expect(setCookieOf(res, 'gatehouse_csrf')?.attributes.httponly).toBeUndefined();
  });

  it('are not Secure on plain http (the browser would drop them)', async () => {
    const res = await cookieLogin(http);
    expect(setCookieOf(res, 'gatehouse_session')?.attributes.secure).toBeUndefined();
  });

  it('are Secure when PUBLIC_URL is https', async () => {
    const res = await cookieLogin(https);
    expect(setCookieOf(res, 'gatehouse_session')?.attributes.secure).toBe(true);
    expect(setCookieOf(res, 'gatehouse_csrf')?.attributes.secure).toBe(true);
  });

  it('are Secure with COOKIE_SECURE=on behind a TLS-terminating proxy on http', async () => {
    const behindProxy = await createTestContext({ env: { COOKIE_SECURE: 'on' } });
    try {
      const res = await cookieLogin(behindProxy);
      expect(setCookieOf(res, 'gatehouse_session')?.attributes.secure).toBe(true);
    } finally {
      await behindProxy.close();
    }
  });

  it('are not Secure with COOKIE_SECURE=off, even on https', async () => {
    const off = await createTestContext({
      env: { PUBLIC_URL: 'https://id.example.com', COOKIE_SECURE: 'off' },
    });
    try {
      const res = await cookieLogin(off);
      expect(setCookieOf(res, 'gatehouse_session')?.attributes.secure).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});

describe('CSRF on cookie sessions', () => {
  let cookies: Record<string, string>;
  let csrf: string;
  beforeAll(async () => {
    const user = await http.signUp();
    const res = await http.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password, mode: 'cookie' },
    });
    csrf = res.body.csrf_token;
    cookies = {
      gatehouse_session: setCookieOf(res, 'gatehouse_session')!.value,
      gatehouse_csrf: csrf,
    };
  });

  const createOrgWith = (headers: Record<string, string>) =>
    http.request('POST', '/v1/organizations', {
      cookies,
      headers,
      body: { name: `Org ${Math.random().toString(36).slice(2, 8)}`, template: 'media' },
    });

  it('refuses a state-changing request without X-CSRF-Token (403 csrf_failed)', async () => {
    // A cross-site form makes the browser attach both cookies; only script on an allowed origin
    // can read the CSRF cookie and copy it into the header.
    expectProblem(await createOrgWith({}), 403, 'csrf_failed');
  });

  it('refuses one with a wrong token', async () => {
    expectProblem(await createOrgWith({ 'x-csrf-token': `${csrf}x` }), 403, 'csrf_failed');
  });

  it('accepts it with the token echoed in X-CSRF-Token', async () => {
    expect((await createOrgWith({ 'x-csrf-token': csrf })).status).toBe(201);
  });

  it('lets reads through without a token', async () => {
    expect((await http.request('GET', '/v1/me', { cookies })).status).toBe(200);
  });

  it('is not asked of bearer tokens (a browser never attaches them by itself)', async () => {
    const user = await http.signUp();
    expect((await createOrg(http, user)).id).toMatch(/^org_/);
  });
});

describe('request body size', () => {
  const kib = (n: number) => 'x'.repeat(n * 1024);

  it('refuses a 300 KiB JSON body with 413 payload_too_large', async () => {
    const res = await http.request('POST', '/v1/auth/login', {
      body: { email: 'big@example.com', password: kib(300) },
    });
    expectProblem(res, 413, 'payload_too_large');
  });

  it('refuses it on a signed-in route too', async () => {
    const user = await http.signUp();
    const res = await http.request('PATCH', '/v1/me', {
      token: user.accessToken,
      body: { first_name: kib(300) },
    });
    expectProblem(res, 413, 'payload_too_large');
  });

  it('reads a body under the limit (and judges its fields)', async () => {
    const res = await http.request('POST', '/v1/auth/login', {
      body: { email: 'big@example.com', password: kib(200) },
    });
    expect(res.status).not.toBe(413);
    expect(res.status).toBeLessThan(500);
  });
});
