/**
 * Shared shapes of the authorization model. Everything here is plain data so that the catalog
 * and the templates can be shipped as code, extended by the platform from JSON, served by
 * `GET /v1/permissions` and `GET /v1/templates`, and compiled once per organization.
 */

/** The three levels of the tenant tree; a scope id's prefix (`org_`, `acc_`, `res_`) tells it. */
export type ScopeLevel = 'organization' | 'account' | 'resource';

export const SCOPE_LEVELS: readonly ScopeLevel[] = Object.freeze([
  'organization',
  'account',
  'resource',
]);

/** One permission of the catalog, `area:action`; `area` is `name` or `product.name`. */
export interface PermissionDefinition {
  readonly name: string;
  readonly description: string;
  readonly area: string;
  readonly action: string;
  /** The product owning it (`video` for `video.assets:create`), `null` for core permissions. */
  readonly product: string | null;
}

/** A product sold by the platform; it owns every permission whose name starts with `prefix`. */
export interface ProductDefinition {
  readonly key: string;
  readonly name: string;
  readonly description: string;
  /** `<key>.`: the permission namespace this product owns. */
  readonly prefix: string;
}

/** A role: a named set of permission patterns, optionally restricted to one product. */
export interface RoleDefinition {
  /** Stable identifier, unique within an organization (built-in and custom roles together). */
  readonly key: string;
  readonly name: string;
  readonly description: string;
  /** Patterns: `*`, `video.*`, `*:read`, `members:*` or an exact permission name. */
  readonly permissions: readonly string[];
  /**
   * When set, the role covers only core permissions and this product's permissions, and it
   * grants nothing on an account (or the resources of an account) of another product.
   */
  readonly product: string | null;
  /** Levels a grant of this role may be made at; a grant elsewhere grants nothing. */
  readonly grantableAt: readonly ScopeLevel[];
}

/**
 * Who may send invitations in an organization of a template. This is policy on top of the
 * no-escalation rule (`canGrant`), which always applies as well.
 */
export interface InvitePolicy {
  /**
   * - `organization-owner`: only the organization owner invites;
   * - `owners`: the organization owner anywhere, and an account owner for grants inside the
   *   account they own;
   * - `permission`: whoever holds `permission` on every scope the invitation grants on.
   */
  readonly inviters: 'organization-owner' | 'owners' | 'permission';
  /** The permission an inviter needs when `inviters` is `permission`, otherwise `null`. */
  readonly permission: string | null;
  /** The role an invitation gets when it names none (`null`: the inviter must choose). */
  readonly defaultRole: string | null;
  /** Roles that only the organization owner may offer in an invitation. */
  readonly ownerOnlyRoles: readonly string[];
  /** Whether the organization owner may offer ownership of the organization by invitation. */
  readonly ownerMayOfferOwnership: boolean;
  /** One sentence for the console and the docs. */
  readonly summary: string;
}

/** A template: the built-in roles an organization is created with, and its invite policy. */
export interface Template {
  readonly key: string;
  readonly name: string;
  readonly description: string;
  /** Always contains `owner` (`*`, never grantable); the other keys are unique. */
  readonly roles: readonly RoleDefinition[];
  readonly invitePolicy: InvitePolicy;
}

/** The immutable result of `createCatalog`: permissions, products and templates. */
export interface Catalog {
  /** Every permission by name, core permissions first, in registration order. */
  readonly permissions: ReadonlyMap<string, PermissionDefinition>;
  readonly products: ReadonlyMap<string, ProductDefinition>;
  readonly templates: ReadonlyMap<string, Template>;
  /** Every permission name: what an owner holds. */
  readonly all: ReadonlySet<string>;
}

/**
 * What the platform may register on top of the built-in catalog (a JSON document). Names
 * already in the catalog are rejected rather than overridden: a shipped meaning never changes
 * under a running organization.
 */
export interface CatalogExtension {
  readonly products?: readonly {
    readonly key: string;
    readonly name?: string;
    readonly description: string;
  }[];
  readonly permissions?: readonly { readonly name: string; readonly description: string }[];
  /** Whole new templates. */
  readonly templates?: readonly Template[];
  /** More built-in roles for existing templates, by template key. */
  readonly roles?: Readonly<Record<string, readonly RoleDefinition[]>>;
  /**
   * More patterns for existing built-in roles, by template key then role key, e.g. give the
   * `team` admin the platform's new product: `{ team: { admin: ['audio.*'] } }`.
   */
  readonly rolePermissions?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}
