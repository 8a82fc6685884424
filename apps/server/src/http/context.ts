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
  amr: string[];
  currentOrgId: string | null;
  via: 'bearer' | 'cookie';
  isPlatformAdmin: boolean;
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

/** The authenticated user; routes that declare `auth: 'required'` may call this safely. */
export function userOf(req: FastifyRequest): UserPrincipal {
  const p = req.principal;
  if (p?.kind !== 'user') throw new Error('route reached without an authenticated user');
  return p;
}
