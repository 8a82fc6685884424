import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type SignedIn, type TestContext } from '../../test/harness';
import { apiKey, createAccount, createOrg } from '../../test/seed';

/**
 * The OpenAPI document states each operation's security (issue 10 #18): the public routes need
 * nothing (no lock in /docs), signed-in routes a bearer token or the session cookie, and an API
 * key where one is accepted. The document is checked against a list of the known public
 * routes, and against what the server does when called without credentials or with a key.
 */

/** Every route that answers without credentials (SPEC: health, sign-up and sign-in flows, …). */
const PUBLIC = [
  'GET /health',
  'GET /ready',
  'GET /metrics',
  'GET /.well-known/jwks.json',
  'POST /v1/auth/register',
  'POST /v1/auth/verify-email',
  'POST /v1/auth/resend-otp',
  'POST /v1/auth/login',
  'POST /v1/auth/token/refresh',
  'POST /v1/auth/password/forgot',
  'POST /v1/auth/password/forgot/verify',
  'POST /v1/auth/password/reset',
  'POST /v1/auth/account-exists',
  'POST /v1/auth/mfa/verify',
  'POST /v1/auth/mfa/sms',
  'GET /v1/auth/oauth/providers',
  'GET /v1/auth/oauth/{provider}/start',
  'GET /v1/auth/oauth/{provider}/callback',
  'POST /v1/auth/oauth/exchange',
  'POST /v1/auth/api-access-check',
  'GET /v1/avatars/{id}',
  'POST /v1/setup',
  'GET /v1/permissions',
  'GET /v1/templates',
  'GET /v1/invitations/{token}',
  'POST /v1/invitations/{token}/reject',
];
/** Routes that serve both: anonymous callers and signed-in users. */
const OPTIONAL = ['POST /v1/invitations/{token}/accept'];
/** Public routes added since the list was written, known to be public by their own tests. */
const ALSO_PUBLIC = ['POST /v1/auth/oauth/link/confirm'];

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is read as plain JSON
type Json = any;
interface Operation {
  name: string;
  method: string;
  path: string;
  security: Record<string, string[]>[] | undefined;
}

let ctx: TestContext;
let doc: Json;
let ops: Operation[];
let owner: SignedIn;
let ids: Record<string, string>;
let keySecret: string;
beforeAll(async () => {
  ctx = await createTestContext();
  doc = (await ctx.request('GET', '/openapi.json')).body;
  ops = Object.entries<Json>(doc.paths).flatMap(([path, byMethod]) =>
    Object.entries<Json>(byMethod).map(([method, op]) => ({
      name: `${method.toUpperCase()} ${path}`,
      method: method.toUpperCase(),
      path,
      security: op.security,
    })),
  );
  owner = await ctx.signUp();
  const orgId = (await createOrg(ctx, owner)).id;
  const accountId = (await createAccount(ctx, owner, orgId)).id;
  ids = { orgId, accountId, userId: owner.userId, roleKey: 'admin' };
  keySecret = (await apiKey(ctx, owner, orgId, [{ role: 'admin', scope: orgId }])).secret;
});
afterAll(async () => {
  await ctx?.close();
});

/** A URL for an operation: known ids where there are some, a well-formed unknown id otherwise. */
const urlOf = (op: Operation) =>
  op.path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? 'x_00000000000000000000000000');

describe('OpenAPI security requirements', () => {
  // @see issue 10 #18
  it('mark the known public routes, and only those, as needing nothing', () => {
    const known = [...PUBLIC, ...ALSO_PUBLIC];
    const open = ops.filter((op) => Array.isArray(op.security) && op.security.length === 0);
    // No other route is documented as public…
    expect(open.map((op) => op.name).filter((name) => !known.includes(name))).toEqual([]);
    // …and every known public route the document has shows no lock (a route may be retired).
    const present = ops.filter((op) => known.includes(op.name));
    expect(present.length).toBeGreaterThan(20);
    for (const op of present) expect(op.security, op.name).toEqual([]);
    for (const name of ['GET /health', 'POST /v1/auth/register', 'POST /v1/auth/login'])
      expect(open.map((op) => op.name)).toContain(name);
  });

  // @see issue 10 #18
  it('let the optional routes be called anonymously or signed in', () => {
    const optional = ops.filter((op) => op.security?.some((r) => Object.keys(r).length === 0));
    expect(optional.map((op) => op.name)).toEqual(OPTIONAL);
  });

  // @see issue 10 #18
  it('give every other operation a bearer token or the session cookie, and only known schemes', () => {
    const schemes = Object.keys(doc.components.securitySchemes).sort();
    expect(schemes).toEqual(['apiKey', 'bearer', 'cookie']);
    for (const op of ops) {
      expect(op.security, op.name).toBeDefined();
      if (op.security!.length === 0) continue;
      const names = op.security!.flatMap((r) => Object.keys(r));
      expect(names, op.name).toEqual(expect.arrayContaining(['bearer', 'cookie']));
      for (const n of names) expect(schemes, op.name).toContain(n);
    }
  });

  // @see issue 10 #18
  it('match the server: a route documented as public never answers 401 without credentials, the others always do', async () => {
    for (const op of ops) {
      const res = await ctx.request(op.method, urlOf(op), {
        ...(['POST', 'PUT', 'PATCH'].includes(op.method) ? { body: {} } : {}),
      });
      const anonymousAllowed =
        op.security!.length === 0 || op.security!.some((r) => Object.keys(r).length === 0);
      if (anonymousAllowed)
        expect(res.body?.code, `${op.name} answered ${res.status}`).not.toBe('unauthenticated');
      else
        expect(`${op.name} ${res.status} ${res.body?.code}`).toBe(`${op.name} 401 unauthenticated`);
    }
  });

  // @see issue 10 #18
  it('match the server on API keys: a key is refused exactly where the document leaves it out', async () => {
    let checked = 0;
    // Reads only: a body-less request reaches the handler, which is where a key is refused.
    for (const op of ops.filter((o) => o.method === 'GET' && (o.security?.length ?? 0) > 0)) {
      const res = await ctx.request('GET', urlOf(op), { headers: { 'x-api-key': keySecret } });
      const refused =
        res.body?.reason === 'user_required' || res.body?.code === 'platform_admin_required';
      const documented = op.security!.some((r) => 'apiKey' in r);
      expect(`${op.name}: ${refused ? 'refuses' : 'accepts'} keys`).toBe(
        `${op.name}: ${documented ? 'accepts' : 'refuses'} keys`,
      );
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });
});
