import { z } from 'zod';
import { boundedRecord, IsoDateTime } from './common';

/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
export const E164 = z
  .string()
  .trim()
  .max(16)
  .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number like +4915112345678');

/**
 * The only keys `user_settings` recognises. Unknown keys are dropped (not stored, not an
 * error), as the platform documents; a known key with a wrong value is a validation error.
 */
export const UserSettingsInput = z
  .object({
    locale: z
      .string()
      .trim()
      .max(35)
      .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, 'must be a BCP 47 tag'),
    timezone: z.string().max(64),
    date_format: z.enum(['YYYY-MM-DD', 'DD.MM.YYYY', 'DD/MM/YYYY', 'MM/DD/YYYY']),
    theme: z.enum(['light', 'dark', 'system']),
    email_notifications: z.boolean(),
  })
  .partial();

export const UserSettings = z.object({
  locale: z.string().nullable(),
  timezone: z.string().nullable(),
  date_format: z.string().nullable(),
  theme: z.string().nullable(),
  email_notifications: z.boolean().nullable(),
});

export const UserProfile = z
  .object({
    id: z.string(),
    email: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    mobile: z.string().nullable(),
    timezone: z.string().nullable(),
    avatar: z.string().nullable().describe('URL of the avatar image'),
    status: z.enum(['active', 'suspended', 'deactivated']),
    email_verified: z.boolean(),
    has_password: z.boolean(),
    is_platform_admin: z.boolean(),
    user_settings: UserSettings,
    user_metadata: z.record(z.string(), z.unknown()),
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
    last_login_at: IsoDateTime.nullable(),
  })
  .meta({ id: 'UserProfile' });

export const UpdateMeBody = z.strictObject({
  first_name: z.string().trim().min(1).max(100).optional(),
  last_name: z.string().trim().min(1).max(100).optional(),
  mobile: E164.nullable().optional(),
  timezone: z.string().max(64).nullable().optional(),
  user_settings: UserSettingsInput.optional(),
  /** Declared so that a PATCH naming it gets `email_read_only`, not a generic validation error. */
  email: z.unknown().optional(),
});

export const METADATA_MAX_BYTES = 16 * 1024;
/**
 * Metadata is free-form JSON, bounded in every dimension (issue 10 #5): depth (scalars, or one
 * level of object/array of scalars), keys per object, items per array, length of every string
 * and key; the whole is at most METADATA_MAX_BYTES once serialised (checked by the service).
 */
const METADATA_MAX_KEYS = 100;
const METADATA_MAX_ITEMS = 100;
const MetadataScalar = z.union([
  z.string().max(METADATA_MAX_BYTES),
  z.number(),
  z.boolean(),
  z.null(),
]);
/** Scalars, or one level of object/array of scalars; anything deeper is refused. */
export const UserMetadata = boundedRecord(
  z.string().min(1).max(100),
  z.union([
    MetadataScalar,
    z.array(MetadataScalar).max(METADATA_MAX_ITEMS),
    boundedRecord(z.string().max(100), MetadataScalar, METADATA_MAX_KEYS),
  ]),
  METADATA_MAX_KEYS,
);
export const AVATAR_MAX_BYTES = 1024 * 1024;
