/**
 * The authorization decision (SPEC section 2, rules 1, 2 and 4), pure and synchronous.
 *
 * The caller resolves the target into its chain (organization → account → resource) and the
 * principal into statuses, ownership and grants; nothing here touches a database. Roles are
 * compiled once per organization (`compileRoles`) into Sets, so a check is one map lookup for
 * the permission, one per grant for its role, and one Set lookup: it runs on every request.
 *
 * Semantics, in the order they are applied:
 * - an unknown permission is refused (nobody holds what does not exist);
 * - a suspended or deactivated user, a non-member and a suspended membership are refused;
 * - the organization owner holds everything in the organization, an account owner everything
 *   within that account (and its resources) — ownership is not a grant and is never granted;
 * - a grant applies at its scope and at every descendant of it;
 * - a grant of a role applies only if the role is grantable at the grant's own level
 *   (a `video-source-specific` grant at organization scope grants nothing);
 * - a role restricted to a product grants nothing on an account of another product, nor on
 *   its resources, nor on an account whose product the caller did not resolve (fail closed).
 *   At organization scope it applies (e.g. `video.assets:create` asked at the organization).
 * - inline grants (`{ permissions }`) are patterns, unrestricted by product or level.
 */
import {
  expandPatterns,
  patternMatches,
  validatePatterns,
  validateRoleDefinition,
} from './catalog';
import type { Catalog, RoleDefinition, ScopeLevel, Template } from './types';

/** The target of a check, resolved by the caller from the scope id. */
export interface ScopeChain {
  readonly organizationId: string;
  readonly accountId?: string;
  /** The account's product; required for product-restricted roles to apply inside it. */
  readonly accountProduct?: string;
  readonly resourceId?: string;
}

/** `{ role, scope }` or `{ permissions, scope }`; `scope` is an `org_`, `acc_` or `res_` id. */
export interface Grant {
  readonly role?: string;
  readonly permissions?: readonly string[];
  readonly scope: string;
}

export type UserStatus = 'active' | 'suspended' | 'deactivated';

export interface Principal {
  /**
   * The organization these facts were resolved in. When set, a target in another organization
   * is refused outright: `isOrganizationOwner` must never leak across tenants.
   */
  readonly organizationId?: string;
  /** Absent for API keys, which have no user. */
  readonly userStatus?: UserStatus;
  /** `null`: not a member. API keys belonging to the organization pass `'active'`. */
  readonly membershipStatus: 'active' | 'suspended' | null;
  readonly isOrganizationOwner: boolean;
  readonly ownedAccountIds: ReadonlySet<string> | readonly string[];
  readonly grants: readonly Grant[];
}

export type AllowReason =
  | { readonly kind: 'owner'; readonly scope: string }
  | {
      readonly kind: 'grant';
      readonly role?: string;
      readonly permissions?: readonly string[];
      readonly scope: string;
    };

export type DenyKind =
  | 'unknown_permission'
  | 'user_inactive'
  | 'not_member'
  | 'membership_suspended'
  | 'no_grant'
  | 'product_mismatch';

export interface DenyReason {
  readonly kind: DenyKind;
  readonly message: string;
}

export type Decision =
  | { readonly allowed: true; readonly reason: AllowReason }
  | { readonly allowed: false; readonly reason: DenyReason };

/** A role ready for evaluation: its patterns expanded (and product-restricted) into a Set. */
export interface CompiledRole {
  readonly key: string;
  readonly name: string;
  readonly description: string;
  readonly product: string | null;
  readonly builtIn: boolean;
  readonly permissions: ReadonlySet<string>;
  readonly grantableAt: ReadonlySet<ScopeLevel>;
  /** The definition it was compiled from (what `GET /roles` shows). */
  readonly definition: RoleDefinition;
}

/** An organization's roles: its template's built-in roles plus its custom roles. */
export interface CompiledRoles {
  readonly catalog: Catalog;
  readonly template: string;
  readonly roles: ReadonlyMap<string, CompiledRole>;
  /** Custom roles that were ignored, and why (log them; they should have been refused on write). */
  readonly issues: readonly string[];
}

/** Either compiled roles, or a template alone (compiled on first use and cached). */
export type RoleSource = CompiledRoles | Template;

// ---------------------------------------------------------------------------------------------
// Compilation

/**
 * Compiles a template's roles and an organization's custom roles, once per organization (and
 * again whenever its custom roles change). Custom roles are validated on write by the roles
 * service; here, for robustness against a catalog that shrank since, a custom role whose key
 * is invalid or collides is skipped, and patterns that no longer match simply give nothing.
 */
export function compileRoles(
  catalog: Catalog,
  template: Template | string,
  customRoles: readonly RoleDefinition[] = [],
): CompiledRoles {
  const t = typeof template === 'string' ? catalog.templates.get(template) : template;
  if (!t) throw new Error(`unknown template "${String(template)}"`);
  const roles = new Map<string, CompiledRole>();
  const issues: string[] = [];
  for (const def of t.roles) roles.set(def.key, compileRole(catalog, def, true));
  for (const def of customRoles) {
    const key = (def as { key?: unknown } | null)?.key;
    if (typeof key !== 'string' || key === 'owner' || roles.has(key)) {
      issues.push(`custom role ${JSON.stringify(key)} ignored: missing, reserved or duplicate key`);
      continue;
    }
    const problems = validateRoleDefinition(catalog, def);
    if (problems.length > 0) issues.push(`custom role "${key}": ${problems.join('; ')}`);
    if (!Array.isArray(def.permissions) || !Array.isArray(def.grantableAt)) continue;
    roles.set(key, compileRole(catalog, def, false));
  }
  return Object.freeze({ catalog, template: t.key, roles, issues: Object.freeze(issues) });
}

function compileRole(catalog: Catalog, def: RoleDefinition, builtIn: boolean): CompiledRole {
  const product = typeof def.product === 'string' ? def.product : null;
  return Object.freeze({
    key: def.key,
    name: def.name,
    description: def.description,
    product,
    builtIn,
    permissions: expandPatterns(catalog, def.permissions, product),
    // Ownership is never granted, whatever a (custom or extension) definition says.
    grantableAt: new Set(def.key === 'owner' ? [] : def.grantableAt),
    definition: def,
  });
}

const templateCache = new WeakMap<Catalog, WeakMap<Template, CompiledRoles>>();

function resolveRoles(catalog: Catalog, source: RoleSource): CompiledRoles {
  if ('roles' in source && source.roles instanceof Map) return source as CompiledRoles;
  const template = source as Template;
  let byTemplate = templateCache.get(catalog);
  if (!byTemplate) {
    byTemplate = new WeakMap();
    templateCache.set(catalog, byTemplate);
  }
  let compiled = byTemplate.get(template);
  if (!compiled) {
    compiled = compileRoles(catalog, template);
    byTemplate.set(template, compiled);
  }
  return compiled;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** The level of a scope id, from its prefix; `null` when it is not a scope id. */
export function scopeLevelOf(scope: string): ScopeLevel | null {
  if (scope.startsWith('org_')) return 'organization';
  if (scope.startsWith('acc_')) return 'account';
  if (scope.startsWith('res_')) return 'resource';
  return null;
}

/** The id a chain designates: its deepest element. */
export function scopeOf(target: ScopeChain): string {
  return target.resourceId ?? target.accountId ?? target.organizationId;
}

/** Where in the target's chain a grant's scope sits; `null` when it is not an ancestor-or-self. */
function levelInChain(target: ScopeChain, scope: string): ScopeLevel | null {
  if (scope === target.organizationId) return 'organization';
  if (target.accountId !== undefined && scope === target.accountId) return 'account';
  if (target.resourceId !== undefined && scope === target.resourceId) return 'resource';
  return null;
}

function insideAccount(target: ScopeChain): boolean {
  return target.accountId !== undefined || target.resourceId !== undefined;
}

/** Whether a role's product restriction lets it apply at this target. */
function productApplies(role: CompiledRole, target: ScopeChain): boolean {
  return role.product === null || !insideAccount(target) || target.accountProduct === role.product;
}

function ownsAccount(principal: Principal, accountId: string): boolean {
  const owned = principal.ownedAccountIds;
  return Array.isArray(owned)
    ? (owned as readonly string[]).includes(accountId)
    : (owned as ReadonlySet<string>).has(accountId);
}

function refusal(principal: Principal, target: ScopeChain): DenyReason | null {
  if (principal.userStatus !== undefined && principal.userStatus !== 'active') {
    return { kind: 'user_inactive', message: `the user is ${principal.userStatus}` };
  }
  if (
    principal.membershipStatus === null ||
    (principal.organizationId !== undefined && principal.organizationId !== target.organizationId)
  ) {
    return { kind: 'not_member', message: 'not a member of the organization owning this scope' };
  }
  if (principal.membershipStatus !== 'active') {
    return { kind: 'membership_suspended', message: 'the membership is suspended' };
  }
  return null;
}

/** Ownership that covers the target, if any. */
function ownerScope(principal: Principal, target: ScopeChain): string | null {
  if (principal.isOrganizationOwner) return target.organizationId;
  if (target.accountId !== undefined && ownsAccount(principal, target.accountId)) {
    return target.accountId;
  }
  return null;
}

/**
 * Whether `principal` holds `permission` at `target`, and why. The reason names the ownership
 * or the first grant (in the principal's order) that allows it.
 */
export function evaluate(
  catalog: Catalog,
  roles: RoleSource,
  principal: Principal,
  permission: string,
  target: ScopeChain,
): Decision {
  const def = catalog.permissions.get(permission);
  if (def === undefined) {
    return deny('unknown_permission', `"${permission}" is not a known permission`);
  }
  const refused = refusal(principal, target);
  if (refused) return { allowed: false, reason: refused };
  const owned = ownerScope(principal, target);
  if (owned !== null) return { allowed: true, reason: { kind: 'owner', scope: owned } };

  const compiled = resolveRoles(catalog, roles);
  let mismatch: string | null = null;
  for (const grant of principal.grants) {
    const level = levelInChain(target, grant.scope);
    if (level === null) continue;
    if (grant.role !== undefined) {
      const role = compiled.roles.get(grant.role);
      if (role?.grantableAt.has(level) && role.permissions.has(permission)) {
        if (productApplies(role, target)) {
          return { allowed: true, reason: { kind: 'grant', role: role.key, scope: grant.scope } };
        }
        mismatch ??= role.key;
      }
    }
    if (grant.permissions !== undefined) {
      for (const pattern of grant.permissions) {
        if (patternMatches(def, pattern)) {
          return {
            allowed: true,
            reason: { kind: 'grant', permissions: grant.permissions, scope: grant.scope },
          };
        }
      }
    }
  }
  if (mismatch !== null) {
    return deny(
      'product_mismatch',
      `role "${mismatch}" includes "${permission}" but is restricted to product ` +
        `"${compiled.roles.get(mismatch)?.product}", and this account's product is ` +
        `${target.accountProduct === undefined ? 'unknown' : `"${target.accountProduct}"`}`,
    );
  }
  return deny('no_grant', `no grant includes "${permission}" at this scope or above it`);
}

function deny(kind: DenyKind, message: string): Decision {
  return { allowed: false, reason: { kind, message } };
}

/**
 * Every catalog permission the principal holds at `target` (empty when refused by rule 1 or
 * 2). For `GET /members/{user}/permissions`, the console, and the no-escalation check.
 */
export function effectivePermissions(
  catalog: Catalog,
  roles: RoleSource,
  principal: Principal,
  target: ScopeChain,
): Set<string> {
  if (refusal(principal, target) !== null) return new Set();
  if (ownerScope(principal, target) !== null) return new Set(catalog.all);
  const compiled = resolveRoles(catalog, roles);
  const held = new Set<string>();
  for (const grant of principal.grants) {
    const level = levelInChain(target, grant.scope);
    if (level === null) continue;
    if (grant.role !== undefined) {
      const role = compiled.roles.get(grant.role);
      if (role?.grantableAt.has(level) && productApplies(role, target)) {
        for (const name of role.permissions) held.add(name);
      }
    }
    if (grant.permissions !== undefined) {
      for (const name of expandPatterns(catalog, grant.permissions)) held.add(name);
    }
  }
  return held;
}

// ---------------------------------------------------------------------------------------------
// Reach: where a permission is held, for filtering lists and member actions

/**
 * Where a principal holds a permission in one organization: everywhere (it holds it at the
 * organization itself), or at these accounts and resources and below them. An account admin's
 * `members:read` reaches their accounts only; lists and member actions are filtered to it
 * rather than refused (issue 10 #4).
 */
export type Reach =
  | { readonly organization: true }
  | { readonly organization: false; readonly scopes: ReadonlySet<string> };

/**
 * The reach of `permission` for `principal` in `organizationId`. Only the principal's own grant
 * scopes and owned accounts can be where a permission starts to be held below the organization,
 * so those are the candidates; each is evaluated like any check (product restriction, level,
 * suspension all apply). `resolve` gives the chain of each candidate scope.
 */
export function reachOf(
  catalog: Catalog,
  roles: RoleSource,
  principal: Principal,
  permission: string,
  organizationId: string,
  resolve: ScopeResolver,
): Reach {
  if (evaluate(catalog, roles, principal, permission, { organizationId }).allowed)
    return { organization: true };
  const owned = principal.ownedAccountIds;
  const candidates = [
    ...(Array.isArray(owned) ? (owned as readonly string[]) : [...(owned as ReadonlySet<string>)]),
    ...principal.grants.map((g) => g.scope),
  ];
  const scopes = new Set<string>();
  for (const scope of candidates) {
    if (scopes.has(scope)) continue;
    const chain = resolve(scope);
    if (!chain || chain.organizationId !== organizationId || scopeOf(chain) !== scope) continue;
    if (evaluate(catalog, roles, principal, permission, chain).allowed) scopes.add(scope);
  }
  return { organization: false, scopes };
}

/** Whether the scope `chain` designates lies within `reach` (at or below one of its scopes). */
export function withinReach(reach: Reach, chain: ScopeChain): boolean {
  if (reach.organization) return true;
  return (
    (chain.accountId !== undefined && reach.scopes.has(chain.accountId)) ||
    (chain.resourceId !== undefined && reach.scopes.has(chain.resourceId))
  );
}

/** Whether a reach is empty: the permission is held nowhere in the organization. */
export function reachIsEmpty(reach: Reach): boolean {
  return !reach.organization && reach.scopes.size === 0;
}

// ---------------------------------------------------------------------------------------------
// No escalation

export type GrantProblemKind =
  | 'malformed'
  | 'owner_role'
  | 'unknown_role'
  | 'invalid_permissions'
  | 'unknown_scope'
  | 'other_organization'
  | 'not_grantable_here'
  | 'product_mismatch'
  | 'escalation';

export interface GrantProblem {
  /** Position of the grant in the list given. */
  readonly index: number;
  readonly kind: GrantProblemKind;
  readonly message: string;
  /** For `escalation`: the permissions the grant would give that the granter lacks there. */
  readonly missing?: readonly string[];
}

export interface GrantCheck {
  readonly allowed: boolean;
  readonly problems: readonly GrantProblem[];
}

/** Resolves a grant's scope id into its chain (`undefined`/`null`: no such scope). */
export type ScopeResolver = (scope: string) => ScopeChain | null | undefined;

/**
 * An account id that no grant and no ownership can name: it stands for "any account of this
 * product" when checking a grant made at organization scope.
 */
const ANY_ACCOUNT = '\u0000any-account';

/**
 * The situations a grant at `chain` reaches that differ for authorization. A grant at an
 * account or resource reaches one product; a grant at the organization reaches the
 * organization itself and the accounts of every product (and of no known product). Grants and
 * ownership below the scope only add to what the granter holds there, so these contexts are
 * where the granter holds the least of what the grant gives.
 */
function contextsOf(catalog: Catalog, chain: ScopeChain): ScopeChain[] {
  if (insideAccount(chain)) return [chain];
  const contexts: ScopeChain[] = [{ organizationId: chain.organizationId }];
  for (const product of catalog.products.keys()) {
    contexts.push({
      organizationId: chain.organizationId,
      accountId: ANY_ACCOUNT,
      accountProduct: product,
    });
  }
  contexts.push({ organizationId: chain.organizationId, accountId: ANY_ACCOUNT });
  return contexts;
}

/** The permissions the granter lacks for what `gives(context)` would hand out below `chain`. */
function missingFor(
  catalog: Catalog,
  compiled: CompiledRoles,
  granter: Principal,
  chain: ScopeChain,
  gives: (context: ScopeChain) => Iterable<string>,
): string[] {
  const missing = new Set<string>();
  for (const context of contextsOf(catalog, chain)) {
    const held = effectivePermissions(catalog, compiled, granter, context);
    for (const name of gives(context)) if (!held.has(name)) missing.add(name);
  }
  return [...missing].sort();
}

/**
 * Checks a set of grants someone wants to hand out (invitation, grant change, API key):
 * each must be well-formed, name a grantable role or valid patterns, be grantable at its
 * scope, and give — at that scope and below, after pattern expansion and product restriction —
 * only permissions the granter holds there. Nobody can grant the `owner` role. All grants must
 * be in one organization (the granter's, when the principal says which).
 */
export function checkGrants(
  catalog: Catalog,
  roles: RoleSource,
  granter: Principal,
  grants: readonly Grant[],
  resolve: ScopeResolver,
): GrantCheck {
  const compiled = resolveRoles(catalog, roles);
  const problems: GrantProblem[] = [];
  // Every grant of one request must land in one organization: the granter's, or the first's.
  const state = { organizationId: granter.organizationId };
  for (const [index, grant] of grants.entries()) {
    const problem = checkOneGrant(catalog, compiled, granter, grant, resolve, state);
    if (problem) problems.push({ index, ...problem });
  }
  return { allowed: problems.length === 0, problems };
}

function checkOneGrant(
  catalog: Catalog,
  compiled: CompiledRoles,
  granter: Principal,
  grant: Grant,
  resolve: ScopeResolver,
  state: { organizationId: string | undefined },
): Omit<GrantProblem, 'index'> | null {
  const problem = (kind: GrantProblemKind, message: string) => ({ kind, message });
  if (typeof grant !== 'object' || grant === null || typeof grant.scope !== 'string') {
    return problem('malformed', 'a grant is { role, scope } or { permissions, scope }');
  }
  const hasRole = grant.role !== undefined;
  const hasPermissions = grant.permissions !== undefined;
  if (hasRole === hasPermissions) {
    return problem('malformed', 'a grant names either a role or permissions, not both or neither');
  }
  if (hasRole && typeof grant.role !== 'string')
    return problem('malformed', 'role must be a string');
  if (hasPermissions && (!Array.isArray(grant.permissions) || grant.permissions.length === 0)) {
    return problem('malformed', 'permissions must be a non-empty array');
  }
  if (grant.role === 'owner') {
    return problem('owner_role', 'ownership is never granted; it moves only by transfer');
  }
  const role = hasRole ? compiled.roles.get(grant.role as string) : undefined;
  if (hasRole && !role) return problem('unknown_role', `unknown role "${grant.role}"`);
  if (hasPermissions) {
    const invalid = validatePatterns(catalog, grant.permissions as readonly unknown[]);
    if (invalid.length > 0) {
      return problem('invalid_permissions', invalid.map((i) => i.message).join('; '));
    }
  }
  const chain = resolve(grant.scope);
  if (!chain || scopeOf(chain) !== grant.scope) {
    return problem('unknown_scope', `no scope "${grant.scope}" in this organization`);
  }
  state.organizationId ??= chain.organizationId;
  if (chain.organizationId !== state.organizationId) {
    return problem('other_organization', `"${grant.scope}" belongs to another organization`);
  }
  const level: ScopeLevel =
    chain.resourceId !== undefined
      ? 'resource'
      : chain.accountId !== undefined
        ? 'account'
        : 'organization';
  if (role && !role.grantableAt.has(level)) {
    return problem('not_grantable_here', `role "${role.key}" cannot be granted at ${level} scope`);
  }
  if (role && !productApplies(role, chain)) {
    return problem(
      'product_mismatch',
      `role "${role.key}" is restricted to product "${role.product}"; this account is not`,
    );
  }
  const inline = hasPermissions ? expandPatterns(catalog, grant.permissions as string[]) : null;
  const missing = missingFor(
    catalog,
    compiled,
    granter,
    chain,
    (context) => inline ?? (role && productApplies(role, context) ? role.permissions : []),
  );
  if (missing.length > 0) {
    return {
      kind: 'escalation',
      message: `the granter lacks ${missing.join(', ')} at "${grant.scope}"`,
      missing,
    };
  }
  return null;
}

/**
 * Whether `granter` may hand out every one of `grants` (see `checkGrants`, which says why not).
 * A boolean on purpose: `checkGrants` returns an object, which would always be truthy.
 */
export function canGrant(
  catalog: Catalog,
  roles: RoleSource,
  granter: Principal,
  grants: readonly Grant[],
  resolve: ScopeResolver,
): boolean {
  return checkGrants(catalog, roles, granter, grants, resolve).allowed;
}

/**
 * Whether `editor` may create a custom role, or change the custom role `editing` (its current
 * key), to `role`: the definition must be valid and its key free, built-in roles are read-only,
 * and — since the role can then be granted anywhere in the organization, and changing it
 * changes every existing grant of it — everything it gives must be held by the editor at
 * organization scope, for every product.
 */
export function checkRoleDefinition(
  catalog: Catalog,
  roles: RoleSource,
  editor: Principal,
  role: RoleDefinition,
  organizationId: string,
  editing?: string,
): {
  readonly allowed: boolean;
  readonly issues: readonly string[];
  readonly missing: readonly string[];
} {
  const compiled = resolveRoles(catalog, roles);
  const issues: string[] = [];
  if (editing !== undefined) {
    const current = compiled.roles.get(editing);
    if (!current) issues.push(`unknown role "${editing}"`);
    else if (current.builtIn) issues.push(`"${editing}" is a built-in role and is read-only`);
  }
  const taken = [...compiled.roles.keys()].filter((key) => key !== editing);
  issues.push(...validateRoleDefinition(catalog, role, { takenKeys: taken }));
  if (issues.length > 0) return { allowed: false, issues, missing: [] };
  const candidate = compileRole(catalog, role, false);
  const missing = missingFor(catalog, compiled, editor, { organizationId }, (context) =>
    productApplies(candidate, context) ? candidate.permissions : [],
  );
  return { allowed: missing.length === 0, issues: [], missing };
}
