import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** A random secret for tokens handed to clients: 32 bytes (256 bits), base64url. */
export const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');

/** A 6-digit one-time code, uniformly drawn. */
export const randomOtp = () => randomInt(0, 1_000_000).toString().padStart(6, '0');

/**
 * Hash of a high-entropy secret (refresh token, invitation token, API key) for storage and
 * lookup. A plain SHA-256 is enough here: the secret has ≥ 128 random bits, so the hash cannot
 * be reversed, and looking a row up by it leaks nothing an attacker could use.
 */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Hash of a low-entropy secret (a 6-digit code) — keyed, so a stolen database does not let
 * anyone brute-force the million codes offline. `context` binds it to its user and purpose.
 */
export const hmacCode = (key: string, context: string, code: string) =>
  createHmac('sha256', key).update(context).update('\0').update(code).digest('hex');

/** Compares two hex digests in constant time. */
export function safeEqualHex(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ab.length === bb.length && ab.length > 0 && timingSafeEqual(ab, bb);
}
