import {
  createRemoteJWKSet,
  customFetch,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { GatehouseError } from './errors';

/** Access tokens are signed with ES256 and typed `at+jwt` (RFC 9068); nothing else is accepted. */
const ALGORITHMS = ['ES256'];
const TOKEN_TYPE = 'at+jwt';
/** Gatehouse's default ACCESS_TOKEN_AUDIENCE. */
export const DEFAULT_AUDIENCE = 'gatehouse';

export interface VerifyAccessTokenOptions {
  /** the issuer Gatehouse signs with: its `PUBLIC_URL`, e.g. `https://id.example.com` */
  issuer: string;
  /**
   * The audience the token must name (`aud`): Gatehouse's ACCESS_TOKEN_AUDIENCE, default
   * `gatehouse`. A token without it, or for another audience, is refused.
   */
  audience?: string;
  /** where the keys are published; default `${baseUrl}/.well-known/jwks.json` */
  jwksUrl?: string | URL;
  /** where Gatehouse answers (when `jwksUrl` is not given) */
  baseUrl?: string | URL;
  /**
   * How long the key set is kept before it is fetched again (default 10 minutes). A token
   * signed by a key not in the cached set makes it refetch at once (a rotation), but at most
   * once per `cooldownMs`.
   */
  cacheMaxAgeMs?: number;
  /**
   * The least time between two fetches triggered by unknown key ids (default 5 s): tokens with
   * made-up `kid`s cannot make a service hammer Gatehouse. Right after a rotation, a token of
   * the new key arriving within this long of the last fetch is refused (401) until it passes.
   */
  cooldownMs?: number;
  /** seconds of clock skew tolerated on `exp` (default 5) */
  clockToleranceSeconds?: number;
  /** the time to verify at (tests); default now */
  currentDate?: Date;
  /** how long a key set fetch may take (default 5 000 ms) */
  timeoutMs?: number;
  /** a fetch implementation for the key set (default: the global one) */
  fetch?: typeof fetch;
}

/** Who a verified access token speaks for. */
export interface VerifiedAccessToken {
  userId: string;
  sessionId: string;
  /** the session's current organization, if one was chosen (`org` claim) */
  organizationId: string | null;
  /** authentication methods used: `pwd`, `otp`, `totp`, ... */
  amr: string[];
  /** seconds since the epoch */
  issuedAt: number;
  /** seconds since the epoch */
  expiresAt: number;
}

export type AccessTokenVerifier = (
  token: string,
  at?: { currentDate?: Date },
) => Promise<VerifiedAccessToken>;

function jwksUrlOf(options: VerifyAccessTokenOptions): URL {
  if (options.jwksUrl) return new URL(String(options.jwksUrl));
  if (options.baseUrl)
    return new URL(`${String(options.baseUrl).replace(/\/+$/, '')}/.well-known/jwks.json`);
  throw new TypeError('verifyAccessToken needs jwksUrl or baseUrl');
}

function keySet(options: VerifyAccessTokenOptions, url: URL): JWTVerifyGetKey {
  return createRemoteJWKSet(url, {
    cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
    cooldownDuration: options.cooldownMs ?? 5_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
    ...(options.fetch ? { [customFetch]: options.fetch } : {}),
  });
}

/** Why a token was refused, in words a log can use (never the token itself). */
function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The access token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `The access token's "${error.claim}" claim is not valid (${error.reason})`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return "The access token's signature is not valid";
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return 'The access token was signed by a key Gatehouse does not publish';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The access token must be ES256';
  return 'The access token is not valid';
}

/** The key set could not be had: not the token's fault, so not a 401. */
function isKeySetUnavailable(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid)
    return true;
  if (error instanceof joseErrors.JOSEError)
    return (
      error.code === 'ERR_JOSE_GENERIC' &&
      /JSON Web Key Set HTTP response|JWKS/i.test(error.message)
    );
  // fetch itself failed (connection refused, DNS): a TypeError from undici
  return error instanceof TypeError;
}

/**
 * Builds a verifier that keeps its key set between calls: the keys are fetched once, kept
 * (`cacheMaxAgeMs`), and fetched again when a token names a key id not in them (a rotation).
 *
 * This checks the token alone — signature, issuer, audience, expiry, type. It does not see a session
 * revoked, a user suspended, or a member removed since the token was issued (up to its 10
 * minutes of life). Where that must bite at once, use `requirePermission` or `/v1/authz/check`.
 */
export function createAccessTokenVerifier(options: VerifyAccessTokenOptions): AccessTokenVerifier {
  const keys = keySet(options, jwksUrlOf(options));
  return async (token, at = {}) => {
    const currentDate = at.currentDate ?? options.currentDate;
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192)
      throw new GatehouseError('invalid_token', { detail: 'No access token given' });
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience ?? DEFAULT_AUDIENCE,
        algorithms: ALGORITHMS,
        typ: TOKEN_TYPE,
        requiredClaims: ['sub', 'exp', 'iat'],
        clockTolerance: options.clockToleranceSeconds ?? 5,
        ...(currentDate ? { currentDate } : {}),
      });
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string')
        throw new GatehouseError('invalid_token', {
          detail: 'The access token lacks its subject or session',
        });
      return {
        userId: payload.sub,
        sessionId: payload.sid,
        organizationId: typeof payload.org === 'string' ? payload.org : null,
        amr: Array.isArray(payload.amr) ? payload.amr.map(String) : [],
        issuedAt: payload.iat ?? 0,
        expiresAt: payload.exp ?? 0,
      };
    } catch (error) {
      if (error instanceof GatehouseError) throw error;
      if (isKeySetUnavailable(error))
        throw new GatehouseError('service_unavailable', {
          detail: 'The Gatehouse key set could not be fetched',
          cause: error,
        });
      throw new GatehouseError('invalid_token', { detail: reasonOf(error), cause: error });
    }
  };
}

/** One verifier (and so one cached key set) per distinct configuration and fetch. */
const verifiers = new WeakMap<typeof fetch, Map<string, AccessTokenVerifier>>();

/**
 * Verifies a Gatehouse access token locally against the published keys and answers who it
 * speaks for; throws `GatehouseError('invalid_token')` for any token that does not verify (and
 * `service_unavailable` when the keys cannot be fetched). The key set is cached per
 * configuration, across calls. See {@link createAccessTokenVerifier} for what it does not see.
 */
export function verifyAccessToken(
  token: string,
  options: VerifyAccessTokenOptions,
): Promise<VerifiedAccessToken> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  let byKey = verifiers.get(fetchImpl);
  if (!byKey) {
    byKey = new Map();
    verifiers.set(fetchImpl, byKey);
  }
  const key = JSON.stringify([
    jwksUrlOf(options).href,
    options.issuer,
    options.audience ?? DEFAULT_AUDIENCE,
    options.cacheMaxAgeMs,
    options.cooldownMs,
    options.clockToleranceSeconds,
    options.timeoutMs,
  ]);
  let verifier = byKey.get(key);
  if (!verifier) {
    const { currentDate: _perCall, ...shared } = options;
    verifier = createAccessTokenVerifier(shared);
    // a bound on configurations, not on tokens: only a misuse (a new issuer per call) gets here
    if (byKey.size >= 100) byKey.clear();
    byKey.set(key, verifier);
  }
  return verifier(token, options.currentDate ? { currentDate: options.currentDate } : {});
}
