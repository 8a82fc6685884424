/**
 * The browser-safe part of the SDK: the typed client and its errors, without the server-side
 * middleware and token verifier (which need Node's crypto and HTTP types). The console imports
 * this entry.
 */
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
  isGatehouseError,
  type Problem,
} from './errors';
export type * from './types';
