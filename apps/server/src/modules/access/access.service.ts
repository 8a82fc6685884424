import {
  type Principal as AuthzPrincipal,
  type Catalog,
  type CompiledRoles,
  checkGrants,
  compileRoles,
  type Decision,
  defaultCatalog,
  effectivePermissions,
  evaluate,
  type Grant,
  type GrantProblem,
  type RoleDefinition,
  type ScopeChain,
  type ScopeLevel,
  type Template,
} from '../../authz';
import type { OrganizationsTable } from '../../db/schema';
import type { KeyPrincipal, Principal, UserPrincipal } from '../../http/context';
import { AppError } from '../../http/errors';
import { InvalidatingCache } from '../../lib/cache';
import type { Runtime } from '../../runtime';
import { findUserById } from '../users/users.repo';
import * as repo from './access.repo';

/** What the engine needs about an organization, compiled once and cached per node. */
export interface OrgFacts {
  org: OrganizationsTable;
  template: Template;
  roles: CompiledRoles;
}

/** What the engine needs about one member of one organization. */
export interface MemberFacts {
  membershipStatus: 'active' | 'suspended' | null;
  isOwner: boolean;
  ownedAccountIds: string[];
  grants: Grant[];
}

export const rowToGrant = (row: {
  role: string | null;
  permissions: string | null;
  scope_id: string;
}): Grant =>
  row.role !== null
    ? { role: row.role, scope: row.scope_id }
    : { permissions: JSON.parse(row.permissions ?? '[]') as string[], scope: row.scope_id };

export const rowToRole = (row: {
  key: string;
  name: string;
  description: string;
  permissions: string;
  product: string | null;
  grantable_at: string;
}): RoleDefinition => ({
  key: row.key,
  name: row.name,
  description: row.description,
  permissions: JSON.parse(row.permissions) as string[],
  product: row.product,
  grantableAt: JSON.parse(row.grantable_at) as ScopeLevel[],
});

/**
 * The bridge between the pure engine (src/authz) and the database: loads organizations,
 * members and scopes through per-node caches that the writes invalidate (topics `org:<id>`,
 * `member:<org>:<user>`, `scope:<id>`), and answers checks. A repeated check reads memory only.
 */
export function createAccessService(rt: Runtime, catalog: Catalog = defaultCatalog) {
  const { db, clock } = rt;
  const now = () => clock.now();
  const orgs = new InvalidatingCache<OrgFacts | null>(20_000, 60_000, now);
  const members = new InvalidatingCache<MemberFacts | null>(200_000, 60_000, now);
  const scopes = new InvalidatingCache<ScopeChain | null>(200_000, 300_000, now);

  rt.bus.subscribe((topic) => {
    if (topic.startsWith('org:')) orgs.invalidate(topic.slice(4));
    else if (topic.startsWith('member:')) members.invalidate(topic.slice(7));
    else if (topic.startsWith('scope:')) scopes.invalidate(topic.slice(6));
  });
  rt.bus.onReset(() => {
    orgs.clear();
    members.clear();
    scopes.clear();
  });

  const loadOrg = (orgId: string) =>
    orgs.get(orgId, async () => {
      const org = await repo.findOrganization(db, orgId);
      if (!org) return null;
      const template = catalog.templates.get(org.template);
      if (!template) throw new Error(`organization ${orgId} has unknown template ${org.template}`);
      const custom = (await repo.findCustomRoles(db, orgId)).map(rowToRole);
      const roles = compileRoles(catalog, template, custom);
      if (roles.issues.length > 0)
        rt.logger.warn({ orgId, issues: roles.issues }, 'custom roles ignored');
      return { org, template, roles };
    });

  const loadMember = (orgId: string, userId: string) =>
    members.get(`${orgId}:${userId}`, async () => {
      const [membership, grants, owned, org] = await Promise.all([
        repo.findMembership(db, orgId, userId),
        repo.findMemberGrants(db, orgId, userId),
        repo.findOwnedAccountIds(db, orgId, userId),
        repo.findOrganization(db, orgId),
      ]);
      if (!org) return null;
      return {
        membershipStatus: membership ? membership.status : null,
        isOwner: org.owner_user_id === userId,
        ownedAccountIds: owned,
        grants: grants.map(rowToGrant),
      };
    });

  const resolveScope = (scopeId: string) =>
    scopes.get(scopeId, async () => (await repo.findScope(db, scopeId)) ?? null);

  async function principalOf(orgId: string, userId: string): Promise<AuthzPrincipal> {
    const [facts, user] = await Promise.all([
      loadMember(orgId, userId),
      rt.caches.users.get(userId, async () => (await findUserById(db, userId)) ?? null),
    ]);
    return {
      organizationId: orgId,
      userStatus: user?.status ?? 'deactivated',
      membershipStatus: facts?.membershipStatus ?? null,
      isOrganizationOwner: facts?.isOwner ?? false,
      ownedAccountIds: facts?.ownedAccountIds ?? [],
      grants: facts?.grants ?? [],
    };
  }

  /**
   * The chains of the grants' scopes, as seen from inside one organization: a scope of another
   * organization resolves to nothing, exactly like an id that does not exist. Telling the two
   * apart ("belongs to another organization" vs "no such scope") would let anyone who may grant
   * confirm that a guessed id exists in another tenant.
   */
  async function chainsInOrganization(orgId: string, grants: readonly Grant[]) {
    const chains = new Map<string, ScopeChain | null>();
    for (const g of grants) {
      const chain = await resolveScope(g.scope);
      chains.set(g.scope, chain?.organizationId === orgId ? chain : null);
    }
    return chains;
  }

  /** A suspended organization refuses everyone in it (its owner too) until reactivated. */
  function suspendedRefusal(facts: OrgFacts): Decision | null {
    return facts.org.status === 'suspended'
      ? { allowed: false, reason: { kind: 'not_member', message: 'The organization is suspended' } }
      : null;
  }

  /** What the engine knows of an API key: it belongs to one organization and holds its grants. */
  function keyPrincipal(orgId: string, key: KeyPrincipal): AuthzPrincipal {
    return {
      organizationId: orgId,
      membershipStatus: key.organizationId === orgId ? 'active' : null,
      isOrganizationOwner: false,
      ownedAccountIds: [],
      grants: key.grants,
    };
  }

  /** Answers SPEC §2 for a user (by id) or an API key at a scope of an organization. */
  async function check(
    orgId: string,
    subject: string | KeyPrincipal,
    permission: string,
    scopeId: string,
  ): Promise<{ decision: Decision; chain: ScopeChain | null; facts: OrgFacts | null }> {
    const facts = await loadOrg(orgId);
    if (!facts)
      return {
        decision: {
          allowed: false,
          reason: { kind: 'not_member', message: 'No such organization' },
        },
        chain: null,
        facts,
      };
    const chain = await resolveScope(scopeId);
    if (!chain || chain.organizationId !== orgId) {
      return {
        decision: {
          allowed: false,
          reason: { kind: 'no_grant', message: 'No such scope in this organization' },
        },
        chain: null,
        facts,
      };
    }
    const suspended = suspendedRefusal(facts);
    if (suspended) return { decision: suspended, chain, facts };
    const principal =
      typeof subject === 'string'
        ? await principalOf(orgId, subject)
        : keyPrincipal(orgId, subject);
    return { decision: evaluate(catalog, facts.roles, principal, permission, chain), chain, facts };
  }

  const subjectOf = (actor: Principal) => (actor.kind === 'user' ? actor.userId : actor);

  return {
    catalog,
    keyPrincipal,
    loadOrg,
    loadMember,
    resolveScope,
    principalOf,
    check,

    /**
     * The enforcement used by the route hook and services: a non-member (or a scope of another
     * organization) gets 404, as if the organization did not exist; a member lacking the
     * permission gets 403 with the reason.
     */
    async authorize(
      actor: Principal,
      orgId: string,
      permission: string,
      scopeId: string = orgId,
    ): Promise<OrgFacts> {
      const { decision, chain, facts } = await check(orgId, subjectOf(actor), permission, scopeId);
      if (decision.allowed) return facts!;
      if (!facts || !chain || decision.reason.kind === 'not_member')
        throw new AppError('not_found', 'No such organization, or you are not a member of it');
      throw new AppError('forbidden', decision.reason.message, {
        permission,
        scope: scopeId,
        reason: decision.reason.kind,
      });
    },

    /** Any active member of an active organization (404 for everyone else). */
    async assertMember(actor: Principal, orgId: string): Promise<OrgFacts> {
      const facts = await loadOrg(orgId);
      const member =
        actor.kind === 'api_key'
          ? { membershipStatus: actor.organizationId === orgId ? ('active' as const) : null }
          : facts
            ? await loadMember(orgId, actor.userId)
            : null;
      if (!facts || !member || member.membershipStatus === null)
        throw new AppError('not_found', 'No such organization, or you are not a member of it');
      if (member.membershipStatus !== 'active')
        throw new AppError('forbidden', 'Your membership in this organization is suspended', {
          reason: 'membership_suspended',
        });
      if (facts.org.status !== 'active')
        throw new AppError('forbidden', 'The organization is suspended', {
          reason: 'organization_suspended',
        });
      return facts;
    },

    /** Whether the actor holds `permission` at `scopeId` (no throw). For filtering lists. */
    async holds(
      actor: Principal,
      orgId: string,
      permission: string,
      scopeId: string,
    ): Promise<boolean> {
      return (await check(orgId, subjectOf(actor), permission, scopeId)).decision.allowed;
    },

    async effective(orgId: string, userId: string, scopeId: string): Promise<string[]> {
      const facts = await loadOrg(orgId);
      const chain = await resolveScope(scopeId);
      if (!facts || !chain || chain.organizationId !== orgId || facts.org.status === 'suspended')
        return [];
      return [
        ...effectivePermissions(catalog, facts.roles, await principalOf(orgId, userId), chain),
      ].sort();
    },

    /**
     * No escalation: the actor may hand out these grants only if it holds everything they give
     * at those scopes. Scopes are resolved here (and must be in this organization).
     */
    async assertCanGrant(actor: UserPrincipal, orgId: string, grants: Grant[]): Promise<void> {
      const facts = await loadOrg(orgId);
      if (!facts) throw new AppError('not_found');
      const chains = await chainsInOrganization(orgId, grants);
      const result = checkGrants(
        catalog,
        facts.roles,
        await principalOf(orgId, actor.userId),
        grants,
        (s) => chains.get(s) ?? null,
      );
      if (!result.allowed) throw grantProblem(result.problems);
    },

    /** Checks grants for well-formedness and scope only (used for system-made grants). */
    async validateGrants(orgId: string, grants: Grant[]): Promise<GrantProblem[]> {
      const facts = await loadOrg(orgId);
      if (!facts) throw new AppError('not_found');
      const chains = await chainsInOrganization(orgId, grants);
      // An owner principal holds everything: only shape, role, scope and level problems remain.
      const owner: AuthzPrincipal = {
        organizationId: orgId,
        userStatus: 'active',
        membershipStatus: 'active',
        isOrganizationOwner: true,
        ownedAccountIds: [],
        grants: [],
      };
      return [
        ...checkGrants(catalog, facts.roles, owner, grants, (s) => chains.get(s) ?? null).problems,
      ];
    },
  };
}

/** Grant problems as one 403 (escalation) or 400 (malformed, unknown role/scope) answer. */
export function grantProblem(problems: readonly GrantProblem[]): AppError {
  const escalation = problems.some((p) => p.kind === 'escalation' || p.kind === 'owner_role');
  const errors = problems.map((p) => ({
    path: `body.grants.${p.index}`,
    message: p.message,
    code: p.kind,
    ...(p.missing ? { missing: p.missing } : {}),
  }));
  return escalation
    ? new AppError('forbidden', 'You cannot grant permissions you do not hold there', { errors })
    : new AppError('validation_failed', 'Some grants are not valid', { errors });
}

export type AccessService = ReturnType<typeof createAccessService>;
