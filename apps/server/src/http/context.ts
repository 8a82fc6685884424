import type { FastifyRequest } from 'fastify';
import type { Grant } from '../authz';
import { AppError } from './errors';

/** Where a request came from; carried into audit events and sessions. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** The authenticated caller of a request. */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  sessionId: string;
  /** the session's authentication methods (pwd, otp, totp, sms, recovery_code, mfa, oauth:…) */
  amr: string[];
  currentOrgId: string | null;
  via: 'bearer' | 'cookie';
  isPlatformAdmin: boolean;
  /** when the session was opened */
  sessionCreatedAt: number;
  /** when the user last proved who they are in this session (sign-in or step-up) */
  authTime: number;
  /** when the session was last seen before this request (idle timeouts look at this) */
  lastSeenAt: number;
}
/** An API key: an organization's machine credential with its own grants. */
export interface KeyPrincipal {
  kind: 'api_key';
  keyId: string;
  organizationId: string;
  grants: Grant[];
  createdBy: string;
  name: string;
  prefix: string;
  expiresAt: number | null;
}
export type Principal = UserPrincipal | KeyPrincipal;

export function requestMeta(req: FastifyRequest): RequestMeta {
  const ua = req.headers['user-agent'];
  return { ip: req.ip ?? null, userAgent: ua ? ua.slice(0, 512) : null, requestId: String(req.id) };
}

/**
 * The authenticated user. API keys may call the authorization API and the read routes their
 * grants allow; routes that act as a person (every state change, and reads that depend on who
 * the person is) refuse them with 403 `forbidden`, reason `user_required` — a documented
 * decision, not a 500 (it was a plain Error before; see issue 6).
 */
export function userOf(req: FastifyRequest): UserPrincipal {
  const p = req.principal;
  if (p?.kind === 'api_key')
    throw new AppError('forbidden', 'This route needs a signed-in user, not an API key', {
      reason: 'user_required',
    });
  if (p?.kind !== 'user') throw new AppError('unauthenticated');
  return p;
}
