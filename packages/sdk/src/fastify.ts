import type {
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
  RouteGenericInterface,
} from 'fastify';
import { type GatehouseDecision, type GuardOrOptions, guardOf } from './guard';

declare module 'fastify' {
  interface FastifyRequest {
    /** set by `gatehouseFastify.requirePermission` on the requests it lets through */
    gatehouse?: GatehouseDecision;
  }
}

/**
 * A Fastify `preHandler` that lets a request through only when its caller holds `permission`
 * at the scope `scopeFrom` picks from it (an `org_`, `acc_` or `res_` id, usually a route
 * parameter). It answers 401 and 403 itself, as `application/problem+json`; on success the
 * decision is at `req.gatehouse`.
 *
 * ```ts
 * const guard = createPermissionGuard({ baseUrl: 'https://id.example.com' });
 * app.get<{ Params: { accountId: string } }>('/videos/:accountId', {
 *   preHandler: gatehouseFastify.requirePermission('video:read', (req) => req.params.accountId, guard),
 * }, handler);
 * ```
 */
function requirePermission<R extends RouteGenericInterface = RouteGenericInterface>(
  permission: string,
  scopeFrom: (req: FastifyRequest<R>) => string | null | undefined,
  options: GuardOrOptions,
): preHandlerAsyncHookHandler {
  const guard = guardOf(options);
  return async function gatehousePermission(req: FastifyRequest, reply: FastifyReply) {
    const scope = scopeFrom(req as unknown as FastifyRequest<R>);
    const outcome = await guard.authorize(req.headers, permission, scope);
    if (outcome.ok) {
      req.gatehouse = outcome.decision;
      return;
    }
    reply
      .code(outcome.status)
      .headers(outcome.headers)
      .type('application/problem+json')
      .send(JSON.stringify(outcome.problem));
    return reply;
  };
}

export const gatehouseFastify = { requirePermission };
