import type { SignedIn, TestContext } from './harness';

/** Data factories for organization tests: everything through the public API, as a user would. */
export async function createOrg(
  ctx: TestContext,
  owner: SignedIn,
  template = 'media',
  name = `Org ${Math.random().toString(36).slice(2, 8)}`,
) {
  const res = await ctx.request('POST', '/v1/organizations', {
    token: owner.accessToken,
    body: { name, template },
  });
  if (res.status !== 201) throw new Error(`create org failed: ${res.status} ${res.text}`);
  return res.body as { id: string; name: string; slug: string; template: string; owner_id: string };
}

export async function createAccount(
  ctx: TestContext,
  actor: SignedIn,
  orgId: string,
  product = 'video',
  name = `${product} account`,
) {
  const res = await ctx.request('POST', `/v1/organizations/${orgId}/accounts`, {
    token: actor.accessToken,
    body: { name, product },
  });
  if (res.status !== 201) throw new Error(`create account failed: ${res.status} ${res.text}`);
  return res.body as { id: string; product: string; owner_id: string; name: string };
}

export async function createResource(
  ctx: TestContext,
  actor: SignedIn,
  orgId: string,
  accountId: string,
  type = 'collection',
  name = `${type} 1`,
) {
  const res = await ctx.request(
    'POST',
    `/v1/organizations/${orgId}/accounts/${accountId}/resources`,
    { token: actor.accessToken, body: { name, type } },
  );
  if (res.status !== 201) throw new Error(`create resource failed: ${res.status} ${res.text}`);
  return res.body as { id: string; account_id: string };
}

type GrantInput = { role: string; scope: string } | { permissions: string[]; scope: string };

/** Signs up a new user and has `adder` (the owner, usually) add them with grants. */
export async function addMember(
  ctx: TestContext,
  adder: SignedIn,
  orgId: string,
  grants: GrantInput[],
) {
  const user = await ctx.signUp();
  const res = await ctx.request('POST', `/v1/organizations/${orgId}/members`, {
    token: adder.accessToken,
    body: { email: user.email, grants },
  });
  if (res.status !== 201) throw new Error(`add member failed: ${res.status} ${res.text}`);
  return user;
}

export async function check(ctx: TestContext, who: SignedIn, permission: string, scope: string) {
  const res = await ctx.request('POST', '/v1/authz/check', {
    token: who.accessToken,
    body: { permission, scope },
  });
  if (res.status !== 200) throw new Error(`check failed: ${res.status} ${res.text}`);
  return res.body as {
    allowed: boolean;
    reason: { kind: string; role?: string; scope?: string; message?: string };
  };
}

// ---------------------------------------------------------------------------------------------
// Factories and probes for the organization, account, role and story tests.

/** The claims of an access token (its payload, not verified: the server signed it). */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/** The audit rows of an organization for one action, oldest first. */
export async function auditRows(ctx: TestContext, orgId: string, action: string) {
  const rows = await ctx.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('action', '=', action)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ ...r, changes: r.changes ? JSON.parse(r.changes) : null }));
}

/** The permissions `who` holds at `scope` (default: the organization), as the API reports them. */
export async function permissionsAt(
  ctx: TestContext,
  who: SignedIn,
  orgId: string,
  scope: string = orgId,
): Promise<string[]> {
  const res = await ctx.request(
    'GET',
    `/v1/organizations/${orgId}/members/${who.userId}/permissions?scope=${scope}`,
    { token: who.accessToken },
  );
  if (res.status !== 200) throw new Error(`permissions failed: ${res.status} ${res.text}`);
  return res.body.permissions as string[];
}

/**
 * The ids of the accounts `who` sees in the accounts list (first page of 100), sorted: ids made
 * in one millisecond (the test clock stands still) have no meaningful order.
 */
export async function visibleAccountIds(ctx: TestContext, who: SignedIn, orgId: string) {
  const res = await ctx.request('GET', `/v1/organizations/${orgId}/accounts?limit=100`, {
    token: who.accessToken,
  });
  if (res.status !== 200) throw new Error(`list accounts failed: ${res.status} ${res.text}`);
  return (res.body.data as { id: string }[]).map((a) => a.id).sort();
}

/** A sorted copy, to compare with `visibleAccountIds`. */
export const sorted = (ids: string[]) => [...ids].sort();

/** Whether `who` may do `permission` at `scope`, per /v1/authz/check. */
export async function allowed(ctx: TestContext, who: SignedIn, permission: string, scope: string) {
  return (await check(ctx, who, permission, scope)).allowed;
}

/** Adds an already signed-up user (by email) as a member; answers the raw response. */
export function addExisting(
  ctx: TestContext,
  adder: SignedIn,
  orgId: string,
  email: string,
  grants: GrantInput[],
) {
  return ctx.request('POST', `/v1/organizations/${orgId}/members`, {
    token: adder.accessToken,
    body: { email, grants },
  });
}

/** Creates an account owned by another member (the creator names the owner). */
export async function createAccountOwnedBy(
  ctx: TestContext,
  creator: SignedIn,
  orgId: string,
  ownerId: string,
  product = 'video',
  name = `${product} account`,
) {
  const res = await ctx.request('POST', `/v1/organizations/${orgId}/accounts`, {
    token: creator.accessToken,
    body: { name, product, owner_id: ownerId },
  });
  if (res.status !== 201) throw new Error(`create account failed: ${res.status} ${res.text}`);
  return res.body as { id: string; product: string; owner_id: string; name: string };
}

/** Offers ownership of the organization, or of one of its accounts; answers the raw response. */
export function offerOwnership(
  ctx: TestContext,
  from: SignedIn,
  orgId: string,
  toUserId: string,
  accountId?: string,
) {
  const path = accountId
    ? `/v1/organizations/${orgId}/accounts/${accountId}/transfer-ownership`
    : `/v1/organizations/${orgId}/transfer-ownership`;
  return ctx.request('POST', path, { token: from.accessToken, body: { user_id: toUserId } });
}

/** Accepts (or declines) an ownership offer as `who`; answers the raw response. */
export function answerOffer(
  ctx: TestContext,
  who: SignedIn,
  orgId: string,
  offerId: string,
  answer: 'accept' | 'decline' = 'accept',
) {
  return ctx.request('POST', `/v1/organizations/${orgId}/ownership-offers/${offerId}/${answer}`, {
    token: who.accessToken,
  });
}

/** Suspends a member (as `actor`, who needs members:update). */
export async function suspendMember(
  ctx: TestContext,
  actor: SignedIn,
  orgId: string,
  userId: string,
) {
  const res = await ctx.request('POST', `/v1/organizations/${orgId}/members/${userId}/suspend`, {
    token: actor.accessToken,
  });
  if (res.status !== 204) throw new Error(`suspend failed: ${res.status} ${res.text}`);
}

/** Creates a custom role; answers the raw response. */
export function createRole(
  ctx: TestContext,
  actor: SignedIn,
  orgId: string,
  body: Record<string, unknown>,
) {
  return ctx.request('POST', `/v1/organizations/${orgId}/roles`, {
    token: actor.accessToken,
    body: { name: `Role ${String(body.key)}`, ...body },
  });
}

// ---------------------------------------------------------------------------------------------
// Factories for the members, access and invariant tests.

/**
 * Adds a person directly by email ("associate user"): a new address becomes a user this
 * organization manages (no password yet). Answers the member detail.
 */
export async function addDirect(
  ctx: TestContext,
  adder: SignedIn,
  orgId: string,
  input: { email: string; first_name?: string; last_name?: string; grants?: GrantInput[] },
) {
  const res = await ctx.request('POST', `/v1/organizations/${orgId}/members`, {
    token: adder.accessToken,
    body: { grants: [], ...input },
  });
  if (res.status !== 201) throw new Error(`add member failed: ${res.status} ${res.text}`);
  return res.body as {
    user_id: string;
    email: string;
    first_name: string;
    last_name: string;
    grants: { id: string; role: string | null; permissions: string[] | null; scope: string }[];
  };
}

// ---------------------------------------------------------------------------------------------
// Factories for the invitation and platform-administration tests.

/** Sends invitations as `actor`; answers the raw response. */
export function invite(
  ctx: TestContext,
  actor: SignedIn,
  orgId: string,
  body: {
    emails: string[];
    grants?: unknown[];
    message?: string;
    expires_in_days?: number;
    offer_ownership?: boolean;
  },
) {
  return ctx.request('POST', `/v1/organizations/${orgId}/invitations`, {
    token: actor.accessToken,
    body,
  });
}

/**
 * The token of the latest invitation link queued for an address (read from the outbox, as the
 * invitee would read it from the mail). Advance the clock between two sends whose order matters.
 */
export async function invitationToken(ctx: TestContext, email: string): Promise<string> {
  const rows = await ctx.database.db
    .selectFrom('outbox')
    .select('body')
    .where('recipient', '=', email.toLowerCase())
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  for (const row of rows) {
    const match = row.body?.match(/\/invitations\/([A-Za-z0-9_-]+)/);
    if (match) return match[1]!;
  }
  throw new Error(`no invitation link was mailed to ${email}`);
}

/** Invites one address and answers the token of its link; throws unless it was invited. */
export async function inviteOne(
  ctx: TestContext,
  actor: SignedIn,
  orgId: string,
  email: string,
  grants: unknown[] = [],
  extra: { expires_in_days?: number; offer_ownership?: boolean; message?: string } = {},
) {
  const res = await invite(ctx, actor, orgId, { emails: [email], grants, ...extra });
  const result = res.body?.results?.[0];
  if (res.status !== 200 || !['invited', 'already_invited'].includes(result?.status))
    throw new Error(`invite failed: ${res.status} ${res.text}`);
  return { id: result.invitation_id as string, token: await invitationToken(ctx, email) };
}

/** A platform administrator (as `gatehouse create-admin` makes one), signed in. */
export async function platformAdmin(ctx: TestContext): Promise<SignedIn> {
  const email = `admin-${Math.random().toString(36).slice(2, 10)}@example.com`;
  const password = 'Tr0ub4dor&3-horse';
  await ctx.gatehouse.services.setup.createAdminFromCli({
    email,
    password,
    first_name: 'Pat',
    last_name: 'Admin',
  });
  return ctx.login(email, password);
}

// ---------------------------------------------------------------------------------------------
// Factories for the API key and audit tests.

/** Creates an API key as `actor`; answers the raw response (the secret is in `body.secret`). */
export function createApiKey(
  ctx: TestContext,
  actor: SignedIn,
  orgId: string,
  body: { name?: string; grants: unknown[]; expires_at?: string | null },
) {
  return ctx.request('POST', `/v1/organizations/${orgId}/api-keys`, {
    token: actor.accessToken,
    body: { name: 'service key', ...body },
  });
}

/** Creates an API key and answers its id and secret; throws unless it was created. */
export async function apiKey(
  ctx: TestContext,
  actor: SignedIn,
  orgId: string,
  grants: GrantInput[],
  extra: { name?: string; expires_at?: string | null } = {},
) {
  const res = await createApiKey(ctx, actor, orgId, { grants, ...extra });
  if (res.status !== 201) throw new Error(`create API key failed: ${res.status} ${res.text}`);
  return { id: res.body.id as string, secret: res.body.secret as string, prefix: res.body.prefix };
}

/** How many audit events the database holds (every chain, or one organization's). */
export async function auditCount(ctx: TestContext, orgId?: string): Promise<number> {
  let q = ctx.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n'));
  if (orgId) q = q.where('organization_id', '=', orgId);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}
