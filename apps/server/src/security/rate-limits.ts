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
 * within a day (exponential back-off, capped at a day).
 */
export const LIMITS = {
  loginPerIp: { points: 30, duration: 60, blockSeconds: 60 },
  loginPerAccount: { points: 10, duration: 15 * 60, blockSeconds: 15 * 60 },
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
  oauthPerIp: { points: 60, duration: 60, blockSeconds: 60 },
} as const;
export type LimitName = keyof typeof LIMITS;

/** Back-off doubles per repeated block of the same key within this window, up to its length. */
const STRIKE_WINDOW_SECONDS = 24 * 3600;

export interface RateLimits {
  /** Counts one attempt; throws `rate_limited` (or `code`) with Retry-After when over the limit. */
  consume(name: LimitName, key: string, code?: 'rate_limited' | 'resend_cooldown'): Promise<void>;
  /** Forgets the attempts of a key (after a successful sign-in, the account's failures reset). */
  reset(name: LimitName, key: string): Promise<void>;
}

export function createRateLimits(options: { redis?: Redis; scale?: number } = {}): RateLimits {
  const scale = options.scale ?? 1;
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
        keyPrefix: `gh:rl:${name}`,
        points: limit.points * scale,
        duration: limit.duration,
        blockDuration: limit.blockSeconds,
      }),
    );
  }
  // How often each key was blocked lately: the exponent of its next back-off.
  const strikes = make({
    keyPrefix: 'gh:rl:strikes',
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
    const strike = await strikes.consume(`${name}:${key}`);
    const seconds = Math.min(
      STRIKE_WINDOW_SECONDS,
      limit.blockSeconds * 2 ** Math.min(20, strike.consumedPoints - 1),
    );
    if (seconds <= limit.blockSeconds) return res;
    await limiter.block(key, seconds);
    return new RateLimiterRes(0, seconds * 1000, res.consumedPoints, false);
  }

  return {
    async consume(name, key, code = 'rate_limited') {
      const normalized = key.toLowerCase();
      try {
        await limiters.get(name)!.consume(normalized);
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
    },
    async reset(name, key) {
      await limiters.get(name)!.delete(key.toLowerCase());
    },
  };
}
