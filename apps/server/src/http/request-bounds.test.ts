import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, expectProblem, type TestContext } from '../../test/harness';
import { MAX_PROBLEM_ERRORS } from './errors';

/**
 * Every array, string and free-form object a request may carry is bounded, a non-member's body
 * is never validated, and error lists are capped (issue 10 #5). The OpenAPI document is what
 * clients and the fuzzer generate requests from, so the bounds are checked there.
 */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is walked as plain JSON
type Json = any;

/**
 * String formats whose values have an inherent length bound. `email` is not one: the grammar
 * allows any length, so an email needs a maxLength like any string.
 */
const BOUNDED_FORMATS = new Set(['uuid', 'date-time', 'date', 'time', 'ipv4', 'ipv6']);

/** Every unbounded place in a request schema, as `where: what`. */
function unbounded(doc: Json): string[] {
  const found: string[] = [];
  const resolve = (s: Json): Json => {
    if (!s?.$ref) return s;
    let node = doc;
    for (const part of String(s.$ref).replace(/^#\//, '').split('/')) node = node?.[part];
    return node;
  };
  const walk = (raw: Json, where: string, seen: Set<Json>): void => {
    const s = resolve(raw);
    if (!s || typeof s !== 'object' || seen.has(s)) return;
    const next = new Set(seen).add(s);
    const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    const fixed = s.enum !== undefined || s.const !== undefined;
    if (types.includes('string') && !fixed && s.maxLength === undefined)
      if (!BOUNDED_FORMATS.has(s.format)) found.push(`${where}: string without maxLength`);
    if (types.includes('array') && s.maxItems === undefined)
      found.push(`${where}: array without maxItems`);
    if (s.additionalProperties && s.additionalProperties !== false && s.maxProperties === undefined)
      found.push(`${where}: open object without maxProperties`);
    if (s.patternProperties && s.maxProperties === undefined)
      found.push(`${where}: open object without maxProperties`);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${where}.${k}`, next);
    if (s.items) walk(s.items, `${where}[]`, next);
    for (const [i, v] of (s.prefixItems ?? []).entries()) walk(v, `${where}[${i}]`, next);
    if (typeof s.additionalProperties === 'object')
      walk(s.additionalProperties, `${where}.*`, next);
    for (const v of Object.values(s.patternProperties ?? {})) walk(v, `${where}.*`, next);
    if (s.propertyNames) walk(s.propertyNames, `${where}.<key>`, next);
    for (const k of ['anyOf', 'oneOf', 'allOf'])
      for (const [i, v] of (s[k] ?? []).entries()) walk(v, `${where}(${k} ${i})`, next);
  };
  for (const [path, ops] of Object.entries<Json>(doc.paths))
    for (const [method, op] of Object.entries<Json>(ops)) {
      if (!op || typeof op !== 'object') continue;
      const name = `${method.toUpperCase()} ${path}`;
      for (const p of op.parameters ?? []) {
        const where = `${name} ${p.in}.${p.name}`;
        if (!p.schema) found.push(`${where}: no schema`);
        else walk(p.schema, where, new Set());
        const type = p.schema?.type;
        // Numbers from a query or path end up compared with a column: both ends bounded.
        if ((type === 'integer' || type === 'number') && p.schema.maximum === undefined)
          found.push(`${where}: number without maximum`);
        if ((type === 'integer' || type === 'number') && p.schema.minimum === undefined)
          found.push(`${where}: number without minimum`);
      }
      for (const [type, media] of Object.entries<Json>(op.requestBody?.content ?? {}))
        if (type.includes('json')) walk(media.schema, `${name} body`, new Set());
    }
  return found;
}

describe('the OpenAPI document', () => {
  // @see issue 10 #5
  it('bounds every request array, string and free-form object', async () => {
    const res = await ctx.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths).length).toBeGreaterThan(50);
    expect(unbounded(res.body)).toEqual([]);
  });

  it('is walked by a check that does find an unbounded array or string', () => {
    const doc = {
      paths: {
        '/x': {
          post: {
            parameters: [{ in: 'query', name: 'n', schema: { type: 'integer', minimum: 0 } }],
            requestBody: {
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      a: { type: 'array', items: { type: 'string', format: 'email' } },
                      b: { $ref: '#/components/schemas/B' },
                    },
                  },
                },
              },
            },
          },
        },
      },
      components: { schemas: { B: { type: 'object', additionalProperties: { type: 'string' } } } },
    };
    expect(unbounded(doc)).toEqual([
      'POST /x query.n: number without maximum',
      'POST /x body.a: array without maxItems',
      'POST /x body.a[]: string without maxLength',
      'POST /x body.b: open object without maxProperties',
      'POST /x body.b.*: string without maxLength',
    ]);
  });
});

describe('a 100,000-element array', () => {
  const huge = { grantable_at: Array.from({ length: 100_000 }, () => 1) };

  // @see issue 10 #5
  it('is refused by its length with one small problem, not 100,000 of them', async () => {
    const owner = await ctx.signUp();
    const org = await ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: 'Bounds' },
    });
    expect(org.status).toBe(201);
    const res = await ctx.request('PATCH', `/v1/organizations/${org.body.id}/roles/editor`, {
      token: owner.accessToken,
      body: huge,
    });
    expectProblem(res, 400, 'validation_failed');
    expect(res.text.length).toBeLessThan(2_000);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].path).toBe('body.grantable_at');
  });

  // @see issue 10 #5
  it('sent by a non-member answers 404, before the body is validated', async () => {
    const owner = await ctx.signUp();
    const stranger = await ctx.signUp();
    const org = await ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: 'Private' },
    });
    for (const orgId of [org.body.id, 'org_00000000000000000000000000']) {
      const res = await ctx.request('PATCH', `/v1/organizations/${orgId}/roles/x`, {
        token: stranger.accessToken,
        body: huge,
      });
      expectProblem(res, 404, 'not_found');
      expect(res.text.length).toBeLessThan(1_000);
      expect(res.body.errors).toBeUndefined();
    }
  });

  // @see issue 10 #5
  it('sent by a member lacking the permission answers 403, not 400', async () => {
    const owner = await ctx.signUp();
    const org = await ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: 'Team', template: 'team' },
    });
    expect(org.status).toBe(201);
    const member = await ctx.signUp();
    const added = await ctx.request('POST', `/v1/organizations/${org.body.id}/members`, {
      token: owner.accessToken,
      body: { email: member.email },
    });
    expect(added.status).toBe(201);
    const res = await ctx.request('PATCH', `/v1/organizations/${org.body.id}/roles/x`, {
      token: member.accessToken,
      body: huge,
    });
    expectProblem(res, 403, 'forbidden');
  });

  // @see issue 10 #5
  it('sent to an administration route by a non-administrator answers 403, not 400', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('POST', '/v1/admin/customers', {
      token: user.accessToken,
      body: { name: Array.from({ length: 100_000 }, () => 1) },
    });
    expectProblem(res, 403, 'platform_admin_required');
  });
});

describe('free-form metadata', () => {
  // @see issue 10 #5
  it.each([
    ['an array of 101 items', { tags: Array.from({ length: 101 }, (_, i) => i) }],
    ['101 keys', Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i]))],
    [
      'an object of 101 keys',
      { crm: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i])) },
    ],
    ['a key of 101 characters', { ['k'.repeat(101)]: 1 }],
  ])('refuses %s', async (_what, body) => {
    const user = await ctx.signUp();
    const res = await ctx.request('PUT', '/v1/me/metadata', { token: user.accessToken, body });
    expectProblem(res, 400, 'validation_failed');
  });

  it('accepts 100 keys with arrays of 100 items', async () => {
    const user = await ctx.signUp();
    const body = { tags: Array.from({ length: 100 }, (_, i) => i), a: 'x', b: { c: true } };
    const res = await ctx.request('PUT', '/v1/me/metadata', { token: user.accessToken, body });
    expect(res.status).toBe(200);
    expect(res.body.user_metadata).toEqual(body);
  });
});

describe('error lists', () => {
  // @see issue 10 #5
  it(`list at most ${MAX_PROBLEM_ERRORS} problems and say how many there were`, async () => {
    const user = await ctx.signUp();
    // 60 entries, each an object nested too deep: 60 problems.
    const body = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, { a: {} }]));
    const res = await ctx.request('PUT', '/v1/me/metadata', { token: user.accessToken, body });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors).toHaveLength(MAX_PROBLEM_ERRORS);
    expect(res.body.errors_total).toBeGreaterThanOrEqual(60);
  });

  it('carry no total when every problem is listed', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('PUT', '/v1/me/metadata', {
      token: user.accessToken,
      body: { a: { b: {} } },
    });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(res.body.errors_total).toBeUndefined();
  });
});
