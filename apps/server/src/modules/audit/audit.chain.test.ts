import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { createAccount, createOrg, platformAdmin } from '../../../test/seed';
import { auditKeyOf, eventHash, insertAuditEvent } from './audit.repo';

/**
 * The hash chain and the export (issue 6, item 3): `verify` reports the first broken link
 * after a row is edited, removed or reordered directly in the database; concurrent writers of
 * one organization cannot fork its chain; NDJSON export.
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

const verifyUrl = (orgId: string) => `/v1/organizations/${orgId}/audit-logs/verify`;
const verify = async (orgId: string) => {
  const res = await ctx.request('GET', verifyUrl(orgId), { token: owner.accessToken });
  expect(res.status).toBe(200);
  return res.body as {
    valid: boolean;
    checked: number;
    checkpoint: { seq: number; removed: number } | null;
    first_broken: { id: string; seq: number; reason: string } | null;
  };
};

/** The organization's events, oldest first, straight from the table. */
const rowsOf = (orgId: string) =>
  ctx.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('organization_id', '=', orgId)
    .orderBy('seq')
    .execute();

/** An organization whose chain holds `accounts + 1` events (its creation, then each account). */
async function chainOf(accounts: number) {
  const orgId = (await createOrg(ctx, owner, 'media')).id;
  for (let i = 0; i < accounts; i++) await createAccount(ctx, owner, orgId, 'video', `v${i}`);
  const rows = await rowsOf(orgId);
  expect(rows).toHaveLength(accounts + 1);
  return { orgId, rows };
}

const CHANGED = 'the event was changed after it was written';
const LINK =
  'the link to the previous event is broken (an event was removed, inserted or reordered)';

describe('verify', () => {
  it('answers valid for an untouched chain, having checked every event', async () => {
    const { orgId } = await chainOf(4);
    expect(await verify(orgId)).toEqual({
      valid: true,
      checked: 5,
      checkpoint: null,
      first_broken: null,
    });
  });

  it('links each event to the one before it, from null', async () => {
    const { rows } = await chainOf(3);
    expect(rows[0]!.prev_hash).toBeNull();
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    const key = auditKeyOf(ctx.database.db);
    for (const row of rows) expect(row.hash).toBe(eventHash(key, row.prev_hash, row));
  });

  it('reports an event whose changes were edited', async () => {
    const { orgId, rows } = await chainOf(4);
    const target = rows[2]!;
    await ctx.database.db
      .updateTable('audit_events')
      .set({ changes: '{"after":{"name":"Forged"}}' })
      .where('seq', '=', target.seq)
      .execute();
    expect(await verify(orgId)).toMatchObject({
      valid: false,
      checked: 3,
      first_broken: { id: target.id, seq: target.seq, reason: CHANGED },
    });
  });

  it.each([
    ['actor_id', { actor_id: 'usr_someone_else' }],
    ['action', { action: 'account.deleted' }],
    ['target_id', { target_id: 'acc_other' }],
    ['ip', { ip: '198.51.100.1' }],
    ['user_agent', { user_agent: 'forged' }],
    ['request_id', { request_id: 'forged' }],
    ['created_at', { created_at: 1 }],
    ['changes set to null', { changes: null }],
  ] as const)('reports an event whose %s was edited', async (_, patch) => {
    const { orgId, rows } = await chainOf(3);
    const target = rows[1]!;
    await ctx.database.db
      .updateTable('audit_events')
      .set(patch)
      .where('seq', '=', target.seq)
      .execute();
    expect((await verify(orgId)).first_broken).toEqual({
      id: target.id,
      seq: target.seq,
      reason: CHANGED,
    });
  });

  it('reports the event after a deleted one (its link is broken)', async () => {
    const { orgId, rows } = await chainOf(4);
    await ctx.database.db.deleteFrom('audit_events').where('seq', '=', rows[2]!.seq).execute();
    expect(await verify(orgId)).toMatchObject({
      valid: false,
      first_broken: { id: rows[3]!.id, seq: rows[3]!.seq, reason: LINK },
    });
  });

  it('reports a deleted first event', async () => {
    const { orgId, rows } = await chainOf(2);
    await ctx.database.db.deleteFrom('audit_events').where('seq', '=', rows[0]!.seq).execute();
    expect((await verify(orgId)).first_broken).toMatchObject({ id: rows[1]!.id, reason: LINK });
  });

  it('reports two events whose order was swapped', async () => {
    const { orgId, rows } = await chainOf(4);
    const [a, b] = [rows[1]!, rows[2]!];
    const db = ctx.database.db;
    // seq is the primary key: swap through a free value.
    await db.updateTable('audit_events').set({ seq: -1 }).where('seq', '=', a.seq).execute();
    await db.updateTable('audit_events').set({ seq: a.seq }).where('seq', '=', b.seq).execute();
    await db.updateTable('audit_events').set({ seq: b.seq }).where('seq', '=', -1).execute();
    expect((await verify(orgId)).first_broken).toEqual({ id: b.id, seq: a.seq, reason: LINK });
  });

  // These two recompute with the real key (an insider holding SECRET_KEY): the link still tells.
  it('reports an event relinked by editing prev_hash, even with its own hash recomputed', async () => {
    const { orgId, rows } = await chainOf(4);
    const key = auditKeyOf(ctx.database.db);
    // Skip rows[2] out of the chain: rows[3] now claims rows[1] came before it.
    const target = rows[3]!;
    const prevHash = rows[1]!.hash;
    await ctx.database.db
      .updateTable('audit_events')
      .set({ prev_hash: prevHash, hash: eventHash(key, prevHash, target) })
      .where('seq', '=', target.seq)
      .execute();
    expect((await verify(orgId)).first_broken).toEqual({
      id: target.id,
      seq: target.seq,
      reason: LINK,
    });
  });

  it('reports the next event when one is rewritten and its hash recomputed', async () => {
    const { orgId, rows } = await chainOf(4);
    const target = { ...rows[1]!, action: 'account.deleted' };
    const key = auditKeyOf(ctx.database.db);
    await ctx.database.db
      .updateTable('audit_events')
      .set({ action: target.action, hash: eventHash(key, target.prev_hash, target) })
      .where('seq', '=', target.seq)
      .execute();
    expect((await verify(orgId)).first_broken).toEqual({
      id: rows[2]!.id,
      seq: rows[2]!.seq,
      reason: LINK,
    });
  });

  it('reports an edited stored hash', async () => {
    const { orgId, rows } = await chainOf(2);
    const last = rows[2]!;
    await ctx.database.db
      .updateTable('audit_events')
      .set({ hash: 'f'.repeat(64) })
      .where('seq', '=', last.seq)
      .execute();
    expect((await verify(orgId)).first_broken).toMatchObject({ id: last.id, reason: CHANGED });
  });

  it('reports an event inserted into the chain', async () => {
    const { orgId, rows } = await chainOf(2);
    const forged = {
      ...rows[1]!,
      id: 'evt_forged',
      action: 'account.deleted',
      created_at: rows[1]!.created_at,
    };
    const { seq: _seq, ...values } = forged;
    await ctx.database.db.insertInto('audit_events').values(values).execute();
    expect((await verify(orgId)).first_broken).toMatchObject({ id: 'evt_forged' });
  });

  it('reports the first broken link when several are broken', async () => {
    const { orgId, rows } = await chainOf(5);
    for (const i of [4, 2]) {
      await ctx.database.db
        .updateTable('audit_events')
        .set({ ip: '192.0.2.66' })
        .where('seq', '=', rows[i]!.seq)
        .execute();
    }
    expect((await verify(orgId)).first_broken?.id).toBe(rows[2]!.id);
  });

  it('reports an event moved to another organization, in the chain it left', async () => {
    const { orgId, rows } = await chainOf(3);
    const other = (await createOrg(ctx, owner, 'media')).id;
    await ctx.database.db
      .updateTable('audit_events')
      .set({ organization_id: other })
      .where('seq', '=', rows[1]!.seq)
      .execute();
    expect((await verify(orgId)).first_broken?.id).toBe(rows[2]!.id);
    expect((await verify(other)).valid).toBe(false);
  });

  it('leaves other organizations valid when one is tampered with', async () => {
    const a = await chainOf(2);
    const b = await chainOf(2);
    await ctx.database.db
      .updateTable('audit_events')
      .set({ action: 'forged' })
      .where('seq', '=', a.rows[1]!.seq)
      .execute();
    expect((await verify(a.orgId)).valid).toBe(false);
    expect((await verify(b.orgId)).valid).toBe(true);
  });

  it('keeps chaining valid events after a change was detected elsewhere', async () => {
    const { orgId } = await chainOf(1);
    await createAccount(ctx, owner, orgId, 'image');
    expect((await verify(orgId)).valid).toBe(true);
  });

  it('reports tampering in the platform chain to a platform admin', async () => {
    const admin = await platformAdmin(ctx);
    const url = '/v1/admin/audit-logs/verify?organization_id=platform';
    expect((await ctx.request('GET', url, { token: admin.accessToken })).body.valid).toBe(true);
    const target = await ctx.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('organization_id', 'is', null)
      .where('action', '=', 'user.registered')
      .orderBy('seq')
      .limit(1)
      .executeTakeFirstOrThrow();
    await ctx.database.db
      .updateTable('audit_events')
      .set({ target_id: 'usr_forged' })
      .where('seq', '=', target.seq)
      .execute();
    const res = await ctx.request('GET', url, { token: admin.accessToken });
    expect(res.body).toMatchObject({
      valid: false,
      first_broken: { id: target.id, reason: CHANGED },
    });
  });

  it('walks chains longer than one batch (over 1,000 events)', async () => {
    const orgId = (await createOrg(ctx, owner, 'media')).id;
    const meta = { ip: null, userAgent: null, requestId: null };
    await ctx.database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 1100; i++)
        await insertAuditEvent(
          trx,
          meta,
          { organizationId: orgId, actor: { type: 'system' }, action: 'test.bulk' },
          ctx.clock.now(),
        );
    });
    expect(await verify(orgId)).toMatchObject({ valid: true, checked: 1101 });
    const rows = await rowsOf(orgId);
    await ctx.database.db
      .updateTable('audit_events')
      .set({ action: 'forged' })
      .where('seq', '=', rows[1050]!.seq)
      .execute();
    expect(await verify(orgId)).toMatchObject({
      valid: false,
      checked: 1051,
      first_broken: { id: rows[1050]!.id },
    });
  });
});

describe('concurrent writers', () => {
  it('keep one organization chain valid under 20 parallel account creations', async () => {
    const orgId = (await createOrg(ctx, owner, 'media')).id;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ctx.request('POST', `/v1/organizations/${orgId}/accounts`, {
          token: owner.accessToken,
          body: { name: `parallel ${i}`, product: i % 2 ? 'video' : 'image' },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    const rows = await rowsOf(orgId);
    expect(rows).toHaveLength(21);
    // No fork: every event names a different predecessor.
    expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(21);
    expect(await verify(orgId)).toMatchObject({ valid: true, checked: 21, first_broken: null });
  });

  it('keep two organizations valid when their writers interleave', async () => {
    const a = (await createOrg(ctx, owner, 'media')).id;
    const b = (await createOrg(ctx, owner, 'media')).id;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ctx.request('POST', `/v1/organizations/${i % 2 ? a : b}/accounts`, {
          token: owner.accessToken,
          body: { name: `interleaved ${i}`, product: 'video' },
        }),
      ),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(await verify(a)).toMatchObject({ valid: true, checked: 11 });
    expect(await verify(b)).toMatchObject({ valid: true, checked: 11 });
  });
});

describe('NDJSON export', () => {
  let orgId: string;
  beforeAll(async () => {
    orgId = (await createOrg(ctx, owner, 'media')).id;
    for (let i = 0; i < 3; i++) await createAccount(ctx, owner, orgId, 'video', `v${i}`);
    await ctx.request('PATCH', `/v1/organizations/${orgId}`, {
      token: owner.accessToken,
      body: { name: 'Exported' },
    });
  });
  const exportOf = (query = '') =>
    ctx.request('GET', `/v1/organizations/${orgId}/audit-logs/export${query ? `?${query}` : ''}`, {
      token: owner.accessToken,
    });
  const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);

  it('answers application/x-ndjson as an attachment', async () => {
    const res = await exportOf();
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^application\/x-ndjson/);
    expect(String(res.headers['content-disposition'])).toBe(
      `attachment; filename="audit-${orgId}.ndjson"`,
    );
  });

  it('writes one parseable JSON event per line, oldest first, ending with a newline', async () => {
    const res = await exportOf();
    expect(res.text.endsWith('\n')).toBe(true);
    const events = lines(res.text).map((l) => JSON.parse(l));
    expect(events.map((e) => e.action)).toEqual([
      'organization.created',
      'account.created',
      'account.created',
      'account.created',
      'organization.updated',
    ]);
    const listed = await ctx.request('GET', `/v1/organizations/${orgId}/audit-logs?limit=200`, {
      token: owner.accessToken,
    });
    expect(events).toEqual([...listed.body.data].reverse());
  });

  it('applies the filters', async () => {
    const res = await exportOf('action=account.*');
    const events = lines(res.text).map((l) => JSON.parse(l));
    expect(events).toHaveLength(3);
    expect(events.every((e) => e.action === 'account.created')).toBe(true);
    const none = await exportOf('actor=usr_nobody');
    expect(none.status).toBe(200);
    expect(none.text).toBe('');
  });

  it('applies the time filters', async () => {
    const all = lines((await exportOf()).text).map((l) => JSON.parse(l));
    const to = encodeURIComponent(all[0].created_at);
    expect((await exportOf(`to=${to}`)).text).toBe('');
    expect(lines((await exportOf(`from=${to}`)).text)).toHaveLength(all.length);
  });

  it('refuses a malformed filter with 400 problem+json, not a broken stream', async () => {
    for (const query of ['from=yesterday', 'to=soon']) {
      expectProblem(await exportOf(query), 400, 'validation_failed');
    }
  });

  it('exports more than one batch (over 1,000 events) without losing or repeating any', async () => {
    const big = (await createOrg(ctx, owner, 'media')).id;
    const meta = { ip: null, userAgent: null, requestId: null };
    await ctx.database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 1200; i++)
        await insertAuditEvent(
          trx,
          meta,
          { organizationId: big, actor: { type: 'system' }, action: 'test.bulk' },
          ctx.clock.now(),
        );
    });
    const res = await ctx.request('GET', `/v1/organizations/${big}/audit-logs/export`, {
      token: owner.accessToken,
    });
    const seqs = lines(res.text).map((l) => JSON.parse(l).seq as number);
    expect(seqs).toHaveLength(1201);
    expect(new Set(seqs).size).toBe(1201);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });
});
