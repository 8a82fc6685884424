import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type SignedIn, type TestContext } from '../../../test/harness';
import { auditCount, createAccount, createOrg, platformAdmin } from '../../../test/seed';

/**
 * Retention (issue 6, item 3): `applyRetention(days)` removes older events chain by chain and
 * leaves a checkpoint, so what remains still verifies and tampering after it is still found.
 * Retention trims every chain at once, so each test asserts only about organizations it made.
 */
let ctx: TestContext;
let owner: SignedIn;
beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
});
afterAll(async () => {
  await ctx?.close();
});

const DAY = 24 * 3600_000;
const RETAIN_DAYS = 7;

/** Moves the clock on; access tokens expire meanwhile, so the owner signs in again. */
async function advanceDays(days: number) {
  ctx.clock.advance(days * DAY);
  owner = await ctx.login(owner.email, owner.password);
}
const retain = () => ctx.gatehouse.services.audit.applyRetention(RETAIN_DAYS);
const verify = async (orgId: string) => {
  const res = await ctx.request('GET', `/v1/organizations/${orgId}/audit-logs/verify`, {
    token: owner.accessToken,
  });
  expect(res.status).toBe(200);
  return res.body;
};
const rowsOf = (orgId: string) =>
  ctx.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('organization_id', '=', orgId)
    .orderBy('seq')
    .execute();

/** An organization with `old` events older than the retention and `recent` newer ones. */
async function agedOrg(oldAccounts: number, recentAccounts: number) {
  const orgId = (await createOrg(ctx, owner, 'media')).id;
  for (let i = 0; i < oldAccounts; i++) await createAccount(ctx, owner, orgId, 'video', `old ${i}`);
  await advanceDays(RETAIN_DAYS + 1);
  for (let i = 0; i < recentAccounts; i++)
    await createAccount(ctx, owner, orgId, 'image', `new ${i}`);
  const rows = await rowsOf(orgId);
  return { orgId, rows, oldCount: oldAccounts + 1 };
}

describe('applyRetention', () => {
  it('removes the events older than the retention and keeps the newer ones', async () => {
    const { orgId, rows, oldCount } = await agedOrg(3, 2);
    const removed = await retain();
    expect(removed).toBeGreaterThanOrEqual(oldCount);
    const left = await rowsOf(orgId);
    expect(left.map((r) => r.id)).toEqual(rows.slice(oldCount).map((r) => r.id));
    const listed = await ctx.request('GET', `/v1/organizations/${orgId}/audit-logs`, {
      token: owner.accessToken,
    });
    expect(listed.body.data.map((e: { action: string }) => e.action)).toEqual([
      'account.created',
      'account.created',
    ]);
  });

  it('leaves a checkpoint: the last removed event and how many were removed', async () => {
    const { orgId, rows, oldCount } = await agedOrg(2, 1);
    await retain();
    const checkpoint = await ctx.database.db
      .selectFrom('audit_checkpoints')
      .selectAll()
      .where('chain', '=', orgId)
      .executeTakeFirstOrThrow();
    const lastRemoved = rows[oldCount - 1]!;
    expect(checkpoint).toMatchObject({ hash: lastRemoved.hash, removed: oldCount });
    expect(Number(checkpoint.seq)).toBe(lastRemoved.seq);
    expect((await verify(orgId)).checkpoint).toEqual({ seq: lastRemoved.seq, removed: oldCount });
  });

  it('keeps what remains verifiable', async () => {
    const { orgId } = await agedOrg(3, 3);
    await retain();
    expect(await verify(orgId)).toMatchObject({ valid: true, checked: 3, first_broken: null });
  });

  it('still detects an event edited after the checkpoint', async () => {
    const { orgId } = await agedOrg(2, 3);
    await retain();
    const [, second] = await rowsOf(orgId);
    await ctx.database.db
      .updateTable('audit_events')
      .set({ changes: '{"after":{"name":"Forged"}}' })
      .where('seq', '=', second!.seq)
      .execute();
    expect(await verify(orgId)).toMatchObject({
      valid: false,
      first_broken: { id: second!.id, reason: 'the event was changed after it was written' },
    });
  });

  it('still detects the removal of the first event after the checkpoint', async () => {
    const { orgId } = await agedOrg(2, 2);
    await retain();
    const [first, second] = await rowsOf(orgId);
    await ctx.database.db.deleteFrom('audit_events').where('seq', '=', first!.seq).execute();
    expect((await verify(orgId)).first_broken).toMatchObject({ id: second!.id });
  });

  it('chains new events onto the checkpoint when every event was removed', async () => {
    const { orgId, oldCount } = await agedOrg(2, 0);
    await retain();
    expect(await rowsOf(orgId)).toEqual([]);
    expect(await verify(orgId)).toMatchObject({
      valid: true,
      checked: 0,
      checkpoint: { removed: oldCount },
    });
    await createAccount(ctx, owner, orgId, 'video', 'after retention');
    const [next] = await rowsOf(orgId);
    const checkpoint = await ctx.database.db
      .selectFrom('audit_checkpoints')
      .select('hash')
      .where('chain', '=', orgId)
      .executeTakeFirstOrThrow();
    expect(next!.prev_hash).toBe(checkpoint.hash);
    expect(await verify(orgId)).toMatchObject({ valid: true, checked: 1 });
  });

  it('adds up the removed count over successive runs', async () => {
    const { orgId, oldCount } = await agedOrg(1, 2);
    await retain();
    await advanceDays(RETAIN_DAYS + 1);
    await createAccount(ctx, owner, orgId, 'video', 'latest');
    await retain();
    expect(await verify(orgId)).toMatchObject({
      valid: true,
      checked: 1,
      checkpoint: { removed: oldCount + 2 },
    });
  });

  it('removes nothing and leaves no checkpoint where nothing is old enough', async () => {
    const orgId = (await createOrg(ctx, owner, 'media')).id;
    await createAccount(ctx, owner, orgId, 'video');
    ctx.clock.advance(RETAIN_DAYS * DAY - 1000);
    owner = await ctx.login(owner.email, owner.password);
    const before = await auditCount(ctx, orgId);
    await retain();
    expect(await auditCount(ctx, orgId)).toBe(before);
    expect(await verify(orgId)).toMatchObject({ valid: true, checkpoint: null });
  });

  it('keeps the chain valid when events are written while retention runs', async () => {
    const { orgId } = await agedOrg(3, 1);
    const [, ...created] = await Promise.all([
      retain(),
      ...Array.from({ length: 10 }, (_, i) =>
        ctx.request('POST', `/v1/organizations/${orgId}/accounts`, {
          token: owner.accessToken,
          body: { name: `during ${i}`, product: 'video' },
        }),
      ),
    ]);
    expect(created.every((r) => r.status === 201)).toBe(true);
    expect(await verify(orgId)).toMatchObject({ valid: true, checked: 11, first_broken: null });
  });

  it('trims the platform chain too, which still verifies', async () => {
    await ctx.signUp();
    await advanceDays(RETAIN_DAYS + 1);
    const admin = await platformAdmin(ctx);
    await retain();
    const res = await ctx.request('GET', '/v1/admin/audit-logs/verify?organization_id=platform', {
      token: admin.accessToken,
    });
    expect(res.body).toMatchObject({ valid: true, first_broken: null });
    expect(res.body.checkpoint.removed).toBeGreaterThan(0);
    expect(res.body.checked).toBeGreaterThan(0);
  });
});
