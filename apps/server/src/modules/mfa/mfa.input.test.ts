/**
 * Malformed input to every second-factor route: a 400 validation_failed (or malformed_json)
 * problem, never a 500, never a stack trace, and nothing changed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
  type TestResponse,
} from '../../../test/harness';
import { loginChallenge, signUpWithTotp } from './mfa.test-support';

let ctx: TestContext;
let user: SignedIn;
let mfaToken: string;
beforeAll(async () => {
  ctx = await createTestContext();
  const signedUp = await signUpWithTotp(ctx);
  user = signedUp.user;
  mfaToken = (await loginChallenge(ctx, user)).mfaToken;
});
afterAll(async () => {
  await ctx?.close();
});

interface Route {
  url: string;
  signedIn: boolean;
  bad: [string, unknown][];
}

const tooLong = (n: number) => '1'.repeat(n);

const ROUTES: Route[] = [
  {
    url: '/v1/me/mfa/totp/confirm',
    signedIn: true,
    bad: [
      ['no code', {}],
      ['a number', { code: 123456 }],
      ['null', { code: null }],
      ['5 digits', { code: '12345' }],
      ['7 digits', { code: '1234567' }],
      ['letters', { code: 'abcdef' }],
      ['an unknown field', { code: '123456', extra: true }],
      ['an array body', ['123456']],
      ['a string body', '123456'],
    ],
  },
  {
    url: '/v1/me/mfa/sms',
    signedIn: true,
    bad: [
      ['no phone', {}],
      ['a national number', { phone: '015112345678' }],
      ['a number type', { phone: 4915112345678 }],
      ['an object', { phone: { number: '+4915112345678' } }],
      ['an unknown field', { phone: '+4915112345678', carrier: 'x' }],
    ],
  },
  {
    url: '/v1/me/mfa/sms/confirm',
    signedIn: true,
    bad: [
      ['no code', {}],
      ['5 digits', { code: '12345' }],
      ['a boolean', { code: true }],
    ],
  },
  {
    url: '/v1/auth/mfa/verify',
    signedIn: false,
    bad: [
      ['an empty body', {}],
      ['no method', { mfa_token: 'x', code: '123456' }],
      ['no code', { mfa_token: 'x', method: 'totp' }],
      ['no token', { method: 'totp', code: '123456' }],
      ['method password', { mfa_token: 'x', method: 'password', code: '123456' }],
      ['method email', { mfa_token: 'x', method: 'email', code: '123456' }],
      ['method in capitals', { mfa_token: 'x', method: 'TOTP', code: '123456' }],
      ['a 5-character code', { mfa_token: 'x', method: 'totp', code: '12345' }],
      ['a 33-character code', { mfa_token: 'x', method: 'totp', code: tooLong(33) }],
      ['a numeric code', { mfa_token: 'x', method: 'totp', code: 123456 }],
      ['an empty token', { mfa_token: '', method: 'totp', code: '123456' }],
      ['a 201-character token', { mfa_token: tooLong(201), method: 'totp', code: '123456' }],
      ['a mode field', { mfa_token: 'x', method: 'totp', code: '123456', mode: 'cookie' }],
      ['an array body', [{ mfa_token: 'x', method: 'totp', code: '123456' }]],
      ['null', null],
    ],
  },
  {
    url: '/v1/auth/mfa/sms',
    signedIn: false,
    bad: [
      ['an empty body', {}],
      ['an empty token', { mfa_token: '' }],
      ['a numeric token', { mfa_token: 5 }],
      ['an unknown field', { mfa_token: 'x', phone: '+4915112345678' }],
    ],
  },
  {
    url: '/v1/auth/step-up',
    signedIn: true,
    bad: [
      ['an empty body', {}],
      ['an unknown method', { method: 'email', code: '123456' }],
      ['a null method', { method: null }],
      ['an empty password', { method: 'password', password: '' }],
      ['a 257-character password', { method: 'password', password: tooLong(257) }],
      ['a 5-character code', { method: 'totp', code: '12345' }],
      ['a factor method without code', { method: 'totp' }],
      ['an unknown field', { method: 'totp', code: '123456', remember: true }],
    ],
  },
];

const send = (route: Route, body: unknown) =>
  ctx.request('POST', route.url, {
    ...(route.signedIn ? { token: user.accessToken } : {}),
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

const cases = ROUTES.flatMap((route) =>
  route.bad.map(([name, body]) => [route.url, name, route, body] as const),
);

describe('malformed bodies', () => {
  it.each(cases)('%s refuses %s with 400 validation_failed', async (_url, _name, route, body) => {
    expectProblem(await send(route, body), 400, 'validation_failed');
  });

  it.each(ROUTES.map((r) => [r.url, r] as const))(
    '%s answers invalid JSON with 400 malformed_json',
    async (_url, route) => {
      const res = await ctx.request('POST', route.url, {
        ...(route.signedIn ? { token: user.accessToken } : {}),
        body: '{"code": "12',
        headers: { 'content-type': 'application/json' },
      });
      expectProblem(res, 400, 'malformed_json');
    },
  );

  it('refuses an overlong factor id (400 validation_failed)', async () => {
    const res = await ctx.request('DELETE', `/v1/me/mfa/factors/${'m'.repeat(65)}`, {
      token: user.accessToken,
    });
    expectProblem(res, 400, 'validation_failed');
  });

  it('left the factor, the challenge and the recovery codes as they were', async () => {
    const status = await ctx.request('GET', '/v1/me/mfa', { token: user.accessToken });
    expect(status.body.factors).toEqual([
      expect.objectContaining({ type: 'totp', confirmed: true }),
    ]);
    expect(status.body.recovery_codes_remaining).toBe(10);
    const challenge = await ctx.database.db
      .selectFrom('pending_sign_ins')
      .select(['attempts', 'consumed_at'])
      .where('user_id', '=', user.userId)
      .executeTakeFirstOrThrow();
    expect(challenge).toEqual({ attempts: 0, consumed_at: null });
  });
});

describe('random input (property)', () => {
  const is4xxProblem = (res: TestResponse) =>
    res.status >= 400 &&
    res.status < 500 &&
    String(res.headers['content-type']).startsWith('application/problem+json') &&
    typeof res.body?.code === 'string' &&
    !res.text.includes('    at ');

  it.each(ROUTES.map((r) => [r.url, r] as const))(
    '%s answers any JSON value with a 4xx problem',
    async (_url, route) => {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue(), async (value) => {
          const res = await ctx.request('POST', route.url, {
            ...(route.signedIn ? { token: user.accessToken } : {}),
            body: JSON.stringify(value),
            headers: { 'content-type': 'application/json' },
          });
          // A random value may well be a valid body (e.g. {} to a route without one): then
          // the answer is the service's, still never a 5xx.
          expect(res.status, res.text).toBeLessThan(500);
          if (res.status >= 400) expect(is4xxProblem(res), res.text).toBe(true);
        }),
        { numRuns: 30 },
      );
    },
  );

  /** Values near the real shape reach past the schema into the service. */
  const nearValue = fc.oneof(
    fc.jsonValue(),
    fc.string({ maxLength: 40 }),
    fc.stringMatching(/^\d{6}$/),
    fc.stringMatching(/^[0-9a-z]{5}-[0-9a-z]{5}$/),
    fc.stringMatching(/^\+[1-9]\d{7,14}$/),
    // 'real' stands for the live challenge token (swapped in below)
    fc.constantFrom('totp', 'sms', 'recovery_code', 'password', 'real'),
  );

  it.each(ROUTES.map((r) => [r.url, r] as const))(
    '%s never answers 5xx to random values in its fields',
    async (_url, route) => {
      const keys = ['code', 'phone', 'method', 'password', 'mfa_token', 'extra'];
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(fc.constantFrom(...keys), nearValue, { maxKeys: keys.length }),
          async (body) => {
            const res = await ctx.request('POST', route.url, {
              ...(route.signedIn ? { token: user.accessToken } : {}),
              body:
                'mfa_token' in body && body.mfa_token === 'real'
                  ? { ...body, mfa_token: mfaToken }
                  : body,
            });
            expect(res.status, res.text).toBeLessThan(500);
            if (res.status >= 400) expect(is4xxProblem(res), res.text).toBe(true);
          },
        ),
        { numRuns: 40 },
      );
    },
  );
});
