/**
 * Malformed input on the organization routes: wrong types, missing and unknown fields, bad ids,
 * bad JSON. Every one is a 4xx problem+json with a stable code, never a 500 (SPEC section 6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { addMember, createAccount, createOrg } from '../../../test/seed';

let ctx: TestContext;
let owner: SignedIn;
let member: SignedIn;
let org: { id: string; name: string };
let account: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'media', 'Input Org');
  account = await createAccount(ctx, owner, org.id);
  member = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
});
afterAll(async () => {
  await ctx?.close();
});

/** Sends a raw body with a JSON content type. */
const raw = (method: string, url: string, payload: string, contentType = 'application/json') =>
  ctx.request(method, url, {
    token: owner.accessToken,
    body: payload,
    headers: { 'content-type': contentType },
  });

const send = (method: string, url: string, body?: unknown) =>
  ctx.request(method, url, { token: owner.accessToken, body });

const UNKNOWN_USER = 'usr_00000000000000000000000000';

describe('POST /v1/organizations', () => {
  it.each([
    ['no name', {}],
    ['a numeric name', { name: 42 }],
    ['an empty name', { name: '' }],
    ['a blank name', { name: '   ' }],
    ['a name too long', { name: 'x'.repeat(121) }],
    ['an unknown field', { name: 'Acme', owner_id: UNKNOWN_USER }],
    ['a slug with spaces', { name: 'Acme', slug: 'Bad Slug' }],
    ['a slug starting with a dash', { name: 'Acme', slug: '-acme' }],
    ['a numeric template', { name: 'Acme', template: 7 }],
    ['an empty template', { name: 'Acme', template: '' }],
    ['nested settings', { name: 'Acme', settings: { a: { b: 1 } } }],
    ['settings as a string', { name: 'Acme', settings: 'dark' }],
    ['a policy of the wrong type', { name: 'Acme', policies: { require_mfa: 'yes' } }],
    ['an unknown policy', { name: 'Acme', policies: { require_vpn: true } }],
    ['an expiry of 0 days', { name: 'Acme', policies: { invitation_expiry_days: 0 } }],
    ['an unknown login method', { name: 'Acme', policies: { allowed_login_methods: ['fax'] } }],
    ['an array body', [{ name: 'Acme' }]],
    ['a null body', null],
  ])('refuses %s with 400 validation_failed', async (_, body) => {
    const res =
      body === null
        ? await raw('POST', '/v1/organizations', 'null')
        : await send('POST', '/v1/organizations', body);
    expectProblem(res, 400, 'validation_failed');
  });

  it('refuses settings larger than 8 KiB, as an update would', async () => {
    const settings = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]),
    );
    expectProblem(
      await send('POST', '/v1/organizations', { name: 'Big', settings }),
      400,
      'validation_failed',
    );
  });

  it('refuses a body that is not JSON with 400 malformed_json', async () => {
    expectProblem(await raw('POST', '/v1/organizations', '{"name":'), 400, 'malformed_json');
  });

  it('refuses an empty JSON body with 400', async () => {
    const res = await raw('POST', '/v1/organizations', '');
    expect(res.status).toBe(400);
    expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  });

  it('refuses a body that is not JSON at all with 415', async () => {
    expectProblem(
      await raw('POST', '/v1/organizations', 'name=Acme', 'application/x-www-form-urlencoded'),
      415,
      'unsupported_media_type',
    );
  });

  it('refuses a bad bearer token with 401', async () => {
    expectProblem(
      await ctx.request('POST', '/v1/organizations', {
        token: 'not-a-jwt',
        body: { name: 'Acme' },
      }),
      401,
      'invalid_token',
    );
  });
});

describe('GET /v1/organizations', () => {
  it.each([
    ['limit=0'],
    ['limit=101'],
    ['limit=abc'],
    ['limit=1.5'],
    [`cursor=${'x'.repeat(201)}`],
  ])('refuses ?%s with 400', async (query) => {
    expectProblem(await send('GET', `/v1/organizations?${query}`), 400, 'validation_failed');
  });

  it('a cursor that is not an id just yields an empty page, not an error', async () => {
    const res = await send('GET', '/v1/organizations?cursor=zzz-not-an-id');
    expect(res.status).toBe(200);
  });
});

describe('organization ids', () => {
  it.each([
    ['an unknown org id', 'org_00000000000000000000000000'],
    ['a short id', 'org_x'],
    ['an account id', 'acc_x'],
    ['an account id that exists', () => account.id],
    ['garbage', 'not-an-id'],
    ['an encoded slash', 'org_%2F..'],
  ])('%s is 404 on GET, PATCH, switch and members', async (_, id) => {
    const orgId = typeof id === 'function' ? id() : id;
    expectProblem(await send('GET', `/v1/organizations/${orgId}`), 404, 'not_found');
    expectProblem(
      await send('PATCH', `/v1/organizations/${orgId}`, { name: 'x' }),
      404,
      'not_found',
    );
    expectProblem(await send('POST', `/v1/organizations/${orgId}/switch`), 404, 'not_found');
    expectProblem(
      await send('POST', `/v1/organizations/${orgId}/transfer-ownership`, {
        user_id: member.userId,
      }),
      404,
      'not_found',
    );
  });

  it('an id longer than any id is 400', async () => {
    expectProblem(
      await send('GET', `/v1/organizations/org_${'x'.repeat(80)}`),
      400,
      'validation_failed',
    );
  });
});

describe('PATCH /v1/organizations/{org}', () => {
  it.each([
    ['a null name', { name: null }],
    ['an unknown field', { template: 'team' }],
    ['owner_id (ownership moves only by transfer)', { owner_id: UNKNOWN_USER }],
    ['null policies', { policies: null }],
    ['settings as an array', { settings: ['a'] }],
    ['an unknown policy', { policies: { unknown: 1 } }],
    ['an expiry over 90 days', { policies: { invitation_expiry_days: 91 } }],
    ['a session idle timeout under 5 minutes', { policies: { session_idle_timeout_minutes: 1 } }],
  ])('refuses %s with 400', async (_, body) => {
    expectProblem(
      await send('PATCH', `/v1/organizations/${org.id}`, body),
      400,
      'validation_failed',
    );
  });

  it('refuses settings larger than 8 KiB with 400', async () => {
    const settings = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]),
    );
    expectProblem(
      await send('PATCH', `/v1/organizations/${org.id}`, { settings }),
      400,
      'validation_failed',
    );
  });

  it('refuses bad JSON with 400 malformed_json, and nothing changes', async () => {
    expectProblem(
      await raw('PATCH', `/v1/organizations/${org.id}`, '{"name": "x",}'),
      400,
      'malformed_json',
    );
    const got = await send('GET', `/v1/organizations/${org.id}`);
    expect(got.body.name).toBe(org.name);
  });
});

describe('DELETE /v1/organizations/{org}', () => {
  it.each([
    ['no body', undefined],
    ['an empty object', {}],
    ['a numeric confirm_name', { confirm_name: 1 }],
    ['an unknown field', { confirm_name: 'Input Org', force: true }],
  ])('refuses %s with 400, and the organization stays', async (_, body) => {
    expectProblem(
      await send('DELETE', `/v1/organizations/${org.id}`, body),
      400,
      'validation_failed',
    );
    expect((await send('GET', `/v1/organizations/${org.id}`)).status).toBe(200);
  });
});

describe('ownership transfer', () => {
  const url = () => `/v1/organizations/${org.id}/transfer-ownership`;

  it.each([
    ['no body', undefined],
    ['no user_id', {}],
    ['a numeric user_id', { user_id: 123 }],
    ['a malformed user_id', { user_id: 'usr_x' }],
    ['an organization id as user_id', { user_id: 'org_00000000000000000000000000' }],
    ['an unknown field', { user_id: UNKNOWN_USER, note: 'hi' }],
  ])('refuses %s with 400', async (_, body) => {
    expectProblem(await send('POST', url(), body), 400, 'validation_failed');
  });

  it('refuses a well-formed id of nobody with 400, and no offer is made', async () => {
    expectProblem(await send('POST', url(), { user_id: UNKNOWN_USER }), 400, 'validation_failed');
    const offers = await send('GET', `/v1/organizations/${org.id}/ownership-offers`);
    expect(offers.body.data).toEqual([]);
  });

  it("the account route given the organization's own id is 404 and offers nothing", async () => {
    const res = await send(
      'POST',
      `/v1/organizations/${org.id}/accounts/${org.id}/transfer-ownership`,
      {
        user_id: member.userId,
      },
    );
    expectProblem(res, 404, 'not_found');
    const offers = await send('GET', `/v1/organizations/${org.id}/ownership-offers`);
    expect(offers.body.data).toEqual([]);
  });

  it.each([['acc_x'], ['acc_00000000000000000000000000'], ['res_00000000000000000000000000']])(
    'the account route with account %s is 404',
    async (accountId) => {
      expectProblem(
        await send('POST', `/v1/organizations/${org.id}/accounts/${accountId}/transfer-ownership`, {
          user_id: member.userId,
        }),
        404,
        'not_found',
      );
    },
  );

  it.each([['accept'], ['decline']])('%s with an unknown offer id is 404', async (answer) => {
    for (const id of ['x', 'tok_00000000000000000000000000', org.id]) {
      expectProblem(
        await send('POST', `/v1/organizations/${org.id}/ownership-offers/${id}/${answer}`),
        404,
        'not_found',
      );
    }
  });

  it('withdrawing an unknown offer is 404', async () => {
    expectProblem(
      await send(
        'DELETE',
        `/v1/organizations/${org.id}/ownership-offers/tok_00000000000000000000000000`,
      ),
      404,
      'not_found',
    );
  });
});
