/**
 * The SDK middleware's cost, measured: `node apps/server/bin/run-ts.js
 * packages/sdk/src/bench/middleware-bench.ts`. A Gatehouse (the in-process test harness, SQLite,
 * rate limits raised) answers the checks; the sample service (sample-service.ts) runs in a child
 * process; autocannon runs here. For each cache setting it measures GET /hello and
 * GET /protected/{org} on the sample service with one user's bearer token, alternating for
 * BENCH_ROUNDS rounds (default 3) so that a noisy neighbour hurts both alike, and prints the
 * median requests/s and latency of each, and their ratio. BENCH_DURATION (s per run, default 3),
 * BENCH_CONNECTIONS (default 16). Gatehouse shares this process with the load generator: compare the ratios, not
 * the absolute figures, with bench/run.ts.
 */
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { startSampleService } from './start-sample-service';

const { createTestContext } = await import('../../../../apps/server/test/harness');
const DURATION = Number(process.env.BENCH_DURATION ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

const ctx = await createTestContext({ rateLimitScale: 1_000_000 });
await ctx.gatehouse.app.listen({ port: 0, host: '127.0.0.1' });
const gatehouseUrl = `http://127.0.0.1:${(ctx.gatehouse.app.server.address() as AddressInfo).port}`;
const user = await ctx.signUp();
const org = await ctx.request('POST', '/v1/organizations', {
  token: user.accessToken,
  body: { name: 'Bench' },
});
const headers = { authorization: `Bearer ${user.accessToken}` };

async function measure(url: string) {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers });
  if (result.non2xx > 0) throw new Error(`${url}: ${result.non2xx} answers were not 2xx`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

type Run = Awaited<ReturnType<typeof measure>>;
/** The run with the median rate. */
const median = (runs: Run[]) =>
  [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)]!;

const rows: string[] = [];
for (const cacheTtlMs of [5_000, 0]) {
  const svc = await startSampleService({ gatehouseUrl, cacheTtlMs });
  try {
    await measure(`${svc.baseUrl}/protected/${org.body.id}`); // warm-up
    const hellos = [];
    const guardeds = [];
    for (let round = 0; round < ROUNDS; round++) {
      hellos.push(await measure(`${svc.baseUrl}/hello`));
      guardeds.push(await measure(`${svc.baseUrl}/protected/${org.body.id}`));
    }
    const hello = median(hellos);
    const guarded = median(guardeds);
    rows.push(
      `cache ${String(cacheTtlMs).padStart(4)} ms | hello ${hello.rps.toFixed(0)} req/s (p50 ${hello.p50} ms, p99 ${hello.p99} ms)` +
        ` | protected ${guarded.rps.toFixed(0)} req/s (p50 ${guarded.p50} ms, p99 ${guarded.p99} ms)` +
        ` | ratio ${(guarded.rps / hello.rps).toFixed(2)}`,
    );
  } finally {
    await svc.stop();
  }
}
await ctx.close();
console.log(rows.join('\n'));
