import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTestContext,
  expectProblem,
  STRONG_PASSWORD,
  type TestContext,
  type TestResponse,
} from '../../test/harness';
import { DEVICE_COOKIE, DEVICE_HEADER, issueDeviceToken, readDeviceToken } from './login-throttle';
import { addressKey, LIMITS } from './rate-limits';

/**
 * Targeted lockout (issue 10 #12): guesses at an account lock out the address they come from,
 * not the account. Its owner still signs in from an address without failures, and from a device
 * that signed in before (device token: cookie, or header for token-mode clients) even at the
 * attacker's address; the attacker stays blocked there, with the doubling back-off. In memory
 * and in a real Redis (TEST_REDIS_URL).
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = randomBytes(5).toString('hex');
let serial = 0;
const runNetwork = `fd${run.slice(0, 2)}:${run.slice(2, 6)}:${run.slice(6, 10)}`;
const newAddress = () => `${runNetwork}:${(++serial).toString(16)}::1`;
const runNetworkKey = addressKey(`${runNetwork}::`).split(':').slice(0, 3).join(':');
const newEmail = (what: string) => `${what}-${run}-${++serial}@example.com`;
const WRONG = 'Wrong-passw0rd!';

afterAll(async () => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', 'gh:rl:*', 'COUNT', 1000);
      cursor = next;
      keys.push(...found.filter((k) => k.includes(run) || k.includes(`${runNetworkKey}:`)));
    } while (cursor !== '0');
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
});

describe('device tokens', () => {
  const secret = randomBytes(32).toString('hex');
  it('are read back only with the key and unchanged', () => {
    const token = issueDeviceToken(secret, 'usr_1');
    expect(readDeviceToken(secret, token)).toMatchObject({ userId: 'usr_1' });
    expect(readDeviceToken(randomBytes(32).toString('hex'), token)).toBeNull();
    expect(readDeviceToken(secret, token.replace('usr_1', 'usr_2'))).toBeNull();
    expect(readDeviceToken(secret, `${token.slice(0, -2)}AA`)).toBeNull();
    expect(readDeviceToken(secret, 'v1.usr_1.x')).toBeNull();
    expect(readDeviceToken(secret, undefined)).toBeNull();
  });
});

describe.each([
  ['memory', {}],
  ['redis', { REDIS_URL }],
] as const)('targeted lockout through the app (%s)', (backend, env) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ rateLimitScale: 1, env });
  });
  afterAll(async () => {
    await ctx?.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function signUpFrom(what: string) {
    const email = newEmail(what);
    const remoteAddress = newAddress();
    const registered = await ctx.request('POST', '/v1/auth/register', {
      body: { email, password: STRONG_PASSWORD, first_name: 'Ada', last_name: 'Lovelace' },
      remoteAddress,
    });
    if (registered.status !== 202) throw new Error(`register: ${registered.status}`);
    const verified = await ctx.request('POST', '/v1/auth/verify-email', {
      body: { email, code: await ctx.lastCode(email) },
      remoteAddress,
    });
    if (verified.status !== 200) throw new Error(`verify: ${verified.status}`);
    return { email, password: STRONG_PASSWORD };
  }
  const login = (
    email: string,
    password: string,
    remoteAddress: string,
    device?: { cookie?: string; header?: string },
  ) =>
    ctx.request('POST', '/v1/auth/login', {
      body: { email, password },
      remoteAddress,
      ...(device?.cookie ? { cookies: { [DEVICE_COOKIE]: device.cookie } } : {}),
      ...(device?.header ? { headers: { [DEVICE_HEADER]: device.header } } : {}),
    });
  const deviceCookieOf = (res: TestResponse) =>
    res.cookies.find((c) => c.name === DEVICE_COOKIE)?.value;
  function expectLocked(res: TestResponse) {
    expectProblem(res, 429, 'rate_limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  }
  /** The attacker guesses from `address` until the account-and-address limit refuses. */
  async function hammer(email: string, address: string) {
    for (let i = 0; i < LIMITS.loginPerAccountAndIp.points; i++)
      expectProblem(await login(email, WRONG, address), 401, 'invalid_credentials');
    const locked = await login(email, WRONG, address);
    expectLocked(locked);
    return Number(locked.headers['retry-after']);
  }

  // @see issue 10 #12
  it("locks the attacker's address, not the account: its owner signs in from another address", async () => {
    const victim = await signUpFrom('victim');
    const attacker = newAddress();
    await hammer(victim.email, attacker);
    // even the right password is refused from the attacker's address (no device token)
    expectLocked(await login(victim.email, victim.password, attacker));
    // the owner, from an address with no failures, is let in
    expect((await login(victim.email, victim.password, newAddress())).status).toBe(200);
    // and the attacker is still blocked
    expectLocked(await login(victim.email, WRONG, attacker));
  });

  // @see issue 10 #12
  it("lets the owner in with a device cookie even from the attacker's address", async () => {
    const victim = await signUpFrom('victim');
    const first = await login(victim.email, victim.password, newAddress());
    expect(first.status).toBe(200);
    const cookie = deviceCookieOf(first);
    expect(cookie).toBeDefined();
    const attacker = newAddress();
    await hammer(victim.email, attacker);
    const res = await login(victim.email, victim.password, attacker, { cookie });
    expect(res.status).toBe(200);
    expectLocked(await login(victim.email, WRONG, attacker));
  });

  // @see issue 10 #12
  it('lets a token-mode client in with the device token header', async () => {
    const victim = await signUpFrom('victim');
    const first = await login(victim.email, victim.password, newAddress());
    const header = first.headers[DEVICE_HEADER];
    expect(typeof header).toBe('string');
    const attacker = newAddress();
    await hammer(victim.email, attacker);
    expect(
      (await login(victim.email, victim.password, attacker, { header: String(header) })).status,
    ).toBe(200);
  });

  // @see issue 10 #12
  it("does not trust another account's device token, nor a forged one", async () => {
    const victim = await signUpFrom('victim');
    const attackerAccount = await signUpFrom('attacker');
    const own = await login(attackerAccount.email, attackerAccount.password, newAddress());
    const ownCookie = deviceCookieOf(own)!;
    const attacker = newAddress();
    await hammer(victim.email, attacker);
    expectLocked(await login(victim.email, WRONG, attacker, { cookie: ownCookie }));
    const forged = `v1.${(await ctx.database.db.selectFrom('users').select('id').where('email', '=', victim.email).executeTakeFirstOrThrow()).id}.bm9uY2U.${'A'.repeat(43)}`;
    expectLocked(await login(victim.email, WRONG, attacker, { cookie: forged }));
  });

  // @see issue 10 #12
  it('limits guesses through a device token on their own', async () => {
    const victim = await signUpFrom('victim');
    const cookie = deviceCookieOf(await login(victim.email, victim.password, newAddress()))!;
    const address = newAddress();
    for (let i = 0; i < LIMITS.loginPerDevice.points; i++)
      expectProblem(
        await login(victim.email, WRONG, address, { cookie }),
        401,
        'invalid_credentials',
      );
    expectLocked(await login(victim.email, victim.password, address, { cookie }));
    // the owner's other ways in are untouched
    expect((await login(victim.email, victim.password, newAddress())).status).toBe(200);
  });

  // @see issue 10 #12
  it('still doubles the back-off for the attacker', async () => {
    const victim = await signUpFrom('victim');
    const attacker = newAddress();
    if (backend === 'memory') vi.useFakeTimers({ toFake: ['Date'] });
    const first = await hammer(victim.email, attacker);
    expect(first).toBe(LIMITS.loginPerAccountAndIp.blockSeconds);
    // the block runs out
    if (backend === 'memory') vi.setSystemTime(Date.now() + (first + 1) * 1000);
    else {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      await redis.del(
        `gh:rl:loginPerAccountAndIp:${victim.email.toLowerCase()}|${addressKey(attacker)}`,
      );
      redis.disconnect();
    }
    const second = await hammer(victim.email, attacker);
    expect(second).toBe(2 * first);
  });

  // @see issue 10 #12
  it('holds addresses that failed on the account to its overall limit, and no one else', async () => {
    if (backend === 'redis') return; // the same code path; a hundred sign-ins once is enough
    const victim = await signUpFrom('victim');
    // Many addresses, two guesses each: every guess counts towards the account's limit.
    const addresses: string[] = [];
    let refused: TestResponse | undefined;
    for (let i = 0; i < LIMITS.loginPerAccount.points && !refused; i++) {
      const address = i % 2 === 0 ? newAddress() : addresses.at(-1)!;
      if (i % 2 === 0) addresses.push(address);
      const res = await login(victim.email, WRONG, address);
      if (res.status === 429) refused = res;
      else expectProblem(res, 401, 'invalid_credentials');
    }
    expect(refused).toBeUndefined();
    // over the overall limit now: an address that failed before is refused at once...
    expectLocked(await login(victim.email, WRONG, addresses[0]!));
    // ...but the owner, from a clean address, is not
    expect((await login(victim.email, victim.password, newAddress())).status).toBe(200);
  });
});
