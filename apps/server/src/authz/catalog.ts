/**
 * The permission catalog as data (SPEC section 3): the core permissions every organization
 * has, the products that own namespaced permissions (`video.assets:create`), the templates,
 * and the pattern language roles are written in.
 *
 * Patterns, the only syntax a role may use:
 *   `*`            every permission
 *   `video.*`      every permission of product `video`
 *   `*:read`       every permission whose action is `read`
 *   `members:*`    every action of area `members` (`video.assets:*` works the same way)
 *   `members:read` exactly that permission
 * Patterns are expanded against the catalog when roles are compiled, so a role written as
 * `*:read` also covers read permissions the platform registers later.
 */
import { BUILT_IN_TEMPLATES } from './templates';
import {
  type Catalog,
  type CatalogExtension,
  type InvitePolicy,
  type PermissionDefinition,
  type ProductDefinition,
  type RoleDefinition,
  SCOPE_LEVELS,
  type Template,
} from './types';

/** `area:action` or `product.area:action`, lower case. */
export const PERMISSION_NAME_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?:[a-z][a-z0-9_]*$/;
export const PRODUCT_KEY_PATTERN = /^[a-z][a-z0-9_]*$/;
/** Role and template keys: `video-admin`, `api-access`, `marketing-manager`. */
export const ROLE_KEY_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;

const PRODUCT_WILDCARD = /^([a-z][a-z0-9_]*)\.\*$/;
const ACTION_WILDCARD = /^\*:([a-z][a-z0-9_]*)$/;
const AREA_WILDCARD = /^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?):\*$/;

export interface PermissionSpec {
  readonly name: string;
  readonly description: string;
}

export interface ProductSpec {
  readonly key: string;
  readonly name: string;
  readonly description: string;
}

export const CORE_PERMISSIONS: readonly PermissionSpec[] = [
  {
    name: 'organization:read',
    description: 'View the organization: name, slug, settings and policies.',
  },
  {
    name: 'organization:update',
    description: "Change the organization's name, settings and policies.",
  },
  { name: 'organization:delete', description: 'Delete the organization and everything in it.' },
  { name: 'members:read', description: 'List members and see their grants.' },
  { name: 'members:invite', description: 'Invite people, or add users directly, with grants.' },
  {
    name: 'members:update',
    description: "Change members' grants; suspend and reactivate members.",
  },
  { name: 'members:remove', description: 'Remove members from the organization.' },
  { name: 'roles:read', description: 'List built-in and custom roles.' },
  { name: 'roles:manage', description: 'Create, edit and delete custom roles.' },
  { name: 'accounts:read', description: 'List and view accounts (projects, services, sources).' },
  { name: 'accounts:create', description: 'Create accounts.' },
  { name: 'accounts:update', description: 'Rename and configure accounts.' },
  { name: 'accounts:delete', description: 'Delete accounts.' },
  { name: 'resources:read', description: 'List and view resources (rooms, collections, folders).' },
  { name: 'resources:create', description: 'Create resources inside accounts.' },
  { name: 'resources:update', description: 'Rename, move and configure resources.' },
  { name: 'resources:delete', description: 'Delete resources.' },
  { name: 'billing:read', description: 'Billing panel: plans, invoices and payment history.' },
  { name: 'billing:pay', description: 'Pay invoices.' },
  {
    name: 'billing:manage',
    description: 'Billing details: payment methods, address and plan changes.',
  },
  { name: 'api_keys:read', description: 'List API keys and their grants (never their secrets).' },
  { name: 'api_keys:manage', description: 'Create and revoke API keys.' },
  { name: 'audit:read', description: "Read the organization's audit log." },
];

export const PRODUCTS: readonly ProductSpec[] = [
  {
    key: 'video',
    name: 'Video',
    description: 'Video streaming: collections of assets, encoding profiles.',
  },
  {
    key: 'image',
    name: 'Image',
    description: 'Image delivery: image sources and their analytics.',
  },
  { key: 'meeting', name: 'Meeting', description: 'Web meetings: rooms.' },
];

export const PRODUCT_PERMISSIONS: readonly PermissionSpec[] = [
  { name: 'video.assets:read', description: 'List and view video assets.' },
  { name: 'video.assets:create', description: 'Upload, import and create video assets.' },
  { name: 'video.assets:delete', description: 'Delete video assets.' },
  { name: 'video.profiles:read', description: 'View encoding profiles.' },
  { name: 'video.profiles:create', description: 'Create encoding profiles.' },
  { name: 'video.profiles:delete', description: 'Delete encoding profiles.' },
  { name: 'video.usage:read', description: 'Video usage analytics: bandwidth and storage.' },
  {
    name: 'video.insights:read',
    description: 'Video insights: views, watch time, geography, errors.',
  },
  { name: 'image.sources:read', description: 'List and view image sources.' },
  { name: 'image.sources:create', description: 'Create image sources.' },
  { name: 'image.sources:update', description: 'Configure image sources.' },
  { name: 'image.sources:delete', description: 'Delete image sources.' },
  { name: 'image.usage:read', description: 'Image usage analytics.' },
  { name: 'image.insights:read', description: 'Image insights.' },
  { name: 'meeting.rooms:read', description: 'List and view meeting rooms.' },
  { name: 'meeting.rooms:create', description: 'Create meeting rooms.' },
  { name: 'meeting.rooms:update', description: 'Configure meeting rooms.' },
  { name: 'meeting.rooms:delete', description: 'Delete meeting rooms.' },
];

/** Thrown by `createCatalog` with every problem found, so a bad extension is fixed in one go. */
export class CatalogError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`invalid permission catalog:\n  ${issues.join('\n  ')}`);
    this.name = 'CatalogError';
  }
}

export type PatternProblem =
  | 'malformed'
  | 'unknown_permission'
  | 'unknown_product'
  | 'matches_nothing';

export interface PatternIssue {
  /** The offending entry as given (stringified when it was not a string). */
  readonly pattern: string;
  readonly reason: PatternProblem;
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------
// Matching and expansion

/**
 * Whether one permission matches one pattern. Written with length checks and
 * `startsWith`/`endsWith` instead of splitting, because inline grants are matched on the hot
 * path and this allocates nothing. Malformed patterns simply match nothing.
 */
export function patternMatches(def: PermissionDefinition, pattern: string): boolean {
  if (pattern === '*' || pattern === def.name) return true;
  const n = pattern.length;
  if (n < 3) return false;
  if (pattern.charCodeAt(0) === 42 /* * */) {
    return (
      pattern.charCodeAt(1) === 58 /* : */ &&
      n === def.action.length + 2 &&
      pattern.endsWith(def.action)
    );
  }
  if (pattern.charCodeAt(n - 1) !== 42) return false;
  const sep = pattern.charCodeAt(n - 2);
  if (sep === 58 /* : */) return n === def.area.length + 2 && pattern.startsWith(def.area);
  if (sep === 46 /* . */) {
    return def.product !== null && n === def.product.length + 2 && pattern.startsWith(def.product);
  }
  return false;
}

/** Per catalog (keyed by its permission map, shared with the catalog under construction). */
const expansionCache = new WeakMap<
  ReadonlyMap<string, PermissionDefinition>,
  Map<string, readonly string[]>
>();

function expandOne(catalog: Catalog, pattern: string): readonly string[] {
  let cache = expansionCache.get(catalog.permissions);
  if (!cache) {
    cache = new Map();
    expansionCache.set(catalog.permissions, cache);
  }
  let names = cache.get(pattern);
  if (!names) {
    const found: string[] = [];
    for (const def of catalog.permissions.values()) {
      if (patternMatches(def, pattern)) found.push(def.name);
    }
    names = Object.freeze(found);
    // Bounded: patterns come from roles and grants, but a bad caller must not grow it forever.
    if (cache.size < 10_000) cache.set(pattern, names);
  }
  return names;
}

/**
 * The concrete catalog permissions a list of patterns denotes. With `product`, only core
 * permissions and that product's permissions are kept: this is what a product-restricted role
 * can ever give. Entries that are not valid patterns contribute nothing (validate first).
 */
export function expandPatterns(
  catalog: Catalog,
  patterns: readonly string[],
  product?: string | null,
): Set<string> {
  const out = new Set<string>();
  for (const pattern of patterns) {
    if (typeof pattern !== 'string') continue;
    for (const name of expandOne(catalog, pattern)) {
      if (product) {
        const owner = catalog.permissions.get(name)?.product ?? null;
        if (owner !== null && owner !== product) continue;
      }
      out.add(name);
    }
  }
  return out;
}

export function isKnownPermission(catalog: Catalog, name: unknown): boolean {
  return typeof name === 'string' && catalog.permissions.has(name);
}

/**
 * The offending entries of a pattern list: malformed syntax, an unknown permission or
 * product, or a wildcard that matches nothing in this catalog (almost always a typo, e.g.
 * `*:raed`). An empty result means every entry is valid.
 */
export function validatePatterns(catalog: Catalog, patterns: readonly unknown[]): PatternIssue[] {
  const issues: PatternIssue[] = [];
  for (const entry of patterns) {
    const issue = checkPattern(catalog, entry);
    if (issue) issues.push(issue);
  }
  return issues;
}

function checkPattern(catalog: Catalog, entry: unknown): PatternIssue | null {
  if (typeof entry !== 'string') {
    return {
      pattern: JSON.stringify(entry) ?? String(entry),
      reason: 'malformed',
      message: 'a permission pattern must be a string',
    };
  }
  if (entry === '*') return null;
  if (PERMISSION_NAME_PATTERN.test(entry)) {
    return catalog.permissions.has(entry)
      ? null
      : { pattern: entry, reason: 'unknown_permission', message: `unknown permission "${entry}"` };
  }
  const product = PRODUCT_WILDCARD.exec(entry);
  if (product) {
    return catalog.products.has(product[1] as string)
      ? null
      : { pattern: entry, reason: 'unknown_product', message: `unknown product "${product[1]}"` };
  }
  if (ACTION_WILDCARD.test(entry) || AREA_WILDCARD.test(entry)) {
    return expandOne(catalog, entry).length > 0
      ? null
      : { pattern: entry, reason: 'matches_nothing', message: `"${entry}" matches no permission` };
  }
  return {
    pattern: entry,
    reason: 'malformed',
    message: `"${entry}" is not a pattern: *, product.*, *:action, area:* or area:action`,
  };
}

// ---------------------------------------------------------------------------------------------
// Role and template validation (used for built-in data, extensions and custom roles)

export interface RoleValidationOptions {
  /** Keys already taken in the organization (built-in roles and other custom roles). */
  readonly takenKeys?: Iterable<string>;
  /** Whether this is a template's `owner` role (the only role allowed to be never grantable). */
  readonly isOwner?: boolean;
}

/**
 * Problems with a role definition (built-in, extension or custom), as human-readable strings.
 * An empty list means the role is valid against this catalog.
 */
export function validateRoleDefinition(
  catalog: Catalog,
  role: unknown,
  options: RoleValidationOptions = {},
): string[] {
  const issues: string[] = [];
  if (!isRecord(role)) return ['a role must be an object'];
  const { key, name, description, permissions, product, grantableAt } = role;
  if (typeof key !== 'string' || !ROLE_KEY_PATTERN.test(key)) {
    issues.push(`key ${JSON.stringify(key)} must match ${ROLE_KEY_PATTERN}`);
  } else {
    if (key === 'owner' && !options.isOwner)
      issues.push('"owner" is reserved: ownership is not a role');
    for (const taken of options.takenKeys ?? []) {
      if (taken === key) issues.push(`key "${key}" is already used by another role`);
    }
  }
  if (typeof name !== 'string' || name.trim() === '' || name.length > 100) {
    issues.push('name must be a non-empty string of at most 100 characters');
  }
  if (typeof description !== 'string' || description.length > 500) {
    issues.push('description must be a string of at most 500 characters');
  }
  if (product !== null && (typeof product !== 'string' || !catalog.products.has(product))) {
    issues.push(`product ${JSON.stringify(product)} is not a registered product (or null)`);
  }
  if (!Array.isArray(permissions) || permissions.length === 0) {
    issues.push('permissions must be a non-empty array of patterns');
  } else {
    for (const issue of validatePatterns(catalog, permissions)) issues.push(issue.message);
    if (typeof product === 'string' && catalog.products.has(product)) {
      // A video role listing `image.*` would silently give nothing: surface the mistake.
      for (const pattern of permissions) {
        if (
          typeof pattern === 'string' &&
          checkPattern(catalog, pattern) === null &&
          expandPatterns(catalog, [pattern], product).size === 0
        ) {
          issues.push(`"${pattern}" gives nothing in a role restricted to product "${product}"`);
        }
      }
    }
  }
  if (!Array.isArray(grantableAt)) {
    issues.push('grantableAt must be an array of scope levels');
  } else {
    const seen = new Set<unknown>();
    for (const level of grantableAt) {
      if (!SCOPE_LEVELS.includes(level))
        issues.push(`grantableAt: unknown level ${JSON.stringify(level)}`);
      if (seen.has(level)) issues.push(`grantableAt: duplicate level ${JSON.stringify(level)}`);
      seen.add(level);
    }
    if (options.isOwner) {
      if (grantableAt.length > 0)
        issues.push('the owner role is never granted: grantableAt must be []');
    } else if (grantableAt.length === 0) {
      issues.push('grantableAt must list at least one level');
    }
  }
  if (
    options.isOwner &&
    !(Array.isArray(permissions) && permissions.length === 1 && permissions[0] === '*')
  ) {
    issues.push('the owner role must hold exactly ["*"]');
  }
  return issues;
}

const INVITERS = ['organization-owner', 'owners', 'permission'];

function validateTemplate(catalog: Catalog, template: unknown): string[] {
  if (!isRecord(template)) return ['a template must be an object'];
  const issues: string[] = [];
  const { key, name, description, roles, invitePolicy } = template;
  if (typeof key !== 'string' || !ROLE_KEY_PATTERN.test(key)) {
    issues.push(`key ${JSON.stringify(key)} must match ${ROLE_KEY_PATTERN}`);
  }
  if (typeof name !== 'string' || name.trim() === '')
    issues.push('name must be a non-empty string');
  if (typeof description !== 'string') issues.push('description must be a string');
  const roleKeys = new Set<string>();
  if (!Array.isArray(roles)) {
    issues.push('roles must be an array');
  } else {
    for (const [i, role] of roles.entries()) {
      const isOwner = isRecord(role) && role.key === 'owner';
      for (const issue of validateRoleDefinition(catalog, role, { takenKeys: roleKeys, isOwner })) {
        issues.push(`roles[${i}]: ${issue}`);
      }
      if (isRecord(role) && typeof role.key === 'string') roleKeys.add(role.key);
    }
    if (!roleKeys.has('owner')) issues.push('roles must include "owner"');
  }
  if (!isRecord(invitePolicy)) {
    issues.push('invitePolicy must be an object');
  } else {
    const p = invitePolicy as Partial<Record<keyof InvitePolicy, unknown>>;
    if (!INVITERS.includes(p.inviters as string)) {
      issues.push(`invitePolicy.inviters must be one of ${INVITERS.join(', ')}`);
    }
    if (p.inviters === 'permission') {
      if (!isKnownPermission(catalog, p.permission)) {
        issues.push(
          'invitePolicy.permission must be a known permission when inviters is "permission"',
        );
      }
    } else if (p.permission !== null) {
      issues.push('invitePolicy.permission must be null unless inviters is "permission"');
    }
    const isGrantableRole = (r: unknown) =>
      typeof r === 'string' && r !== 'owner' && roleKeys.has(r);
    if (p.defaultRole !== null && !isGrantableRole(p.defaultRole)) {
      issues.push('invitePolicy.defaultRole must be null or a grantable role of the template');
    }
    if (!Array.isArray(p.ownerOnlyRoles) || !p.ownerOnlyRoles.every(isGrantableRole)) {
      issues.push('invitePolicy.ownerOnlyRoles must list grantable roles of the template');
    }
    if (typeof p.ownerMayOfferOwnership !== 'boolean') {
      issues.push('invitePolicy.ownerMayOfferOwnership must be a boolean');
    }
    if (typeof p.summary !== 'string') issues.push('invitePolicy.summary must be a string');
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------
// Construction

/**
 * Builds the catalog: the built-in permissions, products and templates, plus what the platform
 * registers in `extension` (a JSON document, validated here). Throws `CatalogError` listing
 * every problem. The result is deeply frozen.
 */
export function createCatalog(extension?: CatalogExtension | null): Catalog {
  const issues: string[] = [];
  const ext: Record<string, unknown> =
    extension == null ? {} : isRecord(extension) ? extension : {};
  if (extension != null && !isRecord(extension)) issues.push('the extension must be an object');
  for (const field of Object.keys(ext)) {
    if (!['products', 'permissions', 'templates', 'roles', 'rolePermissions'].includes(field)) {
      issues.push(`unknown extension field "${field}"`);
    }
  }

  const products = new Map<string, ProductDefinition>();
  const addProduct = (spec: unknown, where: string) => {
    if (!isRecord(spec)) return void issues.push(`${where}: must be an object`);
    const { key, name, description } = spec;
    if (typeof key !== 'string' || !PRODUCT_KEY_PATTERN.test(key)) {
      return void issues.push(
        `${where}: key ${JSON.stringify(key)} must match ${PRODUCT_KEY_PATTERN}`,
      );
    }
    if (products.has(key)) return void issues.push(`${where}: product "${key}" already exists`);
    if (name !== undefined && typeof name !== 'string')
      issues.push(`${where}: name must be a string`);
    if (typeof description !== 'string') issues.push(`${where}: description must be a string`);
    products.set(
      key,
      Object.freeze({
        key,
        name: typeof name === 'string' && name !== '' ? name : key,
        description: typeof description === 'string' ? description : '',
        prefix: `${key}.`,
      }),
    );
  };
  for (const spec of PRODUCTS) addProduct(spec, `built-in product ${spec.key}`);
  for (const [i, spec] of arrayField(ext, 'products', issues).entries())
    addProduct(spec, `products[${i}]`);

  const permissions = new Map<string, PermissionDefinition>();
  const addPermission = (spec: unknown, where: string) => {
    if (!isRecord(spec)) return void issues.push(`${where}: must be an object`);
    const { name, description } = spec;
    if (typeof name !== 'string' || !PERMISSION_NAME_PATTERN.test(name)) {
      return void issues.push(
        `${where}: name ${JSON.stringify(name)} must match ${PERMISSION_NAME_PATTERN}`,
      );
    }
    if (permissions.has(name))
      return void issues.push(`${where}: permission "${name}" already exists`);
    if (typeof description !== 'string' || description.trim() === '') {
      issues.push(`${where}: description must be a non-empty string`);
    }
    const colon = name.indexOf(':');
    const area = name.slice(0, colon);
    const dot = area.indexOf('.');
    const product = dot < 0 ? null : area.slice(0, dot);
    if (product !== null && !products.has(product)) {
      return void issues.push(`${where}: "${name}" belongs to unregistered product "${product}"`);
    }
    permissions.set(
      name,
      Object.freeze({
        name,
        description: typeof description === 'string' ? description : '',
        area,
        action: name.slice(colon + 1),
        product,
      }),
    );
  };
  for (const spec of CORE_PERMISSIONS) addPermission(spec, 'built-in permission');
  for (const spec of PRODUCT_PERMISSIONS) addPermission(spec, 'built-in permission');
  for (const [i, spec] of arrayField(ext, 'permissions', issues).entries()) {
    addPermission(spec, `permissions[${i}]`);
  }

  const all = new Set(permissions.keys());
  // Templates are validated against the permissions and products just built.
  const base: Catalog = { permissions, products, templates: new Map(), all };

  const templates = new Map<string, Template>();
  const candidates: { template: unknown; where: string }[] = [
    ...BUILT_IN_TEMPLATES.map((template) => ({
      template,
      where: `built-in template ${template.key}`,
    })),
    ...arrayField(ext, 'templates', issues).map((template, i) => ({
      template,
      where: `templates[${i}]`,
    })),
  ];
  for (const { template, where } of candidates) {
    const found = validateTemplate(base, template);
    if (found.length > 0) {
      for (const issue of found) issues.push(`${where}: ${issue}`);
      continue;
    }
    const t = template as Template;
    if (templates.has(t.key)) {
      issues.push(`${where}: template "${t.key}" already exists`);
      continue;
    }
    templates.set(t.key, cloneTemplate(t));
  }

  applyRoleExtensions(base, templates, ext, issues);

  if (issues.length > 0) throw new CatalogError(issues);
  for (const [key, template] of templates) templates.set(key, deepFreeze(template));
  return Object.freeze({ permissions, products, templates, all });
}

/** `roles` and `rolePermissions` of an extension: additions to existing templates. */
function applyRoleExtensions(
  base: Catalog,
  templates: Map<string, Template>,
  ext: Record<string, unknown>,
  issues: string[],
): void {
  const roles = ext.roles;
  if (roles !== undefined) {
    if (!isRecord(roles)) issues.push('roles must be an object keyed by template');
    else {
      for (const [templateKey, list] of Object.entries(roles)) {
        const template = templates.get(templateKey);
        if (!template) {
          issues.push(`roles.${templateKey}: unknown template`);
          continue;
        }
        if (!Array.isArray(list)) {
          issues.push(`roles.${templateKey}: must be an array of roles`);
          continue;
        }
        const taken = new Set(template.roles.map((r) => r.key));
        const added: RoleDefinition[] = [];
        for (const [i, role] of list.entries()) {
          const found = validateRoleDefinition(base, role, { takenKeys: taken });
          for (const issue of found) issues.push(`roles.${templateKey}[${i}]: ${issue}`);
          if (found.length === 0) {
            added.push(cloneRole(role as RoleDefinition));
            taken.add((role as RoleDefinition).key);
          }
        }
        templates.set(templateKey, { ...template, roles: [...template.roles, ...added] });
      }
    }
  }
  const extra = ext.rolePermissions;
  if (extra !== undefined) {
    if (!isRecord(extra)) issues.push('rolePermissions must be an object keyed by template');
    else {
      for (const [templateKey, byRole] of Object.entries(extra)) {
        const template = templates.get(templateKey);
        if (!template || !isRecord(byRole)) {
          issues.push(`rolePermissions.${templateKey}: unknown template or not an object`);
          continue;
        }
        const updated = template.roles.map((role) => {
          const more = byRole[role.key];
          if (more === undefined) return role;
          const where = `rolePermissions.${templateKey}.${role.key}`;
          if (role.key === 'owner') {
            issues.push(`${where}: the owner already holds everything`);
            return role;
          }
          if (!Array.isArray(more)) {
            issues.push(`${where}: must be an array of patterns`);
            return role;
          }
          const next = { ...role, permissions: [...role.permissions, ...more] };
          const found = validateRoleDefinition(base, next);
          for (const issue of found) issues.push(`${where}: ${issue}`);
          return found.length === 0 ? next : role;
        });
        for (const roleKey of Object.keys(byRole)) {
          if (!template.roles.some((r) => r.key === roleKey)) {
            issues.push(`rolePermissions.${templateKey}.${roleKey}: unknown role`);
          }
        }
        templates.set(templateKey, { ...template, roles: updated });
      }
    }
  }
}

/** The catalog with only the built-in permissions, products and templates. */
export const defaultCatalog: Catalog = createCatalog();

// ---------------------------------------------------------------------------------------------
// Helpers

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayField(ext: Record<string, unknown>, field: string, issues: string[]): unknown[] {
  const value = ext[field];
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    issues.push(`${field} must be an array`);
    return [];
  }
  return value;
}

/** Copies only the declared fields: an extension's extra keys never reach the catalog. */
function cloneRole(role: RoleDefinition): RoleDefinition {
  return {
    key: role.key,
    name: role.name,
    description: role.description,
    permissions: [...role.permissions],
    product: role.product,
    grantableAt: [...role.grantableAt],
  };
}

function cloneTemplate(template: Template): Template {
  const p = template.invitePolicy;
  return {
    key: template.key,
    name: template.name,
    description: template.description,
    roles: template.roles.map(cloneRole),
    invitePolicy: {
      inviters: p.inviters,
      permission: p.permission,
      defaultRole: p.defaultRole,
      ownerOnlyRoles: [...p.ownerOnlyRoles],
      ownerMayOfferOwnership: p.ownerMayOfferOwnership,
      summary: p.summary,
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
