import { afterAll, beforeAll, describe, it } from 'vitest';
import { createTestContext, expectProblem, type TestContext } from '../../test/harness';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

describe('NUL characters', () => {
  it('are refused with 400 in JSON bodies, not stored or failed at the database', async () => {
    const user = await ctx.signUp();
    expectProblem(
      await ctx.request('PATCH', '/v1/me', {
        token: user.accessToken,
        body: { first_name: 'A\u0000B' },
      }),
      400,
      'validation_failed',
    );
    expectProblem(
      await ctx.request('POST', '/v1/organizations', {
        token: user.accessToken,
        body: { name: 'Org\u0000' },
      }),
      400,
      'validation_failed',
    );
    expectProblem(
      await ctx.request('PUT', '/v1/me/metadata', {
        token: user.accessToken,
        body: { 'k\u0000': 'v' },
      }),
      400,
      'validation_failed',
    );
  });

  it('are refused with 400 in paths and queries', async () => {
    const user = await ctx.signUp();
    expectProblem(
      await ctx.request('GET', '/v1/organizations/org_%00x', { token: user.accessToken }),
      400,
      'validation_failed',
    );
    expectProblem(
      await ctx.request('GET', '/v1/organizations?cursor=a%00', { token: user.accessToken }),
      400,
      'validation_failed',
    );
  });
});
