/**
 * `npm run bench`: one run, one table (issue 2 item 8; BENCHMARKS.md explains each figure).
 *
 *  1. argon2id raw rate in this process, same options as the server, at 1, nproc and
 *     UV_THREADPOOL_SIZE calls in flight (for the record).
 *  2. A real server (bench/server.ts) in a child process on a fresh database, users made
 *     through the API, then autocannon from this process against 127.0.0.1:
 *       GET /bench/hello and GET /v1/me (bearer), alternating in rounds → ratio, goal ≥ 0.5
 *       POST /v1/auth/login, alternating with raw argon2.verify at UV_THREADPOOL_SIZE in flight
 *         → logins/s ÷ raw verifies/s, goal ≥ 0.85
 *       GET /v1/me (and hello) while another stream registers users → ratio to alone
 *     on SQLite, then on PostgreSQL when BENCH_DATABASE_URL is set.
 *
 * Knobs (environment): BENCH_DURATION (s per measured run, 6), BENCH_WARMUP (s, 2),
 * BENCH_ROUNDS (hello/me alternations, 2), BENCH_CONNECTIONS (reads, 32),
 * BENCH_LOGIN_CONNECTIONS (2 × pool), BENCH_SIGNUP_CONNECTIONS (pool), BENCH_USERS (4),
 * BENCH_ARGON2_SECONDS (3), BENCH_DATABASE_URL (postgres://… admin URL; a fresh database is
 * created and dropped), BENCH_CPU_PROFILE (a folder: the server child runs with --cpu-prof).
 * ARGON2_MEMORY_KIB / ARGON2_ITERATIONS / UV_THREADPOOL_SIZE reach both sides alike.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../apps/server/src/config';
import { measureArgon2 } from './argon2';
import { type LoadResult, type LoadSpec, mergeLoads, runLoad, startLoad } from './load';
import { seedUsers, signUpBody } from './seed';
import { type BenchServer, startBenchServer } from './server-process';
import type { Timing } from './stats';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: must be a positive number`);
  return value;
}

const cores = os.availableParallelism();
// libuv's pool: 4 threads unless UV_THREADPOOL_SIZE says otherwise (the child inherits it).
const poolSize = Math.min(1024, Math.max(1, Math.floor(envNumber('UV_THREADPOOL_SIZE', 4))));
const DURATION = envNumber('BENCH_DURATION', 6);
const WARMUP = envNumber('BENCH_WARMUP', 2);
const ROUNDS = Math.floor(envNumber('BENCH_ROUNDS', 2));
const CONNECTIONS = Math.floor(envNumber('BENCH_CONNECTIONS', 32));
const LOGIN_CONNECTIONS = Math.floor(envNumber('BENCH_LOGIN_CONNECTIONS', 2 * poolSize));
const SIGNUP_CONNECTIONS = Math.floor(envNumber('BENCH_SIGNUP_CONNECTIONS', poolSize));
const USERS = Math.floor(envNumber('BENCH_USERS', 4));
const ARGON2_SECONDS = envNumber('BENCH_ARGON2_SECONDS', 3);
const POSTGRES_URL = process.env.BENCH_DATABASE_URL;
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROFILE;
// The same variables, parsed the same way, as the server child: the same argon2 parameters.
const argon2Params = loadConfig({ ...process.env, DATABASE_URL: undefined }).argon2;

const progress = (line: string) => process.stderr.write(`· ${line}\n`);

/**
 * Cost of one run, from CPU counters read just before and after it: of the server child for
 * HTTP runs (with its event loop's utilization and delay, and the CPU of this process, the load
 * generator), of this process for raw argon2 runs (`raw`).
 */
interface Side {
  raw?: boolean;
  elapsedS: number;
  serverCpuUs: number;
  eluActive: number;
  eluIdle: number;
  loopP99Ms: number;
  generatorCpuUs: number;
}

interface Row {
  name: string;
  unit: 'ops/s' | 'req/s';
  timing: Timing;
  baseline?: { name: string; rate: () => number };
  goal?: number;
  error?: string;
  side?: Side;
  note?: string;
}

const rows: Row[] = [];

/**
 * Waits until the server is idle. When autocannon's time is up it drops its connections, but
 * the server still finishes what it had started (up to a few queued argon2 hashes after a login
 * or sign-up run), which would otherwise be charged to the next measurement.
 */
async function settle(server: BenchServer) {
  const deadline = performance.now() + 5000;
  let last = await server.stats();
  while (performance.now() < deadline) {
    await sleep(100);
    const now = await server.stats();
    const cpuUs = now.cpuUserUs + now.cpuSystemUs - (last.cpuUserUs + last.cpuSystemUs);
    if (cpuUs < 10_000) return; // under 10% of one core over 100 ms
    last = now;
  }
}

async function measured(
  server: BenchServer,
  run: () => Promise<LoadResult>,
): Promise<{ result: LoadResult; side: Side }> {
  await settle(server);
  const before = await server.stats();
  const genBefore = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const elapsedS = (performance.now() - t0) / 1000;
  const gen = process.cpuUsage(genBefore);
  const after = await server.stats();
  return {
    result,
    side: {
      elapsedS,
      serverCpuUs: after.cpuUserUs + after.cpuSystemUs - (before.cpuUserUs + before.cpuSystemUs),
      eluActive: after.elu.active - before.elu.active,
      eluIdle: after.elu.idle - before.elu.idle,
      loopP99Ms: after.loopDelayP99Ms,
      generatorCpuUs: gen.user + gen.system,
    },
  };
}

const mergeSides = (sides: Side[]): Side => ({
  raw: sides.every((s) => s.raw),
  elapsedS: sides.reduce((a, s) => a + s.elapsedS, 0),
  serverCpuUs: sides.reduce((a, s) => a + s.serverCpuUs, 0),
  eluActive: sides.reduce((a, s) => a + s.eluActive, 0),
  eluIdle: sides.reduce((a, s) => a + s.eluIdle, 0),
  loopP99Ms: Math.max(...sides.map((s) => s.loopP99Ms)),
  generatorCpuUs: sides.reduce((a, s) => a + s.generatorCpuUs, 0),
});

function failure(result: LoadResult): string | undefined {
  if (result.non2xx + result.errors + result.timeouts === 0 && result.count > 0) return undefined;
  const codes = Object.entries(result.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, n]) => `${n}×${code}`);
  return [
    ...codes,
    result.errors ? `${result.errors} errors` : '',
    result.timeouts ? `${result.timeouts} timeouts` : '',
    result.count === 0 ? 'no 2xx answer' : '',
  ]
    .filter(Boolean)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------
// argon2id, raw

const rawHash: Timing[] = [];
const bestRawHash = () => Math.max(...rawHash.map((t) => t.rate));

async function rawArgon2(op: 'hash' | 'verify', inFlight: number, seconds: number) {
  const cpuBefore = process.cpuUsage();
  const timing = await measureArgon2(op, argon2Params, inFlight, seconds);
  const cpu = process.cpuUsage(cpuBefore);
  const side: Side = {
    raw: true,
    elapsedS: timing.seconds,
    serverCpuUs: cpu.user + cpu.system,
    eluActive: 0,
    eluIdle: 0,
    loopP99Ms: Number.NaN,
    generatorCpuUs: 0,
  };
  if (op === 'hash') rawHash.push(timing);
  return { timing, side };
}

async function argon2Row(op: 'hash' | 'verify', inFlight: number) {
  progress(`argon2.${op} raw, ${inFlight} in flight, ${ARGON2_SECONDS} s`);
  const { timing, side } = await rawArgon2(op, inFlight, ARGON2_SECONDS);
  rows.push({ name: `argon2.${op} raw, ${inFlight} in flight`, unit: 'ops/s', timing, side });
}

// ---------------------------------------------------------------------------------------------
// one engine

async function benchEngine(engine: 'sqlite' | 'postgres') {
  progress(`[${engine}] starting the server`);
  const server = await startBenchServer({
    engine,
    postgresAdminUrl: POSTGRES_URL,
    cpuProfileDir: CPU_PROFILE_DIR,
  });
  try {
    if (
      server.argon2.memoryCost !== argon2Params.memoryCost ||
      server.argon2.timeCost !== argon2Params.timeCost
    )
      throw new Error('the server and the raw measurement disagree on argon2 parameters');
    const tag = `[${engine}]`;
    const baseUrl = server.baseUrl;
    progress(`${tag} ${baseUrl}: seeding ${USERS} users through the API`);
    const users = await seedUsers(baseUrl, USERS);
    const userOf = (i: number) => users[i % users.length]!;

    // Both read streams send the same request shape (a bearer token per connection); the
    // public hello route ignores it, so the two differ only in what the server does.
    const read = (path: string, seconds: number): LoadSpec => ({
      baseUrl,
      path,
      connections: CONNECTIONS,
      seconds,
      perConnection: (i) => ({ headers: { authorization: `Bearer ${userOf(i).accessToken}` } }),
    });

    // -- hello vs /v1/me, alternating so a noisy neighbour hurts both alike
    progress(`${tag} warm-up: hello and /v1/me, ${WARMUP} s each`);
    await runLoad(read('/bench/hello', WARMUP));
    await runLoad(read('/v1/me', WARMUP));
    const slice = DURATION / ROUNDS;
    const hello: { result: LoadResult; side: Side }[] = [];
    const me: { result: LoadResult; side: Side }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`${tag} round ${round}/${ROUNDS}: hello then /v1/me, ${slice} s each`);
      hello.push(await measured(server, () => runLoad(read('/bench/hello', slice))));
      me.push(await measured(server, () => runLoad(read('/v1/me', slice))));
    }
    const helloResult = mergeLoads(hello.map((h) => h.result));
    const meResult = mergeLoads(me.map((m) => m.result));
    const helloName = `${tag} GET /bench/hello`;
    const meName = `${tag} GET /v1/me (bearer)`;
    rows.push({
      name: helloName,
      unit: 'req/s',
      timing: helloResult,
      error: failure(helloResult),
      side: mergeSides(hello.map((h) => h.side)),
    });
    rows.push({
      name: meName,
      unit: 'req/s',
      timing: meResult,
      baseline: { name: 'hello', rate: () => helloResult.rate },
      goal: 0.5,
      error: failure(meResult),
      side: mergeSides(me.map((m) => m.side)),
    });

    // -- logins, alternating with raw verifies at the pool's concurrency: the baseline is measured
    // in the same minutes as the logins, so a neighbour's burst weighs on both.
    const login: LoadSpec = {
      baseUrl,
      path: '/v1/auth/login',
      method: 'POST',
      connections: LOGIN_CONNECTIONS,
      seconds: DURATION / ROUNDS,
      perConnection: (i) => ({
        body: JSON.stringify({ email: userOf(i).email, password: userOf(i).password }),
      }),
    };
    progress(`${tag} POST /v1/auth/login: warm-up ${WARMUP} s`);
    await runLoad({ ...login, seconds: WARMUP });
    const raw: { timing: Timing; side: Side }[] = [];
    const logins: { result: LoadResult; side: Side }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`${tag} round ${round}/${ROUNDS}: raw verify then logins, ${slice} s each`);
      await settle(server);
      raw.push(await rawArgon2('verify', poolSize, slice));
      logins.push(await measured(server, () => runLoad(login)));
    }
    const rawTimings = raw.map((r) => r.timing);
    const rawMerged: Timing = {
      rate:
        rawTimings.reduce((a, t) => a + t.count, 0) / rawTimings.reduce((a, t) => a + t.seconds, 0),
      count: rawTimings.reduce((a, t) => a + t.count, 0),
      seconds: rawTimings.reduce((a, t) => a + t.seconds, 0),
      // percentiles do not merge; the rounds' worst is the honest summary
      p50: Math.max(...rawTimings.map((t) => t.p50)),
      p99: Math.max(...rawTimings.map((t) => t.p99)),
    };
    const rawName = `argon2.verify raw, ${poolSize} in flight`;
    rows.push({
      name: `${tag} ${rawName} (alternating)`,
      unit: 'ops/s',
      timing: rawMerged,
      side: mergeSides(raw.map((r) => r.side)),
    });
    const loginResult = mergeLoads(logins.map((l) => l.result));
    rows.push({
      name: `${tag} POST /v1/auth/login`,
      unit: 'req/s',
      timing: loginResult,
      baseline: { name: 'raw verify (alternating)', rate: () => rawMerged.rate },
      goal: 0.85,
      error: failure(loginResult),
      side: mergeSides(logins.map((l) => l.side)),
    });

    // -- reads while another stream signs users up (argon2.hash on every request)
    let signUpCount = 0;
    const signUps: LoadSpec = {
      baseUrl,
      path: '/v1/auth/register',
      method: 'POST',
      connections: SIGNUP_CONNECTIONS,
      seconds: DURATION + 5,
      nextBody: () => signUpBody(signUpCount++),
    };
    const duringSignUps = async (path: string, name: string, alone: LoadResult) => {
      progress(
        `${tag} ${path} for ${DURATION} s while ${SIGNUP_CONNECTIONS} connections register users`,
      );
      await settle(server);
      const background = startLoad(signUps);
      await sleep(1000); // the pool is busy hashing before reads start
      const reads = await measured(server, () => runLoad(read(path, DURATION)));
      background.stop();
      const registered = await background.done;
      rows.push({
        name: `${tag} ${name} during sign-ups`,
        unit: 'req/s',
        timing: reads.result,
        baseline: { name: `${name} alone`, rate: () => alone.rate },
        error: failure(reads.result),
        side: reads.side,
      });
      rows.push({
        name: `${tag}   └ POST /v1/auth/register alongside`,
        unit: 'req/s',
        timing: registered,
        baseline: { name: 'raw hash (best)', rate: bestRawHash },
        error: failure(registered),
      });
    };
    await duringSignUps('/v1/me', 'GET /v1/me', meResult);
    await duringSignUps('/bench/hello', 'GET /bench/hello', helloResult);
  } finally {
    progress(`[${engine}] stopping the server`);
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// report

const fmtRate = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const fmtMs = (n: number) =>
  Number.isNaN(n) ? '-' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function report(startedAt: number, loadBefore: number[]) {
  let failed = false;
  const main = rows.map((row) => {
    const ratio = row.baseline ? row.timing.rate / row.baseline.rate() : undefined;
    let verdict = '';
    if (row.error) {
      verdict = `ERROR: ${row.error}`;
      failed = true;
    } else if (row.goal !== undefined && ratio !== undefined)
      verdict = ratio >= row.goal ? 'pass' : 'FAIL';
    else if (ratio !== undefined) verdict = 'info';
    return [
      row.name,
      `${fmtRate(row.timing.rate)} ${row.unit}`,
      fmtMs(row.timing.p50),
      fmtMs(row.timing.p99),
      row.baseline ? row.baseline.name : '',
      ratio !== undefined ? ratio.toFixed(2) : '',
      row.goal !== undefined ? `≥ ${row.goal}` : '',
      verdict,
    ];
  });
  const side = rows
    .filter((row) => row.side)
    .map((row) => {
      const s = row.side!;
      const perOp = (s.serverCpuUs / Math.max(1, row.timing.count)).toFixed(0);
      const cores = (s.serverCpuUs / 1e6 / s.elapsedS).toFixed(2);
      if (s.raw) return [row.name, perOp, cores, '-', '-', '-'];
      return [
        row.name,
        perOp,
        cores,
        (s.eluActive / Math.max(1e-9, s.eluActive + s.eluIdle)).toFixed(2),
        fmtMs(s.loopP99Ms),
        (s.generatorCpuUs / 1e6 / s.elapsedS).toFixed(2),
      ];
    });

  const out = process.stdout;
  out.write(
    `\n${table(['name', 'rate', 'p50 ms', 'p99 ms', 'vs', 'ratio', 'goal', 'result'], main)}\n`,
  );
  out.write(
    `\nwhere the time went: CPU of the server child (of this process for raw argon2 rows)\n${table(
      ['name', 'CPU µs/op', 'cores', 'event loop busy', 'loop delay p99 ms', 'load-gen cores'],
      side,
    )}\n`,
  );
  const loadAfter = os.loadavg();
  out.write(
    `\nmachine: ${cores} cores (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, ` +
      `UV_THREADPOOL_SIZE=${poolSize}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} ` +
      `before, ${loadAfter.map((l) => l.toFixed(2)).join(' ')} after\n` +
      `argon2id m=${argon2Params.memoryCost} KiB t=${argon2Params.timeCost} p=1; ` +
      `reads ${CONNECTIONS} connections, logins ${LOGIN_CONNECTIONS}, sign-ups ${SIGNUP_CONNECTIONS}; ` +
      `${USERS} users; ${DURATION} s per figure (reads in ${ROUNDS} alternating rounds) after ${WARMUP} s warm-up\n` +
      `took ${((performance.now() - startedAt) / 1000).toFixed(0)} s\n`,
  );
  return failed;
}

// ---------------------------------------------------------------------------------------------

const startedAt = performance.now();
const loadBefore = os.loadavg();
progress(
  `${cores} cores, node ${process.version}, pool ${poolSize}; argon2id m=${argon2Params.memoryCost} t=${argon2Params.timeCost} p=1`,
);
for (const inFlight of [...new Set([1, cores, poolSize])].sort((a, b) => a - b))
  await argon2Row('verify', inFlight);
await argon2Row('hash', poolSize);
await benchEngine('sqlite');
if (POSTGRES_URL) await benchEngine('postgres');
const failed = report(startedAt, loadBefore);
process.exit(failed ? 1 : 0);
