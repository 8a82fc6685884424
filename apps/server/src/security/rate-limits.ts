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
 * the window has rolled over.
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
  refreshPerIp: { points: 120, duration: 60, blockSeconds: 60 },
} as const;
export type LimitName = keyof typeof LIMITS;

export interface RateLimits {
  /** Counts one attempt; throws `rate_limited` (or `code`) with Retry-After when over the limit. */
  consume(name: LimitName, key: string, code?: 'rate_limited' | 'resend_cooldown'): Promise<void>;
  /** Forgets the attempts of a key (after a successful sign-in, the account's failures reset). */
  reset(name: LimitName, key: string): Promise<void>;
}

export function createRateLimits(options: { redis?: Redis; scale?: number } = {}): RateLimits {
  const scale = options.scale ?? 1;
  const limiters = new Map<LimitName, RateLimiterAbstract>();
  for (const [name, limit] of Object.entries(LIMITS) as [LimitName, (typeof LIMITS)[LimitName]][]) {
    const opts = {
      keyPrefix: `gh:rl:${name}`,
      points: limit.points * scale,
      duration: limit.duration,
      blockDuration: limit.blockSeconds,
    };
    limiters.set(
      name,
      options.redis
        ? new RateLimiterRedis({
            ...opts,
            storeClient: options.redis,
            insuranceLimiter: new RateLimiterMemory(opts),
          })
        : new RateLimiterMemory(opts),
    );
  }
  return {
    async consume(name, key, code = 'rate_limited') {
      try {
        await limiters.get(name)!.consume(key.toLowerCase());
      } catch (res) {
        if (res instanceof RateLimiterRes) {
          const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
          throw new AppError(
            code,
            `Try again in ${retryAfter} seconds`,
            { retry_after: retryAfter },
            { 'retry-after': String(retryAfter) },
          );
        }
        throw res;
      }
    },
    async reset(name, key) {
      await limiters.get(name)!.delete(key.toLowerCase());
    },
  };
}
