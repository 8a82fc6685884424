import { AVATAR_MAX_BYTES, METADATA_MAX_BYTES } from '@gatehouse/contracts';
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema';
import { enqueueEmail } from '../../delivery/outbox';
import { mails } from '../../delivery/templates';
import type { RequestMeta, UserPrincipal } from '../../http/context';
import { AppError } from '../../http/errors';
import { newId } from '../../lib/ids';
import type { Runtime } from '../../runtime';
import { insertAuditEvent } from '../audit/audit.repo';
import { sortName } from '../organizations/organizations.repo';
import { parseJsonObject, SETTINGS_KEYS, toProfile } from './users.presenter';
import { findUserById, findUserByIdForUpdate, type UserRow, updateUser } from './users.repo';

const timezoneCache = new Map<string, boolean>();
/** An IANA zone name the runtime knows ("Europe/Berlin", "UTC"); offsets like "+02:00" are refused. */
export function isValidTimezone(name: string): boolean {
  let known = timezoneCache.get(name);
  if (known === undefined) {
    known = /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(name);
    if (known) {
      try {
        new Intl.DateTimeFormat('en', { timeZone: name });
      } catch {
        known = false;
      }
    }
    if (timezoneCache.size < 1000) timezoneCache.set(name, known);
  }
  return known;
}

/**
 * The zone as the runtime spells it when only the case differs ("europe/berlin" is stored as
 * "Europe/Berlin"); other names are kept as given (aliases such as Europe/Kyiv are not
 * rewritten to the runtime's older spelling). Null for an unknown zone.
 */
export function canonicalTimezone(name: string): string | null {
  if (!isValidTimezone(name)) return null;
  const resolved = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
}

/** Sniffs the image type from its first bytes; the file name and declared type are not trusted. */
export function sniffImageType(data: Buffer): 'image/png' | 'image/jpeg' | 'image/webp' | null {
  if (
    data.length >= 8 &&
    data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  )
    return 'image/png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff)
    return 'image/jpeg';
  if (
    data.length >= 12 &&
    data.toString('latin1', 0, 4) === 'RIFF' &&
    data.toString('latin1', 8, 12) === 'WEBP'
  )
    return 'image/webp';
  return null;
}

const invalid = (path: string, message: string) =>
  new AppError('validation_failed', message, { errors: [{ path, message }] });

export interface UpdateMeInput {
  first_name?: string;
  last_name?: string;
  mobile?: string | null;
  timezone?: string | null;
  user_settings?: Partial<Record<(typeof SETTINGS_KEYS)[number], unknown>>;
  email?: unknown;
}

/** Columns holding JSON text; the audit log shows their parsed value. */
const JSON_COLUMNS = new Set<keyof UserRow>(['user_settings', 'user_metadata']);
const auditValue = (key: keyof UserRow, value: unknown) =>
  JSON_COLUMNS.has(key) && typeof value === 'string' ? parseJsonObject(value) : value;

type Changes = Partial<Omit<UserRow, 'id'>>;

export function createUserService(rt: Runtime) {
  const { db, clock, caches, bus } = rt;
  const load = async (id: string): Promise<UserRow> => {
    const user = await caches.users.get(id, async () => (await findUserById(db, id)) ?? null);
    if (!user) throw new AppError('unauthenticated');
    return user;
  };
  const present = (user: UserRow) => toProfile(user, rt.config.publicUrl);

  /**
   * One change of the caller's own user, in one transaction: `decide` sees the row as it is now
   * (locked on PostgreSQL, so concurrent changes cannot lose each other's writes) and returns the
   * columns to write; `alsoInside` does related writes (the avatar bytes) in the same
   * transaction. Columns whose value does not change are dropped; when nothing is left, nothing
   * is written (not even `alsoInside`) and nothing audited. Otherwise one audit event records
   * before and after.
   */
  async function change(
    principal: UserPrincipal,
    action: string,
    meta: RequestMeta,
    decide: (before: UserRow) => Changes,
    alsoInside?: (
      trx: Transaction<DB>,
      now: number,
      changes: Changes,
      before: UserRow,
    ) => Promise<void>,
  ) {
    const now = clock.now();
    const changed = await db.transaction().execute(async (trx) => {
      const before = await findUserByIdForUpdate(trx, principal.userId, rt.dialect);
      if (!before) throw new AppError('unauthenticated');
      const wanted = decide(before);
      const keys = (Object.keys(wanted) as (keyof Changes)[]).filter(
        (k) => wanted[k] !== before[k],
      );
      if (keys.length === 0) return false;
      const changes = Object.fromEntries(keys.map((k) => [k, wanted[k]])) as Changes;
      await alsoInside?.(trx, now, changes, before);
      await updateUser(trx, principal.userId, { ...changes, updated_at: now });
      if (changes.first_name !== undefined || changes.last_name !== undefined) {
        // The members lists sort and search on a copy of the name (see the memberships table).
        const after = { ...before, ...changes };
        await trx
          .updateTable('memberships')
          .set({ sort_name: sortName(after.first_name, after.last_name) })
          .where('user_id', '=', principal.userId)
          .execute();
      }
      await insertAuditEvent(
        trx,
        meta,
        {
          actor: { type: 'user', id: principal.userId },
          action,
          target: { type: 'user', id: principal.userId },
          changes: {
            before: Object.fromEntries(keys.map((k) => [k, auditValue(k, before[k])])),
            after: Object.fromEntries(keys.map((k) => [k, auditValue(k, changes[k])])),
          },
        },
        now,
      );
      return true;
    });
    // After commit: this node's cache (and, through Redis, every other node's) forgets the user.
    if (changed) bus.publish(`user:${principal.userId}`);
    return present(await load(principal.userId));
  }

  /**
   * The mobile number of a user with an SMS second factor is the number that factor proved, and
   * the one sign-in codes go to: a profile PATCH may not change it (issue 10 #23 — codes kept
   * going to the old number while the profile showed the new one; and a session alone must not
   * redirect a second factor). The number is changed by enrolling the new one as the SMS factor
   * (POST /v1/me/mfa/sms, which asks for a recent sign-in), which also sets it here. Any other
   * change of the mobile is told to the user by mail.
   */
  async function guardMobile(trx: Transaction<DB>, now: number, changes: Changes, before: UserRow) {
    if (changes.mobile === undefined) return;
    const factor = await trx
      .selectFrom('mfa_factors')
      .select('phone')
      .where('user_id', '=', before.id)
      .where('type', '=', 'sms')
      .where('confirmed_at', 'is not', null)
      .executeTakeFirst();
    if (factor && factor.phone !== changes.mobile)
      throw new AppError(
        'mobile_is_sms_factor',
        'Your sign-in codes go to this number. To use another, set it up at POST /v1/me/mfa/sms (then remove the old factor)',
      );
    const mask = (phone: string | null) =>
      phone ? `${'•'.repeat(Math.max(0, phone.length - 2))}${phone.slice(-2)}` : 'none';
    await enqueueEmail(
      trx,
      mails.securityChanged(
        before.email,
        before.first_name,
        `The mobile number of your account was changed from ${mask(before.mobile)} to ${mask(changes.mobile ?? null)}.`,
        now,
        before.timezone,
      ),
      now,
    );
  }

  return {
    async profile(userId: string) {
      return present(await load(userId));
    },

    /**
     * Name, mobile, timezone and settings. Settings merge key by key (unknown keys were already
     * dropped by the schema); `timezone` top-level and `user_settings.timezone` are one value,
     * kept in the `timezone` column only.
     */
    async update(principal: UserPrincipal, input: UpdateMeInput, meta: RequestMeta) {
      if (input.email !== undefined)
        throw new AppError(
          'email_read_only',
          'Users cannot change their email; ask an administrator',
        );
      const settingsTz = input.user_settings?.timezone as string | undefined;
      if (
        input.timezone !== undefined &&
        settingsTz !== undefined &&
        input.timezone?.toLowerCase() !== settingsTz.toLowerCase()
      ) {
        throw invalid('body.timezone', 'timezone and user_settings.timezone disagree');
      }
      const given = input.timezone !== undefined ? input.timezone : settingsTz;
      const timezone = typeof given === 'string' ? canonicalTimezone(given) : given;
      if (timezone === null && given !== null) {
        throw invalid(
          input.timezone !== undefined ? 'body.timezone' : 'body.user_settings.timezone',
          'must be an IANA time zone such as Europe/Berlin',
        );
      }
      const profile = await change(
        principal,
        'user.updated',
        meta,
        (before) => {
          const changes: Changes = {};
          if (input.first_name !== undefined) changes.first_name = input.first_name;
          if (input.last_name !== undefined) changes.last_name = input.last_name;
          if (input.mobile !== undefined) changes.mobile = input.mobile;
          if (timezone !== undefined) changes.timezone = timezone;
          if (input.user_settings) {
            const stored = parseJsonObject(before.user_settings);
            for (const key of SETTINGS_KEYS) {
              if (key !== 'timezone' && input.user_settings[key] !== undefined)
                stored[key] = input.user_settings[key];
            }
            changes.user_settings = JSON.stringify(stored);
          }
          return changes;
        },
        (trx, now, changes, before) => guardMobile(trx, now, changes, before),
      );
      rt.notifyOutbox();
      return profile;
    },

    /** Replaces the whole metadata object (callers merge on their side), at most 16 KiB. */
    async replaceMetadata(
      principal: UserPrincipal,
      metadata: Record<string, unknown>,
      meta: RequestMeta,
    ) {
      const text = JSON.stringify(metadata);
      if (Buffer.byteLength(text) > METADATA_MAX_BYTES)
        throw invalid('body', `user_metadata is larger than ${METADATA_MAX_BYTES} bytes`);
      return change(principal, 'user.metadata_replaced', meta, () => ({ user_metadata: text }));
    },

    /**
     * Stores the image and points the user at it in one transaction, so the profile never
     * names an avatar that is not there. A new id per image: the URL is cached forever.
     */
    async setAvatar(principal: UserPrincipal, data: Buffer, meta: RequestMeta) {
      if (data.length === 0) throw invalid('body', 'the image is empty');
      if (data.length > AVATAR_MAX_BYTES)
        throw new AppError('payload_too_large', 'The avatar may be at most 1 MiB');
      const type = sniffImageType(data);
      if (!type) throw new AppError('unsupported_image');
      const id = newId('avt', clock.now());
      return change(
        principal,
        'user.avatar_set',
        meta,
        () => ({ avatar_id: id }),
        async (trx, now) => {
          await trx
            .insertInto('avatars')
            .values({
              id,
              user_id: principal.userId,
              content_type: type,
              data,
              size: data.length,
              created_at: now,
            })
            .execute();
          await trx
            .deleteFrom('avatars')
            .where('user_id', '=', principal.userId)
            .where('id', '!=', id)
            .execute();
        },
      );
    },

    async deleteAvatar(principal: UserPrincipal, meta: RequestMeta) {
      return change(
        principal,
        'user.avatar_removed',
        meta,
        () => ({ avatar_id: null }),
        async (trx) => {
          await trx.deleteFrom('avatars').where('user_id', '=', principal.userId).execute();
        },
      );
    },

    async avatar(id: string) {
      const row = await db
        .selectFrom('avatars')
        .select(['content_type', 'data'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) throw new AppError('not_found', 'No such avatar');
      return { contentType: row.content_type, data: Buffer.from(row.data) };
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
