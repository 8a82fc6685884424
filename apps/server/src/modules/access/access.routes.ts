import {
  CheckBatchBody,
  CheckBatchResult,
  CheckBody,
  CheckResult,
  ListScopesBody,
  ListScopesResult,
} from '@gatehouse/contracts';
import type { Decision } from '../../authz';
import type { UserPrincipal } from '../../http/context';
import { userOf } from '../../http/context';
import { AppError } from '../../http/errors';
import type { App } from '../../http/types';
import type { Runtime } from '../../runtime';
import type { AccessService } from './access.service';

const tags = ['authorization'];

/** Unknown scope and "not a member of its organization" read the same: ids of other tenants are not confirmed. */
const NO_ACCESS = {
  allowed: false,
  reason: {
    kind: 'no_access',
    message: 'No such scope, or the subject is not a member of its organization',
  },
};

function present(decision: Decision) {
  return decision.allowed
    ? {
        allowed: true,
        reason: {
          ...decision.reason,
          permissions:
            decision.reason.kind === 'grant' && decision.reason.permissions
              ? [...decision.reason.permissions]
              : undefined,
        },
      }
    : { allowed: false, reason: { kind: decision.reason.kind, message: decision.reason.message } };
}

/**
 * The authorization API the platform's services call on every request. Asking about another
 * subject needs `members:read` in the organization that owns the scope.
 */
export function accessRoutes(app: App, { access, rt }: { access: AccessService; rt: Runtime }) {
  async function decide(
    caller: UserPrincipal,
    subject: string | undefined,
    permission: string,
    scope: string,
  ) {
    const chain = await access.resolveScope(scope);
    const subjectId = subject ?? caller.userId;
    if (!chain) return NO_ACCESS;
    const orgId = chain.organizationId;
    if (
      subjectId !== caller.userId &&
      !(await access.holds(caller, orgId, 'members:read', orgId))
    ) {
      throw new AppError(
        'forbidden',
        "Asking about another subject needs members:read in the scope's organization",
      );
    }
    if (!subjectId.startsWith('usr_')) return NO_ACCESS;
    const { decision } = await access.check(orgId, subjectId, permission, scope);
    if (!decision.allowed && decision.reason.kind === 'not_member') return NO_ACCESS;
    return present(decision);
  }

  app.post(
    '/v1/authz/check',
    {
      schema: {
        tags,
        summary: 'May the subject (default: the caller) do `permission` at `scope`? Answers why.',
        body: CheckBody,
        response: { 200: CheckResult },
      },
    },
    async (req) => decide(userOf(req), req.body.subject, req.body.permission, req.body.scope),
  );

  app.post(
    '/v1/authz/check-batch',
    {
      schema: {
        tags,
        summary: 'Up to 100 checks for one subject',
        body: CheckBatchBody,
        response: { 200: CheckBatchResult },
      },
    },
    async (req) => {
      const caller = userOf(req);
      const results = [];
      for (const c of req.body.checks)
        results.push(await decide(caller, req.body.subject, c.permission, c.scope));
      return { results };
    },
  );

  app.post(
    '/v1/authz/list-scopes',
    {
      schema: {
        tags,
        summary:
          'The accounts (or resources) of an organization where the subject may do `permission`',
        body: ListScopesBody,
        response: { 200: ListScopesResult },
      },
    },
    async (req) => {
      const caller = userOf(req);
      const { organization_id: orgId, permission, level } = req.body;
      const subjectId = req.body.subject ?? caller.userId;
      const asOther = subjectId !== caller.userId;
      if (
        !(await access.holds(caller, orgId, asOther ? 'members:read' : 'organization:read', orgId))
      ) {
        const member = await access.loadMember(orgId, caller.userId);
        if (asOther || !member || member.membershipStatus !== 'active')
          throw new AppError('not_found', 'No such organization, or you are not a member of it');
      }
      if (!access.catalog.permissions.has(permission))
        throw new AppError('validation_failed', `"${permission}" is not a known permission`);
      const rows =
        level === 'account'
          ? await rt.db
              .selectFrom('accounts')
              .select(['id', 'name', 'product as type'])
              .where('organization_id', '=', orgId)
              .orderBy('id')
              .execute()
          : await rt.db
              .selectFrom('resources')
              .select(['id', 'name', 'type'])
              .where('organization_id', '=', orgId)
              .orderBy('id')
              .execute();
      const scopes = [];
      for (const row of rows) {
        if ((await access.check(orgId, subjectId, permission, row.id)).decision.allowed)
          scopes.push(row);
      }
      return { scopes };
    },
  );
}
