import type { RequestMeta } from '../../http/context';
import { AppError } from '../../http/errors';
import { newId } from '../../lib/ids';
import { hashToken, randomToken, safeEqualHex } from '../../lib/secrets';
import type { Runtime } from '../../runtime';
import { checkPasswordPolicy } from '../../security/passwords';
import { insertAuditEvent } from '../audit/audit.repo';
import type { SessionService } from '../sessions/sessions.service';
import { countPlatformAdmins, findUserByEmail, insertUser, updateUser } from '../users/users.repo';

const SETUP_KEY = 'setup_token_hash';

/**
 * The first platform admin. Until one exists, each start makes a one-time setup token (kept
 * only as a hash) and prints a link with it; whoever holds the token creates the admin. The
 * CLI (`gatehouse create-admin`) does the same from the server's shell without a token.
 */
export function createSetupService(rt: Runtime, sessions: SessionService) {
  const { db, clock } = rt;

  async function createAdmin(
    input: { email: string; password: string; first_name: string; last_name: string },
    meta: RequestMeta,
    requireFirst: boolean,
  ) {
    const failed = checkPasswordPolicy(input.password, input.email);
    if (failed.length > 0)
      throw new AppError('password_policy', `The password fails: ${failed.join(', ')}`, {
        failed_rules: failed,
      });
    const passwordHash = await rt.hasher.hash(input.password);
    const now = clock.now();
    const result = await db.transaction().execute(async (trx) => {
      if (requireFirst && (await countPlatformAdmins(trx)) > 0) return { kind: 'done' as const };
      const existing = await findUserByEmail(trx, input.email);
      let id: string;
      if (existing) {
        id = existing.id;
        await updateUser(trx, id, {
          is_platform_admin: 1,
          password_hash: passwordHash,
          email_verified_at: existing.email_verified_at ?? now,
          updated_at: now,
        });
      } else {
        id = newId('usr', now);
        await insertUser(
          trx,
          {
            id,
            email: input.email,
            password_hash: passwordHash,
            first_name: input.first_name,
            last_name: input.last_name,
            email_verified_at: now,
            is_platform_admin: 1,
          },
          now,
        );
      }
      await trx.deleteFrom('system_settings').where('key', '=', SETUP_KEY).execute();
      await insertAuditEvent(
        trx,
        meta,
        {
          actor: { type: 'system' },
          action: 'platform_admin.created',
          target: { type: 'user', id },
        },
        now,
      );
      return { kind: 'created' as const, id };
    });
    if (result.kind === 'done') throw new AppError('setup_done');
    rt.bus.publish(`user:${result.id}`);
    return result.id;
  }

  return {
    /** Returns a fresh setup token when no platform admin exists yet, else null. */
    async prepareSetupToken(): Promise<string | null> {
      if ((await countPlatformAdmins(db)) > 0) return null;
      const token = randomToken(24);
      const hash = hashToken(token);
      await db
        .insertInto('system_settings')
        .values({ key: SETUP_KEY, value: hash })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: hash }))
        .execute();
      return token;
    },

    async isSetUp() {
      return (await countPlatformAdmins(db)) > 0;
    },

    async setupWithToken(
      input: {
        token: string;
        email: string;
        password: string;
        first_name: string;
        last_name: string;
      },
      meta: RequestMeta,
    ) {
      if ((await countPlatformAdmins(db)) > 0) throw new AppError('setup_done');
      const stored = await db
        .selectFrom('system_settings')
        .select('value')
        .where('key', '=', SETUP_KEY)
        .executeTakeFirst();
      if (!stored || !safeEqualHex(hashToken(input.token), stored.value))
        throw new AppError('invalid_setup_token');
      const id = await createAdmin(input, meta, true);
      const user = await findUserByEmail(db, input.email);
      const opened = await db
        .transaction()
        .execute((trx) => sessions.open(trx, user!, { amr: ['pwd'], meta, mode: 'token' }));
      return { userId: id, issued: await sessions.finish(opened) };
    },

    /** CLI: creates the admin, or makes an existing user one. */
    createAdminFromCli: (input: {
      email: string;
      password: string;
      first_name: string;
      last_name: string;
    }) => createAdmin(input, { ip: null, userAgent: 'gatehouse-cli', requestId: null }, false),
  };
}

export type SetupService = ReturnType<typeof createSetupService>;
