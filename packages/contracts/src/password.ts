/**
 * The password policy's rules (SPEC §4), each with a stable name the console ticks live as the
 * user types and the server reports in `failed_rules`. The shape rules live here, once, so the
 * server and the console judge a password the same way; `not_common` needs the 49,000-word
 * leaked-password list, which only the server loads (the console shows it as checked on submit).
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

export const PASSWORD_MIN_LENGTH = 10;

/** The rules that can be judged without the leaked-password list, in PASSWORD_RULES order. */
export function failedPasswordShapeRules(
  password: string,
  email: string | null,
  minLength: number = PASSWORD_MIN_LENGTH,
): PasswordRule[] {
  const failed: PasswordRule[] = [];
  if ([...password].length < minLength) failed.push('min_length');
  if (!/\p{Ll}/u.test(password)) failed.push('lowercase');
  if (!/\p{Lu}/u.test(password)) failed.push('uppercase');
  if (!/\p{Nd}/u.test(password)) failed.push('digit');
  if (!/[^\p{L}\p{Nd}\s]/u.test(password)) failed.push('special');
  if (email) {
    const lower = password.toLowerCase();
    const normalized = email.trim().toLowerCase();
    const local = normalized.split('@')[0] ?? '';
    if (lower === normalized || (local.length >= 4 && lower.includes(local)))
      failed.push('not_email');
  }
  return failed;
}
