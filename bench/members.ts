/**
 * Members list at scale (issue 3): the first page, a substring search, a prefix search and a
 * role filter, p50/p99, at 10,000 and 100,000 members, on SQLite and (with BENCH_DATABASE_URL)
 * PostgreSQL. Organizations are made by the seeding command's code; requests go through the
 * real route in-process (`app.inject`: routing, authentication, authorization, query,
 * serialisation), one at a time, so the figures are the server's own latency.
 * Usage: node apps/server/bin/run-ts.js bench/members.ts
 * Goal: p99 ≤ 20 ms at 100,000 and ≤ 1.5 × the 10,000 figure.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { createApp, createLogger } from '../apps/server/src/app';
import { loadConfig } from '../apps/server/src/config';
import { openDatabase } from '../apps/server/src/db/database';
import { seedOrganization } from '../apps/server/src/modules/seed/seed';
import { percentile } from './stats';

const SIZES = (process.env.BENCH_MEMBER_SIZES ?? '10000,100000').split(',').map(Number);
const REQUESTS = Number(process.env.BENCH_MEMBER_REQUESTS ?? 200);
const QUERIES: [string, string][] = [
  ['first page (by name)', ''],
  ['first page (joined, newest)', 'sort=joined&order=desc'],
  ['search substring "lov"', 'search=lov'],
  ['search rare "turing1234"', 'search=turing1234'],
  ['search prefix "gr"', 'search=gr'],
  ['role filter (accountant)', 'role=accountant'],
];
const results: { engine: string; size: number; name: string; p50: number; p99: number }[] = [];

async function measure(engine: 'sqlite' | 'postgres') {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-members-'));
  let dropPg: (() => Promise<void>) | undefined;
  let databaseUrl: string | undefined;
  if (engine === 'postgres') {
    const admin = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL });
    const name = `gh_bench_members_${Date.now().toString(36)}`;
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(process.env.BENCH_DATABASE_URL!);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropPg = async () => {
      const c = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  const config = loadConfig({
    GATEHOUSE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const database = openDatabase(config.database);
  await database.migrate();
  const gatehouse = await createApp({
    config,
    database,
    logger: createLogger(config),
    startWorker: false,
  });
  try {
    for (const size of SIZES) {
      const seeded = await seedOrganization(database.db, { members: size });
      // Statistics as a running database has them (autovacuum on PostgreSQL; PRAGMA optimize,
      // which Gatehouse runs at start, on SQLite) — a seed of 100,000 rows in seconds outruns both.
      await sql`ANALYZE`.execute(database.db);
      const owner = await database.db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', seeded.ownerId)
        .executeTakeFirstOrThrow();
      const opened = await database.db.transaction().execute((trx) =>
        gatehouse.services.sessions.open(trx, owner, {
          amr: ['pwd'],
          meta: { ip: null, userAgent: 'bench', requestId: null },
          mode: 'token',
        }),
      );
      const { accessToken } = await gatehouse.services.sessions.finish(opened);
      for (const [name, query] of QUERIES) {
        const url = `/v1/organizations/${seeded.orgId}/members?limit=20${query ? `&${query}` : ''}`;
        const times: number[] = [];
        for (let i = 0; i < REQUESTS + 20; i++) {
          const started = performance.now();
          const res = await gatehouse.app.inject({
            method: 'GET',
            url,
            headers: { authorization: `Bearer ${accessToken}` },
          });
          const ms = performance.now() - started;
          if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
          if (i >= 20) times.push(ms);
        }
        times.sort((a, b) => a - b);
        results.push({
          engine,
          size,
          name,
          p50: percentile(times, 50),
          p99: percentile(times, 99),
        });
      }
    }
  } finally {
    await gatehouse.close();
    await database.close();
    await dropPg?.();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await measure('sqlite');
if (process.env.BENCH_DATABASE_URL) await measure('postgres');

console.log(
  `\nMembers list — ${os.cpus().length} cores, node ${process.version}, ${REQUESTS} sequential requests per row (in-process)\n`,
);
console.log(
  [
    'engine'.padEnd(9),
    'members'.padStart(8),
    'query'.padEnd(30),
    'p50 ms'.padStart(8),
    'p99 ms'.padStart(8),
    ' vs 10k p99',
    ' goal',
  ].join(' '),
);
for (const r of results) {
  const small = results.find(
    (s) => s.engine === r.engine && s.size === SIZES[0] && s.name === r.name,
  );
  const growth = small && r.size !== SIZES[0] ? r.p99 / small.p99 : Number.NaN;
  const big = r.size >= 100_000;
  const pass = big ? r.p99 <= 20 && (Number.isNaN(growth) || growth <= 1.5) : undefined;
  console.log(
    [
      r.engine.padEnd(9),
      String(r.size).padStart(8),
      r.name.padEnd(30),
      r.p50.toFixed(2).padStart(8),
      r.p99.toFixed(2).padStart(8),
      (Number.isNaN(growth) ? '' : `${growth.toFixed(2)}×`).padStart(11),
      big ? ` p99 ≤ 20 ms, ≤ 1.5× ${pass ? 'PASS' : 'FAIL'}` : '',
    ].join(' '),
  );
}
