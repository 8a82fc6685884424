import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  randomInt,
  timingSafeEqual,
} from 'node:crypto';

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

/**
 * Secrets that must be read back (a TOTP shared secret) cannot be hashed; they are sealed with
 * AES-256-GCM under a key derived from SECRET_KEY, so a copy of the database alone does not
 * yield them. Format: base64url(iv).base64url(tag).base64url(ciphertext).
 */
function sealingKey(secretKey: string, purpose: string) {
  return Buffer.from(hkdfSync('sha256', secretKey, 'gatehouse', `seal:${purpose}`, 32));
}

export function sealSecret(secretKey: string, purpose: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(secretKey, purpose), iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
}

export function openSecret(secretKey: string, purpose: string, sealed: string): string {
  const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !body) throw new Error('sealed secret is malformed');
  const decipher = createDecipheriv('aes-256-gcm', sealingKey(secretKey, purpose), iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
}
