import type { OrganizationPolicies } from '@gatehouse/contracts';
import type { Kysely, Transaction } from 'kysely';
import type { z } from 'zod';
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
  type Reach,
  type RoleDefinition,
  reachIsEmpty,
  reachOf,
  type ScopeChain,
  type ScopeLevel,
  type Template,
  withinReach,
} from '../../authz';
import type { DB, OrganizationsTable } from '../../db/schema';
import type { KeyPrincipal, Principal, UserPrincipal } from '../../http/context';
import { AppError } from '../../http/errors';
import { InvalidatingCache } from '../../lib/cache';
import type { Runtime } from '../../runtime';
import { policiesOf } from '../organizations/organizations.presenter';
import { loginMethodOf } from '../sessions/sessions.service';
import { findUserById } from '../users/users.repo';
import * as repo from './access.repo';

/** What the engine needs about an organization, compiled once and cached per node. */
export interface OrgFacts {
  org: OrganizationsTable;
  template: Template;
  roles: CompiledRoles;
  policies: z.infer<typeof OrganizationPolicies>;
}

/** What the engine needs about one member of one organization. */
export interface MemberFacts {
  membershipStatus: 'active' | 'suspended' | null;
  isOwner: boolean;
  ownedAccountIds: string[];
  grants: Grant[];
  /** the member's own allowed sign-in methods ("login type"); null: whatever the organization allows */
  loginMethods: string[] | null;
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
export interface AccessHooks {
  /** ends a session an organization's idle timeout caught (sessions service) */
  expireSession(sessionId: string, reason: string): Promise<void>;
}

export function createAccessService(
  rt: Runtime,
  hooks: AccessHooks,
  catalog: Catalog = defaultCatalog,
) {
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
      return { org, template, roles, policies: policiesOf(org) };
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
        loginMethods: membership?.login_methods
          ? (JSON.parse(membership.login_methods) as string[])
          : null,
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

  async function hasSecondFactor(userId: string) {
    const row = await db
      .selectFrom('mfa_factors')
      .select('id')
      .where('user_id', '=', userId)
      .where('confirmed_at', 'is not', null)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * The organization's sign-in policies against this session (SPEC §4, issue 5): maximum age,
   * idle timeout, allowed sign-in methods (the organization's and the member's own "login
   * type"), and a second factor when required. Null when the session may act here. Judged only
   * for active members: everyone else is refused before, without learning the policies.
   */
  async function policyRefusal(
    actor: UserPrincipal,
    facts: OrgFacts,
    member: MemberFacts,
  ): Promise<AppError | null> {
    const p = facts.policies;
    const now = clock.now();
    if (
      p.session_max_age_hours !== null &&
      now - actor.sessionCreatedAt > p.session_max_age_hours * 3_600_000
    )
      return new AppError('session_max_age_exceeded', undefined, {
        max_age_hours: p.session_max_age_hours,
      });
    if (
      p.session_idle_timeout_minutes !== null &&
      now - actor.lastSeenAt > p.session_idle_timeout_minutes * 60_000
    ) {
      // The session is over, not merely refused here: the next request would otherwise count
      // as activity and pass.
      await hooks.expireSession(actor.sessionId, 'idle_timeout');
      return new AppError('session_idle_timeout', undefined, {
        idle_timeout_minutes: p.session_idle_timeout_minutes,
      });
    }
    const method = loginMethodOf(actor.amr);
    const allowedHere = p.allowed_login_methods;
    if (allowedHere !== null && !allowedHere.includes(method))
      return new AppError(
        'login_method_not_allowed',
        `This organization accepts ${allowedHere.join(', ')}`,
        {
          login_method: method,
          allowed_login_methods: allowedHere,
        },
      );
    if (member.loginMethods !== null && !member.loginMethods.includes(method))
      return new AppError(
        'login_method_not_allowed',
        `Your membership accepts ${member.loginMethods.join(', ')}`,
        {
          login_method: method,
          allowed_login_methods: member.loginMethods,
        },
      );
    if (p.require_mfa && !actor.amr.includes('mfa')) {
      if (!(await hasSecondFactor(actor.userId)))
        return new AppError(
          'mfa_enrollment_required',
          'Add a second factor at /v1/me/mfa, then retry',
        );
      return new AppError(
        'mfa_required',
        'Confirm a second factor at POST /v1/auth/step-up, then retry',
        {
          step_up: '/v1/auth/step-up',
        },
      );
    }
    return null;
  }

  /**
   * The refusal of the organization's sign-in policies for this caller's session, if the caller
   * is a user and an active member (API keys have no session; others are refused elsewhere).
   */
  async function sessionRefusal(
    actor: Principal,
    orgId: string,
    facts?: OrgFacts | null,
  ): Promise<AppError | null> {
    if (actor.kind !== 'user') return null;
    const org = facts ?? (await loadOrg(orgId));
    if (!org) return null;
    const member = await loadMember(orgId, actor.userId);
    if (member?.membershipStatus !== 'active') return null;
    return policyRefusal(actor, org, member);
  }

  /**
   * Whether a session may carry `orgId` as its organization: the one judgement behind a switch
   * and a refresh (issue 10 #2), so a token naming an organization is never issued to someone
   * a switch would refuse — removed or suspended member, suspended or deleted organization, or
   * a session its sign-in policies refuse. Answers the refusal, or null.
   */
  async function organizationRefusal(
    actor: UserPrincipal,
    orgId: string,
  ): Promise<AppError | null> {
    const member = await loadMember(orgId, actor.userId);
    const org = await loadOrg(orgId);
    if (!member || member.membershipStatus === null || !org)
      return new AppError('not_found', 'No such organization, or you are not a member of it');
    if (member.membershipStatus !== 'active')
      return new AppError('forbidden', 'Your membership in this organization is suspended');
    if (org.org.status !== 'active')
      return new AppError('forbidden', 'The organization is suspended');
    return sessionRefusal(actor, orgId, org);
  }

  /** Throws the policy refusal for a user who is an active member. */
  async function enforcePolicies(actor: Principal, orgId: string, facts: OrgFacts) {
    const refusal = await sessionRefusal(actor, orgId, facts);
    if (refusal) throw refusal;
  }

  /** The chains of a set of scope ids, read through the cache. */
  async function chainsOf(scopeIds: Iterable<string>) {
    const chains = new Map<string, ScopeChain | null>();
    for (const id of scopeIds) if (!chains.has(id)) chains.set(id, await resolveScope(id));
    return chains;
  }

  /** Where `actor` holds `permission` in the organization (see `reachOf`). */
  async function reach(actor: Principal, orgId: string, permission: string): Promise<Reach> {
    const facts = await loadOrg(orgId);
    if (!facts || facts.org.status === 'suspended')
      return { organization: false, scopes: new Set() };
    const principal =
      actor.kind === 'user' ? await principalOf(orgId, actor.userId) : keyPrincipal(orgId, actor);
    const chains = await chainsOf([
      ...principal.grants.map((g) => g.scope),
      ...(principal.ownedAccountIds as string[]),
    ]);
    return reachOf(catalog, facts.roles, principal, permission, orgId, (s) => chains.get(s));
  }

  /**
   * Whether a member holds anything within `reach`: a grant at or below one of its scopes, or
   * the ownership of one of its accounts. Who an account admin may see and act on.
   */
  async function memberInReach(orgId: string, userId: string, r: Reach): Promise<boolean> {
    const member = await loadMember(orgId, userId);
    if (!member || member.membershipStatus === null) return false;
    if (r.organization) return true;
    const scopes = [...member.grants.map((g) => g.scope), ...member.ownedAccountIds];
    const chains = await chainsOf(scopes);
    return scopes.some((s) => {
      const chain = chains.get(s);
      return chain?.organizationId === orgId && withinReach(r, chain);
    });
  }

  /**
   * An organization and one member of it exactly as they are in `trx`, past every cache: for
   * decisions that must hold at the moment of a write (accepting an invitation re-judges the
   * inviter's rights of now, under the lock of the accepting transaction). `chains` holds the
   * chains of the given scope ids (a scope of another organization, or gone, is null).
   */
  async function snapshotIn(
    trx: Kysely<DB> | Transaction<DB>,
    orgId: string,
    userId: string,
    scopeIds: readonly string[],
  ): Promise<{
    facts: OrgFacts;
    principal: AuthzPrincipal;
    chains: Map<string, ScopeChain | null>;
  } | null> {
    const org = await repo.findOrganization(trx, orgId);
    if (!org) return null;
    const template = catalog.templates.get(org.template);
    if (!template) throw new Error(`organization ${orgId} has unknown template ${org.template}`);
    const custom = (await repo.findCustomRoles(trx, orgId)).map(rowToRole);
    const roles = compileRoles(catalog, template, custom);
    const membership = await repo.findMembership(trx, orgId, userId);
    const grants = (await repo.findMemberGrants(trx, orgId, userId)).map(rowToGrant);
    const owned = await repo.findOwnedAccountIds(trx, orgId, userId);
    const user = await trx
      .selectFrom('users')
      .select('status')
      .where('id', '=', userId)
      .executeTakeFirst();
    const chains = new Map<string, ScopeChain | null>();
    for (const id of scopeIds) {
      if (chains.has(id)) continue;
      const chain = await repo.findScope(trx, id);
      chains.set(id, chain?.organizationId === orgId ? chain : null);
    }
    return {
      facts: { org, template, roles, policies: policiesOf(org) },
      principal: {
        organizationId: orgId,
        userStatus: user?.status ?? 'deactivated',
        membershipStatus: membership ? membership.status : null,
        isOrganizationOwner: org.owner_user_id === userId,
        ownedAccountIds: owned,
        grants,
      },
      chains,
    };
  }

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
      if (!facts || !chain || (!decision.allowed && decision.reason.kind === 'not_member'))
        throw new AppError('not_found', 'No such organization, or you are not a member of it');
      await enforcePolicies(actor, orgId, facts);
      if (decision.allowed) return facts;
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
      await enforcePolicies(actor, orgId, facts);
      return facts;
    },

    policyRefusal,
    sessionRefusal,
    organizationRefusal,
    enforcePolicies,
    reach,
    memberInReach,
    snapshotIn,

    /**
     * The enforcement of a route declared with `reach` (issue 10 #4): like `authorize`, but the
     * permission may be held at the organization or only at some of its accounts and resources;
     * the answer says where, for the handler to filter to. 404 for non-members, 403 for members
     * who hold it nowhere.
     */
    async authorizeReach(actor: Principal, orgId: string, permission: string): Promise<Reach> {
      const { decision, chain, facts } = await check(orgId, subjectOf(actor), permission, orgId);
      if (!facts || !chain || (!decision.allowed && decision.reason.kind === 'not_member'))
        throw new AppError('not_found', 'No such organization, or you are not a member of it');
      await enforcePolicies(actor, orgId, facts);
      if (decision.allowed) return { organization: true };
      const denied = () =>
        new AppError('forbidden', decision.reason.message, {
          permission,
          scope: orgId,
          reason: decision.reason.kind,
        });
      if (decision.reason.kind !== 'no_grant' && decision.reason.kind !== 'product_mismatch')
        throw denied();
      const r = await reach(actor, orgId, permission);
      if (reachIsEmpty(r)) throw denied();
      return r;
    },

    /** 404 unless the member holds something within `r` (see `memberInReach`). */
    async assertMemberInReach(orgId: string, userId: string, r: Reach): Promise<void> {
      if (r.organization) return;
      if (!(await memberInReach(orgId, userId, r)))
        throw new AppError('not_found', 'No such member');
    },

    /**
     * Whether `actor` may read what member `userId` holds at `scopeId`: their own, always;
     * another's, with members:read there — at the organization, or (an account admin) at a
     * scope within their reach, for a member within it (else 404, as the list does not show
     * them). Issue 10 #4.
     */
    async assertMayReadMemberAt(
      actor: UserPrincipal,
      orgId: string,
      userId: string,
      scopeId: string,
    ): Promise<void> {
      if (userId === actor.userId) return;
      const r = await reach(actor, orgId, 'members:read');
      if (reachIsEmpty(r))
        throw new AppError('forbidden', "Reading another member's permissions needs members:read");
      if (r.organization) return;
      if (!(await memberInReach(orgId, userId, r)))
        throw new AppError('not_found', 'No such member');
      const chain = await resolveScope(scopeId);
      if (!chain || chain.organizationId !== orgId || !withinReach(r, chain))
        throw new AppError(
          'forbidden',
          'Reading permissions here needs members:read at this scope',
          {
            permission: 'members:read',
            scope: scopeId,
          },
        );
    },

    /** The chains of scope ids (cached); for filtering grants shown to a reach. */
    chainsOf,
    chainsInOrganization,

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
    async assertCanGrant(
      actor: UserPrincipal,
      orgId: string,
      grants: Grant[],
      /** where each grant sits in the request, for the error paths (default `body.grants.<i>`) */
      paths?: readonly string[],
    ): Promise<void> {
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
      if (!result.allowed) throw grantProblem(result.problems, paths);
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
export function grantProblem(
  problems: readonly GrantProblem[],
  paths?: readonly string[],
): AppError {
  const escalation = problems.some((p) => p.kind === 'escalation' || p.kind === 'owner_role');
  const errors = problems.map((p) => ({
    // The engine numbers the grants it was given; the caller may have given it another list
    // than the body's (replacing grants checks the removed and the added ones): `paths` says
    // where each sits in the request (issue 10 #23).
    path: paths?.[p.index] ?? `body.grants.${p.index}`,
    message: p.message,
    code: p.kind,
    ...(p.missing ? { missing: p.missing } : {}),
  }));
  return escalation
    ? new AppError('forbidden', 'You cannot grant permissions you do not hold there', { errors })
    : new AppError('validation_failed', 'Some grants are not valid', { errors });
}

export type AccessService = ReturnType<typeof createAccessService>;
