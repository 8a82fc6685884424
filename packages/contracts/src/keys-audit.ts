import { z } from 'zod';
import { IsoDateTime } from './common';
import { GrantInput } from './organizations';

export const CreateApiKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  grants: z.array(GrantInput).min(1).max(100),
  expires_at: z.string().max(40).describe('ISO 8601 date-time, UTC').nullable().optional(),
});
export const ApiKey = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    name: z.string(),
    prefix: z.string().describe('the first characters of the secret'),
    grants: z.array(z.record(z.string(), z.unknown())),
    created_by: z.string(),
    created_at: IsoDateTime,
    expires_at: IsoDateTime.nullable(),
    revoked_at: IsoDateTime.nullable(),
    last_used_at: IsoDateTime.nullable().describe('recorded within about 30 seconds'),
    status: z.enum(['active', 'expired', 'revoked']),
  })
  .meta({ id: 'ApiKey' });
export const CreatedApiKey = ApiKey.extend({
  secret: z.string().describe('shown once: store it now'),
}).meta({ id: 'CreatedApiKey' });

export const ApiAccessCheckBody = z.strictObject({
  token: z.string().min(1).max(4096).describe('an access token or an API key'),
});
export const ApiAccessCheckResult = z.object({
  active: z.boolean(),
  type: z.enum(['user', 'api_key']).optional(),
  user: z
    .object({ id: z.string(), email: z.string(), first_name: z.string(), last_name: z.string() })
    .optional(),
  api_key: z.object({ id: z.string(), name: z.string(), prefix: z.string() }).optional(),
  session_id: z.string().optional(),
  organization_id: z.string().nullable().optional(),
  grants: z.array(z.record(z.string(), z.unknown())).optional(),
  is_owner: z.boolean().optional(),
  /** amr of the session (user tokens) */
  amr: z.array(z.string()).optional(),
  /** why the current organization's sign-in policy refuses this session (then no grants) */
  organization_refusal: z.string().nullable().optional(),
  expires_at: IsoDateTime.nullable().optional(),
  reason: z.string().optional(),
});

export const AuditEvent = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    organization_id: z.string().nullable(),
    actor: z.object({ type: z.string(), id: z.string().nullable() }),
    action: z.string(),
    target: z.object({ type: z.string(), id: z.string().nullable() }).nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable(),
    changes: z.unknown(),
    created_at: IsoDateTime,
    hash: z.string().nullable(),
  })
  .meta({ id: 'AuditEvent' });
export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  // `seq` is a bigint column: a cursor is the seq of the last row seen, a non-negative integer
  // JavaScript holds exactly (at most 15 digits). `2^63` or `1e21` used to reach PostgreSQL and
  // fail there (a 500); now they are refused as input (issue 10 #8).
  cursor: z
    .string()
    .max(15)
    .regex(/^(0|[1-9][0-9]{0,14})$/, 'not a cursor from this list')
    .optional(),
  actor: z.string().max(64).optional(),
  action: z.string().max(100).optional().describe('exact, or a prefix ending in .* (member.*)'),
  target: z.string().max(64).optional(),
  from: z.string().max(40).optional().describe('ISO 8601, inclusive'),
  to: z.string().max(40).optional().describe('ISO 8601, exclusive'),
});
export const AuditVerifyResult = z.object({
  valid: z.boolean(),
  checked: z.number().int(),
  checkpoint: z.object({ seq: z.number().int(), removed: z.number().int() }).nullable(),
  first_broken: z.object({ id: z.string(), seq: z.number().int(), reason: z.string() }).nullable(),
  /** with `?anchor=`: whether the chain still holds the kept head (issue 10 #19) */
  anchor: z
    .object({ sequence: z.number().int(), found: z.boolean(), reason: z.string().nullable() })
    .optional(),
});

/** A chain's newest event, and the same signed (JWS) for the operator to keep elsewhere. */
export const AuditHead = z.object({
  organization: z.string().describe('the chain: an organization id, or `platform`'),
  sequence: z.number().int().describe('seq of the newest event (0: an empty chain)'),
  hash: z.string().nullable(),
  at: z.string(),
  checkpoint: z
    .string()
    .describe('the same, as a JWS signed with the token signing key (see the JWKS)'),
});
