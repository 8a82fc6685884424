import type { Transaction } from 'kysely';
import * as client from 'openid-client';
import { isUniqueViolation } from '../../db/dialect';
import type { DB, UserIdentitiesTable } from '../../db/schema';
import { enqueueEmail } from '../../delivery/outbox';
import { mails } from '../../delivery/templates';
import type { RequestMeta, UserPrincipal } from '../../http/context';
import { AppError } from '../../http/errors';
import { toIso } from '../../lib/clock';
import { newId } from '../../lib/ids';
import { hashToken, randomToken } from '../../lib/secrets';
import type { Runtime } from '../../runtime';
import { insertAuditEvent } from '../audit/audit.repo';
import { type CodeCheck, checkCode, issueCode } from '../auth/one-time-codes';
import { findPending, type MfaService } from '../mfa/mfa.service';
import type { IssuedSession, SessionService } from '../sessions/sessions.service';
import { findUserByEmail, findUserById, insertUser, type UserRow } from '../users/users.repo';
import { Provider, type ProviderProfile } from './providers';
import { claimUnprovenAccount } from './unproven-account';

/** A started sign-in must come back within this time. */
const STATE_TTL_MS = 10 * 60 * 1000;
/** A token-mode hand-off must be exchanged within this time. */
const HANDOFF_TTL_MS = 2 * 60 * 1000;

/** A provider sign-in wants to join an existing account: how the person proves that account. */
type Proof = 'password' | 'email_code';

/** What a provider identity resolves to: a user to sign in, or an account to prove first. */
type Resolution =
  | { kind: 'user'; user: UserRow; revoked: string[] }
  | { kind: 'proof'; user: UserRow; proof: Proof };

/** What a link_proof pending sign-in remembers of the provider's answer. */
interface PendingLinkDetail {
  provider: string;
  subject: string;
  email: string;
  proof: Proof;
  first_name: string;
  last_name: string;
}

/** A pending link lives as long as a started sign-in, and allows 5 wrong answers. */
const LINK_PROOF_TTL_MS = STATE_TTL_MS;
const LINK_PROOF_MAX_ATTEMPTS = 5;

/** The names a new or newly claimed account takes from the provider. */
const ownerNames = (profile: ProviderProfile) => ({
  firstName: profile.firstName ?? (profile.email ?? '').split('@')[0]!.slice(0, 100),
  lastName: profile.lastName ?? '',
});

/** Where the browser goes when a sign-in ends, with what it must know in the fragment. */
export type CallbackOutcome =
  | { kind: 'session'; redirect: string; issued: IssuedSession }
  | { kind: 'redirect'; redirect: string };

/**
 * The return address must be a path on this site or under an allowed origin/prefix. Compared
 * as parsed URLs (origin, then path prefix), never as strings: `https://app.example.com.evil`
 * and `//evil.example` are not on the list.
 */
export function checkReturnTo(
  returnTo: string | undefined,
  publicUrl: string,
  allowed: readonly string[],
): string {
  const home = new URL(publicUrl);
  if (returnTo === undefined || returnTo === '') return `${home.origin}/`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused: URL parsers drop tabs and newlines, so `/\t/evil.example` would become `//evil.example`
  if (/[\u0000-\u001f\\]/.test(returnTo)) throw new AppError('redirect_not_allowed');
  if (returnTo.startsWith('/') && !returnTo.startsWith('//'))
    return new URL(returnTo, home.origin).href;
  let target: URL;
  try {
    target = new URL(returnTo);
  } catch {
    throw new AppError('redirect_not_allowed');
  }
  if (target.username || target.password) throw new AppError('redirect_not_allowed');
  const entries = [home.origin, ...allowed];
  const ok = entries.some((entry) => {
    const base = new URL(entry);
    if (base.origin !== target.origin) return false;
    const prefix = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
    return (
      base.pathname === '/' ||
      target.pathname === base.pathname ||
      target.pathname.startsWith(prefix)
    );
  });
  if (!ok) throw new AppError('redirect_not_allowed');
  return target.href;
}

/**
 * The cookie that binds a started sign-in to the browser that started it (RFC 6749 §10.12,
 * RFC 9700 §4.7): /start sets it, the callback requires it. Without it, anyone could start a
 * sign-in, authorize it with their own provider account and send the callback URL to a victim,
 * whose browser would then be signed in to the attacker's account (login CSRF). One cookie per
 * sign-in (named after the state's hash) lets two tabs sign in at once.
 */
export const oauthBindingCookie = (state: string) =>
  `gatehouse_oauth_${hashToken(state).slice(0, 16)}`;

/** Results ride in the fragment: never sent to a server, never in a Referer header. */
function withFragment(url: string, values: Record<string, string>): string {
  const target = new URL(url);
  target.hash = new URLSearchParams(values).toString();
  return target.href;
}

const identityView = (row: UserIdentitiesTable) => ({
  id: row.id,
  provider: row.provider,
  email: row.email,
  created_at: toIso(row.created_at),
  last_used_at: row.last_used_at === null ? null : toIso(row.last_used_at),
});

/**
 * Sign-in with Google, GitHub and generic OpenID Connect providers: authorization code flow
 * with PKCE, state and nonce (openid-client); identities linked to users only through an email
 * the provider verified; the second factor still asked for when the user has one.
 */
export function createOAuthService(rt: Runtime, sessions: SessionService, mfa: MfaService) {
  const { db, clock, limits } = rt;
  const providers = new Map(
    rt.config.oauthProviders.map((settings) => [
      settings.id,
      new Provider(settings, `${rt.config.publicUrl}/v1/auth/oauth/${settings.id}/callback`),
    ]),
  );

  function providerOf(id: string): Provider {
    const provider = providers.get(id);
    if (!provider) throw new AppError('oauth_provider_unknown');
    return provider;
  }

  async function begin(
    providerId: string,
    input: { return_to?: string; mode: 'token' | 'cookie' },
    meta: RequestMeta,
    linkUserId: string | null,
  ) {
    await limits.consume('oauthPerIp', meta.ip ?? 'unknown');
    const provider = providerOf(providerId);
    const returnTo = checkReturnTo(input.return_to, rt.config.publicUrl, rt.config.oauthReturnUrls);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const url = await provider.authorizationUrl({ state, nonce, codeVerifier });
    const now = clock.now();
    await db
      .insertInto('oauth_states')
      .values({
        state_hash: hashToken(state),
        provider: provider.id,
        nonce,
        code_verifier: codeVerifier,
        return_to: returnTo,
        mode: input.mode,
        link_user_id: linkUserId,
        expires_at: now + STATE_TTL_MS,
        consumed_at: null,
        created_at: now,
      })
      .execute();
    return { url, state };
  }

  /**
   * Finds or makes the user for a provider identity. An identity seen before signs its user in.
   * A new one needs an email the provider verified (otherwise anyone could claim a victim's
   * address at a lax provider and walk in); with no account for the email, a new user is made.
   * An existing account is joined on the provider's word alone only when the provider is trusted
   * to link by email (LINK_BY_EMAIL) and the account is not a platform administrator's: a lax or
   * customer-run issuer can vouch for any address, and no provider's word alone takes over a
   * platform (issue 10 #11). Otherwise the person must prove the account first ('proof').
   */
  async function resolveUser(
    trx: Transaction<DB>,
    provider: Provider,
    profile: ProviderProfile,
    meta: RequestMeta,
    now: number,
  ): Promise<Resolution> {
    const known = await trx
      .selectFrom('user_identities')
      .selectAll()
      .where('provider', '=', provider.id)
      .where('subject', '=', profile.subject)
      .executeTakeFirst();
    if (known) {
      await trx
        .updateTable('user_identities')
        .set({ last_used_at: now, email: profile.email })
        .where('id', '=', known.id)
        .execute();
      const user = await findUserById(trx, known.user_id);
      if (!user) throw new AppError('oauth_failed');
      return { kind: 'user', user, revoked: [] };
    }
    if (!profile.email || !profile.emailVerified)
      throw new AppError(
        'oauth_email_unverified',
        profile.email
          ? 'The provider has not verified this email address; verify it there, or sign in with your password'
          : 'The provider shared no email address',
      );
    const existing = await findUserByEmail(trx, profile.email);
    // A suspended or deactivated user gets no new way in (and no mail saying so).
    if (existing && existing.status !== 'active') throw new AppError('user_inactive');
    if (existing) {
      if (!provider.settings.linkByEmail || existing.is_platform_admin === 1)
        return {
          kind: 'proof',
          user: existing,
          // An unproven account's password is whoever registered it first: only the mailbox proves it.
          proof:
            existing.email_verified_at !== null && existing.password_hash !== null
              ? 'password'
              : 'email_code',
        };
      let revoked: string[] = [];
      if (existing.email_verified_at === null)
        // The provider proved the mailbox: the account is the mailbox owner's now, and nothing
        // whoever registered the address before them set up survives (pre-account takeover).
        revoked = await claimUnprovenAccount(trx, existing.id, ownerNames(profile), now);
      const user = (await findUserById(trx, existing.id))!;
      await linkIdentity(trx, user, provider, profile, meta, now);
      return { kind: 'user', user, revoked };
    }
    const id = newId('usr', now);
    const names = ownerNames(profile);
    await insertUser(
      trx,
      {
        id,
        email: profile.email,
        password_hash: null,
        first_name: names.firstName,
        last_name: names.lastName,
        email_verified_at: now,
      },
      now,
    );
    await insertAuditEvent(
      trx,
      meta,
      {
        actor: { type: 'user', id },
        action: 'user.registered',
        target: { type: 'user', id },
        changes: { via: provider.id },
      },
      now,
    );
    const user = (await findUserById(trx, id))!;
    await linkIdentity(trx, user, provider, profile, meta, now);
    return { kind: 'user', user, revoked: [] };
  }

  async function linkIdentity(
    trx: Transaction<DB>,
    user: UserRow,
    provider: Provider,
    profile: ProviderProfile,
    meta: RequestMeta,
    now: number,
    proof?: Proof,
  ) {
    const id = newId('idn', now);
    await trx
      .insertInto('user_identities')
      .values({
        id,
        user_id: user.id,
        provider: provider.id,
        subject: profile.subject,
        email: profile.email,
        created_at: now,
        last_used_at: now,
      })
      .execute();
    await enqueueEmail(
      trx,
      mails.securityChanged(
        user.email,
        user.first_name,
        `Your ${provider.settings.displayName} account${profile.email ? ` (${profile.email})` : ''} can now sign you in.`,
        now,
        user.timezone,
      ),
      now,
    );
    await insertAuditEvent(
      trx,
      meta,
      {
        actor: { type: 'user', id: user.id },
        action: 'user.identity_linked',
        target: { type: 'user', id: user.id },
        changes: { identity_id: id, provider: provider.id, ...(proof ? { proof } : {}) },
      },
      now,
    );
  }

  /** After a commit that changed a user (and perhaps revoked sessions): tell caches and mailer. */
  function announce(userId: string, revoked: string[]) {
    rt.bus.publish(`user:${userId}`);
    for (const id of revoked) rt.bus.publish(`session:${id}`);
    rt.notifyOutbox();
  }

  /**
   * A provider sign-in that would join an existing account it may not join on its word alone:
   * remembers it (hashed token, 10 minutes) for POST /v1/auth/oauth/link/confirm. For a code
   * proof, the code goes to the account's address, at most once a minute per address (a lax
   * provider must not make us flood a mailbox): within that minute the code already sent stands.
   */
  async function startPendingLink(
    resolved: Extract<Resolution, { kind: 'proof' }>,
    provider: Provider,
    profile: ProviderProfile,
    mode: 'token' | 'cookie',
    now: number,
  ): Promise<string> {
    const { user, proof } = resolved;
    const mayMail =
      proof === 'email_code' &&
      (await limits.consume('otpSendPerEmail', user.email).then(
        () => true,
        () => false,
      ));
    const token = randomToken();
    const names = ownerNames(profile);
    const detail: PendingLinkDetail = {
      provider: provider.id,
      subject: profile.subject,
      email: profile.email!,
      proof,
      first_name: names.firstName,
      last_name: names.lastName,
    };
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('pending_sign_ins')
        .values({
          id: newId('psi', now),
          token_hash: hashToken(token),
          user_id: user.id,
          kind: 'link_proof',
          amr: JSON.stringify([provider.amr]),
          mode,
          detail: JSON.stringify(detail),
          attempts: 0,
          expires_at: now + LINK_PROOF_TTL_MS,
          consumed_at: null,
          created_at: now,
        })
        .execute();
      if (mayMail) {
        const code = await issueCode(trx, rt.secretKey, user.id, 'oauth_link', now);
        await enqueueEmail(
          trx,
          mails.providerLinkCode(
            user.email,
            // An unproven account's name is whoever registered it: no stranger's text in this mail.
            user.email_verified_at === null ? 'there' : user.first_name,
            provider.settings.displayName,
            code,
          ),
          now,
        );
      }
    });
    if (mayMail) rt.notifyOutbox();
    return token;
  }

  /** Runs a transaction, once more after a unique-key race (two first sign-ins at once). */
  async function withRetry<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return db.transaction().execute(work);
    }
  }

  return {
    list() {
      return [...providers.values()].map((p) => ({
        id: p.id,
        name: p.settings.displayName,
        start_url: `${rt.config.publicUrl}/v1/auth/oauth/${p.id}/start`,
      }));
    },

    start: (
      providerId: string,
      input: { return_to?: string; mode: 'token' | 'cookie' },
      meta: RequestMeta,
    ) => begin(providerId, input, meta, null),

    /** The name of the cookie that binds a sign-in to its browser (set by the start route). */
    bindingCookie: oauthBindingCookie,

    /** A signed-in user adds a provider to their account: same flow, the state names the user. */
    async startLink(
      principal: UserPrincipal,
      providerId: string,
      returnTo: string | undefined,
      meta: RequestMeta,
    ) {
      return {
        authorization_url: (
          await begin(providerId, { return_to: returnTo, mode: 'cookie' }, meta, principal.userId)
        ).url,
      };
    },

    /**
     * The provider sent the browser back. A state we did not issue (forged, replayed, expired,
     * or for another provider), or a sign-in state coming back in a browser that did not start
     * it (no binding cookie), is refused outright, with no redirect: its return address is
     * unknown or not this browser's. Past that, every outcome is a redirect to the return
     * address. A link state needs no binding cookie: it was started by an API call (perhaps a
     * bearer client on another origin) and opens no session; it names its user.
     */
    async callback(
      providerId: string,
      query: { state?: string; code?: string; error?: string },
      rawQuery: string,
      binding: string | undefined,
      meta: RequestMeta,
    ): Promise<CallbackOutcome> {
      await limits.consume('oauthPerIp', meta.ip ?? 'unknown');
      const provider = providerOf(providerId);
      if (!query.state) throw new AppError('oauth_state_invalid');
      const now = clock.now();
      const stateHash = hashToken(query.state);
      const started = await db
        .selectFrom('oauth_states')
        .select('link_user_id')
        .where('state_hash', '=', stateHash)
        .executeTakeFirst();
      // Checked before the state is spent: a callback URL sent to another browser must not
      // burn the sign-in of the browser that started it.
      if (!started || (started.link_user_id === null && binding !== query.state))
        throw new AppError('oauth_state_invalid');
      const consumed = await db
        .updateTable('oauth_states')
        .set({ consumed_at: now })
        .where('state_hash', '=', stateHash)
        .where('provider', '=', provider.id)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      if (!consumed) throw new AppError('oauth_state_invalid');
      const fail = (code: string) => ({
        kind: 'redirect' as const,
        redirect: withFragment(consumed.return_to, { error: code }),
      });
      if (query.error) return fail('oauth_failed');
      let profile: ProviderProfile;
      try {
        profile = await provider.complete(new URL(`${provider.callbackUrl}?${rawQuery}`), {
          state: query.state,
          nonce: consumed.nonce,
          codeVerifier: consumed.code_verifier,
        });
      } catch (error) {
        if (error instanceof AppError) {
          rt.logger.warn({ provider: provider.id, err: error.detail }, 'oauth sign-in failed');
          return fail(error.code);
        }
        throw error;
      }

      if (consumed.link_user_id) {
        // Linking is confirmed by the signed-in user, not done here: this callback may be
        // running in someone else's browser (an attacker starts a link on their own account and
        // lures a victim through the provider), and nothing here proves whose browser it is.
        // The link token goes back in the fragment; only the user who started the link can
        // redeem it (POST /v1/me/identities/confirm with their own session).
        const owner = await db
          .selectFrom('user_identities')
          .select('user_id')
          .where('provider', '=', provider.id)
          .where('subject', '=', profile.subject)
          .executeTakeFirst();
        if (owner && owner.user_id !== consumed.link_user_id)
          return fail('identity_linked_elsewhere');
        const linking = await findUserById(db, consumed.link_user_id);
        if (linking?.status !== 'active') return fail('user_inactive');
        const linkToken = randomToken();
        await db
          .insertInto('pending_sign_ins')
          .values({
            id: newId('psi', now),
            token_hash: hashToken(linkToken),
            user_id: consumed.link_user_id,
            kind: 'link',
            amr: '[]',
            mode: 'token',
            detail: JSON.stringify({
              provider: provider.id,
              subject: profile.subject,
              email: profile.email,
            }),
            attempts: 0,
            expires_at: now + STATE_TTL_MS,
            consumed_at: null,
            created_at: now,
          })
          .execute();
        return {
          kind: 'redirect',
          redirect: withFragment(consumed.return_to, {
            link_token: linkToken,
            provider: provider.id,
          }),
        };
      }

      let resolved: Resolution;
      try {
        resolved = await withRetry((trx) => resolveUser(trx, provider, profile, meta, now));
      } catch (error) {
        if (error instanceof AppError) return fail(error.code);
        throw error;
      }
      if (resolved.kind === 'proof') {
        const pending = await startPendingLink(resolved, provider, profile, consumed.mode, now);
        return {
          kind: 'redirect',
          redirect: withFragment(consumed.return_to, {
            link_pending_token: pending,
            provider: provider.id,
            proof: resolved.proof,
            expires_in: String(LINK_PROOF_TTL_MS / 1000),
          }),
        };
      }
      const { user } = resolved;
      announce(user.id, resolved.revoked);
      if (user.status !== 'active') return fail('user_inactive');
      const amr = [provider.amr];
      const challenge = await mfa.challengeIfNeeded(user, amr, consumed.mode);
      if (challenge)
        return {
          kind: 'redirect',
          redirect: withFragment(consumed.return_to, {
            mfa_token: challenge.mfa_token,
            methods: challenge.methods.join(','),
            expires_in: String(challenge.expires_in),
          }),
        };
      if (consumed.mode === 'cookie') {
        const opened = await db
          .transaction()
          .execute((trx) => sessions.open(trx, user, { amr, meta, mode: 'cookie' }));
        rt.metrics.signIns.inc({ result: 'success' });
        return {
          kind: 'session',
          redirect: consumed.return_to,
          issued: await sessions.finish(opened),
        };
      }
      // Token mode: the tokens must not travel in a URL; a one-time login token does, to be
      // exchanged by the app at POST /v1/auth/oauth/exchange.
      const loginToken = randomToken();
      await db
        .insertInto('pending_sign_ins')
        .values({
          id: newId('psi', now),
          token_hash: hashToken(loginToken),
          user_id: user.id,
          kind: 'handoff',
          amr: JSON.stringify(amr),
          mode: 'token',
          attempts: 0,
          expires_at: now + HANDOFF_TTL_MS,
          consumed_at: null,
          created_at: now,
        })
        .execute();
      return {
        kind: 'redirect',
        redirect: withFragment(consumed.return_to, { login_token: loginToken }),
      };
    },

    /**
     * Finishes a provider sign-in that had to prove the existing account it joins (the
     * link_pending_token from the callback's fragment): with the account's password, or the
     * code mailed to its address. Counted like a password sign-in: per client address
     * (loginPerIp) and per account (oauthLinkPerAccount, 10 per 15 minutes with back-off; a limit
     * of its own, so nobody can lock the owner's password sign-in this way); a pending link
     * allows 5 answers. On success the identity is linked (audited, and the owner
     * told by mail), an unproven account is claimed as by a provider that proved the mailbox,
     * and the sign-in goes on as a password sign-in would: a second factor if the user has one
     * (mfa_required), else a session in the mode the sign-in started with.
     */
    async confirmPendingLink(
      input: { link_pending_token: string; password?: string; code?: string },
      meta: RequestMeta,
    ) {
      await limits.consume('loginPerIp', meta.ip ?? 'unknown');
      const invalid = () =>
        new AppError('invalid_token', 'The link token is invalid, expired or used: sign in again');
      const pending = await findPending(db, input.link_pending_token, 'link_proof', clock.now());
      if (!pending?.detail) throw invalid();
      const detail = JSON.parse(pending.detail) as PendingLinkDetail;
      const answer = detail.proof === 'password' ? input.password : input.code;
      if (answer === undefined)
        throw new AppError(
          'validation_failed',
          `This link is confirmed with the account's ${detail.proof === 'password' ? 'password' : 'emailed code'}`,
          {
            errors: [
              {
                path: `body.${detail.proof === 'password' ? 'password' : 'code'}`,
                message: 'required',
              },
            ],
          },
        );
      await limits.consume('oauthLinkPerAccount', pending.user_id);
      const provider = providerOf(detail.provider);
      // The attempt is spent before the answer is judged (guarded): parallel guesses get no more.
      const spent = await db
        .updateTable('pending_sign_ins')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', pending.id)
        .where('consumed_at', 'is', null)
        .where('attempts', '<', LINK_PROOF_MAX_ATTEMPTS)
        .returning('attempts')
        .executeTakeFirst();
      if (!spent) throw invalid();
      const user = await findUserById(db, pending.user_id);
      if (user?.status !== 'active') throw new AppError('user_inactive');

      if (detail.proof === 'password') {
        // Only a proven account's password proves it (an unproven one's is whoever registered).
        let ok = false;
        if (user.password_hash !== null && user.email_verified_at !== null)
          ok = await rt.hasher.verify(user.password_hash, answer);
        else await rt.hasher.verifyDummy(answer); // the same time either way
        if (!ok) {
          rt.metrics.signIns.inc({ result: 'failure' });
          throw new AppError(
            'invalid_credentials',
            'The password of the existing account is wrong',
          );
        }
      } else {
        const now = clock.now();
        const check: CodeCheck = await db
          .transaction()
          .execute((trx) => checkCode(trx, rt.secretKey, user.id, 'oauth_link', answer, now));
        if (!check.ok)
          throw new AppError(
            check.reason,
            undefined,
            check.attemptsLeft !== undefined ? { attempts_left: check.attemptsLeft } : {},
          );
      }

      const now = clock.now();
      const profile: ProviderProfile = {
        subject: detail.subject,
        email: detail.email,
        emailVerified: true,
        firstName: detail.first_name,
        lastName: detail.last_name,
      };
      const outcome = await withRetry(async (trx) => {
        const done = await trx
          .updateTable('pending_sign_ins')
          .set({ consumed_at: now })
          .where('id', '=', pending.id)
          .where('consumed_at', 'is', null)
          .returning('id')
          .executeTakeFirst();
        if (!done) throw invalid();
        const owner = await trx
          .selectFrom('user_identities')
          .select('user_id')
          .where('provider', '=', provider.id)
          .where('subject', '=', detail.subject)
          .executeTakeFirst();
        if (owner && owner.user_id !== user.id) throw new AppError('identity_linked_elsewhere');
        let revoked: string[] = [];
        const current = (await findUserById(trx, user.id))!;
        if (current.email_verified_at === null)
          // The emailed code proved the mailbox: as with a provider that proves it, the account
          // is the mailbox owner's now and the unproven state goes (issue 10 #1).
          revoked = await claimUnprovenAccount(
            trx,
            user.id,
            { firstName: detail.first_name, lastName: detail.last_name },
            now,
          );
        // Read again after a claim: the mail below greets the owner, not whoever registered.
        const linked = (await findUserById(trx, user.id))!;
        if (!owner) await linkIdentity(trx, linked, provider, profile, meta, now, detail.proof);
        return { user: linked, revoked };
      });
      announce(user.id, outcome.revoked);
      await limits.reset('oauthLinkPerAccount', pending.user_id);
      const amr = [provider.amr, detail.proof === 'password' ? 'pwd' : 'otp'];
      const challenge = await mfa.challengeIfNeeded(outcome.user, amr, pending.mode);
      if (challenge)
        throw new AppError(
          'mfa_required',
          `Answer with ${challenge.methods.join(', ')} at POST /v1/auth/mfa/verify`,
          challenge,
        );
      const opened = await db
        .transaction()
        .execute((trx) => sessions.open(trx, outcome.user, { amr, meta, mode: pending.mode }));
      rt.metrics.signIns.inc({ result: 'success' });
      return sessions.finish(opened);
    },

    /** Token mode: a login token from the callback becomes a session, once. */
    async exchange(loginToken: string, meta: RequestMeta) {
      await limits.consume('oauthPerIp', meta.ip ?? 'unknown');
      const now = clock.now();
      const pending = await findPending(db, loginToken, 'handoff', now);
      if (!pending)
        throw new AppError('invalid_token', 'The login token is invalid, expired or used');
      const user = await findUserById(db, pending.user_id);
      if (user?.status !== 'active') throw new AppError('user_inactive');
      const opened = await db.transaction().execute(async (trx) => {
        const spent = await trx
          .updateTable('pending_sign_ins')
          .set({ consumed_at: now })
          .where('id', '=', pending.id)
          .where('consumed_at', 'is', null)
          .returning('id')
          .executeTakeFirst();
        if (!spent) return null;
        return sessions.open(trx, user, {
          amr: JSON.parse(pending.amr) as string[],
          meta,
          mode: 'token',
        });
      });
      if (!opened)
        throw new AppError('invalid_token', 'The login token is invalid, expired or used');
      rt.metrics.signIns.inc({ result: 'success' });
      return sessions.finish(opened);
    },

    /**
     * Completes a link: the token from the callback's fragment, redeemed by the user who started
     * the link, from their own session. Anyone else's session hears that the token is invalid.
     */
    async confirmLink(principal: UserPrincipal, linkToken: string, meta: RequestMeta) {
      await limits.consume('oauthPerIp', meta.ip ?? 'unknown');
      const now = clock.now();
      const pending = await findPending(db, linkToken, 'link', now);
      if (!pending || pending.user_id !== principal.userId || !pending.detail)
        throw new AppError(
          'invalid_token',
          'The link token is invalid, expired, used, or not yours',
        );
      const detail = JSON.parse(pending.detail) as {
        provider: string;
        subject: string;
        email: string | null;
      };
      const provider = providerOf(detail.provider);
      const identity = await withRetry(async (trx) => {
        const spent = await trx
          .updateTable('pending_sign_ins')
          .set({ consumed_at: now })
          .where('id', '=', pending.id)
          .where('consumed_at', 'is', null)
          .returning('id')
          .executeTakeFirst();
        if (!spent)
          throw new AppError(
            'invalid_token',
            'The link token is invalid, expired, used, or not yours',
          );
        const existing = await trx
          .selectFrom('user_identities')
          .selectAll()
          .where('provider', '=', provider.id)
          .where('subject', '=', detail.subject)
          .executeTakeFirst();
        if (existing && existing.user_id !== principal.userId)
          throw new AppError('identity_linked_elsewhere');
        if (existing) return existing;
        const user = await findUserById(trx, principal.userId);
        if (user?.status !== 'active') throw new AppError('user_inactive');
        const profile: ProviderProfile = {
          subject: detail.subject,
          email: detail.email,
          emailVerified: false,
          firstName: null,
          lastName: null,
        };
        await linkIdentity(trx, user, provider, profile, meta, now);
        return trx
          .selectFrom('user_identities')
          .selectAll()
          .where('provider', '=', provider.id)
          .where('subject', '=', detail.subject)
          .executeTakeFirstOrThrow();
      });
      rt.notifyOutbox();
      return identityView(identity);
    },

    async listIdentities(userId: string) {
      const rows = await db
        .selectFrom('user_identities')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .execute();
      return { data: rows.map(identityView), next_cursor: null };
    },

    /** Unlinks a provider; never the last way in (no password and no other identity). */
    async unlink(principal: UserPrincipal, identityId: string, meta: RequestMeta) {
      const now = clock.now();
      const outcome = await db.transaction().execute(async (trx) => {
        const user = await findUserById(trx, principal.userId);
        const identities = await trx
          .selectFrom('user_identities')
          .selectAll()
          .where('user_id', '=', principal.userId)
          .execute();
        const target = identities.find((i) => i.id === identityId);
        if (!user || !target) return 'missing' as const;
        if (user.password_hash === null && identities.length === 1) return 'last' as const;
        await trx.deleteFrom('user_identities').where('id', '=', identityId).execute();
        await enqueueEmail(
          trx,
          mails.securityChanged(
            user.email,
            user.first_name,
            `The ${target.provider} sign-in was removed from your account.`,
            now,
            user.timezone,
          ),
          now,
        );
        await insertAuditEvent(
          trx,
          meta,
          {
            actor: { type: 'user', id: user.id },
            action: 'user.identity_unlinked',
            target: { type: 'user', id: user.id },
            changes: { identity_id: identityId, provider: target.provider },
          },
          now,
        );
        return 'done' as const;
      });
      if (outcome === 'missing') throw new AppError('not_found', 'No such identity');
      if (outcome === 'last')
        throw new AppError('last_sign_in_method', 'Set a password or link another provider first');
      rt.notifyOutbox();
    },
  };
}

export type OAuthService = ReturnType<typeof createOAuthService>;
