import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { addressKey, type RateLimits } from './rate-limits';

/**
 * Password sign-in throttling that stops attackers without locking out their victims (issue 10
 * #12, OWASP "device cookies"). Before, ten wrong passwords from anywhere blocked the account's
 * password sign-in for everyone, doubling up to a day: anyone who knew an email address could
 * keep its owner out.
 *
 * - A device that signed in to an account before presents a device token (cookie
 *   `gatehouse_device`, or the `Gatehouse-Device-Token` header for token-mode clients; handed out
 *   on every successful sign-in). Its attempts count against that token alone
 *   (`loginPerDevice`), never against the address or the account.
 * - Any other attempt is untrusted: it counts per client address (`loginPerIp`, spraying) and
 *   per account *and* address (`loginPerAccountAndIp`, guessing one account from one place:
 *   this is the lockout, with its doubling back-off). Only an address that already failed on
 *   this account is also held to the account's overall limit (`loginPerAccount`, far higher,
 *   against guessing from many addresses); an address with no failures for this account is
 *   never refused by it. Every untrusted attempt still counts towards that overall limit.
 *
 * A device token is `v1.<user id>.<nonce>.<mac>`: HMAC-SHA-256 under a key derived from
 * SECRET_KEY (HKDF, its own label), so it cannot be forged without SECRET_KEY and is stored
 * nowhere. It is bound to the user (a token of one account is untrusted for another) and
 * counted by its nonce, so a stolen token buys its holder the per-device allowance only.
 */
export const DEVICE_COOKIE = 'gatehouse_device';
export const DEVICE_HEADER = 'gatehouse-device-token';
/** how long a device stays known without signing in again */
export const DEVICE_TOKEN_MAX_AGE_SECONDS = 180 * 24 * 3600;

const deviceKey = (secretKey: string) =>
  Buffer.from(hkdfSync('sha256', secretKey, 'gatehouse', 'device-token:v1', 32));

const macOf = (key: Buffer, userId: string, nonce: string) =>
  createHmac('sha256', key).update(`v1\0${userId}\0${nonce}`).digest();

export function issueDeviceToken(secretKey: string, userId: string): string {
  const nonce = randomBytes(16).toString('base64url');
  const mac = macOf(deviceKey(secretKey), userId, nonce).toString('base64url');
  return `v1.${userId}.${nonce}.${mac}`;
}

/** The user and nonce of a genuine device token, else null (compared in constant time). */
export function readDeviceToken(
  secretKey: string,
  token: string | undefined,
): { userId: string; nonce: string } | null {
  if (!token || token.length > 512) return null;
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') return null;
  const [, userId, nonce, mac] = parts as [string, string, string, string];
  const given = Buffer.from(mac, 'base64url');
  const expected = macOf(deviceKey(secretKey), userId, nonce);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return { userId, nonce };
}

export interface LoginSource {
  /** the device token's counting key, when the request came from a known device */
  device?: string;
  /** the account-and-address counting key, otherwise */
  accountFromAddress?: string;
}

export function createLoginThrottle(limits: RateLimits, secretKey: string) {
  return {
    /**
     * Counts one password attempt at `email` before the password is checked; throws 429
     * `rate_limited` with Retry-After when this source is over its limits. `userId` is the
     * account the email belongs to (undefined when there is none).
     */
    async attempt(input: {
      email: string;
      ip: string | null;
      deviceToken?: string;
      userId?: string;
    }): Promise<LoginSource> {
      const device = readDeviceToken(secretKey, input.deviceToken);
      if (device && input.userId !== undefined && device.userId === input.userId) {
        const key = createHash('sha256').update(device.nonce).digest('hex');
        await limits.consume('loginPerDevice', key);
        return { device: key };
      }
      const ip = input.ip ?? 'unknown';
      await limits.consume('loginPerIp', ip);
      const accountFromAddress = `${input.email.toLowerCase()}|${addressKey(ip)}`;
      const attempts = await limits.attempt('loginPerAccountAndIp', accountFromAddress);
      // This address failed on this account before (a success resets its count): hold it to
      // the account's overall limit too. Otherwise only count towards it.
      if (attempts > 1) await limits.consume('loginPerAccount', input.email);
      else await limits.note('loginPerAccount', input.email);
      return { accountFromAddress };
    },

    /** The right password: this source's failures are forgotten. */
    async succeeded(source: LoginSource) {
      if (source.device) await limits.reset('loginPerDevice', source.device);
      if (source.accountFromAddress)
        await limits.reset('loginPerAccountAndIp', source.accountFromAddress);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;

/** The device token a sign-in request carries: the cookie (browsers), else the header. */
export function deviceTokenOf(req: {
  cookies?: Record<string, string | undefined>;
  headers: Record<string, string | string[] | undefined>;
}): string | undefined {
  const header = req.headers[DEVICE_HEADER];
  return req.cookies?.[DEVICE_COOKIE] ?? (typeof header === 'string' ? header : undefined);
}

/**
 * After a successful sign-in: a fresh device token for this user, as an httpOnly cookie sent
 * back to the sign-in routes only, and in the `Gatehouse-Device-Token` header for clients
 * without cookies (they keep it and send it back in the same header).
 */
export function rememberDevice(
  reply: {
    setCookie(name: string, value: string, options: Record<string, unknown>): unknown;
    header(name: string, value: string): unknown;
  },
  secretKey: string,
  userId: string,
  secure: boolean,
) {
  const token = issueDeviceToken(secretKey, userId);
  reply.setCookie(DEVICE_COOKIE, token, {
    path: '/v1/auth/',
    httpOnly: true,
    sameSite: 'strict',
    secure,
    maxAge: DEVICE_TOKEN_MAX_AGE_SECONDS,
  });
  reply.header(DEVICE_HEADER, token);
}
