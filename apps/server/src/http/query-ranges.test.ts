import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
  type TestResponse,
} from '../../test/harness';
import { createAccount, createOrg, platformAdmin } from '../../test/seed';

/**
 * Cursors and numbers in a query are compared with columns: a value outside the column's range
 * must be a 400, never reach the database (PostgreSQL refuses a bigint ≥ 2^63 with an error, a
 * 500) (issue 10 #8). Runs on both engines.
 */

let ctx: TestContext;
let admin: SignedIn;
let orgId: string;
let accountId: string;
beforeAll(async () => {
  ctx = await createTestContext();
  // A platform administrator who owns an organization may call every list there is.
  admin = await platformAdmin(ctx);
  orgId = (await createOrg(ctx, admin)).id;
  accountId = (await createAccount(ctx, admin, orgId)).id;
  // Some events to page through.
  for (const name of ['a', 'b', 'c'])
    await ctx.request('PATCH', `/v1/organizations/${orgId}`, {
      token: admin.accessToken,
      body: { name },
    });
});
afterAll(async () => {
  await ctx?.close();
});

const get = (url: string) => ctx.request('GET', url, { token: admin.accessToken });

/** Out of every column's range: past bigint, exponent forms, negatives, fractions, junk. */
const HOSTILE_NUMBERS = [
  '9223372036854775807',
  '9223372036854775808',
  '18446744073709551616',
  '99999999999999999999999',
  '1e21',
  '1e308',
  '-9223372036854775809',
  '-1',
  '1.5',
  '0x10',
  'NaN',
  'Infinity',
  '',
];

const members = (cursor: unknown[]) => Buffer.from(JSON.stringify(cursor)).toString('base64url');
const HOSTILE_CURSORS = [
  ...HOSTILE_NUMBERS,
  'usr_',
  'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz',
  // The members list's cursor is base64url JSON: (sort, value, user id).
  members(['joined', 1e21, 'usr_x']),
  members(['joined', 2 ** 63, 'usr_x']),
  members(['joined', -1e300, 'usr_x']),
  members(['name', 'a\u0000', 'usr_x']),
  members(['name', 'a', 'usr_\u0000']),
  members(['email', ['a'], 'usr_x']),
];
const HOSTILE_TIMES = [
  '1e21',
  '9223372036854775808',
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00.000Z',
  '+275760-09-14T00:00:00.000Z',
  '9999999-01-01',
  '0',
];

/** An answer a client can use: a page, or a problem+json 4xx. */
function expectNoServerError(res: TestResponse, what: string) {
  if (res.status >= 500) throw new Error(`${what}: ${res.status} ${res.text}`);
  if (res.status >= 400)
    expect(String(res.headers['content-type']), what).toMatch(/^application\/problem\+json/);
}

describe('audit-log cursors', () => {
  // @see issue 10 #8
  it.each(['9223372036854775808', '18446744073709551616', '1e21', '1e3', '1.0', '0x1f', ' 5'])(
    'refuse %s with 400 on the organization and admin lists',
    async (cursor) => {
      const q = `cursor=${encodeURIComponent(cursor)}`;
      expectProblem(
        await get(`/v1/organizations/${orgId}/audit-logs?${q}`),
        400,
        'validation_failed',
      );
      expectProblem(await get(`/v1/admin/audit-logs?${q}`), 400, 'validation_failed');
    },
  );

  it('still page with the cursor the list handed out', async () => {
    const first = await get(`/v1/organizations/${orgId}/audit-logs?limit=1`);
    expect(first.status).toBe(200);
    expect(first.body.next_cursor).toMatch(/^\d+$/);
    const second = await get(
      `/v1/organizations/${orgId}/audit-logs?limit=1&cursor=${first.body.next_cursor}`,
    );
    expect(second.status).toBe(200);
    expect(second.body.data[0].seq).toBeLessThan(first.body.data[0].seq);
    const largest = await get(`/v1/admin/audit-logs?cursor=999999999999999`);
    expect(largest.status).toBe(200);
  });
});

describe('every list', () => {
  /** Every GET operation with a query, its path filled with ids of this world. */
  async function lists(): Promise<{ url: string; query: { name: string; type?: string }[] }[]> {
    const doc = (await ctx.request('GET', '/openapi.json')).body;
    const ids: Record<string, string> = { orgId, accountId, userId: admin.userId };
    const found = [];
    for (const [path, ops] of Object.entries<Record<string, never>>(doc.paths)) {
      // biome-ignore lint/suspicious/noExplicitAny: walking the OpenAPI document as plain JSON
      const op = ops.get as any;
      if (!op || path.startsWith('/v1/auth/oauth/')) continue;
      const query = (op.parameters ?? [])
        .filter((p: { in: string }) => p.in === 'query')
        .map((p: { name: string; schema?: { type?: string } }) => ({
          name: p.name,
          type: p.schema?.type,
        }));
      const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      if (query.length === 0 || params.some((p) => !ids[p])) continue;
      found.push({ url: path.replace(/\{(\w+)\}/g, (_, p: string) => ids[p]!), query });
    }
    return found;
  }

  // @see issue 10 #8
  it('answers a page or a 400 for hostile cursors, numbers and times, never a 5xx', async () => {
    const all = await lists();
    expect(all.map((l) => l.url)).toEqual(
      expect.arrayContaining([
        `/v1/organizations/${orgId}/audit-logs`,
        '/v1/admin/audit-logs',
        `/v1/organizations/${orgId}/members`,
        '/v1/organizations',
      ]),
    );
    let tried = 0;
    for (const { url, query } of all)
      for (const { name, type } of query) {
        const values =
          type === 'integer' || type === 'number'
            ? HOSTILE_NUMBERS
            : name === 'cursor'
              ? HOSTILE_CURSORS
              : name === 'from' || name === 'to'
                ? HOSTILE_TIMES
                : [];
        for (const value of values) {
          const target = `${url}?${name}=${encodeURIComponent(value)}`;
          expectNoServerError(await get(target), target);
          tried++;
        }
      }
    expect(tried).toBeGreaterThan(100);
  });

  // @see issue 10 #8
  it.each(['9223372036854775808', '1e21', '0', '-1', '101', '2.5'])(
    'refuses limit=%s with 400',
    async (limit) => {
      expectProblem(await get(`/v1/organizations?limit=${limit}`), 400, 'validation_failed');
      expectProblem(
        await get(`/v1/organizations/${orgId}/members?limit=${limit}`),
        400,
        'validation_failed',
      );
    },
  );
});
