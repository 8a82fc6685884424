import { ApiAccessCheckBody, ApiAccessCheckResult } from '@gatehouse/contracts';
import { requestMeta } from '../../http/context';
import { AppError } from '../../http/errors';
import type { App } from '../../http/types';
import { toIsoOrNull } from '../../lib/clock';
import type { Runtime } from '../../runtime';
import type { AccessService } from '../access/access.service';
import type { SessionService } from '../sessions/sessions.service';
import { toGrantInput } from './api-keys.presenter';
import { type ApiKeyService, isApiKeySecret } from './api-keys.service';

/**
 * What an API gateway in front of the platform's services asks: given a credential (an access
 * token or an API key), who is it, in which organization, with which grants. Like OAuth token
 * introspection, an unusable credential is `{ active: false }` (with the reason), not an error.
 */
export function apiAccessCheckRoutes(
  app: App,
  deps: { rt: Runtime; sessions: SessionService; apiKeys: ApiKeyService; access: AccessService },
) {
  const { rt, sessions, apiKeys, access } = deps;
  app.post(
    '/v1/auth/api-access-check',
    {
      schema: {
        tags: ['auth'],
        summary: 'Who is this access token or API key, in which organization, with which grants',
        body: ApiAccessCheckBody,
        response: { 200: ApiAccessCheckResult },
      },
      config: { auth: 'public' },
    },
    async (req) => {
      await rt.limits.consume('refreshPerIp', requestMeta(req).ip ?? 'unknown');
      const token = req.body.token.trim();
      try {
        if (isApiKeySecret(token)) {
          const key = await apiKeys.authenticate(token);
          return {
            active: true,
            type: 'api_key' as const,
            api_key: { id: key.keyId, name: key.name, prefix: key.prefix },
            organization_id: key.organizationId,
            grants: key.grants.map(toGrantInput),
            expires_at: toIsoOrNull(key.expiresAt),
          };
        }
        const principal = await sessions.authenticate(
          { authorization: `Bearer ${token}` },
          'GET',
          {},
        );
        if (principal?.kind !== 'user') return { active: false, reason: 'invalid_token' };
        const user =
          (await rt.caches.users.peek(principal.userId)) ??
          (await rt.db
            .selectFrom('users')
            .selectAll()
            .where('id', '=', principal.userId)
            .executeTakeFirstOrThrow());
        const orgId = principal.currentOrgId;
        const facts = orgId ? await access.loadMember(orgId, principal.userId) : null;
        // A suspended organization refuses everyone in it (SPEC §2), so its grants are not
        // reported either: a gateway must not act on them. (They were, before issue 6's tests.)
        const org = orgId ? await access.loadOrg(orgId) : null;
        const member = facts?.membershipStatus === 'active' && org?.org.status === 'active';
        // The organization's sign-in policies (MFA, methods, session age) judge this session as
        // they would a request: a refused session is reported with no grants and the reason.
        const refusal = member ? await access.policyRefusal(principal, org!, facts!) : null;
        const inOrg = member && refusal === null;
        return {
          active: true,
          type: 'user' as const,
          user: {
            id: user.id,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
          },
          session_id: principal.sessionId,
          organization_id: inOrg ? orgId : null,
          grants: inOrg ? facts!.grants.map(toGrantInput) : [],
          is_owner: inOrg ? facts!.isOwner : false,
          amr: principal.amr,
          organization_refusal: refusal?.code ?? null,
        };
      } catch (error) {
        if (error instanceof AppError && error.status === 401)
          return { active: false, reason: error.code };
        if (error instanceof AppError && error.code === 'user_inactive')
          return { active: false, reason: error.code };
        throw error;
      }
    },
  );
}
