/**
 * The server under test, run as a child of bench/run.ts so that the load generator never shares
 * its event loop. It is the real composition root (`createApp` + `loadConfig`) on the database
 * the parent chose (DATA_DIR for SQLite, DATABASE_URL for PostgreSQL), plus three bench-only
 * routes:
 *
 *   GET /bench/hello   the baseline: the cheapest route this server can serve, through the same
 *                      hooks (request id, auth mode lookup, metrics, request log) as every route
 *   GET /bench/code    the latest 6-digit code queued for an address (seeding reads its mail)
 *
 * and an IPC channel: the parent asks for `stats` (CPU time, event-loop utilization and delay of
 * this process) around each run, and sends `stop` to close it cleanly (which also lets
 * --cpu-prof write its profile).
 *
 * Rate limits are raised (RATE_LIMIT_SCALE, default 1e6): the load comes from one address and a
 * handful of accounts, which is exactly what the limits exist to stop. Everything else is the
 * production configuration (GATEHOUSE_ENV=production, LOG_LEVEL=warn, argon2 from the env).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { z } from 'zod';
import { createApp } from '../apps/server/src/app';
import { loadConfig } from '../apps/server/src/config';
import { openDatabase } from '../apps/server/src/db/database';

if (!process.send) throw new Error('bench/server.ts runs as a child of bench/run.ts (IPC)');
const send = (message: unknown) => process.send?.(message);

const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0' });
const database = openDatabase(config.database);
await database.migrate();
const gatehouse = await createApp({
  config,
  database,
  rateLimitScale: Number(process.env.RATE_LIMIT_SCALE ?? 1_000_000),
});
const { app } = gatehouse;

app.get('/bench/hello', { config: { auth: 'public' } }, async () => ({ hello: 'world' }));
// The same hello-world for POST: it costs the load generator what a POST with a JSON body
// costs (on 2 cores it shares the machine), and the server a JSON parse.
app.post('/bench/hello', { config: { auth: 'public' } }, async () => ({ hello: 'world' }));

app.get(
  '/bench/code',
  {
    schema: { hide: true, querystring: z.object({ email: z.string() }) },
    config: { auth: 'public' },
  },
  async (req, reply) => {
    const row = await database.db
      .selectFrom('outbox')
      .select('body')
      .where('recipient', '=', req.query.email.toLowerCase())
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    const code = row?.body?.match(/\b(\d{6})\b/)?.[1];
    return code ? { code } : reply.code(404).send({ code: null });
  },
);

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (!address || typeof address === 'string') throw new Error('no TCP address');

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

/** What the parent needs to attribute a run's cost to this process. */
function stats() {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const result = {
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    elu: { idle: elu.idle, active: elu.active },
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
  };
  loopDelay.reset();
  return result;
}

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  // A load stream that ends drops its connections, but handlers already running (a login
  // waiting for its hash) carry on, and app.close() does not wait for them: give them a moment
  // before the database closes under them.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await gatehouse.close();
  await database.close();
  process.exit(code);
}

process.on('message', (message: { id: number; type: string }) => {
  if (message.type === 'stats') send({ id: message.id, ...stats() });
  else if (message.type === 'stop') void stop(0);
});
// The parent died without saying stop: do not linger.
process.on('disconnect', () => void stop(0));

send({ type: 'ready', port: address.port, argon2: config.argon2, database: config.database.kind });
