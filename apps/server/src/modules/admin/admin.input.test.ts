/**
 * Malformed input on every platform-administration route: a 4xx problem+json, never a 500, on
 * both engines (SPEC section 6).
 * @see issue 4, item 8
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
  type TestResponse,
} from '../../../test/harness';
import { platformAdmin } from '../../../test/seed';

let ctx: TestContext;
let admin: SignedIn;

beforeAll(async () => {
  ctx = await createTestContext();
  admin = await platformAdmin(ctx);
});
afterAll(async () => {
  await ctx?.close();
});

function expect4xx(res: TestResponse) {
  expect(res.status, res.text).toBeGreaterThanOrEqual(400);
  expect(res.status, res.text).toBeLessThan(500);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(res.text).not.toContain('    at ');
}

const owner = { email: 'owner@example.com', first_name: 'O', last_name: 'W' };
const create = (body: unknown) =>
  ctx.request('POST', '/v1/admin/customers', { token: admin.accessToken, body });

describe('POST /v1/admin/customers', () => {
  it.each([
    ['an empty body', {}],
    ['no owner', { name: 'Acme' }],
    ['no name', { owner }],
    ['a blank name', { name: '   ', owner }],
    ['a name too long', { name: 'x'.repeat(121), owner }],
    ['a name with a NUL byte', { name: 'Ac\u0000me', owner }],
    ['a numeric name', { name: 7, owner }],
    ['an owner without email', { name: 'Acme', owner: { first_name: 'A', last_name: 'B' } }],
    ['an owner with a bad email', { name: 'Acme', owner: { ...owner, email: 'nope' } }],
    [
      'an owner email with a NUL byte',
      { name: 'Acme', owner: { ...owner, email: 'a\u0000@example.com' } },
    ],
    ['an owner without names', { name: 'Acme', owner: { email: 'a@example.com' } }],
    ['an owner name with a NUL byte', { name: 'Acme', owner: { ...owner, first_name: 'A\u0000' } }],
    ['an owner with an unknown field', { name: 'Acme', owner: { ...owner, password: 'x' } }],
    ['an owner that is a string', { name: 'Acme', owner: 'owner@example.com' }],
    ['an unknown field', { name: 'Acme', owner, plan: 'gold' }],
    ['a malformed slug', { name: 'Acme', owner, slug: '-bad-' }],
    ['a slug with spaces', { name: 'Acme', owner, slug: 'a b' }],
    ['a slug too long', { name: 'Acme', owner, slug: 'a'.repeat(64) }],
    ['an unknown template', { name: 'Acme', owner, template: 'nope' }],
    ['a template with a NUL byte', { name: 'Acme', owner, template: 'media\u0000' }],
    ['a template of the wrong type', { name: 'Acme', owner, template: ['media'] }],
    ['an array body', [{ name: 'Acme', owner }]],
  ])('%s → 400', async (_l, body) => {
    expectProblem(await create(body), 400, 'validation_failed');
  });

  it('broken JSON → malformed_json', async () => {
    expectProblem(
      await ctx.request('POST', '/v1/admin/customers', {
        token: admin.accessToken,
        body: '{"name":',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'malformed_json',
    );
  });

  it('a form body → 415', async () => {
    expectProblem(
      await ctx.request('POST', '/v1/admin/customers', {
        token: admin.accessToken,
        body: 'name=Acme',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'unsupported_media_type',
    );
  });

  it('none of the refused requests created an organization or a user', async () => {
    const orgs = await ctx.database.db.selectFrom('organizations').select('id').execute();
    expect(orgs).toEqual([]);
    const owners = await ctx.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', owner.email)
      .execute();
    expect(owners).toEqual([]);
  });
});

describe('list queries', () => {
  it.each(['/v1/admin/customers', '/v1/admin/users'])(
    '%s refuses bad limits and cursors',
    async (base) => {
      for (const q of [
        '?limit=0',
        '?limit=101',
        '?limit=x',
        '?limit=-5',
        `?cursor=${'c'.repeat(65)}`,
        '?cursor=%00',
        '?search=%00',
        `?search=${'s'.repeat(101)}`,
        '?status=%00',
        `?status=${'s'.repeat(21)}`,
      ]) {
        const res = await ctx.request('GET', `${base}${q}`, { token: admin.accessToken });
        expect4xx(res);
        expect(res.status, q).toBe(400);
      }
    },
  );

  it.each(['/v1/admin/customers', '/v1/admin/users'])(
    '%s answers odd but well-formed queries with 200',
    async (base) => {
      for (const q of [
        '?search=%25%25%25',
        '?search=___',
        `?search=${encodeURIComponent("' or 1=1 --")}`,
        `?search=${encodeURIComponent('\\')}`,
        '?search=%F0%9F%98%80',
        '?status=unknown',
        '?cursor=zzzz',
        '?search=',
      ]) {
        const res = await ctx.request('GET', `${base}${q}`, { token: admin.accessToken });
        expect(res.status, `${q} ${res.text}`).toBe(200);
      }
    },
  );
});

describe('one customer or user in the path', () => {
  const paths = (id: string) => [
    ['GET', `/v1/admin/customers/${id}`],
    ['POST', `/v1/admin/customers/${id}/suspend`],
    ['POST', `/v1/admin/customers/${id}/reactivate`],
    ['POST', `/v1/admin/users/${id}/suspend`],
    ['POST', `/v1/admin/users/${id}/reactivate`],
    ['POST', `/v1/admin/users/${id}/deactivate`],
  ];

  it.each([
    ['unknown', 'org_00000000000000000000000000', 404],
    ['malformed', 'nope', 404],
    ['SQL-looking', encodeURIComponent("x' or '1'='1"), 404],
    ['with a NUL byte', 'x%00', 400],
    ['too long', 'x'.repeat(65), 400],
  ])('an id %s → 4xx', async (_l, id, status) => {
    for (const [method, url] of paths(id)) {
      const res = await ctx.request(method!, url!, { token: admin.accessToken });
      expect4xx(res);
      expect(res.status, `${method} ${url}`).toBe(status);
    }
  });

  it('a JSON body on a suspend is ignored, broken JSON refused', async () => {
    const res = await ctx.request(
      'POST',
      '/v1/admin/users/usr_00000000000000000000000000/suspend',
      {
        token: admin.accessToken,
        body: '{"a":',
        headers: { 'content-type': 'application/json' },
      },
    );
    expectProblem(res, 400, 'malformed_json');
  });
});
