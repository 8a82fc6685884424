export {
  createGatehouseClient,
  type GatehouseClient,
  type GatehouseClientOptions,
  type PermissionCatalog,
  type RequestOptions,
  type TokenSet,
} from './client';
export {
  type ErrorCode,
  type FieldError,
  GatehouseError,
  type GatehouseErrorOptions,
  isGatehouseError,
  type Problem,
} from './errors';
export { gatehouseExpress } from './express';
export { gatehouseFastify } from './fastify';
export {
  createPermissionGuard,
  type GatehouseCaller,
  type GatehouseDecision,
  type GuardOrOptions,
  type GuardOutcome,
  PermissionGuard,
  type PermissionGuardOptions,
} from './guard';
export type * from './types';
export {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  type VerifiedAccessToken,
  type VerifyAccessTokenOptions,
  verifyAccessToken,
} from './verify';
