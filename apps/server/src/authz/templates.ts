/**
 * The five built-in templates (SPEC section 3), as data. Each reproduces the user-management
 * page of a platform Gatehouse is modelled on (/work/shared/sources); the choices below are
 * the reading of those pages, written down so a reviewer can disagree with a line, not a guess.
 *
 * Common to all templates
 * - `owner` holds `*` and is never granted (grantableAt: []). The organization owner holds
 *   everything in the organization, an account owner everything within that account; both
 *   come from ownership, never from a grant, so "nobody but the owner can make an owner" holds
 *   by construction. Transfer of ownership is an explicit act, not a permission.
 * - Roles that only make sense organization-wide (billing, admins) are grantable only at
 *   `organization`; "per project/account" roles at `account` and `resource`.
 *
 * media (image + video platform; source 000, SPEC's table)
 * - The owner is "the only one who adds users, sees billing details and the API key": so no
 *   other role has members:invite|update|remove, billing:manage or api_keys:*; nor, being
 *   owner-only acts, organization:update|delete, roles:manage or audit:read.
 * - admin = developer + analyst + accountant for image and video. Because in media an account
 *   IS a video collection or an image source, "add, update and delete sources" means
 *   accounts:* and resources:*; plus every video/image permission, billing:read|pay, and
 *   reading the organization, its members and roles (it just cannot change who is in it).
 * - accountant: "complete billing panel, view invoices, pay bills" = billing:read|pay; billing
 *   *details* (billing:manage) stay with the owner.
 * - <product>-developer: "creation & deletion" of the product's objects (video assets and
 *   profiles; image sources, which the image service checks as image.sources:* at organization
 *   scope). <product>-analyst: usage + insights only (the table gives analysts no asset access).
 *   <product>-admin: developer + analyst = `<product>.*`. These are granted at organization
 *   (every account of that product) or at one account, and give nothing on the other product.
 * - <product>-source-specific: granted on specific collections/sources (account or resource
 *   scope only): read them, their usage and insights. Never at organization scope, which
 *   would defeat "specific".
 * - Source 000 also lists generic developer/analyst/source-specific rows from before the split
 *   into products; its own table supersedes them, so they are not reproduced.
 *
 * accounts (per-account roles; source 003)
 * - "Assign a role (Admin or Viewer)" per account; "users can only add users to accounts where
 *   they are Admin"; "by default, new users are assigned the Admin role". So admin holds
 *   members:* on its account (invite, edit roles, suspend, delete), configures the account,
 *   manages its resources and every product permission; viewer reads (`*:read`), and admin
 *   reads everything a viewer does (else it could not make viewers: no escalation). Both are
 *   granted at account (or one resource); admin of account A has nothing on account B.
 *
 * team (source 004)
 * - admin "can manage users, data and organization settings; may have limited access to
 *   owner-level features": everything except organization:delete. The other owner-level acts
 *   (transfer ownership, make owners, invite admins) are owner-only rules in the invite
 *   policy and the organization service, not permissions.
 * - user / bot manager "can access assigned projects and resources; cannot manage other users
 *   or modify organizational settings": granted per account (project): read it, work on its
 *   resources and every product permission; no members:*, no organization:update.
 *
 * permissions (source 002)
 * - Invitations pick projects by checkbox (`project` at each account) plus two switches,
 *   billing access (`billing`: plans, payment methods, invoices = billing:read|pay|manage) and
 *   API access (`api-access`: api_keys:read|manage); `member` (organization:read) is the plain
 *   membership every invitee gets. "Admins can modify permissions, revoke access, or remove
 *   members": admin manages members, roles, accounts and resources, but billing and API access
 *   stay behind their switches ("if billing access is not enabled, the member will not be able
 *   to ... view billing-related data"), so an admin who needs them also holds those roles.
 *
 * reseller (source 001)
 * - Customer owner and account owners ("the only user who can send invitations"); members are
 *   associated with the customer, accounts and rooms "with the desired permissions checked":
 *   inline `{ permissions: [...] }` grants at organization, account or resource scope. `member`
 *   (organization:read) is the plain association with the customer.
 */
import type { InvitePolicy, RoleDefinition, ScopeLevel, Template } from './types';

const ORG: readonly ScopeLevel[] = ['organization'];
const ORG_ACCOUNT: readonly ScopeLevel[] = ['organization', 'account'];
const ACCOUNT_RESOURCE: readonly ScopeLevel[] = ['account', 'resource'];

/** Every product permission of the built-in products. */
const ALL_PRODUCTS = ['video.*', 'image.*', 'meeting.*'];

function owner(description: string): RoleDefinition {
  return {
    key: 'owner',
    name: 'Owner',
    description,
    permissions: ['*'],
    product: null,
    grantableAt: [],
  };
}

function role(
  key: string,
  name: string,
  description: string,
  permissions: string[],
  grantableAt: readonly ScopeLevel[],
  product: string | null = null,
): RoleDefinition {
  return { key, name, description, permissions, product, grantableAt };
}

/** developer / analyst / admin / source-specific for one media product. */
function mediaProductRoles(
  product: 'video' | 'image',
  label: string,
  developer: string[],
  developerSays: string,
  sourceSpecificRead: string,
  sourceSpecificSays: string,
): RoleDefinition[] {
  const basics = ['organization:read', 'accounts:read', 'resources:read'];
  const analytics = [`${product}.usage:read`, `${product}.insights:read`];
  return [
    role(
      `${product}-admin`,
      `${label} admin`,
      `${label} developer and analyst together: ${developerSays}, usage analytics and insights.`,
      [...basics, `${product}.*`],
      ORG_ACCOUNT,
      product,
    ),
    role(
      `${product}-developer`,
      `${label} developer`,
      `${developerSays[0]?.toUpperCase()}${developerSays.slice(1)}.`,
      [...basics, ...developer],
      ORG_ACCOUNT,
      product,
    ),
    role(
      `${product}-analyst`,
      `${label} analyst`,
      `${label} usage analytics and ${product} insights.`,
      [...basics, ...analytics],
      ORG_ACCOUNT,
      product,
    ),
    role(
      `${product}-source-specific`,
      `${label} source-specific`,
      sourceSpecificSays,
      ['accounts:read', 'resources:read', sourceSpecificRead, ...analytics],
      ACCOUNT_RESOURCE,
      product,
    ),
  ];
}

const media: Template = {
  key: 'media',
  name: 'Media (image + video)',
  description:
    'An image and video platform: organization-wide admin and accountant roles, and ' +
    'developer, analyst and source-specific roles per product.',
  roles: [
    owner('Everything; the only one who adds users, sees billing details and API keys.'),
    role(
      'admin',
      'Admin',
      'Everything developers, analysts and accountants do, for image and video; cannot add ' +
        'users, manage billing details or API keys.',
      [
        'organization:read',
        'members:read',
        'roles:read',
        'accounts:*',
        'resources:*',
        'billing:read',
        'billing:pay',
        'video.*',
        'image.*',
      ],
      ORG,
    ),
    role(
      'accountant',
      'Accountant',
      'The complete billing panel: view invoices and pay bills.',
      ['organization:read', 'billing:read', 'billing:pay'],
      ORG,
    ),
    ...mediaProductRoles(
      'video',
      'Video',
      ['video.assets:*', 'video.profiles:*'],
      'asset and profile creation & deletion',
      'video.assets:read',
      'Specific video collections (where granted), their usage and insights.',
    ),
    ...mediaProductRoles(
      'image',
      'Image',
      ['image.sources:*'],
      'source creation & deletion',
      'image.sources:read',
      'Specific image sources (where granted), their usage and insights.',
    ),
  ],
  invitePolicy: {
    inviters: 'organization-owner',
    permission: null,
    defaultRole: null,
    ownerOnlyRoles: [],
    ownerMayOfferOwnership: false,
    summary: 'Only the organization owner adds users.',
  },
};

const accounts: Template = {
  key: 'accounts',
  name: 'Accounts',
  description: 'Per-account access: each member is admin or viewer of the accounts they are given.',
  roles: [
    owner('Everything in the organization.'),
    role(
      'admin',
      'Admin',
      'Manages the account it is granted on: its users, settings, resources and services.',
      // `*:read` first: an admin must hold everything a viewer holds, or the no-escalation
      // rule would stop admins from adding viewers to their own account.
      [
        '*:read',
        'accounts:update',
        'resources:*',
        'members:invite',
        'members:update',
        'members:remove',
        ...ALL_PRODUCTS,
      ],
      ACCOUNT_RESOURCE,
    ),
    role(
      'viewer',
      'Viewer',
      'Reads everything in the account it is granted on.',
      ['*:read'],
      ACCOUNT_RESOURCE,
    ),
  ],
  invitePolicy: {
    inviters: 'permission',
    permission: 'members:invite',
    defaultRole: 'admin',
    ownerOnlyRoles: [],
    ownerMayOfferOwnership: false,
    summary: 'Admins invite to the accounts where they are admin; new users are admins by default.',
  },
};

const team: Template = {
  key: 'team',
  name: 'Team',
  description: 'Owner, admins who run the organization, and users who work on assigned projects.',
  roles: [
    owner('Everything; the only one who deletes the organization, transfers it and makes owners.'),
    role(
      'admin',
      'Admin',
      'Manages users, data and organization settings; not the owner-only acts.',
      [
        'organization:read',
        'organization:update',
        'members:*',
        'roles:*',
        'accounts:*',
        'resources:*',
        'billing:*',
        'api_keys:*',
        'audit:*',
        ...ALL_PRODUCTS,
      ],
      ORG,
    ),
    role(
      'user',
      'User',
      'Works on the projects assigned to them; manages nobody.',
      ['accounts:read', 'resources:*', ...ALL_PRODUCTS],
      ACCOUNT_RESOURCE,
    ),
  ],
  invitePolicy: {
    inviters: 'permission',
    permission: 'members:invite',
    defaultRole: 'user',
    ownerOnlyRoles: ['admin'],
    ownerMayOfferOwnership: true,
    summary: 'Admins invite users; only the owner invites admins or offers ownership.',
  },
};

const permissions: Template = {
  key: 'permissions',
  name: 'Permissions',
  description:
    'Members are given projects by checkbox, plus billing access and API access switches.',
  roles: [
    owner('Everything in the organization.'),
    role(
      'admin',
      'Admin',
      'Manages members, their permissions, projects and settings; billing and API access are ' +
        'separate switches.',
      [
        'organization:read',
        'organization:update',
        'members:*',
        'roles:*',
        'accounts:*',
        'resources:*',
        'audit:read',
        ...ALL_PRODUCTS,
      ],
      ORG,
    ),
    role(
      'member',
      'Member',
      'Belongs to the organization and sees it.',
      ['organization:read'],
      ORG,
    ),
    role(
      'project',
      'Project',
      'Works on the project (account) it is granted on.',
      ['accounts:read', 'resources:*', ...ALL_PRODUCTS],
      ACCOUNT_RESOURCE,
    ),
    role(
      'billing',
      'Billing access',
      'Subscription plans, payment methods, invoices and billing details.',
      ['billing:*'],
      ORG,
    ),
    role('api-access', 'API access', 'API keys for programmatic access.', ['api_keys:*'], ORG),
  ],
  invitePolicy: {
    inviters: 'permission',
    permission: 'members:invite',
    defaultRole: 'member',
    ownerOnlyRoles: [],
    ownerMayOfferOwnership: false,
    summary: 'Members who may invite choose projects, billing access and API access.',
  },
};

const reseller: Template = {
  key: 'reseller',
  name: 'Reseller',
  description:
    'Customer and account owners; members are associated with the customer, accounts and ' +
    'rooms, each association with its own checked permissions.',
  roles: [
    owner('Everything for the customer (organization owner) or within an account (account owner).'),
    role('member', 'Member', 'Associated with the customer.', ['organization:read'], ORG),
  ],
  invitePolicy: {
    inviters: 'owners',
    permission: null,
    defaultRole: null,
    ownerOnlyRoles: [],
    ownerMayOfferOwnership: false,
    summary: 'Only owners invite: the customer owner anywhere, an account owner to their account.',
  },
};

/** The templates every catalog starts with, in display order. */
export const BUILT_IN_TEMPLATES: readonly Template[] = [
  media,
  accounts,
  team,
  permissions,
  reseller,
];

export const TEMPLATE_KEYS = ['media', 'accounts', 'team', 'permissions', 'reseller'] as const;
export type BuiltInTemplateKey = (typeof TEMPLATE_KEYS)[number];

export type { InvitePolicy, RoleDefinition, Template };
