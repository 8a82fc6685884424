import {
  failedPasswordShapeRules,
  PASSWORD_MIN_LENGTH,
  PASSWORD_RULES,
  type PasswordRule,
} from '@gatehouse/contracts';
import { dictionary } from '@zxcvbn-ts/language-common';
import argon2 from 'argon2';

export { PASSWORD_RULES, type PasswordRule };

export interface PasswordPolicy {
  minLength: number;
}
export const defaultPasswordPolicy: PasswordPolicy = { minLength: PASSWORD_MIN_LENGTH };

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

/**
 * Every failed rule by name, in PASSWORD_RULES order; a password passes when none is returned.
 * The shape rules are the contracts' (shared with the console); the leaked-password list is ours.
 */
export function checkPasswordPolicy(
  password: string,
  email: string | null,
  policy: PasswordPolicy = defaultPasswordPolicy,
): PasswordRule[] {
  const failed = failedPasswordShapeRules(password, email, policy.minLength);
  if (isCommon(password)) failed.push('not_common');
  return PASSWORD_RULES.filter((rule) => failed.includes(rule));
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
