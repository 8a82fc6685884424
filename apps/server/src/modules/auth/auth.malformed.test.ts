import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  type TestResponse,
  uniqueEmail,
} from '../../../test/harness';

/**
 * Malformed input on every auth route: wrong types, missing and unknown fields (schemas are
 * strict), bad JSON, oversized bodies, wrong content types. Always a 4xx problem+json, never a
 * 500 and never a stack trace (expectProblem checks both). Issue 2, item 7.
 */

let ctx: TestContext;
let user: SignedIn;
beforeAll(async () => {
  ctx = await createTestContext();
  user = await ctx.signUp();
});
afterAll(async () => {
  await ctx?.close();
});

interface Route {
  method: 'POST' | 'PUT';
  url: string;
  /** a well-formed body: every test breaks one thing about it */
  valid: () => Record<string, unknown>;
  signedIn?: boolean;
}

const ROUTES: Route[] = [
  {
    method: 'POST',
    url: '/v1/auth/register',
    valid: () => ({
      email: uniqueEmail('mal'),
      password: STRONG_PASSWORD,
      first_name: 'A',
      last_name: 'B',
    }),
  },
  {
    method: 'POST',
    url: '/v1/auth/verify-email',
    valid: () => ({ email: 'a@example.com', code: '123456' }),
  },
  { method: 'POST', url: '/v1/auth/resend-otp', valid: () => ({ email: 'a@example.com' }) },
  {
    method: 'POST',
    url: '/v1/auth/login',
    valid: () => ({ email: 'a@example.com', password: STRONG_PASSWORD }),
  },
  { method: 'POST', url: '/v1/auth/token/refresh', valid: () => ({ refresh_token: 'x' }) },
  { method: 'POST', url: '/v1/auth/password/forgot', valid: () => ({ email: 'a@example.com' }) },
  {
    method: 'POST',
    url: '/v1/auth/password/forgot/verify',
    valid: () => ({ email: 'a@example.com', code: '123456' }),
  },
  {
    method: 'POST',
    url: '/v1/auth/password/reset',
    valid: () => ({ reset_token: 'x', password: STRONG_PASSWORD }),
  },
  { method: 'POST', url: '/v1/auth/account-exists', valid: () => ({ email: 'a@example.com' }) },
  {
    method: 'POST',
    url: '/v1/auth/password/set',
    valid: () => ({ password: STRONG_PASSWORD }),
    signedIn: true,
  },
  {
    method: 'PUT',
    url: '/v1/auth/password',
    valid: () => ({ current_password: 'x', new_password: STRONG_PASSWORD }),
    signedIn: true,
  },
];
const PUBLIC_ROUTES = ROUTES.filter((r) => !r.signedIn);

/** Every required field of each route (optional ones like `mode` and `purpose` are left out). */
const REQUIRED: Record<string, string[]> = {
  '/v1/auth/register': ['email', 'password', 'first_name', 'last_name'],
  '/v1/auth/verify-email': ['email', 'code'],
  '/v1/auth/resend-otp': ['email'],
  '/v1/auth/login': ['email', 'password'],
  '/v1/auth/token/refresh': ['refresh_token'],
  '/v1/auth/password/forgot': ['email'],
  '/v1/auth/password/forgot/verify': ['email', 'code'],
  '/v1/auth/password/reset': ['reset_token', 'password'],
  '/v1/auth/account-exists': ['email'],
  '/v1/auth/password/set': ['password'],
  '/v1/auth/password': ['current_password', 'new_password'],
};

const FIELD_CASES = ROUTES.flatMap((route) =>
  REQUIRED[route.url]!.map((field) => ({
    route,
    field,
    name: `${route.method} ${route.url} ${field}`,
  })),
);

/** Sends a raw payload with the given content type (the harness JSON-encodes objects itself). */
function send(route: Route, payload: string | Buffer, contentType?: string) {
  return ctx.request(route.method, route.url, {
    body: payload,
    headers: contentType ? { 'content-type': contentType } : {},
    token: route.signedIn ? user.accessToken : undefined,
  });
}
const sendJson = (route: Route, body: unknown) =>
  send(route, JSON.stringify(body), 'application/json');

const fieldErrors = (res: TestResponse) =>
  (res.body?.errors ?? []).map((e: { path: string }) => e.path) as string[];

describe.each(FIELD_CASES)('$name', ({ route, field }) => {
  it('refuses the body without it, naming the field', async () => {
    const body = route.valid();
    delete body[field];
    const res = await sendJson(route, body);
    expectProblem(res, 400, 'validation_failed');
    expect(fieldErrors(res)).toContain(`body.${field}`);
  });

  it('refuses a number in its place', async () => {
    const res = await sendJson(route, { ...route.valid(), [field]: 12345 });
    expectProblem(res, 400, 'validation_failed');
    expect(fieldErrors(res)).toContain(`body.${field}`);
  });

  it('refuses an object in its place', async () => {
    const res = await sendJson(route, { ...route.valid(), [field]: { $ne: null } });
    expectProblem(res, 400, 'validation_failed');
  });

  it('refuses null in its place', async () => {
    const res = await sendJson(route, { ...route.valid(), [field]: null });
    expectProblem(res, 400, 'validation_failed');
  });

  it('refuses an empty string in its place', async () => {
    const res = await sendJson(route, { ...route.valid(), [field]: '' });
    expectProblem(res, 400, 'validation_failed');
  });

  it('refuses a 100,000-character string in its place', async () => {
    const res = await sendJson(route, { ...route.valid(), [field]: 'A1!a'.repeat(25_000) });
    expectProblem(res, 400, 'validation_failed');
  });
});

describe.each(ROUTES)('$method $url', (route) => {
  it('refuses an unknown extra field (strict schema)', async () => {
    const res = await sendJson(route, { ...route.valid(), is_platform_admin: true });
    expectProblem(res, 400, 'validation_failed');
  });

  it('refuses an empty object', async () => {
    expectProblem(await sendJson(route, {}), 400, 'validation_failed');
  });

  it.each([
    ['an array', []],
    ['null', null],
    ['a string', 'hello'],
    ['a number', 42],
    ['true', true],
  ])('refuses %s as the body', async (_label, body) => {
    expectProblem(await sendJson(route, body), 400, 'validation_failed');
  });

  it('refuses broken JSON with malformed_json', async () => {
    expectProblem(
      await send(route, '{"email": "a@example.com",', 'application/json'),
      400,
      'malformed_json',
    );
  });

  it('refuses an empty JSON body with malformed_json', async () => {
    expectProblem(await send(route, '', 'application/json'), 400, 'malformed_json');
  });

  it('refuses a __proto__ key (prototype poisoning) as malformed_json', async () => {
    const res = await send(route, '{"__proto__": {"is_platform_admin": true}}', 'application/json');
    expectProblem(res, 400, 'malformed_json');
  });

  it('refuses a body over 256 KiB with payload_too_large', async () => {
    const res = await sendJson(route, { ...route.valid(), padding: 'x'.repeat(257 * 1024) });
    expectProblem(res, 413, 'payload_too_large');
  });

  it('refuses a form-encoded body with unsupported_media_type', async () => {
    const res = await send(route, 'email=a%40example.com', 'application/x-www-form-urlencoded');
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('refuses an XML body with unsupported_media_type', async () => {
    const res = await send(route, '<email>a@example.com</email>', 'application/xml');
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('refuses a body without a content type with unsupported_media_type', async () => {
    const res = await send(route, JSON.stringify(route.valid()));
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('refuses a text/plain body with a 4xx problem', async () => {
    // text/plain has a parser in Fastify by default, so the string reaches validation (400);
    // what matters is that it is refused as a problem, never accepted or a 500.
    const res = await send(route, JSON.stringify(route.valid()), 'text/plain');
    expect([400, 415]).toContain(res.status);
    expectProblem(
      res,
      res.status,
      res.status === 400 ? 'validation_failed' : 'unsupported_media_type',
    );
  });

  it('refuses deeply nested JSON without falling over', async () => {
    const res = await send(route, `${'['.repeat(50_000)}${']'.repeat(50_000)}`, 'application/json');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  });
});

describe('field formats', () => {
  const route = (url: string) => ROUTES.find((r) => r.url === url)!;

  it.each([
    'not-an-email',
    'a@',
    '@example.com',
    'a b@example.com',
    `${'a'.repeat(250)}@example.com`,
  ])('refuses %s as an email', async (email) => {
    const res = await sendJson(route('/v1/auth/login'), { email, password: STRONG_PASSWORD });
    expectProblem(res, 400, 'validation_failed');
    expect(fieldErrors(res)).toContain('body.email');
  });

  it.each(['12345', '1234567', 'abcdef', '12 456', '１２３４５６'])(
    'refuses %s as a code',
    async (code) => {
      const res = await sendJson(route('/v1/auth/verify-email'), { email: 'a@example.com', code });
      expectProblem(res, 400, 'validation_failed');
      expect(fieldErrors(res)).toContain('body.code');
    },
  );

  it('refuses a password over 256 characters before hashing it', async () => {
    const res = await sendJson(route('/v1/auth/login'), {
      email: 'a@example.com',
      password: `${STRONG_PASSWORD}${'x'.repeat(256)}`,
    });
    expectProblem(res, 400, 'validation_failed');
  });

  it('refuses a name made only of spaces', async () => {
    const res = await sendJson(route('/v1/auth/register'), {
      ...route('/v1/auth/register').valid(),
      first_name: '   ',
    });
    expectProblem(res, 400, 'validation_failed');
    expect(fieldErrors(res)).toContain('body.first_name');
  });

  it('refuses an unknown sign-in mode', async () => {
    const res = await sendJson(route('/v1/auth/login'), {
      email: 'a@example.com',
      password: STRONG_PASSWORD,
      mode: 'session',
    });
    expectProblem(res, 400, 'validation_failed');
  });

  it('refuses an unknown resend purpose', async () => {
    const res = await sendJson(route('/v1/auth/resend-otp'), {
      email: 'a@example.com',
      purpose: 'login',
    });
    expectProblem(res, 400, 'validation_failed');
  });
});

describe('routes without a body schema', () => {
  it('refuses broken JSON sent to logout with malformed_json', async () => {
    const res = await ctx.request('POST', '/v1/auth/logout', {
      body: '{"oops":',
      headers: { 'content-type': 'application/json' },
      token: user.accessToken,
    });
    expectProblem(res, 400, 'malformed_json');
  });

  it.each(['limit=0', 'limit=101', 'limit=abc', 'limit=1.5', `cursor=${'x'.repeat(201)}`])(
    'refuses GET /v1/auth/sessions?%s',
    async (query) => {
      const res = await ctx.request('GET', `/v1/auth/sessions?${query}`, {
        token: user.accessToken,
      });
      expectProblem(res, 400, 'validation_failed');
    },
  );

  it('refuses a session id over 64 characters', async () => {
    const res = await ctx.request('DELETE', `/v1/auth/sessions/${'s'.repeat(65)}`, {
      token: user.accessToken,
    });
    expectProblem(res, 400, 'validation_failed');
  });

  it('keeps the signed-in user signed in through all of the above', async () => {
    expect((await ctx.request('GET', '/v1/me', { token: user.accessToken })).status).toBe(200);
  });
});

describe('random input (property)', () => {
  const is4xxProblem = (res: TestResponse) =>
    res.status >= 400 &&
    res.status < 500 &&
    String(res.headers['content-type']).startsWith('application/problem+json') &&
    typeof res.body?.code === 'string' &&
    !res.text.includes('    at ');

  it.each(PUBLIC_ROUTES.map((r) => [r.url, r] as const))(
    'answers any JSON value sent to %s with a 4xx problem',
    async (_url, route) => {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue(), async (value) => {
          const res = await sendJson(route, value);
          expect(is4xxProblem(res), `${res.status} ${res.text}`).toBe(true);
        }),
        { numRuns: 40 },
      );
    },
  );

  /** Values near the real shape reach deeper: past the parser and, sometimes, the service. */
  const nearValue = fc.oneof(
    fc.jsonValue(),
    fc.string({ maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.emailAddress(),
    fc.stringMatching(/^\d{6}$/),
    fc.constantFrom('token', 'cookie', 'verify_email', 'password_reset', STRONG_PASSWORD),
  );

  it.each(PUBLIC_ROUTES.map((r) => [r.url, r] as const))(
    'never answers 5xx to random values in the fields of %s',
    async (_url, route) => {
      const keys = [...Object.keys(route.valid()), 'mode', 'purpose', 'extra'];
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(fc.constantFrom(...keys), nearValue, { maxKeys: keys.length }),
          async (body) => {
            const res = await sendJson(route, body);
            expect(res.status, res.text).toBeLessThan(500);
            if (res.status >= 400) expect(is4xxProblem(res), res.text).toBe(true);
          },
        ),
        { numRuns: 60 },
      );
    },
  );
});
