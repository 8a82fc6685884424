import { randomInt } from 'node:crypto';
import type { SecondFactorMethod } from '@gatehouse/contracts';
import type { Kysely, Transaction } from 'kysely';
import type { DB, MfaFactorsTable, PendingSignInsTable } from '../../db/schema';
import { enqueueEmail, enqueueSms } from '../../delivery/outbox';
import { mails, texts } from '../../delivery/templates';
import type { RequestMeta, UserPrincipal } from '../../http/context';
import { AppError } from '../../http/errors';
import { toIso } from '../../lib/clock';
import { newId } from '../../lib/ids';
import { hashToken, hmacCode, openSecret, randomToken, sealSecret } from '../../lib/secrets';
import type { Runtime } from '../../runtime';
import { consumeSmsCaps } from '../../security/rate-limits';
import { insertAuditEvent } from '../audit/audit.repo';
import { type CodeCheck, checkCode, issueCode, SMS_CODE_TTL_MS } from '../auth/one-time-codes';
import { type SessionService, withMethod } from '../sessions/sessions.service';
import { findUserById, findUserByIdForUpdate, type UserRow } from '../users/users.repo';
import { matchTotp, newTotpSecret, qrCodeDataUrl, totpIssuer, totpUri } from './totp';

type Executor = Kysely<DB> | Transaction<DB>;
type SmsPurpose = 'mfa_sms' | 'step_up_sms';

/** A pending sign-in lives 5 minutes and allows 5 wrong codes; then the user starts over. */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
const CHALLENGE_MAX_ATTEMPTS = 5;
/** An unconfirmed TOTP enrolment is dropped if not confirmed within this time. */
const ENROLMENT_TTL_MS = 15 * 60 * 1000;
export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32: no i, l, o or u, so a code read aloud or typed from paper survives. */
const RECOVERY_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const SEAL_PURPOSE = 'totp';

const maskPhone = (phone: string) =>
  `${'•'.repeat(Math.max(0, phone.length - 2))}${phone.slice(-2)}`;

/** 10 characters of base32 (50 bits), shown as xxxxx-xxxxx. */
function newRecoveryCode(): string {
  let code = '';
  for (let i = 0; i < 10; i++) code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** What people type: any case, with or without the dash or spaces; o→0, i/l→1 as Crockford reads them. */
export function normalizeRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, '').replace(/o/g, '0').replace(/[il]/g, '1');
}

function factorView(row: MfaFactorsTable) {
  return {
    id: row.id,
    type: row.type,
    phone: row.phone ? maskPhone(row.phone) : null,
    confirmed: row.confirmed_at !== null,
    created_at: toIso(row.created_at),
    last_used_at: row.last_used_at === null ? null : toIso(row.last_used_at),
  };
}

type FactorResult = { ok: true } | { ok: false; check: Exclude<CodeCheck, { ok: true }> };

function failFactor(check: Exclude<CodeCheck, { ok: true }>): never {
  throw new AppError(
    check.reason,
    undefined,
    check.attemptsLeft !== undefined ? { attempts_left: check.attemptsLeft } : {},
  );
}

/**
 * Second factors (TOTP, SMS, recovery codes), the sign-in challenge that asks for one, and
 * step-up: the proof of a recent sign-in or a fresh factor that sensitive acts require.
 */
export function createMfaService(rt: Runtime, sessions: SessionService) {
  const { db, clock, limits } = rt;
  const recoveryHash = (userId: string, code: string) =>
    hmacCode(rt.secretKey, `recovery:${userId}`, normalizeRecoveryCode(code));

  const confirmedFactors = (ex: Executor, userId: string) =>
    ex
      .selectFrom('mfa_factors')
      .selectAll()
      .where('user_id', '=', userId)
      .where('confirmed_at', 'is not', null)
      .execute();

  async function unusedRecoveryCodes(ex: Executor, userId: string) {
    const row = await ex
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  const hasConfirmed = async (ex: Executor, userId: string, type: MfaFactorsTable['type']) =>
    (await confirmedFactors(ex, userId)).some((f) => f.type === type);

  /**
   * Serialises changes to one user's factors (enrolment, confirmation): on PostgreSQL the user
   * row stays locked until the transaction ends, so two concurrent enrolments cannot both insert
   * a pending factor, nor two pending ones both be confirmed (READ COMMITTED would let each miss
   * the other's uncommitted row). SQLite has a single writer: its transactions are serial.
   */
  const lockFactorsOf = (trx: Transaction<DB>, userId: string) =>
    findUserByIdForUpdate(trx, userId, rt.dialect);

  /**
   * One pending enrolment per type at a time: a new one replaces an unconfirmed one, and none
   * starts while a confirmed factor of the type exists. Two requests at once (a double click)
   * must not both insert: the user's factors are locked first (lockFactorsOf).
   */
  async function insertPendingFactor(
    trx: Transaction<DB>,
    userId: string,
    factor: {
      id: string;
      type: MfaFactorsTable['type'];
      secret_sealed: string | null;
      phone: string | null;
      now: number;
    },
  ) {
    await lockFactorsOf(trx, userId);
    if (await hasConfirmed(trx, userId, factor.type))
      throw new AppError(
        'factor_exists',
        factor.type === 'totp'
          ? 'Remove the current authenticator first'
          : 'Remove the current phone number first',
      );
    await trx
      .deleteFrom('mfa_factors')
      .where('user_id', '=', userId)
      .where('type', '=', factor.type)
      .where('confirmed_at', 'is', null)
      .execute();
    await trx
      .insertInto('mfa_factors')
      .values({
        id: factor.id,
        user_id: userId,
        type: factor.type,
        secret_sealed: factor.secret_sealed,
        phone: factor.phone,
        confirmed_at: null,
        last_used_step: null,
        last_used_at: null,
        created_at: factor.now,
      })
      .execute();
  }

  /** The second factors a user can answer a challenge with, strongest first. */
  async function methodsOf(ex: Executor, userId: string): Promise<SecondFactorMethod[]> {
    const factors = await confirmedFactors(ex, userId);
    if (factors.length === 0) return [];
    const methods: SecondFactorMethod[] = [];
    if (factors.some((f) => f.type === 'totp')) methods.push('totp');
    if (factors.some((f) => f.type === 'sms')) methods.push('sms');
    if ((await unusedRecoveryCodes(ex, userId)) > 0) methods.push('recovery_code');
    return methods;
  }

  /** Replaces the user's recovery codes; returns the new ones (shown once). */
  async function replaceRecoveryCodes(trx: Transaction<DB>, userId: string, now: number) {
    await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await trx
      .insertInto('recovery_codes')
      .values(
        codes.map((code) => ({
          id: newId('rec', now),
          user_id: userId,
          code_hash: recoveryHash(userId, code),
          used_at: null,
          created_at: now,
        })),
      )
      .execute();
    return codes;
  }

  /**
   * Checks one second factor inside the caller's transaction. Every path spends what it uses
   * with a guarded UPDATE, so two concurrent submissions of one code cannot both pass: a TOTP
   * step is accepted once (replay), an SMS code once, a recovery code once.
   */
  async function verifyFactor(
    trx: Transaction<DB>,
    userId: string,
    method: SecondFactorMethod,
    code: string,
    now: number,
    smsPurpose: SmsPurpose = 'mfa_sms',
  ): Promise<FactorResult> {
    if (method === 'recovery_code') {
      const used = await trx
        .updateTable('recovery_codes')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('code_hash', '=', recoveryHash(userId, code))
        .where('used_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      return used ? { ok: true } : { ok: false, check: { ok: false, reason: 'invalid_code' } };
    }
    const factor = (await confirmedFactors(trx, userId)).find((f) => f.type === method);
    if (!factor) throw new AppError('mfa_method_unavailable');
    if (method === 'sms') {
      const check = await checkCode(trx, rt.secretKey, userId, smsPurpose, code, now);
      if (!check.ok) return { ok: false, check };
      await trx
        .updateTable('mfa_factors')
        .set({ last_used_at: now })
        .where('id', '=', factor.id)
        .execute();
      return { ok: true };
    }
    const secret = openSecret(rt.secretKey, SEAL_PURPOSE, factor.secret_sealed!);
    const step = await matchTotp(secret, code, now);
    if (step === null) return { ok: false, check: { ok: false, reason: 'invalid_code' } };
    const accepted = await trx
      .updateTable('mfa_factors')
      .set({ last_used_step: step, last_used_at: now })
      .where('id', '=', factor.id)
      .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
      .returning('id')
      .executeTakeFirst();
    // A code of a step already used (here or by a concurrent request) is a replay.
    return accepted ? { ok: true } : { ok: false, check: { ok: false, reason: 'invalid_code' } };
  }

  /**
   * Sign-in and step-up codes have their own purposes: a step-up code cannot finish a sign-in
   * (nor the reverse), and asking for one does not void the other.
   */
  async function sendSignInSms(
    userId: string,
    meta: RequestMeta,
    purpose: SmsPurpose = 'mfa_sms',
    organizationId: string | null = null,
  ) {
    await limits.consume('smsSendPerAccount', userId);
    const factor = (await confirmedFactors(db, userId)).find((f) => f.type === 'sms');
    if (!factor?.phone) throw new AppError('mfa_method_unavailable');
    await consumeSmsCaps(limits, factor.phone, organizationId);
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      const code = await issueCode(trx, rt.secretKey, userId, purpose, now, SMS_CODE_TTL_MS);
      await enqueueSms(trx, texts.signInCode(factor.phone!, code), now);
      // A new code replaces the pending one (like resend-otp): a state change, audited.
      await audit(trx, meta, userId, 'mfa.sms_code_sent', { factor_id: factor.id }, now);
    });
    rt.notifyOutbox();
    return { status: 'sent' as const, expires_in: SMS_CODE_TTL_MS / 1000 };
  }

  async function audit(
    trx: Transaction<DB>,
    meta: RequestMeta,
    userId: string,
    action: string,
    changes: Record<string, unknown>,
    now: number,
  ) {
    await insertAuditEvent(
      trx,
      meta,
      {
        actor: { type: 'user', id: userId },
        action,
        target: { type: 'user', id: userId },
        changes,
      },
      now,
    );
  }

  /** The first confirmed factor brings recovery codes and a notice; later ones only a notice. */
  async function afterConfirm(
    trx: Transaction<DB>,
    user: UserRow,
    factor: MfaFactorsTable,
    principal: UserPrincipal,
    meta: RequestMeta,
    now: number,
  ) {
    const others = (await confirmedFactors(trx, user.id)).filter((f) => f.id !== factor.id);
    const codes = others.length === 0 ? await replaceRecoveryCodes(trx, user.id, now) : null;
    // The code just typed proves the factor: this session now counts as signed in with it.
    // It does not renew auth_time: a factor the session enrolled itself proves possession of
    // that factor, not who is at the keyboard (else enrol/remove cycles would keep a stolen
    // session "recent" forever).
    await sessions.recordProof(trx, principal.sessionId, factor.type, { renewAuthTime: false });
    await enqueueEmail(
      trx,
      mails.securityChanged(
        user.email,
        user.first_name,
        factor.type === 'totp'
          ? 'An authenticator app was added as a second factor.'
          : `The phone number ${maskPhone(factor.phone ?? '')} was added as a second factor.`,
        now,
        user.timezone,
      ),
      now,
    );
    await audit(
      trx,
      meta,
      user.id,
      'mfa.factor_added',
      { factor_id: factor.id, type: factor.type },
      now,
    );
    return codes;
  }

  async function loadUser(principal: UserPrincipal) {
    const user = await findUserById(db, principal.userId);
    if (!user) throw new AppError('unauthenticated');
    return user;
  }

  function publishProof(principal: UserPrincipal) {
    rt.bus.publish(`session:${principal.sessionId}`);
    rt.notifyOutbox();
  }

  /** Sensitive acts need auth_time within STEP_UP_MAX_AGE; otherwise `step_up_required`. */
  async function assertRecentAuth(principal: UserPrincipal) {
    const maxAge = rt.config.stepUpMaxAge;
    if (clock.now() - principal.authTime <= maxAge * 1000) return;
    const methods = await stepUpMethodsOf(principal.userId);
    throw new AppError(
      'step_up_required',
      methods.length > 0
        ? `Confirm it is you (POST /v1/auth/step-up with ${methods.join(' or ')}), then retry`
        : 'Sign in again, then retry',
      { methods, max_age: maxAge },
    );
  }

  /**
   * A user with a second factor steps up with a factor: the password alone would let whoever
   * holds an unlocked session and the password undo the second factor. Others use the password.
   */
  async function stepUpMethodsOf(userId: string): Promise<string[]> {
    const factorMethods = await methodsOf(db, userId);
    if (factorMethods.length > 0) return factorMethods;
    const user = await findUserById(db, userId);
    return user?.password_hash ? ['password'] : [];
  }

  return {
    methodsOf,
    verifyFactor,
    assertRecentAuth,
    stepUpMethodsOf,

    async status(userId: string) {
      const factors = await db
        .selectFrom('mfa_factors')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .execute();
      return {
        factors: factors.map(factorView),
        recovery_codes_remaining: await unusedRecoveryCodes(db, userId),
        step_up_methods: await stepUpMethodsOf(userId),
      };
    },

    /**
     * Starts a TOTP enrolment: a fresh secret, its URI and QR code; confirmed by a first code.
     * Needs a recent sign-in (step-up), like removing a factor: a stale or stolen session must
     * not add a factor of its own, which would lock the owner out and, once confirmed, count as
     * a fresh proof for every other sensitive act.
     */
    async enrolTotp(principal: UserPrincipal, meta: RequestMeta) {
      await assertRecentAuth(principal);
      const user = await loadUser(principal);
      const existing = await confirmedFactors(db, user.id);
      if (existing.some((f) => f.type === 'totp'))
        throw new AppError('factor_exists', 'Remove the current authenticator first');
      const secret = newTotpSecret();
      const uri = totpUri(totpIssuer(rt.config.publicUrl), user.email, secret);
      const qr = await qrCodeDataUrl(uri);
      const now = clock.now();
      const id = newId('mfa', now);
      await db.transaction().execute(async (trx) => {
        await insertPendingFactor(trx, user.id, {
          id,
          type: 'totp',
          secret_sealed: sealSecret(rt.secretKey, SEAL_PURPOSE, secret),
          phone: null,
          now,
        });
        await audit(trx, meta, user.id, 'mfa.totp_enrolment_started', { factor_id: id }, now);
      });
      return { factor_id: id, secret, otpauth_uri: uri, qr_code: qr };
    },

    async confirmTotp(principal: UserPrincipal, code: string, meta: RequestMeta) {
      // Confirming records a proof in the session (auth_time): only a recent one may.
      await assertRecentAuth(principal);
      await limits.consume('mfaVerifyPerIp', meta.ip ?? 'unknown');
      await limits.consume('mfaVerifyPerAccount', principal.userId);
      const user = await loadUser(principal);
      const now = clock.now();
      const pendings = await db
        .selectFrom('mfa_factors')
        .selectAll()
        .where('user_id', '=', user.id)
        .where('type', '=', 'totp')
        .where('confirmed_at', 'is', null)
        .where('created_at', '>', now - ENROLMENT_TTL_MS)
        .orderBy('created_at', 'desc')
        .execute();
      if (pendings.length === 0)
        throw new AppError('code_expired', 'No authenticator enrolment is pending: start again');
      // Normally one; should an older row linger, the code tells which secret the user scanned.
      let pending: MfaFactorsTable | undefined;
      let step: number | null = null;
      for (const candidate of pendings) {
        const secret = openSecret(rt.secretKey, SEAL_PURPOSE, candidate.secret_sealed!);
        step = await matchTotp(secret, code, now);
        if (step !== null) {
          pending = candidate;
          break;
        }
      }
      if (!pending || step === null) throw new AppError('invalid_code');
      const result = await db.transaction().execute(async (trx) => {
        // At most one authenticator: two pending enrolments confirmed at once must not both win.
        await lockFactorsOf(trx, user.id);
        if (await hasConfirmed(trx, user.id, 'totp'))
          throw new AppError('factor_exists', 'Remove the current authenticator first');
        const confirmed = await trx
          .updateTable('mfa_factors')
          .set({ confirmed_at: now, last_used_step: step, last_used_at: now })
          .where('id', '=', pending.id)
          .where('confirmed_at', 'is', null)
          .returningAll()
          .executeTakeFirst();
        if (!confirmed) return null;
        await trx
          .deleteFrom('mfa_factors')
          .where('user_id', '=', user.id)
          .where('type', '=', 'totp')
          .where('confirmed_at', 'is', null)
          .execute();
        const codes = await afterConfirm(trx, user, confirmed, principal, meta, now);
        return { factor: factorView(confirmed), recovery_codes: codes };
      });
      if (!result) throw new AppError('code_expired', 'This enrolment was already confirmed');
      publishProof(principal);
      return result;
    },

    /**
     * Starts an SMS enrolment: the number gets a code, and is a factor once the code comes back.
     * Needs a recent sign-in, for the reasons given at enrolTotp.
     */
    async enrolSms(principal: UserPrincipal, phone: string, meta: RequestMeta) {
      await assertRecentAuth(principal);
      const user = await loadUser(principal);
      if ((await confirmedFactors(db, user.id)).some((f) => f.type === 'sms'))
        throw new AppError('factor_exists', 'Remove the current phone number first');
      await limits.consume('smsSendPerAccount', user.id);
      await consumeSmsCaps(limits, phone, principal.currentOrgId);
      const now = clock.now();
      const id = newId('mfa', now);
      await db.transaction().execute(async (trx) => {
        await insertPendingFactor(trx, user.id, {
          id,
          type: 'sms',
          secret_sealed: null,
          phone,
          now,
        });
        const code = await issueCode(trx, rt.secretKey, user.id, 'sms_enrol', now, SMS_CODE_TTL_MS);
        await enqueueSms(trx, texts.confirmPhone(phone, code), now);
        await audit(trx, meta, user.id, 'mfa.sms_enrolment_started', { factor_id: id }, now);
      });
      rt.notifyOutbox();
      return { factor_id: id, phone: maskPhone(phone), expires_in: SMS_CODE_TTL_MS / 1000 };
    },

    async confirmSms(principal: UserPrincipal, code: string, meta: RequestMeta) {
      await assertRecentAuth(principal);
      await limits.consume('mfaVerifyPerIp', meta.ip ?? 'unknown');
      await limits.consume('mfaVerifyPerAccount', principal.userId);
      const user = await loadUser(principal);
      const now = clock.now();
      const result = await db.transaction().execute(async (trx) => {
        await lockFactorsOf(trx, user.id);
        // The newest: the number the latest code (the only live one) went to.
        const pending = await trx
          .selectFrom('mfa_factors')
          .selectAll()
          .where('user_id', '=', user.id)
          .where('type', '=', 'sms')
          .where('confirmed_at', 'is', null)
          .orderBy('created_at', 'desc')
          .executeTakeFirst();
        if (!pending)
          return {
            ok: false as const,
            check: { ok: false as const, reason: 'code_expired' as const },
          };
        // At most one phone number: a second pending one confirmed at once must not also win.
        if (await hasConfirmed(trx, user.id, 'sms'))
          throw new AppError('factor_exists', 'Remove the current phone number first');
        const check = await checkCode(trx, rt.secretKey, user.id, 'sms_enrol', code, now);
        if (!check.ok) return { ok: false as const, check };
        const confirmed = await trx
          .updateTable('mfa_factors')
          .set({ confirmed_at: now, last_used_at: now })
          .where('id', '=', pending.id)
          .where('confirmed_at', 'is', null)
          .returningAll()
          .executeTakeFirst();
        if (!confirmed)
          return {
            ok: false as const,
            check: { ok: false as const, reason: 'code_expired' as const },
          };
        // The confirmed number is the user's mobile (SPEC sources: used only for security codes).
        await trx
          .updateTable('users')
          .set({ mobile: confirmed.phone, updated_at: now })
          .where('id', '=', user.id)
          .execute();
        const codes = await afterConfirm(trx, user, confirmed, principal, meta, now);
        return {
          ok: true as const,
          view: { factor: factorView(confirmed), recovery_codes: codes },
        };
      });
      if (!result.ok) failFactor(result.check);
      rt.bus.publish(`user:${user.id}`);
      publishProof(principal);
      return result.view;
    },

    /** Removes a factor (needs a fresh factor: step-up). The last one takes the recovery codes with it. */
    async removeFactor(principal: UserPrincipal, factorId: string, meta: RequestMeta) {
      const user = await loadUser(principal);
      const factor = await db
        .selectFrom('mfa_factors')
        .selectAll()
        .where('id', '=', factorId)
        .where('user_id', '=', user.id)
        .executeTakeFirst();
      if (!factor) throw new AppError('not_found', 'No such factor');
      // An unconfirmed enrolment protects nothing yet; removing it needs no step-up.
      if (factor.confirmed_at !== null) await assertRecentAuth(principal);
      const now = clock.now();
      const removed = await db.transaction().execute(async (trx) => {
        const gone = await trx
          .deleteFrom('mfa_factors')
          .where('id', '=', factorId)
          .where('user_id', '=', user.id)
          .returning('id')
          .executeTakeFirst();
        if (!gone) return false;
        if (factor.confirmed_at === null) {
          await audit(
            trx,
            meta,
            user.id,
            'mfa.enrolment_cancelled',
            { factor_id: factorId, type: factor.type },
            now,
          );
          return true;
        }
        if ((await confirmedFactors(trx, user.id)).length === 0)
          await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
        await enqueueEmail(
          trx,
          mails.securityChanged(
            user.email,
            user.first_name,
            factor.type === 'totp'
              ? 'The authenticator app was removed from your second factors.'
              : 'The phone number was removed from your second factors.',
            now,
            user.timezone,
          ),
          now,
        );
        await audit(
          trx,
          meta,
          user.id,
          'mfa.factor_removed',
          { factor_id: factorId, type: factor.type },
          now,
        );
        return true;
      });
      if (!removed) throw new AppError('not_found', 'No such factor');
      rt.notifyOutbox();
    },

    async regenerateRecoveryCodes(principal: UserPrincipal, meta: RequestMeta) {
      await assertRecentAuth(principal);
      if ((await confirmedFactors(db, principal.userId)).length === 0)
        throw new AppError(
          'mfa_method_unavailable',
          'Recovery codes come with a second factor: add one first',
        );
      const now = clock.now();
      const codes = await db.transaction().execute(async (trx) => {
        const fresh = await replaceRecoveryCodes(trx, principal.userId, now);
        await audit(trx, meta, principal.userId, 'mfa.recovery_codes_regenerated', {}, now);
        return fresh;
      });
      return { recovery_codes: codes };
    },

    /**
     * Called by sign-in once the first factor passed. Users without a second factor get null
     * (sign in now); others get a challenge token to answer with one of `methods`.
     */
    async challengeIfNeeded(
      user: UserRow,
      amr: string[],
      mode: 'token' | 'cookie',
    ): Promise<{ mfa_token: string; methods: SecondFactorMethod[]; expires_in: number } | null> {
      const methods = await methodsOf(db, user.id);
      if (methods.length === 0) return null;
      const token = randomToken();
      const now = clock.now();
      await db
        .insertInto('pending_sign_ins')
        .values({
          id: newId('psi', now),
          token_hash: hashToken(token),
          user_id: user.id,
          kind: 'mfa',
          amr: JSON.stringify(amr),
          mode,
          attempts: 0,
          expires_at: now + CHALLENGE_TTL_MS,
          consumed_at: null,
          created_at: now,
        })
        .execute();
      return { mfa_token: token, methods, expires_in: CHALLENGE_TTL_MS / 1000 };
    },

    /** Sends the sign-in code of a pending challenge to the user's confirmed number. */
    async sendChallengeSms(mfaToken: string, meta: RequestMeta) {
      await limits.consume('mfaVerifyPerIp', meta.ip ?? 'unknown');
      const pending = await findPending(db, mfaToken, 'mfa', clock.now());
      if (!pending) throw new AppError('mfa_challenge_invalid');
      return sendSignInSms(pending.user_id, meta);
    },

    /**
     * Completes a sign-in: the challenge's attempt is spent first (guarded), then the factor is
     * checked and the challenge consumed, all in one transaction that commits even on a wrong
     * code (the spent attempt must stick). The challenge names its user: a code of anyone else
     * fails like any wrong code.
     */
    async verifyChallenge(
      input: { mfa_token: string; method: SecondFactorMethod; code: string },
      meta: RequestMeta,
    ) {
      await limits.consume('mfaVerifyPerIp', meta.ip ?? 'unknown');
      const now = clock.now();
      const pending = await findPending(db, input.mfa_token, 'mfa', now);
      if (!pending) throw new AppError('mfa_challenge_invalid');
      await limits.consume('mfaVerifyPerAccount', pending.user_id);
      const user = await findUserById(db, pending.user_id);
      if (user?.status !== 'active') throw new AppError('mfa_challenge_invalid');
      const outcome = await db.transaction().execute(async (trx) => {
        const spent = await trx
          .updateTable('pending_sign_ins')
          .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
          .where('id', '=', pending.id)
          .where('attempts', '<', CHALLENGE_MAX_ATTEMPTS)
          .where('consumed_at', 'is', null)
          .returning('attempts')
          .executeTakeFirst();
        if (!spent) return { kind: 'dead' as const };
        const factor = await verifyFactor(trx, user.id, input.method, input.code, now);
        if (!factor.ok)
          return {
            kind: 'wrong' as const,
            check: factor.check,
            attemptsLeft: CHALLENGE_MAX_ATTEMPTS - Number(spent.attempts),
          };
        const consumed = await trx
          .updateTable('pending_sign_ins')
          .set({ consumed_at: now })
          .where('id', '=', pending.id)
          .where('consumed_at', 'is', null)
          .returning('id')
          .executeTakeFirst();
        if (!consumed) return { kind: 'dead' as const };
        const amr = withMethod(JSON.parse(pending.amr) as string[], input.method);
        const opened = await sessions.open(trx, user, { amr, meta, mode: pending.mode });
        return { kind: 'ok' as const, opened };
      });
      if (outcome.kind === 'dead') throw new AppError('mfa_challenge_invalid');
      if (outcome.kind === 'wrong') {
        if (outcome.attemptsLeft <= 0)
          throw new AppError('mfa_challenge_invalid', 'Too many wrong codes: sign in again');
        if (outcome.check.reason === 'invalid_code')
          throw new AppError('invalid_code', undefined, { attempts_left: outcome.attemptsLeft });
        failFactor(outcome.check);
      }
      await limits.reset('mfaVerifyPerAccount', user.id);
      rt.metrics.signIns.inc({ result: 'success' });
      return sessions.finish(outcome.opened);
    },

    /** Step-up: a fresh proof in the current session (password, or a factor when the user has one). */
    async stepUp(
      principal: UserPrincipal,
      input: { method: 'password' | SecondFactorMethod; password?: string; code?: string },
      meta: RequestMeta,
    ) {
      await limits.consume('mfaVerifyPerIp', meta.ip ?? 'unknown');
      await limits.consume('mfaVerifyPerAccount', principal.userId);
      const allowed = await stepUpMethodsOf(principal.userId);
      if (!allowed.includes(input.method))
        throw new AppError(
          'mfa_method_unavailable',
          `Step up with ${allowed.join(' or ') || 'a new sign-in'}`,
          {
            methods: allowed,
          },
        );
      const now = clock.now();
      if (input.method === 'password') {
        const user = await loadUser(principal);
        if (
          !input.password ||
          !user.password_hash ||
          !(await rt.hasher.verify(user.password_hash, input.password))
        )
          throw new AppError('invalid_credentials', 'The password is incorrect');
        const proof = await db.transaction().execute(async (trx) => {
          const recorded = await sessions.recordProof(trx, principal.sessionId, 'pwd');
          await audit(
            trx,
            meta,
            principal.userId,
            'session.step_up',
            { method: 'password', session_id: principal.sessionId },
            now,
          );
          return recorded;
        });
        return finishStepUp(principal, proof);
      }
      if (!input.code)
        throw new AppError('validation_failed', 'code is required', {
          errors: [{ path: 'body.code', message: 'required for this method' }],
        });
      const outcome = await db.transaction().execute(async (trx) => {
        const factor = await verifyFactor(
          trx,
          principal.userId,
          input.method as SecondFactorMethod,
          input.code!,
          now,
          'step_up_sms',
        );
        if (!factor.ok) return factor;
        const recorded = await sessions.recordProof(trx, principal.sessionId, input.method);
        await audit(
          trx,
          meta,
          principal.userId,
          'session.step_up',
          { method: input.method, session_id: principal.sessionId },
          now,
        );
        return { ok: true as const, recorded };
      });
      if (!outcome.ok) failFactor(outcome.check);
      return finishStepUp(
        principal,
        (outcome as { recorded: { amr: string[]; authTime: number } | null }).recorded,
      );
    },

    /** Sends a step-up SMS code to the signed-in user's confirmed number. */
    sendStepUpSms: (principal: UserPrincipal, meta: RequestMeta) =>
      sendSignInSms(principal.userId, meta, 'step_up_sms', principal.currentOrgId),
  };

  async function finishStepUp(
    principal: UserPrincipal,
    proof: { amr: string[]; authTime: number } | null,
  ) {
    if (!proof) throw new AppError('session_revoked');
    rt.bus.publish(`session:${principal.sessionId}`);
    return {
      auth_time: toIso(proof.authTime),
      amr: proof.amr,
      valid_for: rt.config.stepUpMaxAge,
      // A bearer client's token still carries the old amr: here is one with the new.
      access_token: await sessions.reissueAccessToken(principal.sessionId),
      expires_in: rt.config.accessTokenTtl,
    };
  }
}

/** A live pending sign-in of a kind, found by the hash of its token. */
export async function findPending(
  ex: Executor,
  token: string,
  kind: PendingSignInsTable['kind'],
  now: number,
) {
  const row = await ex
    .selectFrom('pending_sign_ins')
    .selectAll()
    .where('token_hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!row || row.kind !== kind || row.consumed_at !== null || row.expires_at <= now) return null;
  return row;
}

export type MfaService = ReturnType<typeof createMfaService>;
