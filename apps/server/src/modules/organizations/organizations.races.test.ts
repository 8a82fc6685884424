/**
 * Deleting an organization while another request writes in it answers both without a deadlock.
 * Found by the OpenAPI fuzzer with concurrent requests on PostgreSQL (findings F1–F4): a writer
 * holds a lock on the organization row (the foreign-key check of the row it inserted) and then
 * asks for the organization's audit-chain lock; the deletion took the chain lock first and then
 * needed the organization row. The deletion now locks the row first, the order every writer
 * follows. PostgreSQL only: SQLite has a single writer.
 *
 * @see issue 10 "Suites that stay" (fuzz findings F1–F4)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestContext, engine, type SignedIn, type TestContext } from '../../../test/harness';
import { createOrg } from '../../../test/seed';
import { lockChain } from '../audit/audit.repo';

let ctx: TestContext;
let owner: SignedIn;

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
});
afterAll(async () => {
  await ctx?.close();
});

it.skipIf(engine !== 'postgres')(
  'deletes an organization while a writer in it holds the row and takes the audit lock',
  async () => {
    const org = await createOrg(ctx, owner, 'media', 'Doomed Races Org');
    // A writer in flight, as an account create is: it inserted a row referencing the
    // organization (holding the row's key-share lock) and has not yet written its audit event.
    const writer = await ctx.database.db.startTransaction().execute();
    const now = Date.now();
    await writer
      .insertInto('accounts')
      .values({
        id: `acc_race${now}`,
        organization_id: org.id,
        name: 'in flight',
        product: 'video',
        owner_user_id: owner.userId,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const deletion = ctx.request('DELETE', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: { confirm_name: 'Doomed Races Org' },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The writer now asks for the chain lock, as its audit event would: before the fix the
    // deletion held it while waiting for the row, and PostgreSQL broke the cycle with an error.
    await lockChain(writer, org.id);
    await writer.commit().execute();
    const res = await deletion;
    expect(res.status).toBe(204);
    const left = await ctx.database.db
      .selectFrom('organizations')
      .select('id')
      .where('id', '=', org.id)
      .executeTakeFirst();
    expect(left).toBeUndefined();
  },
);

it.skipIf(engine !== 'postgres')(
  'answers 404, not 500, to a write whose organization is deleted while it waits',
  async () => {
    const org = await createOrg(ctx, owner, 'media', 'Vanishing Org');
    // The organization's deletion, in flight: its row locked and deleted, not yet committed.
    const deletion = await ctx.database.db.startTransaction().execute();
    await deletion
      .selectFrom('organizations')
      .select('id')
      .where('id', '=', org.id)
      .forUpdate()
      .execute();
    await deletion.deleteFrom('organizations').where('id', '=', org.id).execute();
    const create = ctx.request('POST', `/v1/organizations/${org.id}/accounts`, {
      token: owner.accessToken,
      body: { name: 'Too late', product: 'video' },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await deletion.commit().execute();
    const res = await create;
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  },
);
