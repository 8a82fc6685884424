import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type ErrorCode, type Problem, ScopeId } from '@gatehouse/contracts';
import { decodeJwt } from 'jose';
import { problemOf } from './errors';
import type { CheckResult } from './types';

export interface PermissionGuardOptions {
  /** where Gatehouse answers, e.g. `https://id.example.com` */
  baseUrl: string | URL;
  /**
   * How long a decision (allowed or denied) is reused for the same credential, permission and
   * scope, in milliseconds (default 5 000; 0 turns the cache off). Within it, a revoked session,
   * a suspended member or a removed grant still gets through on this service: keep it short.
   */
  cacheTtlMs?: number;
  /** the most decisions kept (default 10 000); the oldest go first */
  cacheMaxEntries?: number;
  /** how long a check may take before the request is answered 503 (default 5 000 ms) */
  timeoutMs?: number;
  /** a fetch implementation (default: the global one) */
  fetch?: typeof fetch;
  /** the time, in ms since the epoch (tests); default Date.now */
  now?: () => number;
}

/** Who called, as far as the service needs to know. */
export type GatehouseCaller =
  | { kind: 'user'; userId: string; sessionId: string; organizationId: string | null }
  | { kind: 'api_key' };

/** What `requirePermission` leaves on the request (`req.gatehouse`) when it lets it through. */
export interface GatehouseDecision {
  allowed: true;
  /** why: the grant (role, scope) that allowed it, or `owner` */
  reason: CheckResult['reason'];
  permission: string;
  scope: string;
  caller: GatehouseCaller;
  /** whether the decision came from the cache */
  cached: boolean;
}

export type GuardOutcome =
  | { ok: true; decision: GatehouseDecision }
  | { ok: false; status: number; problem: Problem; headers: Record<string, string> };

/** The rendered outcome is kept, so a cache hit costs a lookup, not a JWT decode. */
interface CachedDecision {
  outcome: GuardOutcome;
  expiresAt: number;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function refuse(
  code: ErrorCode,
  detail: string,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): GuardOutcome {
  const problem = problemOf(code, detail, extensions);
  return { ok: false, status: problem.status, problem, headers };
}

/** RFC 6750: a 401 tells the client which scheme to use, and for a bad token, that it is bad. */
function unauthenticated(code: ErrorCode, detail: string): GuardOutcome {
  const challenge =
    code === 'unauthenticated'
      ? 'Bearer realm="gatehouse"'
      : `Bearer realm="gatehouse", error="invalid_token"`;
  return refuse(code, detail, {}, { 'www-authenticate': challenge });
}

/** The caller's credential: `Authorization: Bearer` (access token or API key) or `X-API-Key`. */
function credentialOf(headers: IncomingHttpHeaders): string | GuardOutcome {
  const authorization = headers.authorization;
  if (authorization) {
    const match = BEARER.exec(authorization);
    if (!match)
      return unauthenticated('invalid_token', 'The Authorization header must be "Bearer <token>"');
    return match[1]!;
  }
  const key = headers['x-api-key'];
  if (typeof key === 'string' && key.trim()) return key.trim();
  if (Array.isArray(key))
    return unauthenticated('invalid_token', 'Send one X-API-Key header, not several');
  return unauthenticated(
    'unauthenticated',
    'Send an access token or API key as "Authorization: Bearer <token>" (or an X-API-Key header)',
  );
}

/** Once Gatehouse accepted a token, its claims can be read without verifying again. */
function callerOf(credential: string): { caller: GatehouseCaller; expiresAt?: number } {
  if (credential.startsWith('gh_')) return { caller: { kind: 'api_key' } };
  try {
    const claims = decodeJwt(credential);
    if (typeof claims.sub === 'string' && typeof claims.sid === 'string')
      return {
        caller: {
          kind: 'user',
          userId: claims.sub,
          sessionId: claims.sid,
          organizationId: typeof claims.org === 'string' ? claims.org : null,
        },
        ...(typeof claims.exp === 'number' ? { expiresAt: claims.exp * 1000 } : {}),
      };
  } catch {
    // not a JWT: some other credential Gatehouse accepts (an API key)
  }
  return { caller: { kind: 'api_key' } };
}

/**
 * Asks Gatehouse whether the caller of a request may do something, with the caller's own
 * credential (`POST /v1/authz/check`, the subject being the caller), and remembers the answer
 * for a few seconds. Framework adapters (`gatehouseFastify`, `gatehouseExpress`) render its
 * outcome; several routes share one guard, and so one cache.
 */
export class PermissionGuard {
  private readonly base: string;
  private readonly ttl: number;
  private readonly maxEntries: number;
  private readonly timeoutMs: number;
  private readonly doFetch: typeof fetch;
  private readonly now: () => number;
  private readonly decisions = new Map<string, CachedDecision>();
  private readonly inFlight = new Map<string, Promise<GuardOutcome>>();

  constructor(options: PermissionGuardOptions) {
    this.base = String(options.baseUrl).replace(/\/+$/, '');
    this.ttl = Math.max(0, options.cacheTtlMs ?? 5_000);
    this.maxEntries = Math.max(1, options.cacheMaxEntries ?? 10_000);
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
  }

  /** Forgets every cached decision (say, on hearing that a member was removed). */
  clear() {
    this.decisions.clear();
  }

  /** Decides for one request: its headers, the permission, and the scope (an org_, acc_ or res_ id). */
  async authorize(
    headers: IncomingHttpHeaders,
    permission: string,
    scope: string | null | undefined,
  ): Promise<GuardOutcome> {
    const credential = credentialOf(headers);
    if (typeof credential !== 'string') return credential;
    const key =
      typeof scope === 'string'
        ? `${createHash('sha256').update(credential).digest('base64url')}\n${permission}\n${scope}`
        : '';
    const cached = this.ttl > 0 && key ? this.decisions.get(key) : undefined;
    if (cached && cached.expiresAt > this.now()) {
      const { outcome } = cached;
      return outcome.ok ? { ok: true, decision: { ...outcome.decision, cached: true } } : outcome;
    }
    if (cached) this.decisions.delete(key);
    if (typeof scope !== 'string' || !ScopeId.safeParse(scope).success) {
      // The same answer as Gatehouse gives for an unknown scope: nothing is confirmed.
      return refuse('forbidden', 'No such scope', {
        reason: { kind: 'no_access', message: 'No such scope' },
        permission,
        scope: scope ?? null,
      });
    }

    // Identical requests arriving together share one check.
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.ask(key, credential, permission, scope).finally(() =>
        this.inFlight.delete(key),
      );
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async ask(
    key: string,
    credential: string,
    permission: string,
    scope: string,
  ): Promise<GuardOutcome> {
    let res: Response;
    let body: unknown;
    try {
      res = await this.doFetch(`${this.base}/v1/authz/check`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${credential}`,
          'content-type': 'application/json',
          accept: 'application/json, application/problem+json',
        },
        body: JSON.stringify({ permission, scope }),
        ...(this.timeoutMs > 0 ? { signal: AbortSignal.timeout(this.timeoutMs) } : {}),
      });
      const text = await res.text();
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Fail closed: without an answer nobody gets in.
      return refuse('service_unavailable', 'Gatehouse could not be reached to check permissions');
    }
    if (res.status === 200) {
      const outcome = this.render(body as CheckResult, credential, permission, scope);
      if (this.ttl > 0) this.remember(key, outcome, credential);
      return outcome;
    }
    const problem = (body ?? {}) as Partial<Problem>;
    const code = typeof problem.code === 'string' ? (problem.code as ErrorCode) : undefined;
    const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    if (res.status === 401 && code)
      return unauthenticated(code, detail ?? 'The credential was not accepted');
    if (res.status === 403 && code)
      return refuse(code, detail ?? 'Refused', { reason: { kind: code }, permission, scope });
    if (res.status === 429) {
      const retryAfter = res.headers.get('retry-after');
      return refuse(
        'rate_limited',
        detail ?? 'Too many permission checks',
        {},
        retryAfter ? { 'retry-after': retryAfter } : {},
      );
    }
    if (res.status >= 500)
      return refuse(
        'service_unavailable',
        `Gatehouse answered ${res.status} to a permission check`,
      );
    // Anything else (a 400, a 404) means this service asks wrongly: its fault, not the caller's.
    return refuse(
      'internal_error',
      `The permission check was refused: ${res.status} ${code ?? ''}`.trim(),
    );
  }

  /** Keeps a decision, never past the token's own expiry. */
  private remember(key: string, outcome: GuardOutcome, credential: string) {
    const now = this.now();
    const { expiresAt: tokenExpiry } = callerOf(credential);
    const expiresAt = Math.min(now + this.ttl, tokenExpiry ?? Number.POSITIVE_INFINITY);
    if (expiresAt <= now) return;
    if (this.decisions.size >= this.maxEntries) {
      // Map keeps insertion order: the first key is the oldest decision.
      const oldest = this.decisions.keys().next().value;
      if (oldest !== undefined) this.decisions.delete(oldest);
    }
    this.decisions.set(key, { outcome, expiresAt });
  }

  private render(
    result: CheckResult,
    credential: string,
    permission: string,
    scope: string,
  ): GuardOutcome {
    if (!result.allowed) {
      return refuse(
        'forbidden',
        result.reason.message ?? `Permission "${permission}" is not granted on ${scope}`,
        { reason: result.reason, permission, scope },
      );
    }
    return {
      ok: true,
      decision: {
        allowed: true,
        reason: result.reason,
        permission,
        scope,
        caller: callerOf(credential).caller,
        cached: false,
      },
    };
  }
}

export function createPermissionGuard(options: PermissionGuardOptions): PermissionGuard {
  return new PermissionGuard(options);
}

/** What the adapters take: a guard to share, or the options to build one for this route. */
export type GuardOrOptions = PermissionGuard | PermissionGuardOptions;

export function guardOf(options: GuardOrOptions): PermissionGuard {
  return options instanceof PermissionGuard ? options : new PermissionGuard(options);
}
