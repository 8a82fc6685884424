import { isIP } from 'node:net';
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { AppError } from '../http/errors';

/**
 * Limits on credential endpoints, per client address and per account (SPEC §4). In memory on a
 * single node; in Redis when REDIS_URL is set, so that every node counts the same attempts.
 * `blockSeconds` is the back-off once a limit is hit: the key is refused for that long even if
 * the window has rolled over — and it doubles each time the same key hits the limit again
 * within a day of its previous block (exponential back-off, capped at a day).
 */
export const LIMITS = {
  loginPerIp: { points: 30, duration: 60, blockSeconds: 60 },
  /**
   * Password sign-in (issue 10 #12, security/login-throttle.ts): the lockout counts per account
   * and client address, so it holds the address that guesses, not the account's owner; the
   * overall per-account limit is far higher and refuses only addresses that failed on the
   * account; a known device (device token) counts on its own.
   */
  loginPerAccountAndIp: { points: 10, duration: 15 * 60, blockSeconds: 15 * 60 },
  loginPerAccount: { points: 100, duration: 15 * 60, blockSeconds: 15 * 60 },
  loginPerDevice: { points: 10, duration: 15 * 60, blockSeconds: 15 * 60 },
  registerPerIp: { points: 10, duration: 60, blockSeconds: 60 },
  otpVerifyPerIp: { points: 30, duration: 60, blockSeconds: 60 },
  otpVerifyPerAccount: { points: 10, duration: 10 * 60, blockSeconds: 10 * 60 },
  /** one code per email address a minute, whether or not the address is registered */
  otpSendPerEmail: { points: 1, duration: 60, blockSeconds: 0 },
  otpSendPerIp: { points: 20, duration: 60 * 60, blockSeconds: 0 },
  passwordChangePerUser: { points: 10, duration: 15 * 60, blockSeconds: 15 * 60 },
  accountExistsPerIp: { points: 10, duration: 60, blockSeconds: 5 * 60 },
  accountExistsPerEmail: { points: 5, duration: 60, blockSeconds: 5 * 60 },
  refreshPerIp: { points: 120, duration: 60, blockSeconds: 60 },
  refreshPerAccount: { points: 60, duration: 60, blockSeconds: 60 },
  /** second-factor codes: sign-in challenges, step-up and enrolment confirmations */
  mfaVerifyPerIp: { points: 30, duration: 60, blockSeconds: 60 },
  mfaVerifyPerAccount: { points: 10, duration: 10 * 60, blockSeconds: 10 * 60 },
  /** SMS cost money: a few per user per quarter hour */
  smsSendPerAccount: { points: 5, duration: 15 * 60, blockSeconds: 0 },
  /**
   * SMS pumping (issue 10 #13): hourly caps per phone number, per organization whose context
   * the SMS is sent in, and platform-wide (key `all`); SMS_* variables override the points.
   */
  smsSendPerNumber: { points: 10, duration: 3600, blockSeconds: 0 },
  smsSendPerOrganization: { points: 500, duration: 3600, blockSeconds: 0 },
  smsSendPlatform: { points: 5000, duration: 3600, blockSeconds: 0 },
  oauthPerIp: { points: 60, duration: 60, blockSeconds: 60 },
  /**
   * Answers to a pending provider link (POST /v1/auth/oauth/link/confirm: the existing account's
   * password or mailed code), per account: counted apart from password sign-in, so that nobody
   * with a provider claiming an address can lock its owner's password sign-in this way.
   */
  oauthLinkPerAccount: { points: 10, duration: 15 * 60, blockSeconds: 15 * 60 },
} as const;
export type LimitName = keyof typeof LIMITS;

/**
 * Back-off doubles per repeated block of the same key within this window after the previous
 * block ended, up to the window's length (a key that keeps hitting the limit stays at a day).
 */
const STRIKE_WINDOW_SECONDS = 24 * 3600;

/**
 * The key a client address is counted under. An IPv6 client is handed at least a /64 and picks
 * the rest of its address freely (privacy addresses rotate by design): counting full addresses
 * would give one attacker 2^64 fresh allowances, so IPv6 is counted per /64. An IPv4-mapped
 * IPv6 address (`::ffff:192.0.2.1`, a dual-stack socket) counts as the IPv4 address it maps.
 */
export function addressKey(address: string): string {
  const ip = address.toLowerCase().replace(/%.*$/, '');
  if (isIP(ip) !== 6) return ip;
  // A trailing dotted IPv4 part stands for the last two groups.
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(ip)?.[1];
  const hex = v4 ? `${ip.slice(0, -v4.length)}0:0` : ip;
  const [head = '', tail] = hex.split('::');
  const parts = (p: string | undefined) => (p ? p.split(':') : []);
  const left = parts(head);
  const right = parts(tail);
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right].map(
    (g: string) => Number.parseInt(g, 16),
  );
  if (v4 && groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return v4;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** Limits counted per client address (the rest count per account, email or user). */
const isPerAddress = (name: LimitName) => name.endsWith('PerIp');

export interface RateLimits {
  /** Counts one attempt; throws `rate_limited` (or `code`) with Retry-After when over the limit. */
  consume(
    name: LimitName,
    key: string,
    code?: 'rate_limited' | 'resend_cooldown' | 'sms_limit_reached',
  ): Promise<void>;
  /** Like consume, and answers how many attempts the key has made in its window, this one included. */
  attempt(name: LimitName, key: string): Promise<number>;
  /** Counts one attempt and never refuses it (it counts towards a limit others are held to). */
  note(name: LimitName, key: string): Promise<void>;
  /** Forgets the attempts of a key (after a successful sign-in, the account's failures reset). */
  reset(name: LimitName, key: string): Promise<void>;
}

export interface SmsCaps {
  perNumberPerHour: number;
  perOrganizationPerHour: number;
  platformPerHour: number;
}

export function createRateLimits(
  options: {
    redis?: Redis;
    scale?: number;
    sms?: SmsCaps;
    /** where the counts live in Redis (tests give each run its own) */
    keyPrefix?: string;
  } = {},
): RateLimits {
  const scale = options.scale ?? 1;
  const prefix = options.keyPrefix ?? 'gh:rl';
  const points: Partial<Record<LimitName, number>> = options.sms
    ? {
        smsSendPerNumber: options.sms.perNumberPerHour,
        smsSendPerOrganization: options.sms.perOrganizationPerHour,
        smsSendPlatform: options.sms.platformPerHour,
      }
    : {};
  const make = (opts: {
    keyPrefix: string;
    points: number;
    duration: number;
    blockDuration: number;
  }): RateLimiterAbstract =>
    options.redis
      ? new RateLimiterRedis({
          ...opts,
          storeClient: options.redis,
          insuranceLimiter: new RateLimiterMemory(opts),
        })
      : new RateLimiterMemory(opts);
  const limiters = new Map<LimitName, RateLimiterAbstract>();
  for (const [name, limit] of Object.entries(LIMITS) as [LimitName, (typeof LIMITS)[LimitName]][]) {
    limiters.set(
      name,
      make({
        keyPrefix: `${prefix}:${name}`,
        points: (points[name] ?? limit.points) * scale,
        duration: limit.duration,
        blockDuration: limit.blockSeconds,
      }),
    );
  }
  // How often each key was blocked lately: the exponent of its next back-off.
  const strikes = make({
    keyPrefix: `${prefix}:strikes`,
    points: 1_000_000,
    duration: STRIKE_WINDOW_SECONDS,
    blockDuration: 0,
  });

  /**
   * The first refusal of a burst (consumedPoints just past the limit) is when a block starts:
   * count a strike and, from the second strike on, lengthen the block to base × 2^(strikes-1).
   */
  async function backOff(name: LimitName, key: string, res: RateLimiterRes) {
    const limit = LIMITS[name];
    const limiter = limiters.get(name)!;
    if (limit.blockSeconds === 0 || res.consumedPoints !== limiter.points + 1) return res;
    const strikeKey = `${name}:${key}`;
    const strike = await strikes.consume(strikeKey);
    const seconds = Math.min(
      STRIKE_WINDOW_SECONDS,
      limit.blockSeconds * 2 ** Math.min(20, strike.consumedPoints - 1),
    );
    // The strikes are kept for a day after this block ends, not a day after the first block:
    // otherwise the count ran out while the long blocks ran (seven blocks of 15 min doubling
    // add up to 31 h), the cap was never reached, and a key that never stopped started over.
    await strikes.set(strikeKey, strike.consumedPoints, seconds + STRIKE_WINDOW_SECONDS);
    if (seconds <= limit.blockSeconds) return res;
    await limiter.block(key, seconds);
    return new RateLimiterRes(0, seconds * 1000, res.consumedPoints, false);
  }

  const normalize = (name: LimitName, key: string) =>
    isPerAddress(name) ? addressKey(key) : key.toLowerCase();

  async function consume(
    name: LimitName,
    key: string,
    code: 'rate_limited' | 'resend_cooldown' | 'sms_limit_reached' = 'rate_limited',
  ): Promise<number> {
    const normalized = normalize(name, key);
    try {
      return (await limiters.get(name)!.consume(normalized)).consumedPoints;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const res = await backOff(name, normalized, rejection);
      const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
      throw new AppError(
        code,
        `Try again in ${retryAfter} seconds`,
        { retry_after: retryAfter },
        { 'retry-after': String(retryAfter) },
      );
    }
  }

  return {
    async consume(name, key, code = 'rate_limited') {
      await consume(name, key, code);
    },
    attempt: (name, key) => consume(name, key),
    async note(name, key) {
      try {
        await limiters.get(name)!.consume(normalize(name, key));
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
      }
    },
    async reset(name, key) {
      await limiters.get(name)!.delete(normalize(name, key));
    },
  };
}

/**
 * The caps an SMS send counts against, after the sender's own per-account limit (issue 10 #13,
 * SMS pumping): the number's, the organization's when the SMS is sent in one's context (a
 * session's current organization; a sign-in challenge has none), and the platform's. Refused
 * with 429 `sms_limit_reached` and Retry-After.
 */
export async function consumeSmsCaps(
  limits: RateLimits,
  phone: string,
  organizationId: string | null,
): Promise<void> {
  await limits.consume('smsSendPerNumber', phone, 'sms_limit_reached');
  if (organizationId)
    await limits.consume('smsSendPerOrganization', organizationId, 'sms_limit_reached');
  await limits.consume('smsSendPlatform', 'all', 'sms_limit_reached');
}
