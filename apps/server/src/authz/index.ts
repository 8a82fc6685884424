/**
 * Authorization: the permission catalog and templates as data, and a pure evaluator.
 * Nothing here does I/O; callers resolve scopes and principals and compile roles once per
 * organization (`compileRoles`), then call `evaluate` on every request.
 */

export type {
  PatternIssue,
  PatternProblem,
  PermissionSpec,
  ProductSpec,
  RoleValidationOptions,
} from './catalog';
export {
  CatalogError,
  CORE_PERMISSIONS,
  createCatalog,
  defaultCatalog,
  expandPatterns,
  isKnownPermission,
  PERMISSION_NAME_PATTERN,
  PRODUCT_KEY_PATTERN,
  PRODUCT_PERMISSIONS,
  PRODUCTS,
  patternMatches,
  ROLE_KEY_PATTERN,
  validatePatterns,
  validateRoleDefinition,
} from './catalog';
export type {
  AllowReason,
  CompiledRole,
  CompiledRoles,
  Decision,
  DenyKind,
  DenyReason,
  Grant,
  GrantCheck,
  GrantProblem,
  GrantProblemKind,
  Principal,
  Reach,
  RoleSource,
  ScopeChain,
  ScopeResolver,
  UserStatus,
} from './evaluate';
export {
  canGrant,
  checkGrants,
  checkRoleDefinition,
  compileRoles,
  effectivePermissions,
  evaluate,
  reachIsEmpty,
  reachOf,
  scopeLevelOf,
  scopeOf,
  withinReach,
} from './evaluate';
export type { BuiltInTemplateKey } from './templates';
export { BUILT_IN_TEMPLATES, TEMPLATE_KEYS } from './templates';
export type {
  Catalog,
  CatalogExtension,
  InvitePolicy,
  PermissionDefinition,
  ProductDefinition,
  RoleDefinition,
  ScopeLevel,
  Template,
} from './types';
export { SCOPE_LEVELS } from './types';
