import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
  type TestResponse,
} from '../../test/harness';
import { createOrg } from '../../test/seed';
import { loadConfig } from '../config';
import { AppError } from '../http/errors';
import { uniquePhone } from '../modules/mfa/mfa.test-support';
import { consumeSmsCaps, createRateLimits, type RateLimits } from './rate-limits';

/**
 * SMS pumping (issue 10 #13): besides the 5 per account per quarter hour, hourly caps per phone
 * number, per organization (when the SMS is sent in one's context) and platform-wide, set by
 * SMS_PER_NUMBER_PER_HOUR, SMS_PER_ORGANIZATION_PER_HOUR and SMS_PLATFORM_PER_HOUR; refused
 * with 429 `sms_limit_reached` and Retry-After. In memory and in a real Redis.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = randomBytes(5).toString('hex');
let serial = 0;
/** this run's own Redis keys: another run (or engine) counting the platform key meanwhile cannot interfere */
const keyPrefix = `gh:rl:test-${run}`;

async function refusal(attempt: Promise<unknown>): Promise<AppError> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal, the attempt was let through');
}

const caps = { perNumberPerHour: 3, perOrganizationPerHour: 4, platformPerHour: 6 };

describe.each([
  ['memory', false],
  ['redis', true],
] as const)('consumeSmsCaps (%s)', (_backend, useRedis) => {
  let redis: Redis | undefined;
  let limits: RateLimits;
  beforeAll(() => {
    redis = useRedis ? new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
    limits = createRateLimits({ redis, sms: caps, keyPrefix });
  });
  afterAll(async () => {
    if (redis) {
      const keys = await redis.keys(`${keyPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
  const phone = () => `+4915${run.slice(0, 4).replace(/\D/g, '1')}${++serial}`;

  // @see issue 10 #13
  it('caps one number, whatever the accounts asking', async () => {
    const number = `n-${run}-${++serial}`;
    for (let i = 0; i < caps.perNumberPerHour; i++)
      await limits.consume('smsSendPerNumber', number, 'sms_limit_reached');
    const e = await refusal(limits.consume('smsSendPerNumber', number, 'sms_limit_reached'));
    expect(e).toMatchObject({ status: 429, code: 'sms_limit_reached' });
    expect(Number(e.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(e.headers['retry-after'])).toBeLessThanOrEqual(3600);
    // another number is not affected
    await limits.consume('smsSendPerNumber', `n-${run}-${++serial}`, 'sms_limit_reached');
  });

  // @see issue 10 #13
  it('caps one organization, and counts nothing without one', async () => {
    const org = `org-${run}-${++serial}`;
    for (let i = 0; i < caps.perOrganizationPerHour; i++)
      await limits.consume('smsSendPerOrganization', org, 'sms_limit_reached');
    const e = await refusal(limits.consume('smsSendPerOrganization', org, 'sms_limit_reached'));
    expect(e.code).toBe('sms_limit_reached');
    await limits.consume('smsSendPerOrganization', `org-${run}-${++serial}`, 'sms_limit_reached');
  });

  // @see issue 10 #13
  it('caps the platform: numbers and organizations all count towards it', async () => {
    // A prefix of its own: the platform key (`all`) of the limiters above is shared.
    const fresh = createRateLimits({ redis, sms: caps, keyPrefix: `${keyPrefix}:platform` });
    for (let i = 0; i < caps.platformPerHour; i++)
      await consumeSmsCaps(fresh, phone(), i % 2 ? `org-${run}-${++serial}` : null);
    const e = await refusal(consumeSmsCaps(fresh, phone(), null));
    expect(e).toMatchObject({ status: 429, code: 'sms_limit_reached' });
    expect(Number(e.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('the SMS cap variables', () => {
  // @see issue 10 #13
  it('default to 10 per number, 500 per organization and 5000 platform-wide an hour', () => {
    expect(loadConfig({}).sms).toEqual({
      perNumberPerHour: 10,
      perOrganizationPerHour: 500,
      platformPerHour: 5000,
    });
  });

  it('are read, and refused when not a positive whole number', () => {
    expect(
      loadConfig({
        SMS_PER_NUMBER_PER_HOUR: '2',
        SMS_PER_ORGANIZATION_PER_HOUR: '3',
        SMS_PLATFORM_PER_HOUR: '4',
      }).sms,
    ).toEqual({ perNumberPerHour: 2, perOrganizationPerHour: 3, platformPerHour: 4 });
    for (const name of [
      'SMS_PER_NUMBER_PER_HOUR',
      'SMS_PER_ORGANIZATION_PER_HOUR',
      'SMS_PLATFORM_PER_HOUR',
    ])
      for (const bad of ['0', '-1', '1.5', 'many'])
        expect(() => loadConfig({ [name]: bad })).toThrow(new RegExp(`invalid ${name}`));
  });
});

/** Through the app: SMS enrolments (each sends a code), with the real limits (scale 1). */
describe('SMS caps through the app', () => {
  const enrol = (c: TestContext, user: SignedIn, phone: string) =>
    c.request('POST', '/v1/me/mfa/sms', { token: user.accessToken, body: { phone } });
  function expectCapped(res: TestResponse) {
    expectProblem(res, 429, 'sms_limit_reached');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  }

  // @see issue 10 #13
  it('refuses a number its hourly cap, asked for by many accounts', async () => {
    const c = await createTestContext({ rateLimitScale: 1, env: { SMS_PER_NUMBER_PER_HOUR: '2' } });
    try {
      const phone = uniquePhone();
      for (let i = 0; i < 2; i++)
        expect((await enrol(c, await c.signUp(), phone)).status).toBe(202);
      expectCapped(await enrol(c, await c.signUp(), phone));
      expect((await enrol(c, await c.signUp(), uniquePhone())).status).toBe(202);
    } finally {
      await c.close();
    }
  });

  // @see issue 10 #13
  it("refuses an organization's sessions their hourly cap; other sessions are not counted", async () => {
    const c = await createTestContext({
      rateLimitScale: 1,
      env: { SMS_PER_ORGANIZATION_PER_HOUR: '2' },
    });
    try {
      const owner = await c.signUp();
      const org = await createOrg(c, owner, 'media');
      const switched = await c.request('POST', `/v1/organizations/${org.id}/switch`, {
        token: owner.accessToken,
      });
      expect(switched.status).toBe(200);
      const inOrg = { ...owner, accessToken: switched.body.access_token as string };
      for (let i = 0; i < 2; i++) expect((await enrol(c, inOrg, uniquePhone())).status).toBe(202);
      expectCapped(await enrol(c, inOrg, uniquePhone()));
      // outside an organization's context nothing is counted against it
      expect((await enrol(c, await c.signUp(), uniquePhone())).status).toBe(202);
    } finally {
      await c.close();
    }
  });

  // @see issue 10 #13
  it('refuses everyone once the platform-wide hourly cap is reached', async () => {
    const c = await createTestContext({ rateLimitScale: 1, env: { SMS_PLATFORM_PER_HOUR: '3' } });
    try {
      for (let i = 0; i < 3; i++)
        expect((await enrol(c, await c.signUp(), uniquePhone())).status).toBe(202);
      expectCapped(await enrol(c, await c.signUp(), uniquePhone()));
    } finally {
      await c.close();
    }
  });
});
