/**
 * Malformed input on every invitation route: wrong types, unknown and missing fields, bad ids
 * and tokens, NUL bytes, bad JSON, wrong content types. Every answer is a 4xx problem+json,
 * never a 500 (SPEC section 6), on both engines.
 * @see issue 4, item 8
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
  type TestResponse,
  uniqueEmail,
} from '../../../test/harness';
import { createOrg, inviteOne } from '../../../test/seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };
let invitation: { id: string; token: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'team', 'Input Invitations');
  invitation = await inviteOne(ctx, owner, org.id, uniqueEmail('input'));
});
afterAll(async () => {
  await ctx?.close();
});

/** A 4xx problem+json without a stack trace. */
function expect4xx(res: TestResponse) {
  expect(res.status, res.text).toBeGreaterThanOrEqual(400);
  expect(res.status, res.text).toBeLessThan(500);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toEqual(expect.any(String));
  expect(res.text).not.toContain('    at ');
}

const send = (body: unknown) =>
  ctx.request('POST', `/v1/organizations/${org.id}/invitations`, {
    token: owner.accessToken,
    body,
  });
const raw = (method: string, url: string, payload: string, contentType = 'application/json') =>
  ctx.request(method, url, {
    token: owner.accessToken,
    body: payload,
    headers: { 'content-type': contentType },
  });

describe('POST /v1/organizations/{org}/invitations', () => {
  it.each([
    ['no body fields', {}],
    ['emails not an array', { emails: 'a@example.com' }],
    ['emails of numbers', { emails: [1, 2] }],
    ['emails of nulls', { emails: [null] }],
    ['emails of objects', { emails: [{ email: 'a@example.com' }] }],
    ['an address over 320 characters', { emails: [`${'x'.repeat(320)}@example.com`] }],
    ['grants not an array', { emails: ['a@example.com'], grants: { role: 'user' } }],
    ['a grant without scope', { emails: ['a@example.com'], grants: [{ role: 'user' }] }],
    [
      'a grant with both role and permissions',
      {
        emails: ['a@example.com'],
        grants: [{ role: 'user', permissions: ['x:y'], scope: 'org_00000000000000000000000000' }],
      },
    ],
    [
      'a grant with a malformed scope',
      { emails: ['a@example.com'], grants: [{ role: 'user', scope: 'nope' }] },
    ],
    [
      'a grant with empty permissions',
      {
        emails: ['a@example.com'],
        grants: [{ permissions: [], scope: 'org_00000000000000000000000000' }],
      },
    ],
    ['an unknown field', { emails: ['a@example.com'], role: 'admin' }],
    ['a message too long', { emails: ['a@example.com'], message: 'x'.repeat(1001) }],
    ['a message of the wrong type', { emails: ['a@example.com'], message: 42 }],
    ['offer_ownership not a boolean', { emails: ['a@example.com'], offer_ownership: 'yes' }],
    ['expires_in_days huge', { emails: ['a@example.com'], expires_in_days: 1e308 }],
    ['a JSON array body', [{ emails: ['a@example.com'] }]],
    ['a JSON string body', 'hello'],
    ['a JSON null body', null],
  ])('%s → 400', async (_label, body) => {
    const res =
      typeof body === 'string' || body === null
        ? await raw('POST', `/v1/organizations/${org.id}/invitations`, JSON.stringify(body))
        : await send(body);
    expectProblem(res, 400, 'validation_failed');
  });

  it('refuses broken JSON with malformed_json', async () => {
    expectProblem(
      await raw('POST', `/v1/organizations/${org.id}/invitations`, '{"emails": ['),
      400,
      'malformed_json',
    );
  });

  it('refuses a form body with 415', async () => {
    const res = await raw(
      'POST',
      `/v1/organizations/${org.id}/invitations`,
      'emails=a@example.com',
      'application/x-www-form-urlencoded',
    );
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('reports addresses holding control characters as invalid_email', async () => {
    const res = await send({ emails: ['b\u0007@example.com', 'c\u001b@example.com'] });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
      'invalid_email',
      'invalid_email',
    ]);
  });

  it('refuses a request with a NUL byte anywhere with 400, writing nothing (a global rule)', async () => {
    expectProblem(
      await send({ emails: ['a\u0000@example.com', 'ok@example.com'] }),
      400,
      'validation_failed',
    );
  });

  it('reports unicode look-alike and emoji addresses per address, without failing', async () => {
    const res = await send({ emails: ['ünïcödé@exämple.com', '😀@example.com', 'ok@example.com'] });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(3);
  });

  it('refuses a message with a NUL byte (PostgreSQL cannot store it) with a 400', async () => {
    const res = await send({ emails: [uniqueEmail('nul-msg')], message: 'hi\u0000there' });
    expectProblem(res, 400, 'validation_failed');
  });

  it.each([
    ['an unknown org id', 'org_00000000000000000000000000'],
    ['a malformed org id', 'nope'],
    ['a NUL byte', '%00'],
    ['an id too long', 'x'.repeat(65)],
    ['percent garbage', '%E0%A4%A'],
  ])('%s in the path → 4xx', async (_l, id) => {
    expect4xx(
      await ctx.request('POST', `/v1/organizations/${id}/invitations`, {
        token: owner.accessToken,
        body: { emails: ['a@example.com'] },
      }),
    );
  });
});

describe('GET /v1/organizations/{org}/invitations', () => {
  it.each([
    ['limit=0', '?limit=0'],
    ['limit=101', '?limit=101'],
    ['limit=abc', '?limit=abc'],
    ['limit=-1', '?limit=-1'],
    ['limit=1.5', '?limit=1.5'],
    ['an unknown status', '?status=lost'],
    ['a cursor too long', `?cursor=${'x'.repeat(65)}`],
    ['a cursor with a NUL byte', '?cursor=inv_%00'],
    ['a status with a NUL byte', '?status=pending%00'],
    ['a repeated status', '?status=pending&status=revoked'],
  ])('%s → 400', async (_l, query) => {
    const res = await ctx.request('GET', `/v1/organizations/${org.id}/invitations${query}`, {
      token: owner.accessToken,
    });
    expect4xx(res);
    expect(res.status).toBe(400);
  });

  it('a cursor that matches nothing answers an empty page, not an error', async () => {
    const res = await ctx.request(
      'GET',
      `/v1/organizations/${org.id}/invitations?cursor=${encodeURIComponent("' OR 1=1 --")}`,
      { token: owner.accessToken },
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
  });
});

describe('one invitation: get, revoke, resend', () => {
  const paths = (id: string) =>
    [
      ['GET', `/v1/organizations/${org.id}/invitations/${id}`],
      ['DELETE', `/v1/organizations/${org.id}/invitations/${id}`],
      ['POST', `/v1/organizations/${org.id}/invitations/${id}/resend`],
    ] as const;

  it.each([
    ['an unknown id', 'inv_00000000000000000000000000', 404],
    ['a malformed id', 'not-an-id', 404],
    ['a NUL byte', 'inv_%00', 400],
    ['an id too long', 'x'.repeat(65), 400],
    ['an SQL-looking id', encodeURIComponent("inv_' OR '1'='1"), 404],
  ])('%s → 4xx', async (_l, id, status) => {
    for (const [method, url] of paths(id)) {
      const res = await ctx.request(method, url, { token: owner.accessToken });
      expect4xx(res);
      expect(res.status).toBe(status);
    }
  });

  it('a body on resend is ignored or refused, never a 500', async () => {
    const res = await raw(
      'POST',
      `/v1/organizations/${org.id}/invitations/${invitation.id}/resend`,
      '{"x":',
    );
    expect4xx(res);
  });
});

describe('by token: preview, accept, reject', () => {
  const routes = (token: string) =>
    [
      ['GET', `/v1/invitations/${token}`],
      ['POST', `/v1/invitations/${token}/accept`],
      ['POST', `/v1/invitations/${token}/reject`],
    ] as const;

  it.each([
    ['too short', 'abc', 400],
    ['too long', 'a'.repeat(129), 400],
    ['unknown', 'a'.repeat(43), 404],
    ['with a NUL byte', `${'a'.repeat(20)}%00`, 400],
    ['with a slash-encoded segment', `${'a'.repeat(20)}%2F..`, 0],
    ['with unicode', `${'ä'.repeat(20)}`, 0],
  ])('a token %s → 4xx', async (_l, token, status) => {
    for (const [method, url] of routes(token)) {
      const res = await ctx.request(method, url, method === 'POST' ? { body: {} } : {});
      expect4xx(res);
      if (status) expect(res.status).toBe(status);
    }
  });

  it.each([
    ['an unknown field', { role: 'owner' }],
    ['a numeric password', { first_name: 'A', last_name: 'B', password: 12345678901 }],
    ['an empty first name', { first_name: '', last_name: 'B', password: 'x' }],
    ['a blank last name', { first_name: 'A', last_name: '   ', password: 'x' }],
    ['a name too long', { first_name: 'x'.repeat(101), last_name: 'B', password: 'x' }],
    ['a password too long', { first_name: 'A', last_name: 'B', password: 'x'.repeat(257) }],
    ['an array body', [1, 2]],
    ['a NUL byte in the name', { first_name: 'A\u0000', last_name: 'B', password: 'x' }],
  ])('accept with %s → 400', async (_l, body) => {
    expectProblem(
      await ctx.request('POST', `/v1/invitations/${invitation.token}/accept`, { body }),
      400,
      'validation_failed',
    );
  });

  it('accept with broken JSON → malformed_json', async () => {
    expectProblem(
      await ctx.request('POST', `/v1/invitations/${invitation.token}/accept`, {
        body: '{"password":',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'malformed_json',
    );
  });

  it('accept with no body at all asks for the sign-up fields (400), not a 500', async () => {
    const res = await ctx.request('POST', `/v1/invitations/${invitation.token}/accept`);
    expectProblem(res, 400, 'validation_failed');
  });

  it('accept with a garbage bearer token → 401, not a 500', async () => {
    const res = await ctx.request('POST', `/v1/invitations/${invitation.token}/accept`, {
      token: 'garbage',
      body: {},
    });
    expect4xx(res);
    expect(res.status).toBe(401);
  });

  it('the invitation survives all of the above, still pending', async () => {
    const res = await ctx.request('GET', `/v1/invitations/${invitation.token}`);
    expect(res.body.status).toBe('pending');
  });
});

describe('an API key instead of a person', () => {
  it('is refused on every invitation route with 403 user_required, never a 500', async () => {
    const key = await ctx.request('POST', `/v1/organizations/${org.id}/api-keys`, {
      token: owner.accessToken,
      body: { name: 'svc', grants: [{ role: 'admin', scope: org.id }] },
    });
    expect(key.status).toBe(201);
    const headers = { 'x-api-key': key.body.secret as string };
    const base = `/v1/organizations/${org.id}/invitations`;
    for (const [method, url, body] of [
      ['POST', base, { emails: [uniqueEmail()] }],
      ['GET', base, undefined],
      ['GET', `${base}/${invitation.id}`, undefined],
      ['DELETE', `${base}/${invitation.id}`, undefined],
      ['POST', `${base}/${invitation.id}/resend`, undefined],
      ['POST', `/v1/invitations/${invitation.token}/accept`, {}],
      ['GET', '/v1/me/invitations', undefined],
    ] as const) {
      const res = await ctx.request(method, url, { headers, body });
      expectProblem(res, 403, 'forbidden');
      expect(res.body.reason, `${method} ${url}`).toBe('user_required');
    }
    expect((await ctx.request('GET', `/v1/invitations/${invitation.token}`)).body.status).toBe(
      'pending',
    );
  });
});

describe('GET /v1/me/invitations', () => {
  it('with a garbage bearer token → 401', async () => {
    expect4xx(await ctx.request('GET', '/v1/me/invitations', { token: 'x.y.z' }));
  });
});
