/**
 * `npm run fuzz`: fuzzes a real server, spawned on 127.0.0.1, from its own OpenAPI document, on
 * SQLite and (when TEST_DATABASE_URL names a PostgreSQL server) on PostgreSQL, each on a fresh
 * database. Prints a summary per engine and exits 1 on any finding.
 *
 *   FUZZ_REQUESTS     requests per engine (default 10000)
 *   FUZZ_SEED         the seed (default: random, printed); same seed + count = same requests
 *   FUZZ_ENGINES      comma-separated: sqlite,postgres (default: sqlite, plus postgres when
 *                     TEST_DATABASE_URL is set)
 *   FUZZ_SLOW_MS      an answer slower than this is a finding (default 2000)
 *   FUZZ_MEMORY_MB    the server's RSS may grow this much after warm-up (default 256)
 *   FUZZ_CONCURRENCY  requests in flight (default 1: reproducible order)
 *   FUZZ_ONLY         only operations whose "METHOD /path" contains this text
 *   FUZZ_REPORT       write the findings as JSON to this file
 *   FUZZ_LOG_LEVEL    the server's log level (default fatal; `error` shows 500s' stacks)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type FuzzReport, formatReport, fuzz, memoryKept } from './fuzz';
import { spawnedTarget } from './targets';

const env = process.env;
const requests = Number(env.FUZZ_REQUESTS ?? 10_000);
const seed = Number(env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const engines = (env.FUZZ_ENGINES ?? (env.TEST_DATABASE_URL ? 'sqlite,postgres' : 'sqlite'))
  .split(',')
  .map((e) => e.trim())
  .filter(Boolean);

async function postgresDatabase(adminUrl: string) {
  const name = `gh_fuzz_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function runEngine(engine: string): Promise<FuzzReport> {
  if (engine !== 'sqlite' && engine !== 'postgres') throw new Error(`unknown engine ${engine}`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-fuzz-'));
  const database =
    engine === 'postgres'
      ? await postgresDatabase(
          env.TEST_DATABASE_URL ??
            (() => {
              throw new Error('the postgres engine needs TEST_DATABASE_URL');
            })(),
        )
      : undefined;
  // The server gets a clean environment: nothing pointing at shared infrastructure.
  const serverEnv: Record<string, string | undefined> = { ...env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'SMS_WEBHOOK_URL', 'PUBLIC_URL'])
    delete serverEnv[name];
  Object.assign(serverEnv, {
    GATEHOUSE_ENV: 'production',
    LOG_LEVEL: env.FUZZ_LOG_LEVEL ?? 'fatal',
    DATA_DIR: dataDir,
    // the fuzzer tests answers, not hashing: cheap hashes leave the time for requests
    ARGON2_MEMORY_KIB: env.ARGON2_MEMORY_KIB ?? '8192',
    ARGON2_ITERATIONS: env.ARGON2_ITERATIONS ?? '1',
    ...(database ? { DATABASE_URL: database.url } : {}),
  });
  const target = await spawnedTarget(`${engine} spawned`, serverEnv);
  try {
    return await fuzz({
      target,
      requests,
      seed,
      slowMs: Number(env.FUZZ_SLOW_MS ?? 2_000),
      memoryGrowthBytes: Number(env.FUZZ_MEMORY_MB ?? 256) * 1024 * 1024,
      concurrency: Number(env.FUZZ_CONCURRENCY ?? 1),
      ...(env.FUZZ_ONLY ? { only: env.FUZZ_ONLY } : {}),
      log: (line) => console.log(`[${engine}] ${line}`),
    });
  } finally {
    await target.close();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// A server that resets a connection while a request body is still being written can make
// Node's HTTP client raise the reset outside the request's own error handler; the request then
// fails on its timeout as a 'transport' finding. Anything else still ends the run.
process.on('uncaughtException', (error: NodeJS.ErrnoException) => {
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
    console.log(`fuzz: connection reset by the server (${error.message})`);
    return;
  }
  console.error(error);
  process.exit(2);
});

console.log(`fuzz: ${requests} requests per engine on ${engines.join(', ')}, seed ${seed}`);
const reports: FuzzReport[] = [];
for (const engine of engines) {
  const report = await runEngine(engine);
  reports.push(report);
  console.log(formatReport(report));
}
if (env.FUZZ_REPORT)
  fs.writeFileSync(
    env.FUZZ_REPORT,
    JSON.stringify(
      reports.map((r) => ({ target: r.target, seed: r.seed, findings: r.findings })),
      null,
      2,
    ),
  );
const failed = reports.filter((r) => r.findings.length > 0 || !memoryKept(r));
console.log(
  failed.length === 0
    ? `fuzz: no findings (seed ${seed})`
    : `fuzz: findings on ${failed.map((r) => r.target).join(', ')} (seed ${seed})`,
);
process.exit(failed.length === 0 ? 0 : 1);
