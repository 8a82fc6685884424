/**
 * Malformed input on the role routes: wrong types, missing and unknown fields, bad keys, bad
 * JSON. Every one is a 4xx problem+json, never a 500 (SPEC section 6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { createOrg, createRole } from '../../../test/seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'team', 'Roles Input Org');
  const made = await createRole(ctx, owner, org.id, {
    key: 'kept',
    permissions: ['accounts:read'],
  });
  if (made.status !== 201) throw new Error(made.text);
});
afterAll(async () => {
  await ctx?.close();
});

const send = (method: string, url: string, body?: unknown) =>
  ctx.request(method, url, { token: owner.accessToken, body });
const raw = (method: string, url: string, payload: string) =>
  ctx.request(method, url, {
    token: owner.accessToken,
    body: payload,
    headers: { 'content-type': 'application/json' },
  });
const roles = () => `/v1/organizations/${org.id}/roles`;
const ok = { key: 'fine', name: 'Fine', permissions: ['accounts:read'] };

describe('POST roles', () => {
  it.each([
    ['no key', { name: 'X', permissions: ['accounts:read'] }],
    ['no name', { key: 'x', permissions: ['accounts:read'] }],
    ['no permissions', { key: 'x', name: 'X' }],
    ['a key with spaces', { ...ok, key: 'Bad Key' }],
    ['a key in capitals', { ...ok, key: 'Admin2' }],
    ['a numeric key', { ...ok, key: 5 }],
    ['permissions as a string', { ...ok, permissions: 'accounts:read' }],
    ['empty permissions', { ...ok, permissions: [] }],
    ['a numeric permission', { ...ok, permissions: [5] }],
    ['an empty permission', { ...ok, permissions: [''] }],
    ['a malformed permission', { ...ok, permissions: ['accounts'] }],
    ['too many permissions', { ...ok, permissions: Array(201).fill('accounts:read') }],
    ['an unknown scope level', { ...ok, grantable_at: ['planet'] }],
    ['no scope level', { ...ok, grantable_at: [] }],
    ['a product in capitals', { ...ok, product: 'Video' }],
    ['an unknown product', { ...ok, product: 'audio' }],
    ['a description too long', { ...ok, description: 'd'.repeat(501) }],
    ['an unknown field', { ...ok, built_in: true }],
    [
      'a product role listing only another product',
      { ...ok, product: 'video', permissions: ['image.sources:read'] },
    ],
  ])('refuses %s with 400', async (_, body) => {
    expectProblem(await send('POST', roles(), body), 400, 'validation_failed');
  });

  it('refuses bad JSON with 400 malformed_json', async () => {
    expectProblem(await raw('POST', roles(), '{"key": "x", '), 400, 'malformed_json');
  });

  it('none of the refused roles exists afterwards', async () => {
    const res = await send('GET', roles());
    expect(res.body.data.map((r: { key: string }) => r.key).sort()).toEqual([
      'admin',
      'kept',
      'owner',
      'user',
    ]);
  });
});

describe('PATCH roles/{key}', () => {
  it.each([
    ['a key change', { key: 'renamed' }],
    ['empty permissions', { permissions: [] }],
    ['an unknown permission', { permissions: ['accounts:reed'] }],
    ['an unknown product', { product: 'audio' }],
    ['a numeric name', { name: 1 }],
    ['an unknown scope level', { grantable_at: ['galaxy'] }],
    ['built_in', { built_in: false }],
  ])('refuses %s with 400', async (_, body) => {
    expectProblem(await send('PATCH', `${roles()}/kept`, body), 400, 'validation_failed');
  });

  it('refuses bad JSON with 400 malformed_json, and the role is unchanged', async () => {
    expectProblem(await raw('PATCH', `${roles()}/kept`, '{"name": }'), 400, 'malformed_json');
    const got = await send('GET', `${roles()}/kept`);
    expect(got.body).toMatchObject({ key: 'kept', permissions: ['accounts:read'] });
  });
});

describe('role keys and replace_with', () => {
  it.each([['Not A Key'], ['%00'], ['acc_x'], ['../admin']])(
    'key %s is 404 on get, patch and delete',
    async (key) => {
      const url = `${roles()}/${encodeURIComponent(key)}`;
      expectProblem(await send('GET', url), 404, 'not_found');
      expectProblem(await send('PATCH', url, { name: 'x' }), 404, 'not_found');
      expectProblem(await send('DELETE', url), 404, 'not_found');
    },
  );

  it('a key longer than any key is 400', async () => {
    expectProblem(await send('GET', `${roles()}/${'k'.repeat(80)}`), 400, 'validation_failed');
  });

  it.each([['Bad Key'], [''], ['x'.repeat(80)]])('replace_with=%s is 400', async (replacement) => {
    expectProblem(
      await send('DELETE', `${roles()}/kept?replace_with=${encodeURIComponent(replacement)}`),
      400,
      'validation_failed',
    );
  });
});

describe('catalog routes', () => {
  it('ignore a bearer token that is not valid: they are public', async () => {
    for (const url of ['/v1/permissions', '/v1/templates']) {
      const res = await ctx.request('GET', url, { token: 'garbage' });
      expect(res.status).toBe(200);
    }
  });
});
