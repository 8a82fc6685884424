/**
 * A resource created while its account is being deleted answers 404, never a 500 from the
 * foreign key. Found by the OpenAPI fuzzer with concurrent requests on PostgreSQL
 * (FUZZ_CONCURRENCY=8): the create read the account before the delete committed and inserted
 * after it. PostgreSQL only: SQLite has a single writer, so the delete cannot be in flight
 * while the create runs.
 *
 * @see issue 10 "Suites that stay" (fuzz finding F5, /work/notes/fuzz-findings.md)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestContext, engine, type SignedIn, type TestContext } from '../../../test/harness';
import { createAccount, createOrg } from '../../../test/seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'media', 'Account Races Org');
});
afterAll(async () => {
  await ctx?.close();
});

it.skipIf(engine !== 'postgres')(
  'answers 404 to a resource created while its account is being deleted',
  async () => {
    const account = await createAccount(ctx, owner, org.id, 'video', 'Doomed');
    // The account's delete, in flight: its row is deleted but not yet committed.
    const deleting = await ctx.database.db.startTransaction().execute();
    await deleting.deleteFrom('accounts').where('id', '=', account.id).execute();
    const create = ctx.request(
      'POST',
      `/v1/organizations/${org.id}/accounts/${account.id}/resources`,
      { token: owner.accessToken, body: { name: 'late', type: 'collection' } },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await deleting.commit().execute();
    const res = await create;
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  },
);
