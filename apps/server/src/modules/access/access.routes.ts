import {
  CheckBatchBody,
  CheckBatchResult,
  CheckBody,
  CheckResult,
  ListScopesBody,
  ListScopesResult,
} from '@gatehouse/contracts';
import type { FastifyRequest } from 'fastify';
import type { Decision } from '../../authz';
import type { KeyPrincipal, Principal } from '../../http/context';
import { AppError } from '../../http/errors';
import type { App } from '../../http/types';
import type { Runtime } from '../../runtime';
import type { ApiKeyService } from '../api-keys/api-keys.service';
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

const callerOf = (req: FastifyRequest): Principal => {
  if (!req.principal) throw new AppError('unauthenticated');
  return req.principal;
};
const idOf = (p: Principal) => (p.kind === 'user' ? p.userId : p.keyId);

/**
 * The authorization API the platform's services call on every request, with a user's access
 * token or an API key. Asking about another user needs `members:read` at the scope asked about
 * (held there or above it); about another API key, `members:read` in its organization.
 */
export function accessRoutes(
  app: App,
  { access, apiKeys, rt }: { access: AccessService; apiKeys: ApiKeyService; rt: Runtime },
) {
  const isMemberOf = async (caller: Principal, orgId: string) =>
    caller.kind === 'api_key'
      ? caller.organizationId === orgId
      : (await access.loadMember(orgId, caller.userId))?.membershipStatus != null;

  /**
   * Whom to evaluate: the caller itself, or another user or key of that organization. `null`:
   * answer no_access (a caller outside the organization learns nothing about it — a 403 here
   * would confirm that a guessed id exists in another tenant).
   */
  async function subjectFor(
    caller: Principal,
    subject: string | undefined,
    orgId: string,
    scope: string = orgId,
  ): Promise<string | KeyPrincipal | null> {
    if (subject === undefined || subject === idOf(caller))
      return caller.kind === 'user' ? caller.userId : caller;
    if (!(await isMemberOf(caller, orgId))) return null;
    // About a user: members:read at the scope asked about (an account admin tests the members
    // of its account, as it reads their permissions there — issue 12 #4). About an API key,
    // an organization-wide object: members:read in the organization.
    const at = subject.startsWith('usr_') ? scope : orgId;
    if (!(await access.holds(caller, orgId, 'members:read', at))) {
      throw new AppError(
        'forbidden',
        'Asking about another subject needs members:read at the scope asked about',
      );
    }
    return subject.startsWith('usr_') ? subject : await apiKeys.principalById(orgId, subject);
  }

  async function decide(
    caller: Principal,
    subject: string | undefined,
    permission: string,
    scope: string,
  ) {
    const chain = await access.resolveScope(scope);
    if (!chain) return NO_ACCESS;
    const who = await subjectFor(caller, subject, chain.organizationId, scope);
    if (who === null) return NO_ACCESS;
    const { decision } = await access.check(chain.organizationId, who, permission, scope);
    if (!decision.allowed && decision.reason.kind === 'not_member') return NO_ACCESS;
    // Asking for oneself, the session asking is judged by the organization's sign-in policies
    // as any request it makes there would be (a question about someone else is about them).
    if (who === idOf(caller)) {
      const refusal = await access.sessionRefusal(caller, chain.organizationId);
      if (refusal)
        return {
          allowed: false,
          reason: { kind: 'sign_in_policy', code: refusal.code, message: refusal.message },
        };
    }
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
    async (req) => decide(callerOf(req), req.body.subject, req.body.permission, req.body.scope),
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
      const caller = callerOf(req);
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
      const caller = callerOf(req);
      const { organization_id: orgId, permission, level } = req.body;
      if (!(await isMemberOf(caller, orgId)))
        throw new AppError('not_found', 'No such organization, or you are not a member of it');
      if (!access.catalog.permissions.has(permission))
        throw new AppError('validation_failed', `"${permission}" is not a known permission`);
      const who = await subjectFor(caller, req.body.subject, orgId);
      if (who === null) return { scopes: [] };
      if (who === idOf(caller) && (await access.sessionRefusal(caller, orgId)))
        return { scopes: [] };
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
        if ((await access.check(orgId, who, permission, row.id)).decision.allowed) scopes.push(row);
      }
      return { scopes };
    },
  );
}
