import type { Problem } from '@gatehouse/contracts';
import { codeForStatus, GatehouseError } from './errors';
import type * as T from './types';

/** The tokens a client holds, as reported to `onTokens`. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  /** seconds until the access token expires, as the server said when it issued it */
  expiresIn: number;
  sessionId: string | undefined;
}

export interface GatehouseClientOptions {
  /** where Gatehouse answers, e.g. `https://id.example.com` (no `/v1`) */
  baseUrl: string | URL;
  /** a user's access token (from a sign-in elsewhere, or kept from an earlier `onTokens`) */
  accessToken?: string;
  /** the refresh token that goes with it: lets the client renew an expired access token */
  refreshToken?: string;
  /**
   * An API key (`gh_…`), sent as `Authorization: Bearer`. A client holding a key acts as that
   * key: it wins over any user tokens, and nothing is refreshed.
   */
  apiKey?: string;
  /**
   * Called (and awaited) whenever the client's tokens change: after sign-in, verification,
   * refresh (automatic or not), an organization switch; with `null` after logout or when the
   * session turned out to be over. Persist them here. An error it throws fails the call that
   * caused the change.
   */
  onTokens?: (tokens: TokenSet | null) => void | Promise<void>;
  /** a fetch implementation (default: the global one); wrap it to log, count or trace calls */
  fetch?: typeof fetch;
  /** abort a call that has not answered after this long (default 10 000 ms; 0: never) */
  timeoutMs?: number;
  /** extra headers sent with every call (a `User-Agent`, a tracing header) */
  headers?: Record<string, string>;
  /**
   * Browser cookie sessions (the console): send the session cookie with every call
   * (`credentials: 'same-origin'` or `'include'`) instead of holding tokens.
   */
  credentials?: RequestInit['credentials'];
  /**
   * The CSRF token of a cookie session, read when a state-changing call is sent (e.g. from the
   * readable `gatehouse_csrf` cookie) and sent as `X-CSRF-Token` (double submit).
   */
  csrfToken?: () => string | undefined;
}

export interface RequestOptions {
  query?: object;
  /** a JSON body */
  body?: unknown;
  /** raw bytes instead of JSON (the avatar upload) */
  bytes?: { data: Blob | ArrayBuffer | Uint8Array; contentType: string };
  /**
   * Whether to send the client's credentials (default true). Public routes work either way;
   * routes that accept an optional sign-in (accepting an invitation) use it when present.
   */
  auth?: boolean;
}

/** `GET /v1/permissions`: declared inline in the server's route (roles.routes.ts), not in the contracts. */
export interface PermissionCatalog {
  data: T.Permission[];
  products: { key: string; name: string; description: string }[];
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** Encodes each interpolated value as one path segment: ids never change the route. */
function path(strings: TemplateStringsArray, ...values: string[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += encodeURIComponent(value) + (strings[i + 1] ?? '');
  });
  return out;
}

function toQueryString(query: object | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function isProblem(body: unknown): body is Problem {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { code?: unknown }).code === 'string'
  );
}

function errorOf(answer: Answer): GatehouseError {
  const requestId = answer.headers.get('x-request-id') ?? undefined;
  if (isProblem(answer.body)) {
    const problem =
      answer.body.request_id || !requestId
        ? answer.body
        : { ...answer.body, request_id: requestId };
    return GatehouseError.fromProblem(problem, answer.status);
  }
  const text = typeof answer.body === 'string' ? answer.body.slice(0, 200) : undefined;
  return new GatehouseError(codeForStatus(answer.status), {
    status: answer.status,
    ...(text ? { detail: text } : {}),
    ...(requestId ? { requestId } : {}),
  });
}

/**
 * A typed client for the Gatehouse API. Every method answers the route's declared response
 * type and throws a {@link GatehouseError} for every error answer.
 *
 * Holding a refresh token, the client renews an expired access token by itself: a call
 * answered `401 invalid_token` triggers one `POST /v1/auth/token/refresh` (calls failing at the
 * same time wait for that same refresh, since the refresh token rotates and may be spent only
 * once), then is retried once with the new token.
 */
export function createGatehouseClient(options: GatehouseClientOptions) {
  const base = String(options.baseUrl).replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 10_000;
  let accessToken = options.accessToken;
  let refreshToken = options.refreshToken;
  let sessionId: string | undefined;
  let lastIssued: T.SessionTokens | undefined;
  const apiKey = options.apiKey;
  let refreshing: Promise<void> | null = null;

  async function emit(tokens: TokenSet | null) {
    await options.onTokens?.(tokens);
  }

  async function keep(tokens: T.SessionTokens) {
    accessToken = tokens.access_token;
    refreshToken = tokens.refresh_token;
    sessionId = tokens.session_id;
    lastIssued = tokens;
    await emit({ accessToken, refreshToken, expiresIn: tokens.expires_in, sessionId });
  }

  async function forget() {
    const had = accessToken !== undefined || refreshToken !== undefined;
    accessToken = undefined;
    refreshToken = undefined;
    sessionId = undefined;
    if (had) await emit(null);
  }

  async function exchange(
    method: string,
    route: string,
    opts: RequestOptions,
    credential: string | undefined,
  ): Promise<Answer> {
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      ...options.headers,
    };
    let body: RequestInit['body'];
    if (opts.bytes) {
      headers['content-type'] = opts.bytes.contentType;
      body = opts.bytes.data as RequestInit['body'];
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    if (credential) headers.authorization = `Bearer ${credential}`;
    if (options.csrfToken && method !== 'GET' && method !== 'HEAD') {
      const csrf = options.csrfToken();
      if (csrf) headers['x-csrf-token'] = csrf;
    }
    const res = await doFetch(`${base}${route}${toQueryString(opts.query)}`, {
      method,
      headers,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(body !== undefined ? { body } : {}),
      ...(timeoutMs > 0 ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
    });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (text && /^application\/([\w.-]+\+)?json\b/i.test(type)) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    } else if (!text) parsed = undefined;
    return { status: res.status, headers: res.headers, body: parsed };
  }

  /** One refresh for everyone: the refresh token rotates, so a second concurrent use would be a reuse. */
  function refreshShared(): Promise<void> {
    refreshing ??= (async () => {
      const held = refreshToken;
      if (!held) throw new GatehouseError('invalid_token', { detail: 'No refresh token held' });
      const answer = await exchange(
        'POST',
        '/v1/auth/token/refresh',
        { body: { refresh_token: held } },
        undefined,
      );
      if (answer.status !== 200) {
        const error = errorOf(answer);
        // 401: the session is over (revoked, expired, refresh token reused): stop offering it.
        if (error.status === 401) await forget();
        throw error;
      }
      await keep(answer.body as T.SessionTokens);
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  async function request<R>(method: string, route: string, opts: RequestOptions = {}): Promise<R> {
    const useAuth = opts.auth !== false;
    // Only a refresh token held (a client rebuilt from storage): get an access token first.
    if (useAuth && !apiKey && !accessToken && refreshToken) await refreshShared();
    const sent = useAuth ? (apiKey ?? accessToken) : undefined;
    let answer = await exchange(method, route, opts, sent);
    if (
      answer.status === 401 &&
      sent !== undefined &&
      sent !== apiKey &&
      refreshToken &&
      isProblem(answer.body) &&
      answer.body.code === 'invalid_token'
    ) {
      // Another call may have refreshed while this one was in flight: then just retry.
      if (accessToken === sent || accessToken === undefined) await refreshShared();
      answer = await exchange(method, route, opts, accessToken);
    }
    if (answer.status >= 400) throw errorOf(answer);
    return answer.body as R;
  }

  const get = <R>(route: string, query?: object) => request<R>('GET', route, { query });
  const post = <R>(route: string, body?: unknown) => request<R>('POST', route, { body });
  const put = <R>(route: string, body?: unknown) => request<R>('PUT', route, { body });
  const patch = <R>(route: string, body?: unknown) => request<R>('PATCH', route, { body });
  const del = <R>(route: string, opts: RequestOptions = {}) => request<R>('DELETE', route, opts);
  const publicPost = <R>(route: string, body?: unknown) =>
    request<R>('POST', route, { body, auth: false });

  function login(input: T.LoginInput & { mode?: 'token' }): Promise<T.SessionTokens>;
  function login(input: T.LoginInput & { mode: 'cookie' }): Promise<T.CookieSession>;
  async function login(input: T.LoginInput): Promise<T.SessionTokens | T.CookieSession> {
    const answer = await publicPost<T.SessionTokens | T.CookieSession>('/v1/auth/login', input);
    if ('access_token' in answer) await keep(answer);
    return answer;
  }

  function verifyEmail(input: T.VerifyEmailInput & { mode?: 'token' }): Promise<T.SessionTokens>;
  function verifyEmail(input: T.VerifyEmailInput & { mode: 'cookie' }): Promise<T.CookieSession>;
  async function verifyEmail(
    input: T.VerifyEmailInput & { mode?: 'token' | 'cookie' },
  ): Promise<T.SessionTokens | T.CookieSession> {
    const answer = await publicPost<T.SessionTokens | T.CookieSession>(
      '/v1/auth/verify-email',
      input,
    );
    if ('access_token' in answer) await keep(answer);
    return answer;
  }

  const org = (orgId: string) => path`/v1/organizations/${orgId}`;
  const account = (orgId: string, accountId: string) =>
    path`/v1/organizations/${orgId}/accounts/${accountId}`;
  const member = (orgId: string, userId: string) =>
    path`/v1/organizations/${orgId}/members/${userId}`;

  return {
    /** Any route, for what the typed methods do not cover yet; errors are thrown the same way. */
    request,

    /** The tokens held now (for persisting them yourself). */
    getTokens(): { accessToken?: string; refreshToken?: string; sessionId?: string } {
      return { accessToken, refreshToken, sessionId };
    },
    /** Replace the held tokens (after a sign-in made elsewhere); `onTokens` is not called. */
    setTokens(tokens: { accessToken?: string; refreshToken?: string }) {
      accessToken = tokens.accessToken;
      refreshToken = tokens.refreshToken;
    },

    auth: {
      /** Registers; a 6-digit code is mailed. Answers the same whether or not the email was taken. */
      register: (input: T.RegisterInput) => publicPost<T.Accepted>('/v1/auth/register', input),
      /** Verifies the email with its code and signs in: the client keeps the tokens. */
      verifyEmail,
      resendOtp: (input: T.ResendOtpInput) => publicPost<T.Accepted>('/v1/auth/resend-otp', input),
      /** Signs in with email and password; in token mode (default) the client keeps the tokens. */
      login,
      /** Exchanges the held refresh token (or the one given) for new tokens, and keeps them. */
      async refresh(token?: string): Promise<T.SessionTokens> {
        if (token !== undefined) refreshToken = token;
        await refreshShared();
        return lastIssued!;
      },
      /**
       * Revokes the current session and forgets the tokens. A session that was already over
       * (401) counts as signed out.
       */
      async logout(): Promise<void> {
        try {
          await post<void>('/v1/auth/logout');
        } catch (error) {
          if (!(error instanceof GatehouseError && error.status === 401)) throw error;
        }
        await forget();
      },
      accountExists: (input: T.AccountExistsInput) =>
        publicPost<T.AccountExists>('/v1/auth/account-exists', input),
      /**
       * Who an access token or API key is, in which organization, with which grants (what an
       * API gateway asks). An unusable credential is `{ active: false, reason }`, not an error.
       */
      apiAccessCheck: (input: T.ApiAccessCheckInput) =>
        publicPost<T.ApiAccessCheckResult>('/v1/auth/api-access-check', input),
      password: {
        /** Mails a reset code (same answer for unknown addresses). */
        forgot: (input: T.ForgotPasswordInput) =>
          publicPost<T.Accepted>('/v1/auth/password/forgot', input),
        /** Exchanges the mailed code for a short-lived reset token. */
        verifyCode: (input: T.ForgotPasswordVerifyInput) =>
          publicPost<T.ResetToken>('/v1/auth/password/forgot/verify', input),
        /** Sets the new password with the reset token; every session of the user is revoked. */
        reset: (input: T.ResetPasswordInput) => publicPost<void>('/v1/auth/password/reset', input),
        /** A first password, for users who joined by invitation or OAuth. */
        set: (input: T.SetPasswordInput) => post<void>('/v1/auth/password/set', input),
        /** Current + new password; the user's other sessions are revoked. */
        update: (input: T.UpdatePasswordInput) => put<void>('/v1/auth/password', input),
      },
      /**
       * The second step of a sign-in that threw `mfa_required` (its `problem` holds an
       * `MfaChallenge`): answers with a factor; in token mode the client keeps the tokens.
       */
      mfa: {
        async verify(input: T.MfaVerifyInput): Promise<T.SessionTokens | T.CookieSession> {
          const answer = await publicPost<T.SessionTokens | T.CookieSession>(
            '/v1/auth/mfa/verify',
            input,
          );
          if ('access_token' in answer) await keep(answer);
          return answer;
        },
        /** Sends the challenge's sign-in code by SMS. */
        sendSms: (mfaToken: string) =>
          publicPost<T.CodeSent>('/v1/auth/mfa/sms', { mfa_token: mfaToken }),
      },
      /**
       * Renews the session's proof of identity for sensitive acts (after `step_up_required`);
       * the client switches to the answer's access token, which carries the new `amr`.
       */
      async stepUp(input: T.StepUpInput): Promise<T.StepUpResult> {
        const answer = await post<T.StepUpResult>('/v1/auth/step-up', input);
        if (!apiKey && accessToken !== undefined) {
          accessToken = answer.access_token;
          await emit({ accessToken, refreshToken, expiresIn: answer.expires_in, sessionId });
        }
        return answer;
      },
      sendStepUpSms: () => post<T.CodeSent>('/v1/auth/step-up/sms'),
      oauth: {
        /** The providers the platform offers, with the URL that starts each sign-in. */
        providers: () =>
          request<{ data: T.OAuthProvider[] }>('GET', '/v1/auth/oauth/providers', { auth: false }),
        /** Token mode: the `login_token` from the return address's fragment becomes a session. */
        async exchange(loginToken: string): Promise<T.SessionTokens> {
          const answer = await publicPost<T.SessionTokens>('/v1/auth/oauth/exchange', {
            login_token: loginToken,
          });
          await keep(answer);
          return answer;
        },
        /**
         * A sign-in whose return address got a `link_pending_token` (the provider's email belongs
         * to an existing account it may not join alone): prove that account with its password or
         * the mailed code, as `proof` said. Throws `mfa_required` when the user has a factor.
         */
        async confirmLink(
          input: T.OAuthLinkConfirmInput,
        ): Promise<T.SessionTokens | T.CookieSession> {
          const answer = await publicPost<T.SessionTokens | T.CookieSession>(
            '/v1/auth/oauth/link/confirm',
            input,
          );
          if ('access_token' in answer) await keep(answer);
          return answer;
        },
      },
      sessions: {
        list: (query?: T.PageQuery) => get<T.Page<T.Session>>('/v1/auth/sessions', query),
        revoke: (sessionId: string) => del<void>(path`/v1/auth/sessions/${sessionId}`),
        /** Revokes every session of mine except this one. */
        revokeOthers: () => del<T.RevokedCount>('/v1/auth/sessions'),
      },
    },

    me: {
      get: () => get<T.UserProfile>('/v1/me'),
      update: (input: T.UpdateMeInput) => patch<T.UserProfile>('/v1/me', input),
      /** Replaces the whole `user_metadata` object (16 KiB at most). */
      setMetadata: (metadata: T.UserMetadata) => put<T.UserProfile>('/v1/me/metadata', metadata),
      /** A PNG, JPEG or WebP image, at most 1 MiB; its type is read from its bytes. */
      setAvatar: (
        data: Blob | ArrayBuffer | Uint8Array,
        contentType = 'application/octet-stream',
      ) => request<T.UserProfile>('PUT', '/v1/me/avatar', { bytes: { data, contentType } }),
      deleteAvatar: () => del<T.UserProfile>('/v1/me/avatar'),
      /** Pending invitations for my verified email. */
      invitations: () => get<{ data: T.MyInvitation[] }>('/v1/me/invitations'),
      mfa: {
        status: () => get<T.MfaStatus>('/v1/me/mfa'),
        /** Starts an authenticator enrolment: secret, otpauth URI, QR code. */
        enrolTotp: () => post<T.TotpEnrolment>('/v1/me/mfa/totp'),
        confirmTotp: (code: string) => post<T.FactorConfirmed>('/v1/me/mfa/totp/confirm', { code }),
        /** Sends a code to the number; it becomes a factor once confirmed. */
        enrolSms: (phone: string) => post<T.SmsEnrolment>('/v1/me/mfa/sms', { phone }),
        confirmSms: (code: string) => post<T.FactorConfirmed>('/v1/me/mfa/sms/confirm', { code }),
        /** Needs a recent sign-in or step-up. */
        removeFactor: (factorId: string) => del<void>(path`/v1/me/mfa/factors/${factorId}`),
        /** Replaces the recovery codes (needs a recent sign-in or step-up). */
        regenerateRecoveryCodes: () => post<T.RecoveryCodes>('/v1/me/mfa/recovery-codes'),
      },
      identities: {
        list: () => get<T.Page<T.Identity>>('/v1/me/identities'),
        /** Answers the URL to send the browser to; needs a recent sign-in or step-up. */
        link: (provider: string, returnTo?: string) =>
          post<T.LinkStart>('/v1/me/identities', { provider, return_to: returnTo }),
        /** Finishes a link with the `link_token` the return address received. */
        confirm: (linkToken: string) =>
          post<T.Identity>('/v1/me/identities/confirm', { link_token: linkToken }),
        unlink: (identityId: string) => del<void>(path`/v1/me/identities/${identityId}`),
      },
    },

    organizations: {
      list: (query?: T.PageQuery) => get<T.Page<T.MyOrganization>>('/v1/organizations', query),
      /** Creates an organization; the caller becomes its owner. */
      create: (input: T.CreateOrganizationInput) =>
        post<T.Organization>('/v1/organizations', input),
      get: (orgId: string) => get<T.Organization>(org(orgId)),
      update: (orgId: string, input: T.UpdateOrganizationInput) =>
        patch<T.Organization>(org(orgId), input),
      /** Owner only; repeat the organization's name. */
      delete: (orgId: string, input: T.DeleteOrganizationInput) =>
        del<void>(org(orgId), { body: input }),
      /**
       * Makes it the session's current organization. The answer's access token carries it, and
       * the client uses it from now on (the refresh token is unchanged).
       */
      async switch(orgId: string): Promise<T.SwitchResult> {
        const answer = await post<T.SwitchResult>(path`/v1/organizations/${orgId}/switch`);
        // Adopted only by a client holding user tokens. A cookie-session client (the console)
        // holds none: the session row now carries the organization, and adopting this token
        // (no refresh token beside it) would make every call fail once it expires.
        if (!apiKey && (accessToken !== undefined || refreshToken !== undefined)) {
          accessToken = answer.access_token;
          await emit({
            accessToken: answer.access_token,
            refreshToken,
            expiresIn: answer.expires_in,
            sessionId,
          });
        }
        return answer;
      },
      /** Offers ownership to an active member (owner only); they accept with `ownershipOffers.accept`. */
      transferOwnership: (orgId: string, userId: string) =>
        post<T.OwnershipOffer>(path`/v1/organizations/${orgId}/transfer-ownership`, {
          user_id: userId,
        }),
      ownershipOffers: {
        list: (orgId: string) =>
          get<{ data: T.OwnershipOffer[] }>(path`/v1/organizations/${orgId}/ownership-offers`),
        accept: (orgId: string, offerId: string) =>
          post<T.OwnershipOffer>(
            path`/v1/organizations/${orgId}/ownership-offers/${offerId}/accept`,
          ),
        decline: (orgId: string, offerId: string) =>
          post<T.OwnershipOffer>(
            path`/v1/organizations/${orgId}/ownership-offers/${offerId}/decline`,
          ),
        withdraw: (orgId: string, offerId: string) =>
          del<T.OwnershipOffer>(path`/v1/organizations/${orgId}/ownership-offers/${offerId}`),
      },
    },

    accounts: {
      list: (orgId: string, query?: T.PageQuery) =>
        get<T.Page<T.Account>>(path`/v1/organizations/${orgId}/accounts`, query),
      create: (orgId: string, input: T.CreateAccountInput) =>
        post<T.Account>(path`/v1/organizations/${orgId}/accounts`, input),
      get: (orgId: string, accountId: string) => get<T.Account>(account(orgId, accountId)),
      update: (orgId: string, accountId: string, input: T.UpdateAccountInput) =>
        patch<T.Account>(account(orgId, accountId), input),
      delete: (orgId: string, accountId: string) => del<void>(account(orgId, accountId)),
      transferOwnership: (orgId: string, accountId: string, userId: string) =>
        post<T.OwnershipOffer>(`${account(orgId, accountId)}/transfer-ownership`, {
          user_id: userId,
        }),
    },

    resources: {
      list: (orgId: string, accountId: string, query?: T.PageQuery) =>
        get<T.Page<T.Resource>>(`${account(orgId, accountId)}/resources`, query),
      create: (orgId: string, accountId: string, input: T.CreateResourceInput) =>
        post<T.Resource>(`${account(orgId, accountId)}/resources`, input),
      get: (orgId: string, accountId: string, resourceId: string) =>
        get<T.Resource>(`${account(orgId, accountId)}${path`/resources/${resourceId}`}`),
      update: (
        orgId: string,
        accountId: string,
        resourceId: string,
        input: T.UpdateResourceInput,
      ) =>
        patch<T.Resource>(`${account(orgId, accountId)}${path`/resources/${resourceId}`}`, input),
      delete: (orgId: string, accountId: string, resourceId: string) =>
        del<void>(`${account(orgId, accountId)}${path`/resources/${resourceId}`}`),
    },

    roles: {
      list: (orgId: string) => get<{ data: T.Role[] }>(path`/v1/organizations/${orgId}/roles`),
      /** A custom role, only with permissions the caller holds. */
      create: (orgId: string, input: T.CreateRoleInput) =>
        post<T.Role>(path`/v1/organizations/${orgId}/roles`, input),
      get: (orgId: string, roleKey: string) =>
        get<T.Role>(path`/v1/organizations/${orgId}/roles/${roleKey}`),
      update: (orgId: string, roleKey: string, input: T.UpdateRoleInput) =>
        patch<T.Role>(path`/v1/organizations/${orgId}/roles/${roleKey}`, input),
      /** When the role is still granted, name the role that replaces it. */
      delete: (orgId: string, roleKey: string, query?: T.DeleteRoleQuery) =>
        del<void>(path`/v1/organizations/${orgId}/roles/${roleKey}`, { query }),
    },

    members: {
      list: (orgId: string, query?: T.MembersQuery) =>
        get<T.Page<T.Member>>(path`/v1/organizations/${orgId}/members`, query),
      get: (orgId: string, userId: string) => get<T.MemberDetail>(member(orgId, userId)),
      /** The caller's own membership: grants, role names, permissions (any member may read it). */
      mine: (orgId: string) => get<T.MyMembership>(path`/v1/organizations/${orgId}/me`),
      /** Adds a user directly, with grants ("associate user"). */
      add: (orgId: string, input: T.AddMemberInput) =>
        post<T.MemberDetail>(path`/v1/organizations/${orgId}/members`, input),
      /** Name, email, timezone of a user this organization manages alone. */
      update: (orgId: string, userId: string, input: T.UpdateMemberInput) =>
        patch<T.MemberDetail>(member(orgId, userId), input),
      /** The member's login type: sign-in methods accepted here (null: any the organization allows). */
      setLoginMethods: (orgId: string, userId: string, loginMethods: string[] | null) =>
        put<T.MemberDetail>(`${member(orgId, userId)}/login-methods`, {
          login_methods: loginMethods,
        }),
      /** Removes a member (or leaves, for yourself). */
      remove: (orgId: string, userId: string) => del<void>(member(orgId, userId)),
      suspend: (orgId: string, userId: string) => post<void>(`${member(orgId, userId)}/suspend`),
      reactivate: (orgId: string, userId: string) =>
        post<void>(`${member(orgId, userId)}/reactivate`),
      /** Remove, suspend or reactivate up to 500 members, with a result per id. */
      bulk: (orgId: string, input: T.BulkMembersInput) =>
        post<T.BulkMembersResult>(path`/v1/organizations/${orgId}/members/bulk`, input),
      /** Effective permissions at a scope (default: the organization). */
      permissions: (orgId: string, userId: string, query?: T.MemberPermissionsQuery) =>
        get<T.MemberPermissions>(`${member(orgId, userId)}/permissions`, query),
      grants: {
        list: (orgId: string, userId: string) =>
          get<{ data: T.Grant[] }>(`${member(orgId, userId)}/grants`),
        /** Replaces every grant (each checked: no escalation). */
        replace: (orgId: string, userId: string, grants: T.GrantInput[]) =>
          put<{ data: T.Grant[] }>(`${member(orgId, userId)}/grants`, { grants }),
        add: (orgId: string, userId: string, grants: T.GrantInput[]) =>
          post<{ data: T.Grant[] }>(`${member(orgId, userId)}/grants`, { grants }),
        remove: (orgId: string, userId: string, grantId: string) =>
          del<{ data: T.Grant[] }>(`${member(orgId, userId)}${path`/grants/${grantId}`}`),
      },
    },

    invitations: {
      /** Up to 100 addresses; a result per address (an invalid one does not fail the rest). */
      send: (orgId: string, input: T.SendInvitationsInput) =>
        post<T.SendInvitationsResult>(path`/v1/organizations/${orgId}/invitations`, input),
      list: (orgId: string, query?: T.InvitationsQuery) =>
        get<T.Page<T.Invitation>>(path`/v1/organizations/${orgId}/invitations`, query),
      get: (orgId: string, invitationId: string) =>
        get<T.Invitation>(path`/v1/organizations/${orgId}/invitations/${invitationId}`),
      revoke: (orgId: string, invitationId: string) =>
        del<T.Invitation>(path`/v1/organizations/${orgId}/invitations/${invitationId}`),
      /** Mails a new link (the old one stops working). */
      resend: (orgId: string, invitationId: string) =>
        post<T.Invitation>(path`/v1/organizations/${orgId}/invitations/${invitationId}/resend`),
      /** What a link offers; no sign-in needed. */
      preview: (token: string) =>
        request<T.InvitationPreview>('GET', path`/v1/invitations/${token}`, { auth: false }),
      /**
       * Accepts: signed in as the invited address, or (no account yet) signing up with name and
       * password, in which case the client keeps the new session's tokens.
       */
      async accept(
        token: string,
        input: T.AcceptInvitationInput = {},
      ): Promise<T.AcceptInvitationResult> {
        const answer = await post<T.AcceptInvitationResult>(
          path`/v1/invitations/${token}/accept`,
          input,
        );
        if (answer.session) await keep(answer.session);
        return answer;
      },
      reject: (token: string) => publicPost<void>(path`/v1/invitations/${token}/reject`),
      /** Pending invitations for my verified email (same as `me.invitations`). */
      mine: () => get<{ data: T.MyInvitation[] }>('/v1/me/invitations'),
      /** Accept, signed in, an invitation to my verified address by its id (no mailed token). */
      acceptMine: (invitationId: string) =>
        post<T.AcceptInvitationResult>(path`/v1/me/invitations/${invitationId}/accept`),
      /** Decline, signed in, an invitation to my verified address by its id. */
      rejectMine: (invitationId: string) =>
        post<void>(path`/v1/me/invitations/${invitationId}/reject`),
    },

    apiKeys: {
      list: (orgId: string, query?: T.PageQuery) =>
        get<T.Page<T.ApiKey>>(path`/v1/organizations/${orgId}/api-keys`, query),
      /** Grants at most the creator's own; the answer's `secret` is shown this once only. */
      create: (orgId: string, input: T.CreateApiKeyInput) =>
        post<T.CreatedApiKey>(path`/v1/organizations/${orgId}/api-keys`, input),
      get: (orgId: string, keyId: string) =>
        get<T.ApiKey>(path`/v1/organizations/${orgId}/api-keys/${keyId}`),
      /** Refused at once, on every node. */
      revoke: (orgId: string, keyId: string) =>
        del<T.ApiKey>(path`/v1/organizations/${orgId}/api-keys/${keyId}`),
    },

    auditLogs: {
      /** Newest first; filter by actor, action (`member.*`), target, from, to. */
      list: (orgId: string, query?: T.AuditQuery) =>
        get<T.Page<T.AuditEvent>>(path`/v1/organizations/${orgId}/audit-logs`, query),
      /** Recomputes the hash chain and reports the first broken link. */
      verify: (orgId: string) =>
        get<T.AuditVerifyResult>(path`/v1/organizations/${orgId}/audit-logs/verify`),
      /** The chain's newest event, and the same signed (a checkpoint to keep elsewhere). */
      head: (orgId: string) => get<T.AuditHead>(path`/v1/organizations/${orgId}/audit-logs/head`),
      /** Every matching event, oldest first (the NDJSON export, parsed). */
      async export(
        orgId: string,
        query?: Omit<T.AuditQuery, 'limit' | 'cursor'>,
      ): Promise<T.AuditEvent[]> {
        const text = await get<string | undefined>(
          path`/v1/organizations/${orgId}/audit-logs/export`,
          query,
        );
        return (text ?? '')
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as T.AuditEvent);
      },
    },

    authz: {
      /** May the subject (default: the caller) do `permission` at `scope`? Answers why. */
      check: (input: T.CheckInput) => post<T.CheckResult>('/v1/authz/check', input),
      /** Up to 100 checks for one subject, answered in order. */
      checkBatch: (input: T.CheckBatchInput) =>
        post<T.CheckBatchResult>('/v1/authz/check-batch', input),
      /** The accounts (or resources) of an organization where the subject may do `permission`. */
      listScopes: (input: T.ListScopesInput) =>
        post<T.ListScopesResult>('/v1/authz/list-scopes', input),
    },

    permissions: {
      list: () => request<PermissionCatalog>('GET', '/v1/permissions', { auth: false }),
    },
    templates: {
      list: () =>
        request<{ data: T.Template[] }>('GET', '/v1/templates', {
          auth: false,
        }),
    },

    /** Platform administrators only. */
    admin: {
      customers: {
        create: (input: T.CreateCustomerInput) =>
          post<Omit<T.Customer, 'members'>>('/v1/admin/customers', input),
        list: (query?: T.AdminListQuery) => get<T.Page<T.Customer>>('/v1/admin/customers', query),
        get: (orgId: string) => get<T.Customer>(path`/v1/admin/customers/${orgId}`),
        suspend: (orgId: string) => post<T.Customer>(path`/v1/admin/customers/${orgId}/suspend`),
        reactivate: (orgId: string) =>
          post<T.Customer>(path`/v1/admin/customers/${orgId}/reactivate`),
      },
      auditLogs: {
        /** Across organizations; `organization_id: 'platform'` for events outside them. */
        list: (query?: T.AuditQuery & { organization_id?: string }) =>
          get<T.Page<T.AuditEvent>>('/v1/admin/audit-logs', query),
        verify: (organizationId: string) =>
          get<T.AuditVerifyResult>('/v1/admin/audit-logs/verify', {
            organization_id: organizationId,
          }),
      },
      users: {
        list: (query?: T.AdminListQuery) => get<T.Page<T.AdminUser>>('/v1/admin/users', query),
        suspend: (userId: string) => post<T.AdminUser>(path`/v1/admin/users/${userId}/suspend`),
        reactivate: (userId: string) =>
          post<T.AdminUser>(path`/v1/admin/users/${userId}/reactivate`),
        deactivate: (userId: string) =>
          post<T.AdminUser>(path`/v1/admin/users/${userId}/deactivate`),
        /** Removes every second factor and recovery code of the user (step-up); mails the user. */
        resetMfa: (userId: string) =>
          post<T.AdminMfaReset>(path`/v1/admin/users/${userId}/mfa/reset`),
        sessions: (userId: string, query?: T.PageQuery) =>
          get<T.Page<T.Session>>(path`/v1/admin/users/${userId}/sessions`, query),
        revokeSession: (userId: string, sessionId: string) =>
          del<void>(path`/v1/admin/users/${userId}/sessions/${sessionId}`),
      },
    },

    system: {
      /** The public keys that verify access tokens (see `verifyAccessToken`). */
      jwks: () => request<T.Jwks>('GET', '/.well-known/jwks.json', { auth: false }),
      health: () => request<{ status: 'ok' }>('GET', '/health', { auth: false }),
      ready: () => request<{ status: 'ready'; database: string }>('GET', '/ready', { auth: false }),
      /** Creates the first platform admin with the setup token printed at start; keeps the tokens. */
      async setup(input: T.SetupInput): Promise<T.SessionTokens> {
        const answer = await publicPost<T.SessionTokens>('/v1/setup', input);
        await keep(answer);
        return answer;
      },
    },
  };
}

export type GatehouseClient = ReturnType<typeof createGatehouseClient>;
