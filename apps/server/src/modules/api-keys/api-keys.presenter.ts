import type { Grant } from '../../authz';

export const toGrantInput = (g: Grant) =>
  g.role
    ? { role: g.role, scope: g.scope }
    : { permissions: [...(g.permissions ?? [])], scope: g.scope };
