import type { UserProfile } from '@gatehouse/contracts';
import type { z } from 'zod';
import { toIso, toIsoOrNull } from '../../lib/clock';
import type { UserRow } from './users.repo';

export const SETTINGS_KEYS = [
  'locale',
  'timezone',
  'date_format',
  'theme',
  'email_notifications',
] as const;

export function parseJsonObject(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/** The user as the API shows it. `timezone` is one value, shown both top-level and in settings. */
export function toProfile(user: UserRow, publicUrl: string): z.infer<typeof UserProfile> {
  const stored = parseJsonObject(user.user_settings);
  const settings = Object.fromEntries(SETTINGS_KEYS.map((k) => [k, stored[k] ?? null])) as z.infer<
    typeof UserProfile
  >['user_settings'];
  settings.timezone = user.timezone;
  return {
    id: user.id,
    email: user.email,
    first_name: user.first_name,
    last_name: user.last_name,
    mobile: user.mobile,
    timezone: user.timezone,
    avatar: user.avatar_id ? `${publicUrl}/v1/avatars/${user.avatar_id}` : null,
    status: user.status,
    email_verified: user.email_verified_at !== null,
    has_password: user.password_hash !== null,
    is_platform_admin: user.is_platform_admin === 1,
    user_settings: settings,
    user_metadata: parseJsonObject(user.user_metadata),
    created_at: toIso(user.created_at),
    updated_at: toIso(user.updated_at),
    last_login_at: toIsoOrNull(user.last_login_at),
  };
}
