/**
 * Malformed input on the account and resource routes: wrong types, missing and unknown fields,
 * ids of the wrong kind, bad JSON. Every one is a 4xx problem+json, never a 500 (SPEC section 6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { createAccount, createOrg, createResource } from '../../../test/seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };
let account: { id: string };
let resource: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'media', 'Account Input Org');
  account = await createAccount(ctx, owner, org.id, 'video', 'Kept');
  resource = await createResource(ctx, owner, org.id, account.id, 'folder', 'Kept');
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
const accounts = () => `/v1/organizations/${org.id}/accounts`;
const resources = (accountId = account.id) => `${accounts()}/${accountId}/resources`;

describe('POST accounts', () => {
  it.each([
    ['no body fields', {}],
    ['no product', { name: 'A' }],
    ['no name', { product: 'video' }],
    ['a numeric product', { name: 'A', product: 5 }],
    ['a product in capitals', { name: 'A', product: 'Video' }],
    ['an unknown product', { name: 'A', product: 'audio' }],
    ['an empty name', { name: '', product: 'video' }],
    ['a malformed owner_id', { name: 'A', product: 'video', owner_id: 'usr_x' }],
    ['a numeric owner_id', { name: 'A', product: 'video', owner_id: 42 }],
    [
      'an unknown owner',
      { name: 'A', product: 'video', owner_id: 'usr_00000000000000000000000000' },
    ],
    ['an unknown field', { name: 'A', product: 'video', organization_id: 'org_x' }],
    ['an array', [{ name: 'A', product: 'video' }]],
  ])('refuses %s with 400', async (_, body) => {
    expectProblem(await send('POST', accounts(), body), 400, 'validation_failed');
  });

  it('refuses bad JSON with 400 malformed_json', async () => {
    expectProblem(await raw('POST', accounts(), '{"name":"A","product":'), 400, 'malformed_json');
  });
});

describe('GET accounts', () => {
  it.each([['limit=0'], ['limit=x'], ['limit=500'], [`cursor=${'c'.repeat(201)}`]])(
    'refuses ?%s with 400',
    async (query) => {
      expectProblem(await send('GET', `${accounts()}?${query}`), 400, 'validation_failed');
    },
  );
});

describe('account ids', () => {
  it.each([
    ['acc_x', () => 'acc_x'],
    ['an unknown acc_ id', () => 'acc_00000000000000000000000000'],
    ["the organization's own id", () => org.id],
    ['a resource id', () => resource.id],
    ['garbage', () => 'drop table accounts'],
  ])('%s is 404 on get, rename, delete and listing resources', async (_, id) => {
    const url = `${accounts()}/${encodeURIComponent(id())}`;
    expectProblem(await send('GET', url), 404, 'not_found');
    expectProblem(await send('PATCH', url, { name: 'x' }), 404, 'not_found');
    expectProblem(await send('DELETE', url), 404, 'not_found');
    expectProblem(await send('GET', `${url}/resources`), 404, 'not_found');
  });

  it.each([
    ['acc_x', () => 'acc_x'],
    ["the organization's own id", () => org.id],
    ['a resource id', () => resource.id],
  ])('creating a resource under %s is 404 and creates nothing', async (_, id) => {
    expectProblem(
      await send('POST', resources(id()), { name: 'Stray', type: 'room' }),
      404,
      'not_found',
    );
    const rows = await ctx.database.db
      .selectFrom('resources')
      .select('id')
      .where('organization_id', '=', org.id)
      .where('name', '=', 'Stray')
      .execute();
    expect(rows).toEqual([]);
  });

  it('an id longer than any id is 400', async () => {
    expectProblem(
      await send('GET', `${accounts()}/acc_${'x'.repeat(80)}`),
      400,
      'validation_failed',
    );
  });

  it('the account is untouched by all of the above', async () => {
    const got = await send('GET', `${accounts()}/${account.id}`);
    expect(got.body.name).toBe('Kept');
  });
});

describe('PATCH accounts', () => {
  it.each([
    ['a numeric name', { name: 5 }],
    ['an empty name', { name: '' }],
    ['a product change', { product: 'image' }],
    [
      'an owner change (ownership moves by transfer)',
      { owner_id: 'usr_00000000000000000000000000' },
    ],
  ])('refuses %s with 400', async (_, body) => {
    expectProblem(
      await send('PATCH', `${accounts()}/${account.id}`, body),
      400,
      'validation_failed',
    );
  });

  it('an empty patch changes nothing', async () => {
    const res = await send('PATCH', `${accounts()}/${account.id}`, {});
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('Kept');
  });
});

describe('resources', () => {
  it.each([
    ['no type', { name: 'R' }],
    ['no name', { type: 'room' }],
    ['a type with spaces', { name: 'R', type: 'Room Type' }],
    ['a numeric parent_id', { name: 'R', type: 'room', parent_id: 5 }],
    ['an unknown parent', { name: 'R', type: 'room', parent_id: 'res_x' }],
    ['the account as parent', { name: 'R', type: 'room', parent_id: 'ACCOUNT' }],
    ['an unknown field', { name: 'R', type: 'room', account_id: 'acc_x' }],
  ])('refuses %s with 400', async (_, body) => {
    const b = { ...body } as Record<string, unknown>;
    if (b.parent_id === 'ACCOUNT') b.parent_id = account.id;
    expectProblem(await send('POST', resources(), b), 400, 'validation_failed');
  });

  it.each([
    ['res_x', () => 'res_x'],
    ['an unknown res_ id', () => 'res_00000000000000000000000000'],
    ['the account id', () => account.id],
    ["the organization's id", () => org.id],
  ])('resource %s is 404 on get, rename and delete', async (_, id) => {
    const url = `${resources()}/${id()}`;
    expectProblem(await send('GET', url), 404, 'not_found');
    expectProblem(await send('PATCH', url, { name: 'x' }), 404, 'not_found');
    expectProblem(await send('DELETE', url), 404, 'not_found');
  });

  it('refuses a rename to a number or to nothing with 400', async () => {
    for (const body of [{ name: 1 }, { name: '' }, { type: 'room' }]) {
      expectProblem(
        await send('PATCH', `${resources()}/${resource.id}`, body),
        400,
        'validation_failed',
      );
    }
  });

  it('refuses bad JSON with 400 malformed_json', async () => {
    expectProblem(await raw('POST', resources(), '{name: "R"}'), 400, 'malformed_json');
  });
});
