import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What bench/server.ts reports about itself; differences between two reads cover one run. */
export interface ServerStats {
  cpuUserUs: number;
  cpuSystemUs: number;
  elu: { idle: number; active: number };
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface BenchServer {
  engine: 'sqlite' | 'postgres';
  baseUrl: string;
  argon2: { memoryCost: number; timeCost: number };
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

/** A database of its own on the PostgreSQL server of `adminUrl` (never the one in the URL). */
async function createPostgresDatabase(adminUrl: string) {
  const name = `gh_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
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

/**
 * Starts bench/server.ts in a child process on a fresh database: a temp DATA_DIR (SQLite), or
 * a new database on the server of BENCH_DATABASE_URL. Variables that would point the server at
 * shared infrastructure (Redis, SMTP, an SMS hook, another database) are not passed on.
 */
export async function startBenchServer(options: {
  engine: 'sqlite' | 'postgres';
  postgresAdminUrl?: string;
  cpuProfileDir?: string;
}): Promise<BenchServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const pgDb =
    options.engine === 'postgres'
      ? await createPostgresDatabase(options.postgresAdminUrl ?? '')
      : undefined;
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'SMS_WEBHOOK_URL', 'PUBLIC_URL'])
    delete env[name];
  Object.assign(env, {
    GATEHOUSE_ENV: 'production',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    DATA_DIR: dataDir,
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
  });

  const child: ChildProcess = fork(
    path.join(ROOT, 'apps/server/bin/run-ts.js'),
    ['bench/server.ts'],
    {
      cwd: ROOT,
      env,
      execArgv: options.cpuProfileDir
        ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`]
        : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  async function cleanup() {
    fs.rmSync(dataDir, { recursive: true, force: true });
    await pgDb?.drop();
  }

  type Ready = { type: 'ready'; port: number; argon2: BenchServer['argon2'] };
  let ready: Ready;
  try {
    ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bench server: no answer in 60 s')), 60_000);
      child.on('message', (m: { type?: string }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(m as Ready);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`bench server exited with ${code} before listening`));
      });
    });
  } catch (error) {
    child.kill();
    await cleanup();
    throw error;
  }

  let nextId = 1;
  const waiting = new Map<number, (stats: ServerStats) => void>();
  child.on('message', (m: { id?: number } & ServerStats) => {
    if (m.id !== undefined) waiting.get(m.id)?.(m);
    if (m.id !== undefined) waiting.delete(m.id);
  });

  return {
    engine: options.engine,
    baseUrl: `http://127.0.0.1:${ready.port}`,
    argon2: ready.argon2,
    stats() {
      const id = nextId++;
      return new Promise<ServerStats>((resolve) => {
        waiting.set(id, resolve);
        child.send({ id, type: 'stats' });
      });
    },
    async stop() {
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      await cleanup();
    },
  };
}
