import { AVATAR_MAX_BYTES, METADATA_MAX_BYTES } from '@gatehouse/contracts';
import type { RequestMeta, UserPrincipal } from '../../http/context';
import { AppError } from '../../http/errors';
import { newId } from '../../lib/ids';
import type { Runtime } from '../../runtime';
import { insertAuditEvent } from '../audit/audit.repo';
import { parseJsonObject, SETTINGS_KEYS, toProfile } from './users.presenter';
import { findUserById, type UserRow, updateUser } from './users.repo';

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

export function createUserService(rt: Runtime) {
  const { db, clock, caches, bus } = rt;
  const load = async (id: string): Promise<UserRow> => {
    const user = await caches.users.get(id, async () => (await findUserById(db, id)) ?? null);
    if (!user) throw new AppError('unauthenticated');
    return user;
  };

  /** Writes changed columns of the user with an audit event (before/after of what changed). */
  async function change(
    principal: UserPrincipal,
    action: string,
    changes: Partial<UserRow>,
    meta: RequestMeta,
  ) {
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      const before = await findUserById(trx, principal.userId);
      if (!before) throw new AppError('unauthenticated');
      await updateUser(trx, principal.userId, { ...changes, updated_at: now });
      const keys = Object.keys(changes) as (keyof UserRow)[];
      await insertAuditEvent(
        trx,
        meta,
        {
          actor: { type: 'user', id: principal.userId },
          action,
          target: { type: 'user', id: principal.userId },
          changes: {
            before: Object.fromEntries(
              keys.map((k) => [k, k === 'avatar_id' ? before[k] : before[k]]),
            ),
            after: Object.fromEntries(keys.map((k) => [k, changes[k]])),
          },
        },
        now,
      );
    });
    bus.publish(`user:${principal.userId}`);
    return toProfile(await load(principal.userId), rt.config.publicUrl);
  }

  return {
    async profile(userId: string) {
      return toProfile(await load(userId), rt.config.publicUrl);
    },

    /**
     * Name, mobile, timezone and settings. Settings merge key by key (unknown keys were already
     * dropped by the schema); `timezone` top-level and `user_settings.timezone` are one value.
     */
    async update(principal: UserPrincipal, input: UpdateMeInput, meta: RequestMeta) {
      if (input.email !== undefined)
        throw new AppError(
          'email_read_only',
          'Users cannot change their email; ask an administrator',
        );
      const user = await load(principal.userId);
      const settingsTz = input.user_settings?.timezone as string | undefined;
      if (
        input.timezone !== undefined &&
        settingsTz !== undefined &&
        input.timezone !== settingsTz
      ) {
        throw invalid('body.timezone', 'timezone and user_settings.timezone disagree');
      }
      const timezone = input.timezone !== undefined ? input.timezone : settingsTz;
      if (typeof timezone === 'string' && !isValidTimezone(timezone)) {
        throw invalid(
          input.timezone !== undefined ? 'body.timezone' : 'body.user_settings.timezone',
          'must be an IANA time zone such as Europe/Berlin',
        );
      }
      const changes: Partial<UserRow> = {};
      if (input.first_name !== undefined) changes.first_name = input.first_name;
      if (input.last_name !== undefined) changes.last_name = input.last_name;
      if (input.mobile !== undefined) changes.mobile = input.mobile;
      if (timezone !== undefined) changes.timezone = timezone;
      if (input.user_settings) {
        const stored = parseJsonObject(user.user_settings);
        for (const key of SETTINGS_KEYS) {
          if (key !== 'timezone' && input.user_settings[key] !== undefined)
            stored[key] = input.user_settings[key];
        }
        changes.user_settings = JSON.stringify(stored);
      }
      if (Object.keys(changes).length === 0) return toProfile(user, rt.config.publicUrl);
      return change(principal, 'user.updated', changes, meta);
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
      return change(principal, 'user.metadata_replaced', { user_metadata: text }, meta);
    },

    async setAvatar(principal: UserPrincipal, data: Buffer, meta: RequestMeta) {
      if (data.length === 0) throw invalid('body', 'the image is empty');
      if (data.length > AVATAR_MAX_BYTES)
        throw new AppError('payload_too_large', 'The avatar may be at most 1 MiB');
      const type = sniffImageType(data);
      if (!type) throw new AppError('unsupported_image');
      const now = clock.now();
      const id = newId('avt', now);
      await db.transaction().execute(async (trx) => {
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
      });
      return change(principal, 'user.avatar_set', { avatar_id: id }, meta);
    },

    async deleteAvatar(principal: UserPrincipal, meta: RequestMeta) {
      await db.deleteFrom('avatars').where('user_id', '=', principal.userId).execute();
      return change(principal, 'user.avatar_removed', { avatar_id: null }, meta);
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
