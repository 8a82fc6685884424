import { sign as cryptoSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Dictionary } from './schema';
import { call, type Target } from './target';

/**
 * A small world for the fuzzer, made through the public API as users would: an owner with an
 * organization (an account, a resource, a custom role, a pending invitation, an API key, an
 * ownership offer), a member (admin at the organization) who also holds a cookie session, a
 * platform administrator, and a stranger who owns another organization (cross-tenant ids).
 * Its ids fill path parameters and its strings fill request fields that accept them, so
 * requests get past "not found" into the handlers.
 */
export interface Actor {
  email: string;
  password: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

export interface World {
  owner: Actor;
  member: Actor;
  admin: Actor;
  stranger: Actor;
  orgId: string;
  otherOrgId: string;
  accountId: string;
  otherAccountId: string;
  resourceId: string;
  roleKey: string;
  invitationId: string;
  invitationToken: string;
  apiKeyId: string;
  apiKeySecret: string;
  grantId: string;
  offerId: string;
  memberCookie: { session: string; csrf: string };
  /** every string above and a few more the API knows (permissions, templates), by kind */
  dictionary: Dictionary;
}

export const PASSWORD = 'Tr0ub4dor&3-horse-fuzz';
let worlds = 0;

/** Crockford base32 ids of a kind that exist nowhere (well-formed, random). */
export function forgedId(prefix: string): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  const bytes = randomBytes(26);
  return `${prefix}_${[...bytes].map((b) => alphabet[b % 32]).join('')}`;
}

function expect2xx(answer: { status: number; text: string }, what: string) {
  if (answer.status < 200 || answer.status >= 300)
    throw new Error(`fuzz world: ${what} answered ${answer.status} ${answer.text.slice(0, 300)}`);
}

async function signUp(target: Target, label: string): Promise<Actor> {
  const email = `fuzz-${label}-${Date.now().toString(36)}-${worlds}-${randomBytes(3).toString('hex')}@example.com`;
  expect2xx(
    await call(target, 'POST', '/v1/auth/register', {
      body: { email, password: PASSWORD, first_name: 'Fuzz', last_name: label },
    }),
    `register ${label}`,
  );
  const verified = await call(target, 'POST', '/v1/auth/verify-email', {
    body: { email, code: await lastCode(target, email) },
  });
  expect2xx(verified, `verify ${label}`);
  return withUserId(target, email, verified.json);
}

async function withUserId(
  target: Target,
  email: string,
  tokens: { access_token: string; refresh_token: string; session_id: string },
): Promise<Actor> {
  const me = await call(target, 'GET', '/v1/me', { token: tokens.access_token });
  expect2xx(me, 'me');
  return {
    email,
    password: PASSWORD,
    userId: me.json.id,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    sessionId: tokens.session_id,
  };
}

async function login(target: Target, email: string, mode: 'token' | 'cookie' = 'token') {
  const answer = await call(target, 'POST', '/v1/auth/login', {
    body: { email, password: PASSWORD, mode },
  });
  expect2xx(answer, `login ${email}`);
  return answer;
}

const cookieValue = (headers: Record<string, string | string[] | undefined>, name: string) => {
  const raw = headers['set-cookie'];
  const lines = Array.isArray(raw) ? raw : raw ? [raw] : [];
  for (const line of lines) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    if (pair!.slice(0, eq).trim() === name) return decodeURIComponent(pair!.slice(eq + 1));
  }
  return '';
};

export async function createWorld(target: Target): Promise<World> {
  worlds++;
  const [owner, member, stranger] = [
    await signUp(target, 'owner'),
    await signUp(target, 'member'),
    await signUp(target, 'stranger'),
  ];
  const adminEmail = `fuzz-admin-${Date.now().toString(36)}-${worlds}@example.com`;
  await target.makeAdmin({ email: adminEmail, password: PASSWORD });
  const admin = await withUserId(target, adminEmail, (await login(target, adminEmail)).json);

  const as = (actor: Actor) => ({ token: actor.accessToken });
  const org = await call(target, 'POST', '/v1/organizations', {
    ...as(owner),
    body: { name: `Fuzz ${worlds}`, template: 'media' },
  });
  expect2xx(org, 'create organization');
  const orgId: string = org.json.id;
  const other = await call(target, 'POST', '/v1/organizations', {
    ...as(stranger),
    body: { name: `Other ${worlds}`, template: 'accounts' },
  });
  expect2xx(other, 'create other organization');
  const otherOrgId: string = other.json.id;
  const base = `/v1/organizations/${orgId}`;

  const account = await call(target, 'POST', `${base}/accounts`, {
    ...as(owner),
    body: { name: 'Fuzz account', product: 'video' },
  });
  expect2xx(account, 'create account');
  const otherAccount = await call(target, 'POST', `/v1/organizations/${otherOrgId}/accounts`, {
    ...as(stranger),
    body: { name: 'Other account', product: 'video' },
  });
  expect2xx(otherAccount, 'create other account');
  const resource = await call(target, 'POST', `${base}/accounts/${account.json.id}/resources`, {
    ...as(owner),
    body: { name: 'Fuzz collection', type: 'collection' },
  });
  expect2xx(resource, 'create resource');
  const roleKey = `fuzz-role-${worlds}`;
  expect2xx(
    await call(target, 'POST', `${base}/roles`, {
      ...as(owner),
      body: { key: roleKey, name: 'Fuzz role', permissions: ['organization:read'] },
    }),
    'create role',
  );
  const added = await call(target, 'POST', `${base}/members`, {
    ...as(owner),
    body: {
      email: member.email,
      grants: [
        { role: 'admin', scope: orgId },
        { role: roleKey, scope: account.json.id },
      ],
    },
  });
  expect2xx(added, 'add member');
  const inviteeEmail = `fuzz-invitee-${Date.now().toString(36)}-${worlds}@example.com`;
  const invited = await call(target, 'POST', `${base}/invitations`, {
    ...as(owner),
    body: { emails: [inviteeEmail], grants: [{ role: 'accountant', scope: orgId }] },
  });
  expect2xx(invited, 'invite');
  const invitationToken = await invitationTokenOf(target, inviteeEmail);
  const key = await call(target, 'POST', `${base}/api-keys`, {
    ...as(owner),
    body: { name: 'fuzz key', grants: [{ role: 'admin', scope: orgId }] },
  });
  expect2xx(key, 'create API key');
  const offer = await call(
    target,
    'POST',
    `${base}/accounts/${account.json.id}/transfer-ownership`,
    {
      ...as(owner),
      body: { user_id: member.userId },
    },
  );
  expect2xx(offer, 'offer account ownership');

  const cookieLogin = await login(target, member.email, 'cookie');
  const memberCookie = {
    session: cookieValue(cookieLogin.headers, 'gatehouse_session'),
    csrf: String(cookieLogin.json?.csrf_token ?? ''),
  };

  const permissions = await call(target, 'GET', '/v1/permissions', as(owner));
  const permissionNames: string[] = ((permissions.json?.data ?? []) as { name?: unknown }[])
    .map((p) => p.name)
    .filter((p): p is string => typeof p === 'string')
    .slice(0, 40);

  const world: Omit<World, 'dictionary'> = {
    owner,
    member,
    admin,
    stranger,
    orgId,
    otherOrgId,
    accountId: account.json.id,
    otherAccountId: otherAccount.json.id,
    resourceId: resource.json.id,
    roleKey,
    invitationId: invited.json.results?.[0]?.invitation_id ?? forgedId('inv'),
    invitationToken,
    apiKeyId: key.json.id,
    apiKeySecret: key.json.secret,
    grantId: added.json.grants?.[0]?.id ?? forgedId('grt'),
    offerId: offer.json.id,
    memberCookie,
  };
  const actors = [owner, member, admin, stranger];
  const categories = {
    emails: [...actors.map((a) => a.email), inviteeEmail, `NEW-${inviteeEmail}`],
    passwords: [PASSWORD, PASSWORD, PASSWORD, 'password', `${PASSWORD}-new`],
    permissions: permissionNames.length ? permissionNames : ['organization:read'],
    roles: [roleKey, 'admin', 'accountant', 'viewer', 'owner'],
    tokens: [invitationToken, member.refreshToken, owner.refreshToken],
    codes: ['123456', '000000'],
    templates: ['media', 'accounts', 'team', 'permissions', 'reseller'],
    products: ['video', 'image'],
    types: ['collection', 'profile', 'source'],
    providers: ['password', 'google', 'github', 'oidc:corp'],
    ids: [
      ...actors.flatMap((a) => [a.userId, a.sessionId]),
      orgId,
      otherOrgId,
      world.accountId,
      world.otherAccountId,
      world.resourceId,
      world.invitationId,
      world.apiKeyId,
      world.grantId,
      world.offerId,
    ],
    text: [`Fuzz ${worlds}`],
  };
  const dictionary: Dictionary = {
    strings: [...new Set(Object.values(categories).flat())],
    categories,
  };
  return { ...world, dictionary };
}

/** The invitation link's token, read from the invitee's mail (as the invitee would). */
async function invitationTokenOf(target: Target, email: string): Promise<string> {
  const match = (await target.lastMail(email)).match(/\/invitations\/([A-Za-z0-9_-]+)/);
  if (!match) throw new Error(`fuzz world: no invitation link was mailed to ${email}`);
  return match[1]!;
}

async function lastCode(target: Target, email: string): Promise<string> {
  const match = (await target.lastMail(email)).match(/\b(\d{6})\b/);
  if (!match) throw new Error(`fuzz world: no code was mailed to ${email}`);
  return match[1]!;
}

// ---------------------------------------------------------------------------------------------
// Forged credentials.

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Headers that must each be refused with 401 (or ignored on public routes), never a 5xx. */
export function forgedCredentials(world: World): Record<string, string>[] {
  const real = world.member.accessToken;
  const [header, payload, signature] = real.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const realHeader = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
  const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const es256 = (h: unknown, p: unknown) => {
    const input = `${b64url(h)}.${b64url(p)}`;
    const sig = cryptoSign('sha256', Buffer.from(input), {
      key: otherKey.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${sig.toString('base64url')}`;
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const cookie = (value: string) => ({ cookie: `gatehouse_session=${encodeURIComponent(value)}` });
  return [
    bearer('garbage'),
    bearer('a.b.c'),
    bearer('x'.repeat(8_000)),
    { authorization: 'Bearer' },
    { authorization: 'Basic dXNlcjpwYXNz' },
    { authorization: `Bearer ${real} extra` },
    // alg none, with the real claims and key id
    bearer(`${b64url({ ...realHeader, alg: 'none' })}.${payload}.`),
    // a key of our own under the server's key id
    bearer(es256(realHeader, claims)),
    // expired (and so re-signed: the server's signature no longer fits), and the real signature
    // over changed claims
    bearer(es256(realHeader, { ...claims, exp: 1_000_000, iat: 999_000 })),
    bearer(`${header}.${b64url({ ...claims, exp: 1_000_000 })}.${signature}`),
    bearer(`${header}.${b64url({ ...claims, sub: world.admin.userId })}.${signature}`),
    bearer(`${b64url({ ...realHeader, alg: 'HS256' })}.${payload}.${signature}`),
    // API keys that do not exist, in both places a key may come
    { 'x-api-key': `gh_${randomBytes(30).toString('base64url')}` },
    bearer(`gh_${randomBytes(30).toString('base64url')}`),
    { 'x-api-key': '' },
    { 'x-api-key': 'x'.repeat(5_000) },
    // cookies: garbage, a real session with a wrong or no CSRF token
    cookie('garbage'),
    cookie(`${world.member.sessionId}.${'A'.repeat(43)}`),
    { ...cookie(world.memberCookie.session), 'x-csrf-token': 'wrong' },
    { ...cookie(world.memberCookie.session), 'x-csrf-token': `${world.memberCookie.csrf}x` },
    cookie(world.memberCookie.session),
  ];
}

/**
 * Mends what a fuzz run breaks in the world and answers whether it could: a role whose session
 * was ended (logout, sessions revoked, password changed) signs in again; a revoked API key is
 * replaced. A world whose organization, owner or member changed beyond that (deleted,
 * transferred, suspended, removed) answers false and is built anew.
 */
export async function repairWorld(target: Target, world: World): Promise<boolean> {
  for (const actor of [world.member, world.owner, world.admin]) {
    if ((await call(target, 'GET', '/v1/me', { token: actor.accessToken })).status === 200)
      continue;
    const again = await call(target, 'POST', '/v1/auth/login', {
      body: { email: actor.email, password: PASSWORD },
    });
    if (again.status !== 200 || !again.json?.access_token) return false;
    actor.accessToken = again.json.access_token;
    actor.refreshToken = again.json.refresh_token;
    actor.sessionId = again.json.session_id;
  }
  const byCookie = await call(target, 'GET', '/v1/me', {
    headers: { cookie: `gatehouse_session=${encodeURIComponent(world.memberCookie.session)}` },
  });
  if (byCookie.status !== 200) {
    const again = await call(target, 'POST', '/v1/auth/login', {
      body: { email: world.member.email, password: PASSWORD, mode: 'cookie' },
    });
    if (again.status !== 200) return false;
    world.memberCookie = {
      session: cookieValue(again.headers, 'gatehouse_session'),
      csrf: String(again.json?.csrf_token ?? ''),
    };
  }
  const base = `/v1/organizations/${world.orgId}`;
  const org = await call(target, 'GET', base, { token: world.owner.accessToken });
  if (org.status !== 200 || org.json?.owner_id !== world.owner.userId) return false;
  const asMember = await call(target, 'GET', `${base}/accounts`, {
    token: world.member.accessToken,
  });
  if (asMember.status !== 200) return false;
  const asKey = await call(target, 'GET', `${base}/accounts`, {
    headers: { 'x-api-key': world.apiKeySecret },
  });
  if (asKey.status !== 200) {
    const key = await call(target, 'POST', `${base}/api-keys`, {
      token: world.owner.accessToken,
      body: { name: 'fuzz key', grants: [{ role: 'admin', scope: world.orgId }] },
    });
    if (key.status !== 201) return false;
    world.apiKeyId = key.json.id;
    world.apiKeySecret = key.json.secret;
  }
  return true;
}
