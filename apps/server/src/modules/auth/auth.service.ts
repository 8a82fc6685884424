import { enqueueEmail } from '../../delivery/outbox';
import { mails } from '../../delivery/templates';
import type { RequestMeta, UserPrincipal } from '../../http/context';
import { AppError } from '../../http/errors';
import { newId } from '../../lib/ids';
import { hashToken, randomToken } from '../../lib/secrets';
import type { Runtime } from '../../runtime';
import { createLoginThrottle } from '../../security/login-throttle';
import { checkPasswordPolicy } from '../../security/passwords';
import { insertAuditEvent } from '../audit/audit.repo';
import type { MfaService } from '../mfa/mfa.service';
import type { SessionService } from '../sessions/sessions.service';
import {
  findUserByEmail,
  findUserById,
  insertUserIfAbsent,
  type UserRow,
  updateUser,
} from '../users/users.repo';
import { type CodeCheck, checkCode, issueCode } from './one-time-codes';

const RESET_TOKEN_TTL_MS = 15 * 60 * 1000;

function assertPolicy(password: string, email: string | null) {
  const failed = checkPasswordPolicy(password, email);
  if (failed.length > 0) {
    throw new AppError('password_policy', `The password fails: ${failed.join(', ')}`, {
      failed_rules: failed,
      errors: failed.map((rule) => ({ path: 'body.password', message: rule, code: rule })),
    });
  }
}

function failCode(check: Exclude<CodeCheck, { ok: true }>): never {
  throw new AppError(
    check.reason,
    undefined,
    check.attemptsLeft !== undefined ? { attempts_left: check.attemptsLeft } : {},
  );
}

export function createAuthService(rt: Runtime, sessions: SessionService, mfa: MfaService) {
  const { db, clock, limits, hasher } = rt;
  const loginThrottle = createLoginThrottle(limits, rt.secretKey);
  const ACCEPTED = {
    status: 'accepted' as const,
    message: 'If the address can receive it, a message is on its way.',
  };

  /** Both paths hash once, so a known email takes the same time as an unknown one. */
  async function register(
    input: { email: string; password: string; first_name: string; last_name: string },
    meta: RequestMeta,
  ) {
    assertPolicy(input.password, input.email);
    await limits.consume('registerPerIp', meta.ip ?? 'unknown');
    // Slow work before the transaction: SQLite has one writer, and a hash inside it would stall everyone.
    const passwordHash = await hasher.hash(input.password);
    // One message per address per cooldown, counted on every path below, not only those that
    // send a code: otherwise register + resend-otp tells a verified account (202) from a new
    // address (429 resend_cooldown), and repeated sign-ups with a taken address flood its owner
    // with "already have an account" mails. A limiter failure only ever skips a mail.
    const mayMail = await limits.consume('otpSendPerEmail', input.email).then(
      () => true,
      () => false,
    );
    const now = clock.now();
    const credentials = {
      password_hash: passwordHash,
      first_name: input.first_name,
      last_name: input.last_name,
    };
    await db.transaction().execute(async (trx) => {
      // Insert-if-absent, not check-then-insert: of concurrent registrations of one new address
      // exactly one creates the account and the others take the existing-address path below,
      // with the same answer (issue 10 #7; a 500 on PostgreSQL before).
      const id = newId('usr', now);
      const created = await insertUserIfAbsent(
        trx,
        { id, email: input.email, ...credentials },
        now,
      );
      if (created) {
        // A new account always gets its code, cooldown or not: without it nobody could verify.
        const code = await issueCode(trx, rt.secretKey, id, 'verify_email', now, undefined, {
          credentials,
        });
        await enqueueEmail(trx, mails.verifyEmail(input.email, input.first_name, code), now);
        await insertAuditEvent(
          trx,
          meta,
          { actor: { type: 'user', id }, action: 'user.registered', target: { type: 'user', id } },
          now,
        );
        return;
      }
      const existing = await findUserByEmail(trx, input.email);
      // The address exists: say nothing different to the caller; tell the owner by mail (once
      // per cooldown; during it, the code or notice already sent stands).
      if (!existing || !mayMail) return;
      // An unverified account gets a code of its own for THIS registration, bound to the password
      // and names submitted with it, and earlier registrations' codes stay live: whichever code
      // reaches the mailbox and is verified decides the password and names (issue 10 #1). A
      // stranger who registered the address first (or registers it again later) cannot have
      // their password survive the owner's proof; nobody signs in with a password before it.
      if (existing.email_verified_at === null) {
        const code = await issueCode(
          trx,
          rt.secretKey,
          existing.id,
          'verify_email',
          now,
          undefined,
          { credentials, keepEarlier: true },
        );
        // Greeted with the names of this registration: a mailbox owner who did not submit them
        // sees at once that the code is not theirs.
        await enqueueEmail(trx, mails.verifyEmail(existing.email, input.first_name, code), now);
        return;
      }
      await enqueueEmail(
        trx,
        mails.alreadyRegistered(existing.email, existing.first_name, rt.config.publicUrl),
        now,
      );
    });
    rt.notifyOutbox();
    return ACCEPTED;
  }

  async function verifyEmail(
    input: { email: string; code: string },
    meta: RequestMeta,
    mode: 'token' | 'cookie' = 'token',
  ) {
    await limits.consume('otpVerifyPerIp', meta.ip ?? 'unknown');
    await limits.consume('otpVerifyPerAccount', `verify:${input.email}`);
    const user = await findUserByEmail(db, input.email);
    // An unknown address and a verified one answer exactly like an account with no live code:
    // distinct answers ("invalid_code", "already_verified") would let anyone probe which
    // addresses have an account, with no trace in any mailbox (SPEC §4: responses never reveal
    // that). A second use of a good code reads "expired or already used", which is true.
    if (!user || user.email_verified_at !== null) throw new AppError('code_expired');
    const now = clock.now();
    const result = await db.transaction().execute(async (trx) => {
      const check = await checkCode(trx, rt.secretKey, user.id, 'verify_email', input.code, now);
      if (!check.ok) return check;
      // The proof decides the credentials (issue 10 #1): a code issued by a registration applies
      // the password and names submitted with it; a code without one (resend-otp) proves the
      // mailbox but carries no password, so whatever password the account held is dropped (it
      // was chosen by someone who had not proven the address) and the user, signed in by this
      // answer, sets one with POST /v1/auth/password/set.
      await updateUser(trx, user.id, {
        email_verified_at: now,
        updated_at: now,
        ...(check.credentials ?? { password_hash: null }),
      });
      // Every other pending registration of the address ends here, with the credentials it held.
      await trx
        .updateTable('one_time_codes')
        .set({ consumed_at: now })
        .where('user_id', '=', user.id)
        .where('purpose', '=', 'verify_email')
        .where('consumed_at', 'is', null)
        .execute();
      await trx
        .updateTable('one_time_codes')
        .set({ password_hash: null, first_name: null, last_name: null })
        .where('user_id', '=', user.id)
        .where('purpose', '=', 'verify_email')
        .execute();
      await insertAuditEvent(
        trx,
        meta,
        {
          actor: { type: 'user', id: user.id },
          action: 'user.email_verified',
          target: { type: 'user', id: user.id },
          changes: { credentials: check.credentials ? 'registration' : 'none' },
        },
        now,
      );
      const opened =
        user.status === 'active'
          ? await sessions.open(trx, user, { amr: ['otp'], meta, mode })
          : null;
      return { ok: true as const, opened };
    });
    if (!result.ok) failCode(result);
    rt.bus.publish(`user:${user.id}`);
    if (!result.opened) throw new AppError('user_inactive');
    return sessions.finish(result.opened);
  }

  /** Same answer for every address; the per-address cooldown applies to unknown ones too. */
  async function resendCode(
    input: { email: string; purpose: 'verify_email' | 'password_reset' },
    meta: RequestMeta,
  ) {
    await limits.consume('otpSendPerIp', meta.ip ?? 'unknown');
    await limits.consume('otpSendPerEmail', input.email, 'resend_cooldown');
    const user = await findUserByEmail(db, input.email);
    if (user?.status !== 'active') return ACCEPTED;
    if (input.purpose === 'verify_email' && user.email_verified_at !== null) return ACCEPTED;
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      const code = await issueCode(trx, rt.secretKey, user.id, input.purpose, now);
      const mail =
        input.purpose === 'verify_email'
          ? mails.verifyEmail(user.email, user.first_name, code)
          : mails.passwordReset(user.email, user.first_name, code);
      await enqueueEmail(trx, mail, now);
      // A new code replaces the pending one: a state change, audited like the forgot-password
      // request (issue 6: every state-changing route records an event). Unknown or inactive
      // addresses returned above change nothing and record nothing.
      await insertAuditEvent(
        trx,
        meta,
        {
          actor: { type: 'anonymous' },
          action: 'user.code_resent',
          target: { type: 'user', id: user.id },
          changes: { purpose: input.purpose },
        },
        now,
      );
    });
    rt.notifyOutbox();
    return ACCEPTED;
  }

  async function login(
    input: { email: string; password: string; mode: 'token' | 'cookie'; deviceToken?: string },
    meta: RequestMeta,
  ) {
    // Throttles the source, not the account: a known device or an address without failures is
    // never locked out by someone else's guesses (issue 10 #12, security/login-throttle.ts).
    const user = await findUserByEmail(db, input.email);
    const source = await loginThrottle.attempt({
      email: input.email,
      ip: meta.ip,
      deviceToken: input.deviceToken,
      userId: user?.id,
    });
    if (!user?.password_hash) {
      await hasher.verifyDummy(input.password);
      rt.metrics.signIns.inc({ result: 'failure' });
      throw new AppError('invalid_credentials');
    }
    if (!(await hasher.verify(user.password_hash, input.password))) {
      rt.metrics.signIns.inc({ result: 'failure' });
      throw new AppError('invalid_credentials');
    }
    // Only someone who knows the password learns the account's state.
    if (user.status !== 'active') throw new AppError('user_inactive');
    if (user.email_verified_at === null)
      throw new AppError(
        'email_not_verified',
        'Verify your email with the code we sent, or ask for a new one',
      );
    await loginThrottle.succeeded(source);
    // A user with a second factor gets a challenge, not a session (answered at /v1/auth/mfa/verify).
    const challenge = await mfa.challengeIfNeeded(user, ['pwd'], input.mode);
    if (challenge)
      throw new AppError(
        'mfa_required',
        `Answer with ${challenge.methods.join(', ')} at POST /v1/auth/mfa/verify`,
        challenge,
      );
    const opened = await db
      .transaction()
      .execute((trx) => sessions.open(trx, user, { amr: ['pwd'], meta, mode: input.mode }));
    rt.metrics.signIns.inc({ result: 'success' });
    return sessions.finish(opened);
  }

  async function logout(principal: UserPrincipal, meta: RequestMeta) {
    await sessions.revoke(principal.userId, principal.sessionId, 'logout', meta);
  }

  async function forgotPassword(input: { email: string }, meta: RequestMeta) {
    await limits.consume('otpSendPerIp', meta.ip ?? 'unknown');
    await limits.consume('otpSendPerEmail', input.email, 'resend_cooldown');
    const user = await findUserByEmail(db, input.email);
    if (user && user.status === 'active') {
      const now = clock.now();
      await db.transaction().execute(async (trx) => {
        const code = await issueCode(trx, rt.secretKey, user.id, 'password_reset', now);
        await enqueueEmail(trx, mails.passwordReset(user.email, user.first_name, code), now);
        await insertAuditEvent(
          trx,
          meta,
          {
            actor: { type: 'anonymous' },
            action: 'user.password_reset_requested',
            target: { type: 'user', id: user.id },
          },
          now,
        );
      });
      rt.notifyOutbox();
    }
    return ACCEPTED;
  }

  async function verifyPasswordResetCode(
    input: { email: string; code: string },
    meta: RequestMeta,
  ) {
    await limits.consume('otpVerifyPerIp', meta.ip ?? 'unknown');
    await limits.consume('otpVerifyPerAccount', `reset:${input.email}`);
    const user = await findUserByEmail(db, input.email);
    // Same answer as an active account with no pending reset code (checkCode's code_expired):
    // a different one for unknown addresses would tell, silently, which addresses are registered.
    if (user?.status !== 'active') throw new AppError('code_expired');
    const now = clock.now();
    const resetToken = randomToken();
    const result = await db.transaction().execute(async (trx) => {
      const check = await checkCode(trx, rt.secretKey, user.id, 'password_reset', input.code, now);
      if (!check.ok) return check;
      await trx
        .insertInto('password_resets')
        .values({
          token_hash: hashToken(resetToken),
          user_id: user.id,
          expires_at: now + RESET_TOKEN_TTL_MS,
          consumed_at: null,
          created_at: now,
        })
        .execute();
      // The code is spent and a reset token issued: audited in this transaction (issue 6:
      // every state-changing route records an event).
      await insertAuditEvent(
        trx,
        meta,
        {
          actor: { type: 'anonymous' },
          action: 'user.password_reset_verified',
          target: { type: 'user', id: user.id },
        },
        now,
      );
      return check;
    });
    if (!result.ok) failCode(result);
    return { reset_token: resetToken, expires_in: RESET_TOKEN_TTL_MS / 1000 };
  }

  /** Sets the new password and signs the user out everywhere. The code proved the mailbox, so the email counts as verified. */
  async function resetPassword(
    input: { reset_token: string; password: string },
    meta: RequestMeta,
  ) {
    const pending = await db
      .selectFrom('password_resets')
      .selectAll()
      .where('token_hash', '=', hashToken(input.reset_token))
      .executeTakeFirst();
    const owner = pending ? await findUserById(db, pending.user_id) : undefined;
    if (!pending || !owner || pending.consumed_at !== null || pending.expires_at <= clock.now())
      throw new AppError('invalid_token', 'The reset token is invalid or expired');
    assertPolicy(input.password, owner.email);
    const passwordHash = await hasher.hash(input.password);
    const now = clock.now();
    const revoked = await db.transaction().execute(async (trx) => {
      const consumed = await trx
        .updateTable('password_resets')
        .set({ consumed_at: now })
        .where('token_hash', '=', pending.token_hash)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('user_id')
        .executeTakeFirst();
      if (!consumed) return null;
      await updateUser(trx, owner.id, {
        password_hash: passwordHash,
        email_verified_at: owner.email_verified_at ?? now,
        updated_at: now,
      });
      const ids = await sessions.revokeAllInTransaction(trx, owner.id, 'password_reset');
      await enqueueEmail(
        trx,
        mails.passwordChanged(owner.email, owner.first_name, now, owner.timezone),
        now,
      );
      await insertAuditEvent(
        trx,
        meta,
        {
          actor: { type: 'user', id: owner.id },
          action: 'user.password_reset',
          target: { type: 'user', id: owner.id },
          changes: { sessions_revoked: ids.length },
        },
        now,
      );
      return ids;
    });
    if (!revoked) throw new AppError('invalid_token', 'The reset token is invalid or expired');
    rt.bus.publish(`user:${owner.id}`);
    sessions.publishRevoked(revoked);
    rt.notifyOutbox();
  }

  /** For users who joined by invitation or OAuth and have no password yet. */
  async function setPassword(principal: UserPrincipal, password: string, meta: RequestMeta) {
    const user = await findUserById(db, principal.userId);
    if (!user) throw new AppError('unauthenticated');
    if (user.password_hash !== null)
      throw new AppError('password_already_set', 'Use PUT /v1/auth/password to change it');
    assertPolicy(password, user.email);
    const passwordHash = await hasher.hash(password);
    const now = clock.now();
    const done = await db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('users')
        .set({ password_hash: passwordHash, updated_at: now })
        .where('id', '=', user.id)
        .where('password_hash', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      await insertAuditEvent(
        trx,
        meta,
        {
          actor: { type: 'user', id: user.id },
          action: 'user.password_set',
          target: { type: 'user', id: user.id },
        },
        now,
      );
      return true;
    });
    if (!done) throw new AppError('password_already_set');
    rt.bus.publish(`user:${user.id}`);
  }

  /** Current + new; every other session of the user is signed out. */
  async function updatePassword(
    principal: UserPrincipal,
    input: { current_password: string; new_password: string },
    meta: RequestMeta,
  ) {
    await limits.consume('passwordChangePerUser', principal.userId);
    const user = await findUserById(db, principal.userId);
    if (!user) throw new AppError('unauthenticated');
    if (user.password_hash === null)
      throw new AppError('password_not_set', 'Use POST /v1/auth/password/set');
    if (!(await hasher.verify(user.password_hash, input.current_password))) {
      throw new AppError('invalid_credentials', 'The current password is incorrect');
    }
    // The current password is itself a fresh proof, unless the user has a second factor: then
    // a session and the password alone must not be enough (step-up with the factor).
    if ((await mfa.methodsOf(db, user.id)).length > 0) await mfa.assertRecentAuth(principal);
    assertPolicy(input.new_password, user.email);
    const passwordHash = await hasher.hash(input.new_password);
    const now = clock.now();
    const revoked = await db.transaction().execute(async (trx) => {
      await updateUser(trx, user.id, { password_hash: passwordHash, updated_at: now });
      const ids = await sessions.revokeAllInTransaction(
        trx,
        user.id,
        'password_changed',
        principal.sessionId,
      );
      await enqueueEmail(
        trx,
        mails.passwordChanged(user.email, user.first_name, now, user.timezone),
        now,
      );
      await insertAuditEvent(
        trx,
        meta,
        {
          actor: { type: 'user', id: user.id },
          action: 'user.password_changed',
          target: { type: 'user', id: user.id },
          changes: { sessions_revoked: ids.length },
        },
        now,
      );
      return ids;
    });
    rt.bus.publish(`user:${user.id}`);
    sessions.publishRevoked(revoked);
    rt.notifyOutbox();
  }

  async function accountExists(email: string, meta: RequestMeta) {
    if (!rt.config.accountExistsCheck)
      throw new AppError(
        'feature_disabled',
        'The account-exists check is disabled on this platform',
      );
    await limits.consume('accountExistsPerIp', meta.ip ?? 'unknown');
    await limits.consume('accountExistsPerEmail', email);
    return { exists: (await findUserByEmail(db, email)) !== undefined };
  }

  return {
    register,
    verifyEmail,
    resendCode,
    login,
    logout,
    forgotPassword,
    verifyPasswordResetCode,
    resetPassword,
    setPassword,
    updatePassword,
    accountExists,
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
export type { UserRow };
