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
import { AppError } from '../http/errors';
import {
  addressKey,
  createRateLimits,
  LIMITS,
  type LimitName,
  type RateLimits,
} from './rate-limits';

/**
 * Brute-force defences (SPEC §4): limits per account and per client address, exponential
 * back-off per key, 429 `rate_limited` with Retry-After. Unit-level on createRateLimits, in
 * memory and in a real Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379), then through the
 * app: password spraying from one address, one account from many addresses, and which client
 * address counts behind a proxy (TRUST_PROXY).
 *
 * Redis keeps its counts between runs (blocks up to a day): every key here carries this run's
 * random token, and the run's keys are deleted at the end.
 */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = randomBytes(5).toString('hex');
let serial = 0;
const runNetwork = `fd${run.slice(0, 2)}:${run.slice(2, 6)}:${run.slice(6, 10)}`;
/** A client address no other test (or run) uses: its own IPv6 /64 in a unique-local range. */
const newAddress = () => `${runNetwork}:${(++serial).toString(16)}::1`;
/** How this run's addresses read in the limits' keys (groups without leading zeros). */
const runNetworkKey = addressKey(`${runNetwork}::`).split(':').slice(0, 3).join(':');
const newKey = (what = 'key') => `${what}-${run}-${++serial}@example.com`;

// Every Redis key of this run (the limits' own and the strikes), from the unit tests and the app.
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

/** The refusal a promise ends in (an AppError), or a failure if it was let through. */
async function refusal(attempt: Promise<void>): Promise<AppError> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal, the attempt was let through');
}
const retryAfterOf = (e: AppError) => Number(e.headers['retry-after']);

/** Uses up a key's allowance: every attempt up to the limit passes. */
async function exhaust(limits: RateLimits, name: LimitName, key: string, scale = 1) {
  for (let i = 0; i < LIMITS[name].points * scale; i++) await limits.consume(name, key);
}

describe('createRateLimits in memory', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(Object.keys(LIMITS) as LimitName[])(
    '%s lets its allowance through and refuses the next attempt with Retry-After',
    async (name) => {
      const limits = createRateLimits();
      const key = name.endsWith('PerIp') ? newAddress() : newKey();
      await exhaust(limits, name, key);
      const e = await refusal(limits.consume(name, key));
      expect(e.status).toBe(429);
      expect(e.code).toBe('rate_limited');
      const { blockSeconds, duration } = LIMITS[name];
      // A limit with a block refuses for the block; one without until its window rolls over.
      if (blockSeconds > 0) expect(retryAfterOf(e)).toBe(blockSeconds);
      else expect(retryAfterOf(e)).toBeLessThanOrEqual(duration);
      expect(e.extensions.retry_after).toBe(retryAfterOf(e));
    },
  );

  it('answers with the code it is given (resend_cooldown)', async () => {
    const limits = createRateLimits();
    const email = newKey('resend');
    await limits.consume('otpSendPerEmail', email, 'resend_cooldown');
    const e = await refusal(limits.consume('otpSendPerEmail', email, 'resend_cooldown'));
    expect(e.code).toBe('resend_cooldown');
    expect(e.status).toBe(429);
  });

  it('counts keys apart, and limits apart', async () => {
    const limits = createRateLimits();
    const address = newAddress();
    await exhaust(limits, 'loginPerIp', address);
    await refusal(limits.consume('loginPerIp', address));
    await expect(limits.consume('loginPerIp', newAddress())).resolves.toBeUndefined();
    await expect(limits.consume('otpVerifyPerIp', address)).resolves.toBeUndefined();
  });

  it('counts an email address whatever its case', async () => {
    const limits = createRateLimits();
    const email = newKey('Case');
    await exhaust(limits, 'loginPerAccount', email.toUpperCase());
    await refusal(limits.consume('loginPerAccount', email.toLowerCase()));
  });

  it('counts one IPv6 /64 as one client: rotating the interface id gains nothing', async () => {
    const limits = createRateLimits();
    const prefix = newAddress().replace(/::1$/, '');
    for (let i = 0; i < LIMITS.loginPerIp.points; i++)
      await limits.consume('loginPerIp', `${prefix}:${(i + 1).toString(16)}:0:0:1`);
    await refusal(limits.consume('loginPerIp', `${prefix}:ffff:ffff:ffff:ffff`));
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address', async () => {
    const limits = createRateLimits();
    await exhaust(limits, 'loginPerIp', '198.51.100.23');
    await refusal(limits.consume('loginPerIp', '::ffff:198.51.100.23'));
  });

  it('keeps refusing for the whole block, without lengthening it', async () => {
    const limits = createRateLimits();
    const key = newAddress();
    await exhaust(limits, 'loginPerIp', key);
    const first = retryAfterOf(await refusal(limits.consume('loginPerIp', key)));
    for (let i = 0; i < 5; i++)
      expect(retryAfterOf(await refusal(limits.consume('loginPerIp', key)))).toBeLessThanOrEqual(
        first,
      );
  });

  it('doubles the block each time the same key is blocked again within a day', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const limits = createRateLimits();
    const key = newAddress();
    const blocks: number[] = [];
    for (let round = 0; round < 4; round++) {
      await exhaust(limits, 'loginPerIp', key);
      const seconds = retryAfterOf(await refusal(limits.consume('loginPerIp', key)));
      blocks.push(seconds);
      vi.setSystemTime(Date.now() + (seconds + 1) * 1000); // the block runs out
    }
    expect(blocks).toEqual([60, 120, 240, 480]);
  });

  it('lets the key through again once a longer block has run out', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const limits = createRateLimits();
    const key = newAddress();
    await exhaust(limits, 'loginPerIp', key);
    await refusal(limits.consume('loginPerIp', key));
    vi.setSystemTime(Date.now() + 61_000);
    await exhaust(limits, 'loginPerIp', key);
    expect(retryAfterOf(await refusal(limits.consume('loginPerIp', key)))).toBe(120);
    vi.setSystemTime(Date.now() + 61_000);
    await refusal(limits.consume('loginPerIp', key)); // still inside the doubled block
    vi.setSystemTime(Date.now() + 60_000);
    await expect(limits.consume('loginPerIp', key)).resolves.toBeUndefined();
  });

  it('caps the back-off at a day, and keeps a key that never stops there', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const limits = createRateLimits();
    const email = newKey('capped');
    const blocks: number[] = [];
    // 15 minutes doubled: 30, 60 minutes, ... the eighth block would be 32 hours
    for (let round = 0; round < 10; round++) {
      await exhaust(limits, 'loginPerAccount', email);
      const seconds = retryAfterOf(await refusal(limits.consume('loginPerAccount', email)));
      blocks.push(seconds / 60);
      vi.setSystemTime(Date.now() + (seconds + 1) * 1000);
    }
    expect(blocks).toEqual([15, 30, 60, 120, 240, 480, 960, 1440, 1440, 1440]);
  });

  it('still doubles when the key comes back within a day of its last block', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const limits = createRateLimits();
    const key = newAddress();
    await exhaust(limits, 'loginPerIp', key);
    await refusal(limits.consume('loginPerIp', key));
    vi.setSystemTime(Date.now() + (60 + 23 * 3600) * 1000);
    await exhaust(limits, 'loginPerIp', key);
    expect(retryAfterOf(await refusal(limits.consume('loginPerIp', key)))).toBe(120);
  });

  it('starts over at the base block once a key was quiet for a day after its block', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const limits = createRateLimits();
    const key = newAddress();
    await exhaust(limits, 'loginPerIp', key);
    expect(retryAfterOf(await refusal(limits.consume('loginPerIp', key)))).toBe(60);
    vi.setSystemTime(Date.now() + (60 + 24 * 3600 + 1) * 1000);
    await exhaust(limits, 'loginPerIp', key);
    expect(retryAfterOf(await refusal(limits.consume('loginPerIp', key)))).toBe(60);
  });

  it('does not back off limits without a block (a cooldown stays a cooldown)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const limits = createRateLimits();
    const email = newKey('cooldown');
    for (let round = 0; round < 3; round++) {
      await limits.consume('otpSendPerEmail', email);
      expect(retryAfterOf(await refusal(limits.consume('otpSendPerEmail', email)))).toBe(60);
      vi.setSystemTime(Date.now() + 61_000);
    }
  });

  it('forgets the attempts of a key on reset: its whole allowance is back', async () => {
    const limits = createRateLimits();
    const email = newKey('reset');
    await exhaust(limits, 'loginPerAccount', email);
    await refusal(limits.consume('loginPerAccount', email));
    await limits.reset('loginPerAccount', email.toUpperCase());
    await exhaust(limits, 'loginPerAccount', email);
    await refusal(limits.consume('loginPerAccount', email));
  });

  it('multiplies every allowance by the scale', async () => {
    const limits = createRateLimits({ scale: 3 });
    const key = newAddress();
    await exhaust(limits, 'loginPerIp', key, 3);
    await refusal(limits.consume('loginPerIp', key));
  });
});

describe('createRateLimits in Redis', () => {
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    clients.push(client);
    return client;
  };
  let admin: Redis;
  beforeAll(() => {
    admin = connect();
  });
  afterAll(() => {
    for (const c of clients) c.disconnect();
  });

  /** What the block's expiry does in Redis (TTLs run on the server's clock, not the test's). */
  const expire = (name: LimitName, key: string) =>
    admin.del(`gh:rl:${name}:${name.endsWith('PerIp') ? addressKey(key) : key.toLowerCase()}`);

  it('refuses the attempt after the allowance with 429 and Retry-After', async () => {
    const limits = createRateLimits({ redis: connect() });
    const key = newAddress();
    await exhaust(limits, 'loginPerIp', key);
    const e = await refusal(limits.consume('loginPerIp', key));
    expect(e.code).toBe('rate_limited');
    expect(retryAfterOf(e)).toBe(60);
  });

  it('blocks the key in Redis for as long as it says', async () => {
    const limits = createRateLimits({ redis: connect() });
    const key = newAddress();
    await exhaust(limits, 'loginPerIp', key);
    await refusal(limits.consume('loginPerIp', key));
    const ttl = await admin.pttl(`gh:rl:loginPerIp:${addressKey(key)}`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('makes the second block twice the first, and the third twice that', async () => {
    const limits = createRateLimits({ redis: connect() });
    const key = newAddress();
    const blocks: number[] = [];
    for (let round = 0; round < 3; round++) {
      await exhaust(limits, 'loginPerIp', key);
      blocks.push(retryAfterOf(await refusal(limits.consume('loginPerIp', key))));
      await expire('loginPerIp', key);
    }
    expect(blocks).toEqual([60, 120, 240]);
  });

  it('remembers the strikes for a day after the block ends', async () => {
    const limits = createRateLimits({ redis: connect() });
    const key = newAddress();
    for (let round = 0; round < 2; round++) {
      await exhaust(limits, 'loginPerIp', key);
      await refusal(limits.consume('loginPerIp', key));
      await expire('loginPerIp', key);
    }
    const ttl = await admin.pttl(`gh:rl:strikes:loginPerIp:${addressKey(key)}`);
    expect(ttl).toBeGreaterThan((86_400 + 120 - 10) * 1000);
    expect(ttl).toBeLessThanOrEqual((86_400 + 120) * 1000);
  });

  it('keeps Retry-After of the longer block on the attempts during it', async () => {
    const limits = createRateLimits({ redis: connect() });
    const email = newKey('during');
    await exhaust(limits, 'loginPerAccount', email);
    await refusal(limits.consume('loginPerAccount', email));
    await expire('loginPerAccount', email);
    await exhaust(limits, 'loginPerAccount', email);
    expect(retryAfterOf(await refusal(limits.consume('loginPerAccount', email)))).toBe(1800);
    const again = retryAfterOf(await refusal(limits.consume('loginPerAccount', email)));
    expect(again).toBeGreaterThan(900);
    expect(again).toBeLessThanOrEqual(1800);
  });

  it('forgets the attempts of a key on reset', async () => {
    const limits = createRateLimits({ redis: connect() });
    const email = newKey('reset');
    await exhaust(limits, 'loginPerAccount', email);
    await refusal(limits.consume('loginPerAccount', email));
    await limits.reset('loginPerAccount', email);
    await expect(limits.consume('loginPerAccount', email)).resolves.toBeUndefined();
  });

  it('counts the attempts of every node together', async () => {
    const a = createRateLimits({ redis: connect() });
    const b = createRateLimits({ redis: connect() });
    const key = newAddress();
    for (let i = 0; i < LIMITS.loginPerIp.points; i++)
      await (i % 2 === 0 ? a : b).consume('loginPerIp', key);
    await refusal(a.consume('loginPerIp', key));
    await refusal(b.consume('loginPerIp', key));
  });

  it('shares the back-off between nodes: a block on one lengthens the next on another', async () => {
    const a = createRateLimits({ redis: connect() });
    const b = createRateLimits({ redis: connect() });
    const email = newKey('nodes');
    await exhaust(a, 'otpVerifyPerAccount', email);
    expect(retryAfterOf(await refusal(a.consume('otpVerifyPerAccount', email)))).toBe(600);
    await expire('otpVerifyPerAccount', email);
    await exhaust(b, 'otpVerifyPerAccount', email);
    expect(retryAfterOf(await refusal(b.consume('otpVerifyPerAccount', email)))).toBe(1200);
  });
});

// ---------------------------------------------------------------------------------------------
// Through the app, with the real limits (rateLimitScale 1), in memory and in Redis.

const PASSWORD = 'Wrong-passw0rd!';

/**
 * Registers and verifies a user from an address of its own, so that setting up a test never
 * meets the per-address limits (nor, in Redis, another run's counts for 127.0.0.1).
 */
async function signUpFrom(c: TestContext, what: string) {
  const email = newKey(what);
  const remoteAddress = newAddress();
  const registered = await c.request('POST', '/v1/auth/register', {
    body: { email, password: STRONG_PASSWORD, first_name: 'Ada', last_name: 'Lovelace' },
    remoteAddress,
  });
  if (registered.status !== 202) throw new Error(`register: ${registered.status}`);
  const verified = await c.request('POST', '/v1/auth/verify-email', {
    body: { email, code: await c.lastCode(email) },
    remoteAddress,
  });
  if (verified.status !== 200) throw new Error(`verify: ${verified.status}`);
  return { email, password: STRONG_PASSWORD };
}

describe.each([
  ['memory', {}],
  ['redis', { REDIS_URL }],
] as const)('sign-in limits through the app (%s)', (_backend, env) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ rateLimitScale: 1, env });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const login = (email: string, password: string, remoteAddress: string) =>
    ctx.request('POST', '/v1/auth/login', { body: { email, password }, remoteAddress });

  function expectRateLimited(res: TestResponse) {
    expectProblem(res, 429, 'rate_limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  }

  it('stops password spraying: one address trying one password on many accounts', async () => {
    const address = newAddress();
    const victims = await Promise.all([1, 2, 3].map(() => signUpFrom(ctx, 'victim')));
    // 30 guesses a minute, each at another account: no account limit is ever reached
    for (let i = 0; i < LIMITS.loginPerIp.points; i++) {
      const email = i < victims.length ? victims[i]!.email : newKey('sprayed');
      expectProblem(await login(email, PASSWORD, address), 401, 'invalid_credentials');
    }
    expectRateLimited(await login(newKey('sprayed'), PASSWORD, address));
    // even the right password of an account not tried yet is refused from there
    const untouched = await signUpFrom(ctx, 'untouched');
    expectRateLimited(await login(untouched.email, untouched.password, address));
    // while everybody else signs in
    expect((await login(untouched.email, untouched.password, newAddress())).status).toBe(200);
  });

  // @see issue 10 #12: the lockout holds the guessing address, not the account (login-throttle.test.ts)
  it('stops guessing one account from one address, and lets its owner in from another', async () => {
    const victim = await signUpFrom(ctx, 'target');
    const address = newAddress();
    for (let i = 0; i < LIMITS.loginPerAccountAndIp.points; i++)
      expectProblem(await login(victim.email, PASSWORD, address), 401, 'invalid_credentials');
    const res = await login(victim.email, victim.password, address);
    expectRateLimited(res);
    expect(Number(res.headers['retry-after'])).toBe(LIMITS.loginPerAccountAndIp.blockSeconds);
    expect((await login(victim.email, victim.password, newAddress())).status).toBe(200);
  });
});

describe('the client address behind a proxy (TRUST_PROXY)', () => {
  async function withProxy(trustProxy?: string) {
    return createTestContext({
      rateLimitScale: 1,
      env: trustProxy ? { TRUST_PROXY: trustProxy } : {},
    });
  }
  const signIn = (c: TestContext, headers: Record<string, string>, remoteAddress: string) =>
    c.request('POST', '/v1/auth/login', {
      body: { email: newKey('xff'), password: PASSWORD },
      headers,
      remoteAddress,
    });
  /** The address a new session records (GET /v1/auth/sessions shows it). */
  async function recordedAddress(
    c: TestContext,
    headers: Record<string, string>,
    remoteAddress: string,
  ) {
    const user = await signUpFrom(c, 'seen');
    const res = await c.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
      headers,
      remoteAddress,
    });
    expect(res.status).toBe(200);
    const list = await c.request('GET', '/v1/auth/sessions', { token: res.body.access_token });
    return list.body.data.find((s: { id: string }) => s.id === res.body.session_id).ip as string;
  }

  describe('with no proxy trusted', () => {
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await withProxy();
    });
    afterAll(async () => {
      await ctx?.close();
    });

    it('records the peer, not X-Forwarded-For', async () => {
      expect(await recordedAddress(ctx, { 'x-forwarded-for': '198.51.100.1' }, '203.0.113.9')).toBe(
        '203.0.113.9',
      );
    });

    it('keeps counting the peer while X-Forwarded-For rotates', async () => {
      const peer = '203.0.113.10';
      for (let i = 0; i < LIMITS.loginPerIp.points; i++) {
        const res = await signIn(ctx, { 'x-forwarded-for': `198.51.100.${i + 1}` }, peer);
        expectProblem(res, 401, 'invalid_credentials');
      }
      expectProblem(
        await signIn(ctx, { 'x-forwarded-for': '198.51.100.200' }, peer),
        429,
        'rate_limited',
      );
    });
  });

  describe('with a trusted proxy address', () => {
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await withProxy('127.0.0.1');
    });
    afterAll(async () => {
      await ctx?.close();
    });

    it('records the forwarded client address', async () => {
      expect(await recordedAddress(ctx, { 'x-forwarded-for': '198.51.100.7' }, '127.0.0.1')).toBe(
        '198.51.100.7',
      );
    });

    it('counts each forwarded client apart', async () => {
      const client = '198.51.100.8';
      for (let i = 0; i < LIMITS.loginPerIp.points; i++)
        await signIn(ctx, { 'x-forwarded-for': client }, '127.0.0.1');
      expectProblem(
        await signIn(ctx, { 'x-forwarded-for': client }, '127.0.0.1'),
        429,
        'rate_limited',
      );
      const other = await signIn(ctx, { 'x-forwarded-for': '198.51.100.9' }, '127.0.0.1');
      expectProblem(other, 401, 'invalid_credentials');
    });

    it('takes the address the proxy saw, not what the client prepended', async () => {
      // The proxy appends the peer it saw; anything left of it came from the client.
      const client = '198.51.100.10';
      for (let i = 0; i < LIMITS.loginPerIp.points; i++)
        await signIn(ctx, { 'x-forwarded-for': `192.0.2.${i + 1}, ${client}` }, '127.0.0.1');
      expectProblem(
        await signIn(ctx, { 'x-forwarded-for': `192.0.2.99, ${client}` }, '127.0.0.1'),
        429,
        'rate_limited',
      );
    });

    it('ignores X-Forwarded-For from a peer that is not the proxy', async () => {
      expect(
        await recordedAddress(ctx, { 'x-forwarded-for': '198.51.100.11' }, '203.0.113.11'),
      ).toBe('203.0.113.11');
    });
  });

  describe('with a trusted proxy range (CIDR)', () => {
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await withProxy('10.0.0.0/8');
    });
    afterAll(async () => {
      await ctx?.close();
    });

    it('honours X-Forwarded-For from any address in the range', async () => {
      expect(await recordedAddress(ctx, { 'x-forwarded-for': '198.51.100.12' }, '10.1.2.3')).toBe(
        '198.51.100.12',
      );
      expect(await recordedAddress(ctx, { 'x-forwarded-for': '198.51.100.13' }, '10.200.0.1')).toBe(
        '198.51.100.13',
      );
    });

    it('ignores it from outside the range', async () => {
      expect(await recordedAddress(ctx, { 'x-forwarded-for': '198.51.100.14' }, '11.0.0.1')).toBe(
        '11.0.0.1',
      );
    });
  });
});
