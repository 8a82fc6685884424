import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type GatehouseDecision, type GuardOrOptions, guardOf } from './guard';

declare global {
  namespace Express {
    interface Request {
      /** set by `gatehouseExpress.requirePermission` on the requests it lets through */
      gatehouse?: GatehouseDecision;
    }
  }
}

/**
 * Express middleware that lets a request through only when its caller holds `permission` at
 * the scope `scopeFrom` picks from it (an `org_`, `acc_` or `res_` id, usually a route
 * parameter). It answers 401 and 403 itself, as `application/problem+json`; on success the
 * decision is at `req.gatehouse`. Works with Express 4 and 5 (errors go to `next`).
 *
 * ```ts
 * const guard = createPermissionGuard({ baseUrl: 'https://id.example.com' });
 * app.get('/videos/:accountId',
 *   gatehouseExpress.requirePermission('video:read', (req) => req.params.accountId, guard),
 *   handler);
 * ```
 */
function requirePermission<P = Record<string, string>>(
  permission: string,
  scopeFrom: (req: Request<P>) => string | null | undefined,
  options: GuardOrOptions,
): RequestHandler<P> {
  const guard = guardOf(options);
  return function gatehousePermission(req: Request<P>, res: Response, next: NextFunction) {
    let scope: string | null | undefined;
    try {
      scope = scopeFrom(req);
    } catch (error) {
      next(error);
      return;
    }
    guard.authorize(req.headers, permission, scope).then((outcome) => {
      if (outcome.ok) {
        req.gatehouse = outcome.decision;
        next();
        return;
      }
      res
        .status(outcome.status)
        .set(outcome.headers)
        .type('application/problem+json')
        .send(JSON.stringify(outcome.problem));
    }, next);
  };
}

export const gatehouseExpress = { requirePermission };
