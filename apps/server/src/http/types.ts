import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Reach } from '../authz';
import type { Principal } from './context';

/**
 * How a route authenticates, declared in its `config`:
 * - `required` (the default: forgetting to declare it fails closed),
 * - `optional` (works signed in or not),
 * - `public` (never looks at credentials).
 */
export type AuthMode = 'required' | 'optional' | 'public';

/**
 * What a route under `/v1/organizations/:orgId` needs, declared in its `config`, enforced by
 * one hook (app.ts) before the handler runs:
 * - `permission`: a catalog permission, checked at the organization or at the scope named by
 *   the route parameter `scopeParam` (e.g. `accountId`), which must belong to that organization;
 * - `'member'`: any active member (reading the organization itself, ownership offers).
 * Non-members get 404 (the organization's existence is not revealed), members lacking the
 * permission 403.
 */
export interface RouteAccess {
  permission: string | 'member';
  scopeParam?: string;
  /**
   * The permission may be held at the organization or only at some of its accounts and
   * resources (an account admin's `members:read`): the hook refuses only who holds it nowhere,
   * and puts where it is held in `req.reach` for the handler to filter to (issue 10 #4).
   */
  reach?: boolean;
  /** with `reach`: the route parameter naming a member, who must hold something within it (else 404) */
  memberParam?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
    access?: RouteAccess;
    /** platform administrators only (/v1/admin/...) */
    platformAdmin?: boolean;
    /**
     * a sensitive act: the session must have proved who it is recently (sign-in or
     * POST /v1/auth/step-up within STEP_UP_MAX_AGE), else 401 `step_up_required`
     */
    stepUp?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** set by the access hook for routes declared with `reach` */
    reach?: Reach;
  }
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;
