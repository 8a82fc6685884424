import { dictionary } from '@zxcvbn-ts/language-common';
import argon2 from 'argon2';

/**
 * Password rules, each with a stable name the console can tick live (SPEC §4). A password
 * passes when `checkPasswordPolicy` returns no names.
 */
export const PASSWORD_RULES = [
  'min_length',
  'lowercase',
  'uppercase',
  'digit',
  'special',
  'not_common',
  'not_email',
] as const;
export type PasswordRule = (typeof PASSWORD_RULES)[number];

export interface PasswordPolicy {
  minLength: number;
}
export const defaultPasswordPolicy: PasswordPolicy = { minLength: 10 };

// ~49,000 leaked passwords shipped by zxcvbn-ts; a Set so a check is one lookup.
const COMMON = new Set(dictionary['passwords-common']);

/**
 * Common means: the password, lower-cased, is in the list — or it is a listed word dressed up
 * with digits and symbols at its ends ("Password123!" is "password"), which is how people
 * satisfy character-class rules with a weak password.
 */
function isCommon(password: string): boolean {
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return true;
  const core = lower.replace(/^[^a-z]+|[^a-z]+$/g, '');
  return core.length >= 4 && COMMON.has(core);
}

export function checkPasswordPolicy(
  password: string,
  email: string | null,
  policy: PasswordPolicy = defaultPasswordPolicy,
): PasswordRule[] {
  const failed: PasswordRule[] = [];
  if ([...password].length < policy.minLength) failed.push('min_length');
  if (!/\p{Ll}/u.test(password)) failed.push('lowercase');
  if (!/\p{Lu}/u.test(password)) failed.push('uppercase');
  if (!/\p{Nd}/u.test(password)) failed.push('digit');
  if (!/[^\p{L}\p{Nd}\s]/u.test(password)) failed.push('special');
  if (isCommon(password)) failed.push('not_common');
  if (email) {
    const lower = password.toLowerCase();
    const local = email.split('@')[0] ?? '';
    if (lower === email || (local.length >= 4 && lower.includes(local))) failed.push('not_email');
  }
  return failed;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the same time as a real verify, for unknown emails (no timing oracle). */
  verifyDummy(password: string): Promise<void>;
}

/**
 * argon2id through the native `argon2` addon, which hashes on libuv's thread pool: the event
 * loop keeps serving while a sign-up hashes. Callers hash before opening a transaction.
 */
export function createPasswordHasher(params: {
  memoryCost: number;
  timeCost: number;
}): PasswordHasher {
  const options = {
    type: argon2.argon2id as 2,
    memoryCost: params.memoryCost,
    timeCost: params.timeCost,
    parallelism: 1,
  };
  let dummyHash: Promise<string> | undefined;
  return {
    hash: (password) => argon2.hash(password, options),
    async verify(hash, password) {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },
    async verifyDummy(password) {
      dummyHash ??= argon2.hash('dummy-password-for-timing', options);
      await argon2.verify(await dummyHash, password).catch(() => false);
    },
  };
}
