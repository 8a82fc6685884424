import { z } from 'zod';
import { boundedRecord, IsoDateTime } from './common';

const Name = z.string().trim().min(1).max(120);
const Slug = z
  .string()
  .trim()
  .toLowerCase()
  .max(63)
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'lowercase letters, digits and dashes, 1–63 characters',
  );
export const ScopeId = z
  .string()
  .max(30)
  .regex(/^(org|acc|res)_[0-9a-z]{26}$/, 'must be an org_, acc_ or res_ id');
export const UserId = z
  .string()
  .max(30)
  .regex(/^usr_[0-9a-z]{26}$/, 'must be a usr_ id');
export const PermissionName = z.string().min(1).max(100);
const LoginMethod = z
  .string()
  .max(50)
  .regex(
    /^(password|google|github|oidc:[a-z0-9_-]{1,40})$/,
    'password, google, github or oidc:<name>',
  );

/** Sign-in policies of an organization (enforced by the sign-in policy feature). */
export const OrganizationPolicies = z
  .object({
    require_mfa: z.boolean().default(false),
    allowed_login_methods: z.array(LoginMethod).max(10).nullable().default(null),
    invitation_expiry_days: z.number().int().min(1).max(90).default(7),
    session_max_age_hours: z
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .nullable()
      .default(null),
    session_idle_timeout_minutes: z
      .number()
      .int()
      .min(5)
      .max(60 * 24 * 30)
      .nullable()
      .default(null),
  })
  .meta({ id: 'OrganizationPolicies' });
export const OrganizationPoliciesPatch = z.strictObject({
  require_mfa: z.boolean().optional(),
  allowed_login_methods: z.array(LoginMethod).max(10).nullable().optional(),
  invitation_expiry_days: z.number().int().min(1).max(90).optional(),
  session_max_age_hours: z
    .number()
    .int()
    .min(1)
    .max(24 * 365)
    .nullable()
    .optional(),
  session_idle_timeout_minutes: z
    .number()
    .int()
    .min(5)
    .max(60 * 24 * 30)
    .nullable()
    .optional(),
});
/** Free organization settings (display preferences and the like), at most 8 KiB. */
export const OrganizationSettings = boundedRecord(
  z.string().max(100),
  z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]),
  100,
);

export const Organization = z
  .object({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    template: z.string(),
    owner_id: z.string(),
    status: z.enum(['active', 'suspended']),
    settings: z.record(z.string(), z.unknown()),
    policies: OrganizationPolicies,
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
  })
  .meta({ id: 'Organization' });

export const MyOrganization = Organization.extend({
  membership_status: z.enum(['active', 'suspended']),
  is_owner: z.boolean(),
  current: z.boolean(),
}).meta({ id: 'MyOrganization' });

export const CreateOrganizationBody = z.strictObject({
  name: Name,
  slug: Slug.optional(),
  template: z.string().min(1).max(50).default('media'),
  settings: OrganizationSettings.optional(),
  policies: OrganizationPoliciesPatch.optional(),
});
export const UpdateOrganizationBody = z.strictObject({
  name: Name.optional(),
  slug: Slug.optional(),
  settings: OrganizationSettings.optional(),
  policies: OrganizationPoliciesPatch.optional(),
});
export const DeleteOrganizationBody = z.strictObject({
  confirm_name: z.string().min(1).max(120).describe("the organization's name, repeated"),
});
export const SwitchResponse = z.object({
  organization_id: z.string(),
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
});

export const OwnershipOffer = z
  .object({
    id: z.string(),
    subject_id: z.string().describe('the organization or account offered'),
    from_user_id: z.string(),
    to_user_id: z.string(),
    status: z.enum(['pending', 'accepted', 'declined', 'withdrawn']),
    created_at: IsoDateTime,
    resolved_at: IsoDateTime.nullable(),
  })
  .meta({ id: 'OwnershipOffer' });
export const OfferOwnershipBody = z.strictObject({ user_id: UserId });

// Accounts and resources

const Product = z
  .string()
  .max(40)
  .regex(/^[a-z][a-z0-9_]*$/, 'a product key such as video, image, meeting');
export const Account = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    name: z.string(),
    product: z.string(),
    owner_id: z.string(),
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
  })
  .meta({ id: 'Account' });
export const CreateAccountBody = z.strictObject({
  name: Name,
  product: Product,
  owner_id: UserId.optional(),
});
export const UpdateAccountBody = z.strictObject({ name: Name.optional() });

export const Resource = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    account_id: z.string(),
    parent_id: z.string().nullable(),
    type: z.string(),
    name: z.string(),
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
  })
  .meta({ id: 'Resource' });
const ResourceType = z
  .string()
  .max(40)
  .regex(/^[a-z][a-z0-9_-]{0,39}$/, 'a type such as room, collection, source, folder');
export const CreateResourceBody = z.strictObject({
  name: Name,
  type: ResourceType,
  parent_id: z.string().max(64).nullable().optional(),
});
export const UpdateResourceBody = z.strictObject({ name: Name.optional() });

// Roles and grants

const ScopeLevelEnum = z.enum(['organization', 'account', 'resource']);
export const Role = z
  .object({
    key: z.string(),
    name: z.string(),
    description: z.string(),
    permissions: z.array(z.string()),
    product: z.string().nullable(),
    grantable_at: z.array(ScopeLevelEnum),
    built_in: z.boolean(),
    grantable: z.boolean().describe('false for owner, which comes only from ownership'),
  })
  .meta({ id: 'Role' });
const RoleKey = z
  .string()
  .max(63)
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _');
export const CreateRoleBody = z.strictObject({
  key: RoleKey,
  name: Name,
  description: z.string().max(500).default(''),
  permissions: z.array(PermissionName).min(1).max(200),
  product: Product.nullable().default(null),
  // Three levels exist: a longer list is refused by its length before any element is read.
  grantable_at: z
    .array(ScopeLevelEnum)
    .min(1)
    .max(3)
    .default(['organization', 'account', 'resource']),
});
export const UpdateRoleBody = z.strictObject({
  name: Name.optional(),
  description: z.string().max(500).optional(),
  permissions: z.array(PermissionName).min(1).max(200).optional(),
  product: Product.nullable().optional(),
  grantable_at: z.array(ScopeLevelEnum).min(1).max(3).optional(),
});
export const DeleteRoleQuery = z.object({
  replace_with: RoleKey.optional().describe(
    'role that replaces this one in every grant still holding it',
  ),
});

export const GrantInput = z.union([
  z.strictObject({ role: RoleKey, scope: ScopeId }),
  z.strictObject({ permissions: z.array(PermissionName).min(1).max(200), scope: ScopeId }),
]);
export const GrantView = z
  .object({
    id: z.string(),
    role: z.string().nullable(),
    permissions: z.array(z.string()).nullable(),
    scope: z.string(),
    scope_type: ScopeLevelEnum,
    created_at: IsoDateTime,
  })
  .meta({ id: 'Grant' });
export const ReplaceGrantsBody = z.strictObject({ grants: z.array(GrantInput).max(200) });
export const AddGrantsBody = z.strictObject({ grants: z.array(GrantInput).min(1).max(200) });
export const RemoveGrantsBody = z.strictObject({
  grant_ids: z.array(z.string().max(64)).min(1).max(200),
});

// Members

export const Member = z
  .object({
    user_id: z.string(),
    email: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    status: z.enum(['active', 'suspended']),
    user_status: z.enum(['active', 'suspended', 'deactivated']),
    is_owner: z.boolean(),
    joined_at: IsoDateTime,
    invited_by: z.string().nullable(),
    grants: z.array(GrantView),
    /** the member's login type (null: any method the organization allows) */
    login_methods: z.array(z.string()).nullable(),
  })
  .meta({ id: 'Member' });
export const MemberDetail = Member.extend({
  timezone: z.string().nullable(),
  created_at: IsoDateTime,
  updated_at: IsoDateTime,
  last_login_at: IsoDateTime.nullable(),
  managed_by_organization: z
    .boolean()
    .describe('true when this organization may edit name, email and timezone'),
  effective_permissions: z.array(z.string()).describe('at organization scope'),
  login_methods: z
    .array(z.string())
    .nullable()
    .describe(
      "the member's login type: sign-in methods accepted for this organization (null: any the organization allows)",
    ),
}).meta({ id: 'MemberDetail' });
/** `GET /v1/organizations/{org}/me`: the caller's own membership, readable by every member. */
export const MyMembership = MemberDetail.extend({
  organization: z.object({ id: z.string(), name: z.string(), template: z.string() }),
  permissions_anywhere: z
    .array(z.string())
    .describe('every permission held at some scope of the organization (what menus to show)'),
  roles: z
    .array(z.object({ key: z.string(), name: z.string() }))
    .describe('the roles this member holds anywhere in the organization, owner first'),
}).meta({ id: 'MyMembership' });
export const MembersQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(400).optional(),
  search: z.string().trim().max(100).optional().describe('name or email: prefix or substring'),
  role: z.string().max(64).optional(),
  account: z
    .string()
    .max(64)
    .optional()
    .describe('members holding a grant on this account (or its resources)'),
  status: z.enum(['active', 'suspended']).optional(),
  login_method: LoginMethod.optional().describe(
    "members whose login type names this sign-in method (members left to the organization's methods are not matched)",
  ),
  sort: z.enum(['name', 'email', 'joined']).default('name'),
  order: z.enum(['asc', 'desc']).default('asc'),
});
export const UpdateMemberBody = z.strictObject({
  first_name: Name.optional(),
  last_name: Name.optional(),
  email: z.string().trim().toLowerCase().max(254).pipe(z.email()).optional(),
  timezone: z.string().max(64).nullable().optional(),
});
export const MemberLoginMethodsBody = z.strictObject({
  /** null: whatever the organization allows */
  login_methods: z.array(LoginMethod).min(1).max(10).nullable(),
});
export const BulkMembersBody = z.strictObject({
  action: z.enum(['remove', 'suspend', 'reactivate']),
  user_ids: z.array(z.string().max(64)).min(1).max(500),
});
export const BulkMembersResult = z.object({
  results: z.array(
    z.object({
      user_id: z.string(),
      status: z.enum(['done', 'unchanged', 'not_found', 'forbidden']),
      detail: z.string().optional(),
    }),
  ),
});
export const MemberPermissionsQuery = z.object({ scope: ScopeId.optional() });
export const MemberPermissions = z.object({
  user_id: z.string(),
  scope: z.string(),
  permissions: z.array(z.string()),
});

// Authorization API

export const CheckBody = z.strictObject({
  subject: z
    .string()
    .max(30)
    .regex(/^(usr|key)_[0-9a-z]{26}$/, 'a usr_ or key_ id')
    .optional(),
  permission: PermissionName,
  scope: ScopeId,
});
export const CheckResult = z
  .object({
    allowed: z.boolean(),
    reason: z.object({
      kind: z.string(),
      /** kind sign_in_policy: the refusal's error code (mfa_required, login_method_not_allowed, …) */
      code: z.string().optional(),
      role: z.string().optional(),
      permissions: z.array(z.string()).optional(),
      scope: z.string().optional(),
      message: z.string().optional(),
    }),
  })
  .meta({ id: 'CheckResult' });
export const CheckBatchBody = z.strictObject({
  subject: z
    .string()
    .max(30)
    .regex(/^(usr|key)_[0-9a-z]{26}$/)
    .optional(),
  checks: z
    .array(z.strictObject({ permission: PermissionName, scope: ScopeId }))
    .min(1)
    .max(100),
});
export const CheckBatchResult = z.object({ results: z.array(CheckResult) });
export const ListScopesBody = z.strictObject({
  subject: z
    .string()
    .max(30)
    .regex(/^(usr|key)_[0-9a-z]{26}$/)
    .optional(),
  organization_id: z
    .string()
    .max(30)
    .regex(/^org_[0-9a-z]{26}$/),
  permission: PermissionName,
  level: z.enum(['account', 'resource']).default('account'),
});
export const ListScopesResult = z.object({
  scopes: z.array(z.object({ id: z.string(), name: z.string(), type: z.string() })),
});

export const PermissionView = z.object({
  name: z.string(),
  description: z.string(),
  product: z.string().nullable(),
});
export const TemplateView = z.object({
  key: z.string(),
  name: z.string(),
  description: z.string(),
  invite_policy: z.record(z.string(), z.unknown()),
  roles: z.array(Role),
});

export const AddMemberBody = z.strictObject({
  email: z.string().trim().toLowerCase().max(254).pipe(z.email()),
  first_name: z.string().trim().min(1).max(100).optional(),
  last_name: z.string().trim().min(1).max(100).optional(),
  grants: z.array(GrantInput).max(200).default([]),
  /** which sign-in methods this member may use to reach the organization; default any */
  login_method: LoginMethod.optional(),
  /** mail the new user a link to set their password */
  send_invite: z.boolean().default(false),
});
