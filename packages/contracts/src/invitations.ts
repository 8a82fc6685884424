import { z } from 'zod';
import { IsoDateTime } from './common';
import { GrantInput, ScopeId } from './organizations';

/**
 * PostgreSQL refuses text holding U+0000 (the query fails: a 500), SQLite would store it; no
 * name, message, search or cursor needs one, so it is a validation error on both engines.
 */
const noNul = <T extends z.ZodString>(schema: T) =>
  schema.refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

export const InvitationStatus = z.enum(['pending', 'accepted', 'rejected', 'revoked', 'expired']);

export const SendInvitationsBody = z.strictObject({
  /** raw strings: each is normalised and reported on its own (an invalid one does not fail the rest) */
  emails: z.array(z.string().max(320)).min(1).max(100),
  /**
   * `{ scope }` alone takes the template's default role at that scope (accounts: admin); a
   * template without a default role refuses it.
   */
  grants: z
    .array(z.union([GrantInput, z.strictObject({ scope: ScopeId })]))
    .max(200)
    .default([]),
  message: noNul(z.string().trim().max(1000)).optional(),
  expires_in_days: z
    .number()
    .int()
    .min(1)
    .max(90)
    .optional()
    .describe("default: the organization's policy (7 days)"),
  /** team template: the owner offers ownership; accepting makes the invitee the owner */
  offer_ownership: z.boolean().default(false),
});

export const InvitationResult = z.object({
  email: z.string(),
  status: z.enum(['invited', 'already_member', 'already_invited', 'invalid_email', 'duplicate']),
  invitation_id: z.string().optional(),
});
export const SendInvitationsResult = z.object({ results: z.array(InvitationResult) });

export const Invitation = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    email: z.string(),
    grants: z.array(z.record(z.string(), z.unknown())),
    message: z.string().nullable(),
    offers_ownership: z.boolean(),
    status: InvitationStatus,
    invited_by: z.string(),
    expires_at: IsoDateTime,
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
    resolved_at: IsoDateTime.nullable(),
  })
  .meta({ id: 'Invitation' });

export const InvitationsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: noNul(z.string().max(64)).optional(),
  status: InvitationStatus.optional(),
});

/** What the holder of a link may see: nothing else about the organization. */
export const InvitationPreview = z
  .object({
    organization: z.object({ name: z.string() }),
    inviter: z.object({ name: z.string() }),
    email: z.string(),
    grants: z.array(z.string()).describe('the grants in words'),
    message: z.string().nullable(),
    offers_ownership: z.boolean(),
    status: InvitationStatus,
    expires_at: IsoDateTime,
    account_exists: z.boolean().describe('whether to sign in (true) or sign up (false) to accept'),
    no_longer_valid: z
      .boolean()
      .describe(
        'pending, but accepting it would be refused (409 invitation_no_longer_valid): its sender can no longer give these grants, or a scope or role it names is gone',
      ),
  })
  .meta({ id: 'InvitationPreview' });

export const AcceptInvitationBody = z
  .strictObject({
    /** only when not signed in and no account exists for the address: sign up through the invitation */
    first_name: noNul(z.string().trim().min(1).max(100)).optional(),
    last_name: noNul(z.string().trim().min(1).max(100)).optional(),
    password: z.string().min(1).max(256).optional(),
  })
  .default({});

export const AcceptInvitationResult = z.object({
  organization_id: z.string(),
  user_id: z.string(),
  /** set when the invitation signed the user up: they are signed in */
  session: z
    .object({
      token_type: z.literal('Bearer'),
      access_token: z.string(),
      expires_in: z.number().int(),
      refresh_token: z.string(),
      session_id: z.string(),
    })
    .nullable(),
});

export const MyInvitation = z.object({
  token_hint: z.string().describe('not the token: accept from the mailed link'),
  id: z.string(),
  organization: z.object({ id: z.string(), name: z.string() }),
  inviter: z.object({ name: z.string() }),
  grants: z.array(z.string()),
  expires_at: IsoDateTime,
});

// Platform administration

export const CreateCustomerBody = z.strictObject({
  name: noNul(z.string().trim().min(1).max(120)),
  slug: z
    .string()
    .trim()
    .toLowerCase()
    .max(63)
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)
    .optional(),
  template: noNul(z.string().min(1).max(50)).default('media'),
  owner: z.strictObject({
    email: z.string().trim().toLowerCase().max(254).pipe(z.email()),
    first_name: noNul(z.string().trim().min(1).max(100)),
    last_name: noNul(z.string().trim().min(1).max(100)),
  }),
});
export const AdminListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: noNul(z.string().max(64)).optional(),
  search: noNul(z.string().trim().max(100)).optional(),
  status: noNul(z.string().max(20)).optional(),
});
export const AdminUser = z
  .object({
    id: z.string(),
    email: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    status: z.enum(['active', 'suspended', 'deactivated']),
    email_verified: z.boolean(),
    is_platform_admin: z.boolean(),
    created_at: IsoDateTime,
    last_login_at: IsoDateTime.nullable(),
    organizations: z.number().int(),
  })
  .meta({ id: 'AdminUser' });
/** What a platform admin's reset of a user's second factors removed (issue 12, item 9). */
export const AdminMfaReset = z
  .object({
    factors_removed: z.number().int(),
    recovery_codes_removed: z.number().int(),
  })
  .meta({ id: 'AdminMfaReset' });
