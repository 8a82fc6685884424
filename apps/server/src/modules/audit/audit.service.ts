import { type Selectable, sql } from 'kysely';
import type { AuditEventsTable } from '../../db/schema';
import { AppError } from '../../http/errors';
import { toIso } from '../../lib/clock';
import type { Runtime } from '../../runtime';
import { type AuditHead, signHead, verifyHead } from './audit.head';
import {
  auditKeyOf,
  CHAIN_KEYED_ACTION,
  chainOf,
  checkpointMac,
  eventHash,
  legacyEventHash,
  lockChain,
} from './audit.repo';

export interface AuditQuery {
  limit: number;
  cursor?: string;
  actor?: string;
  action?: string;
  target?: string;
  from?: string;
  to?: string;
}

export function toAuditEvent(e: Selectable<AuditEventsTable>) {
  let changes: unknown = null;
  try {
    changes = e.changes ? JSON.parse(e.changes) : null;
  } catch {
    changes = e.changes;
  }
  return {
    id: e.id,
    seq: e.seq,
    organization_id: e.organization_id,
    actor: { type: e.actor_type, id: e.actor_id },
    action: e.action,
    target: e.target_type ? { type: e.target_type, id: e.target_id } : null,
    ip: e.ip,
    user_agent: e.user_agent,
    request_id: e.request_id,
    changes,
    created_at: toIso(e.created_at),
    hash: e.hash,
  };
}

const parseTime = (value: string | undefined, name: string) => {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new AppError('validation_failed', `${name} must be an ISO 8601 time`, {
      errors: [{ path: `query.${name}`, message: 'not a date-time' }],
    });
  return ms;
};

/**
 * Reading, verifying, exporting and trimming the audit log. Events are written by the services
 * inside their transactions (audit.repo.ts); nothing here writes events.
 */
export function createAuditService(rt: Runtime) {
  const { db, clock } = rt;

  function filtered(orgId: string | null | undefined, q: Omit<AuditQuery, 'limit' | 'cursor'>) {
    let query = db.selectFrom('audit_events').selectAll();
    if (orgId !== undefined)
      query =
        orgId === null
          ? query.where('organization_id', 'is', null)
          : query.where('organization_id', '=', orgId);
    if (q.actor) query = query.where('actor_id', '=', q.actor);
    if (q.action) {
      // `member.*` is a prefix match. Not LIKE: `%` and `_` in the filter would be wildcards,
      // and SQLite's LIKE ignores case where PostgreSQL's does not. substr is exact on both.
      const prefix = q.action.slice(0, -1);
      query = q.action.endsWith('.*')
        ? query.where(sql<string>`substr(action, 1, ${sql.lit(prefix.length)})`, '=', prefix)
        : query.where('action', '=', q.action);
    }
    if (q.target) query = query.where('target_id', '=', q.target);
    const from = parseTime(q.from, 'from');
    const to = parseTime(q.to, 'to');
    if (from !== undefined) query = query.where('created_at', '>=', from);
    if (to !== undefined) query = query.where('created_at', '<', to);
    return query;
  }

  async function list(orgId: string | null | undefined, q: AuditQuery) {
    let query = filtered(orgId, q);
    if (q.cursor) {
      const seq = Number(q.cursor);
      if (!Number.isInteger(seq) || seq < 0)
        throw new AppError('validation_failed', 'The cursor is not valid', {
          errors: [{ path: 'query.cursor', message: 'not a cursor from this list' }],
        });
      query = query.where('seq', '<', seq);
    }
    const rows = await query
      .orderBy('seq', 'desc')
      .limit(q.limit + 1)
      .execute();
    const page = rows.slice(0, q.limit);
    return {
      data: page.map(toAuditEvent),
      next_cursor: rows.length > q.limit ? String(page[page.length - 1]!.seq) : null,
    };
  }

  /**
   * Walks a chain from its start (or the checkpoint retention left) and recomputes every hash.
   * Reports the first event whose stored hash, or link to the previous one, does not match.
   *
   * Hashes are keyed (audit.repo.ts). Events written before the chain was keyed verify with the
   * old unkeyed rule, but only up to the keyed `audit.chain_keyed` event the upgrade appended;
   * a chain that stays unkeyed to its end was recomputed without the key, and is reported.
   * `anchor`, a signed head the operator kept (`…/audit-logs/head`), is checked as well: the
   * chain must still hold that event with that hash — which detects the removal of the newest
   * events up to that head.
   */
  async function verify(orgId: string | null, anchorJws?: string) {
    const chain = chainOf(orgId);
    const key = auditKeyOf(db);
    const anchor = anchorJws === undefined ? undefined : await verifyHead(rt, chain, anchorJws);
    const checkpoint = await db
      .selectFrom('audit_checkpoints')
      .selectAll()
      .where('chain', '=', chain)
      .executeTakeFirst();
    const checkpointOut = checkpoint ? { seq: checkpoint.seq, removed: checkpoint.removed } : null;
    let anchorFound = false;
    const result = (
      valid: boolean,
      checked: number,
      firstBroken: { id: string; seq: number; reason: string } | null,
    ) => {
      const anchored =
        anchor === undefined
          ? undefined
          : anchorFound || (anchor.sequence === 0 && anchor.hash === null)
            ? { sequence: anchor.sequence, found: true, reason: null }
            : checkpoint && Number(checkpoint.seq) > anchor.sequence && valid
              ? // Retention removed it; the checkpoint (keyed) vouches for what came before.
                { sequence: anchor.sequence, found: true, reason: 'removed by retention' }
              : {
                  sequence: anchor.sequence,
                  found: false,
                  reason:
                    'the chain no longer holds this event with this hash (events were removed or rewritten)',
                };
      return {
        valid: valid && (anchored === undefined || anchored.found),
        checked,
        checkpoint: checkpointOut,
        first_broken: firstBroken,
        ...(anchored ? { anchor: anchored } : {}),
      };
    };
    if (checkpoint) {
      // Moving the checkpoint would let a writer drop the oldest events unnoticed.
      const mac = checkpoint.mac;
      if (!mac || mac !== checkpointMac(key, checkpoint))
        return result(false, 0, {
          id: `checkpoint:${chain}`,
          seq: Number(checkpoint.seq),
          reason: 'the retention checkpoint was changed after it was written',
        });
      if (anchor && Number(checkpoint.seq) === anchor.sequence && checkpoint.hash === anchor.hash)
        anchorFound = true;
    }
    let expectedPrev: string | null = checkpoint?.hash ?? null;
    let after = checkpoint ? checkpoint.seq : -1;
    let checked = 0;
    /** null until the first event: whether this stretch of the chain is keyed */
    let keyed: boolean | null = null;
    let firstUnkeyed: { id: string; seq: number } | null = null;
    for (;;) {
      let q = db.selectFrom('audit_events').selectAll().where('seq', '>', after);
      q =
        orgId === null
          ? q.where('organization_id', 'is', null)
          : q.where('organization_id', '=', orgId);
      const batch = await q.orderBy('seq').limit(1000).execute();
      for (const e of batch) {
        checked++;
        const keyedHash = eventHash(key, e.prev_hash, e);
        // A chain starts keyed unless its first event carries an old, unkeyed hash.
        if (keyed === null)
          keyed = keyedHash === e.hash || legacyEventHash(e.prev_hash, e) !== e.hash;
        const sealsUnkeyed = !keyed && e.action === CHAIN_KEYED_ACTION && e.actor_type === 'system';
        const expected = keyed || sealsUnkeyed ? keyedHash : legacyEventHash(e.prev_hash, e);
        const reason =
          e.prev_hash !== expectedPrev
            ? 'the link to the previous event is broken (an event was removed, inserted or reordered)'
            : expected !== e.hash
              ? 'the event was changed after it was written'
              : null;
        if (reason) return result(false, checked, { id: e.id, seq: e.seq, reason });
        if (!keyed && !firstUnkeyed) firstUnkeyed = { id: e.id, seq: e.seq };
        if (sealsUnkeyed) keyed = true;
        if (anchor && e.seq === anchor.sequence && e.hash === anchor.hash) anchorFound = true;
        expectedPrev = e.hash;
        after = e.seq;
      }
      if (batch.length < 1000) break;
    }
    if (keyed === false && firstUnkeyed)
      return result(false, checked, {
        ...firstUnkeyed,
        reason:
          'the chain was recomputed without the audit key (unkeyed events after the upgrade to keyed hashes)',
      });
    return result(true, checked, null);
  }

  /**
   * The chain's newest event, signed (JWS, ES256, the token signing key) so the operator can keep
   * it elsewhere and later ask `verify` whether the chain still holds it.
   */
  async function head(orgId: string | null): Promise<AuditHead & { checkpoint: string }> {
    const chain = chainOf(orgId);
    let q = db.selectFrom('audit_events').select(['seq', 'hash']);
    q =
      orgId === null
        ? q.where('organization_id', 'is', null)
        : q.where('organization_id', '=', orgId);
    const last = await q.orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const retained = last
      ? undefined
      : await db
          .selectFrom('audit_checkpoints')
          .select(['seq', 'hash'])
          .where('chain', '=', chain)
          .executeTakeFirst();
    const top = last ?? retained;
    const payload: AuditHead = {
      organization: chain,
      sequence: top ? Number(top.seq) : 0,
      hash: top?.hash ?? null,
      at: toIso(clock.now()),
    };
    return { ...payload, checkpoint: await signHead(rt, payload) };
  }

  /** Every matching event, oldest first, one JSON object per line. */
  async function* exportNdjson(
    orgId: string | null | undefined,
    q: Omit<AuditQuery, 'limit' | 'cursor'>,
  ) {
    let after = -1;
    for (;;) {
      const batch = await filtered(orgId, q)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(1000)
        .execute();
      for (const e of batch) yield `${JSON.stringify(toAuditEvent(e))}\n`;
      if (batch.length < 1000) return;
      after = batch[batch.length - 1]!.seq;
    }
  }

  /**
   * Retention: removes events older than `days`, chain by chain, leaving a checkpoint (the last
   * removed event's seq and hash) so that what remains still verifies.
   */
  async function applyRetention(days: number) {
    const cutoff = clock.now() - days * 24 * 3600 * 1000;
    const chains = await db
      .selectFrom('audit_events')
      .select('organization_id')
      .where('created_at', '<', cutoff)
      .distinct()
      .execute();
    let removed = 0;
    for (const { organization_id: orgId } of chains) {
      removed += await db.transaction().execute(async (trx) => {
        const chain = chainOf(orgId);
        // Like a writer: no event is chained, and no other node trims this chain, while the
        // checkpoint moves (two nodes run retention hourly).
        await lockChain(trx, chain);
        let q = trx
          .selectFrom('audit_events')
          .select(['seq', 'hash'])
          .where('created_at', '<', cutoff);
        q =
          orgId === null
            ? q.where('organization_id', 'is', null)
            : q.where('organization_id', '=', orgId);
        const last = await q.orderBy('seq', 'desc').limit(1).executeTakeFirst();
        const lastHash = last?.hash;
        if (!last || !lastHash) return 0;
        let del = trx.deleteFrom('audit_events').where('seq', '<=', last.seq);
        del =
          orgId === null
            ? del.where('organization_id', 'is', null)
            : del.where('organization_id', '=', orgId);
        const res = await del.executeTakeFirst();
        const n = Number(res.numDeletedRows);
        const key = auditKeyOf(trx);
        const before = await trx
          .selectFrom('audit_checkpoints')
          .select('removed')
          .where('chain', '=', chain)
          .executeTakeFirst();
        const point = { chain, seq: last.seq, hash: lastHash, removed: (before?.removed ?? 0) + n };
        const next = { ...point, mac: checkpointMac(key, point) };
        await trx
          .insertInto('audit_checkpoints')
          .values({ ...next, created_at: clock.now() })
          .onConflict((oc) => oc.column('chain').doUpdateSet({ ...next, created_at: clock.now() }))
          .execute();
        return n;
      });
    }
    return removed;
  }

  return { list, verify, head, exportNdjson, applyRetention };
}

export type AuditService = ReturnType<typeof createAuditService>;
