/**
 * Authorization benchmark (issues 3 and 6), printed in one run:
 * - in-process checks per second of the pure engine (compiled roles, a member with grants);
 * - POST /v1/authz/check with a user's bearer token and with an API key, against GET /bench/hello
 *   on the same server process, in alternating rounds (goal ≥ 0.5 of hello, p99 ≤ 5 ms at 64
 *   connections);
 * - the SDK's requirePermission middleware on a sample Fastify service (decision cache on and
 *   off), against that service's own hello route.
 * Usage: node apps/server/bin/run-ts.js bench/authz.ts   (BENCH_DATABASE_URL adds PostgreSQL)
 */
import os from 'node:os';
import { compileRoles, defaultCatalog, evaluate, type Principal } from '../apps/server/src/authz';
import { startSampleService } from '../packages/sdk/src/bench/start-sample-service';
import { type LoadResult, mergeLoads, runLoad } from './load';
import { seedUsers } from './seed';
import { startBenchServer } from './server-process';

const SECONDS = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_AUTHZ_CONNECTIONS ?? 64);

type Row = {
  name: string;
  result?: LoadResult;
  rate?: number;
  baseline?: LoadResult;
  goal?: string;
  pass?: boolean;
  note?: string;
};
const rows: Row[] = [];
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');

function inProcessChecks() {
  const roles = compileRoles(defaultCatalog, 'media');
  const principal: Principal = {
    organizationId: 'org_1',
    userStatus: 'active',
    membershipStatus: 'active',
    isOrganizationOwner: false,
    ownedAccountIds: [],
    grants: [
      { role: 'video-developer', scope: 'org_1' },
      { role: 'image-analyst', scope: 'acc_image' },
      { permissions: ['billing:read'], scope: 'org_1' },
    ],
  };
  const targets = [
    { organizationId: 'org_1', accountId: 'acc_video', accountProduct: 'video' },
    {
      organizationId: 'org_1',
      accountId: 'acc_image',
      accountProduct: 'image',
      resourceId: 'res_1',
    },
  ];
  const permissions = ['video.assets:create', 'image.usage:read', 'billing:pay', 'members:invite'];
  let n = 0;
  let allowed = 0;
  const started = performance.now();
  while (performance.now() - started < 2000) {
    for (let i = 0; i < 1000; i++) {
      if (evaluate(defaultCatalog, roles, principal, permissions[i % 4]!, targets[i % 2]!).allowed)
        allowed++;
      n++;
    }
  }
  const rate = n / ((performance.now() - started) / 1000);
  rows.push({
    name: 'in-process evaluate (pure engine)',
    rate,
    note: `${fmt((allowed / n) * 100)}% allowed`,
  });
}

async function call(baseUrl: string, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function server(engine: 'sqlite' | 'postgres') {
  const srv = await startBenchServer({
    engine,
    postgresAdminUrl: process.env.BENCH_DATABASE_URL,
    cpuProfileDir: process.env.BENCH_CPU_PROFILE,
  });
  try {
    const [owner, dev] = await seedUsers(srv.baseUrl, 2);
    const org = await call(srv.baseUrl, 'POST', '/v1/organizations', owner!.accessToken, {
      name: 'Bench Media',
      template: 'media',
    });
    const acc = await call(
      srv.baseUrl,
      'POST',
      `/v1/organizations/${org.id}/accounts`,
      owner!.accessToken,
      { name: 'Videos', product: 'video' },
    );
    await call(srv.baseUrl, 'POST', `/v1/organizations/${org.id}/members`, owner!.accessToken, {
      email: dev!.email,
      grants: [{ role: 'video-developer', scope: org.id }],
    });
    const key = await call(
      srv.baseUrl,
      'POST',
      `/v1/organizations/${org.id}/api-keys`,
      owner!.accessToken,
      { name: 'bench', grants: [{ role: 'video-developer', scope: org.id }] },
    );
    const body = JSON.stringify({ permission: 'video.assets:create', scope: acc.id });
    const probe = await call(srv.baseUrl, 'POST', '/v1/authz/check', dev!.accessToken, {
      permission: 'video.assets:create',
      scope: acc.id,
    });
    if (probe.allowed !== true) throw new Error(`the check should allow: ${JSON.stringify(probe)}`);
    const hello: LoadResult[] = [];
    const helloPost: LoadResult[] = [];
    const byToken: LoadResult[] = [];
    const byKey: LoadResult[] = [];
    const load = (path: string, token?: string) =>
      runLoad({
        baseUrl: srv.baseUrl,
        path,
        method: token ? 'POST' : 'GET',
        connections: CONNECTIONS,
        seconds: SECONDS,
        ...(token
          ? { headers: { authorization: `Bearer ${token}` }, perConnection: () => ({ body }) }
          : {}),
      });
    await load('/bench/hello'); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      hello.push(await load('/bench/hello'));
      helloPost.push(
        await runLoad({
          baseUrl: srv.baseUrl,
          path: '/bench/hello',
          method: 'POST',
          connections: CONNECTIONS,
          seconds: SECONDS,
          perConnection: () => ({ body }),
        }),
      );
      byToken.push(await load('/v1/authz/check', dev!.accessToken));
      byKey.push(await load('/v1/authz/check', String(key.secret)));
    }
    const getBase = mergeLoads(hello);
    const base = mergeLoads(helloPost);
    rows.push({ name: `[${engine}] GET /bench/hello (${CONNECTIONS} conn)`, result: getBase });
    rows.push({ name: `[${engine}] POST /bench/hello, same body (baseline)`, result: base });
    for (const [name, runs] of [
      ['POST /v1/authz/check (bearer token)', byToken],
      ['POST /v1/authz/check (API key)', byKey],
    ] as const) {
      const merged = mergeLoads(runs);
      const ratio = merged.rate / base.rate;
      rows.push({
        name: `[${engine}] ${name}`,
        result: merged,
        baseline: base,
        goal: '≥ 0.5, p99 ≤ 5 ms',
        pass: ratio >= 0.5 && merged.p99 <= 5 && merged.non2xx === 0,
        note: `(${fmt(merged.rate / getBase.rate, 2)} of GET hello)`,
      });
    }
    if (engine === 'sqlite') await sdk(srv.baseUrl, dev!.accessToken, String(acc.id));
  } finally {
    await srv.stop();
  }
}

async function sdk(gatehouseUrl: string, token: string, scope: string) {
  for (const cacheTtlMs of [5_000, 0]) {
    const svc = await startSampleService({
      gatehouseUrl,
      permission: 'video.assets:create',
      cacheTtlMs,
    });
    try {
      const hello: LoadResult[] = [];
      const guarded: LoadResult[] = [];
      const load = (path: string) =>
        runLoad({
          baseUrl: svc.baseUrl,
          path,
          connections: 32,
          seconds: SECONDS,
          headers: { authorization: `Bearer ${token}` },
        });
      await load('/hello');
      for (let r = 0; r < ROUNDS; r++) {
        hello.push(await load('/hello'));
        guarded.push(await load(`/protected/${scope}`));
      }
      const base = mergeLoads(hello);
      const merged = mergeLoads(guarded);
      const label = cacheTtlMs ? 'decision cache 5 s' : 'no decision cache';
      rows.push({ name: `[sdk] sample service GET /hello`, result: base });
      rows.push({
        name: `[sdk] requirePermission, ${label}`,
        result: merged,
        baseline: base,
        goal: cacheTtlMs ? '≥ 0.5' : '(reported)',
        pass: cacheTtlMs
          ? merged.rate / base.rate >= 0.5 && merged.non2xx === 0
          : merged.non2xx === 0,
      });
    } finally {
      await svc.stop();
    }
  }
}

inProcessChecks();
await server('sqlite');
if (process.env.BENCH_DATABASE_URL) await server('postgres');

console.log(
  `\nGatehouse authorization benchmark — ${os.cpus().length} cores, node ${process.version}, ${SECONDS}s × ${ROUNDS} rounds\n`,
);
console.log(
  [
    'figure'.padEnd(52),
    'req/s'.padStart(10),
    'p50 ms'.padStart(8),
    'p99 ms'.padStart(8),
    'ratio'.padStart(7),
    '  goal',
  ].join(' '),
);
let failed = false;
for (const r of rows) {
  const rate = r.result ? r.result.rate : (r.rate ?? Number.NaN);
  const ratio = r.baseline && r.result ? fmt(r.result.rate / r.baseline.rate, 2) : '';
  const non2xx =
    r.result && r.result.non2xx > 0
      ? `  (${r.result.non2xx} non-2xx: ${JSON.stringify(r.result.statusCodes)})`
      : '';
  if (r.result && r.result.non2xx > 0) failed = true;
  console.log(
    [
      r.name.padEnd(52),
      fmt(rate).padStart(10),
      (r.result ? fmt(r.result.p50, 2) : '').padStart(8),
      (r.result ? fmt(r.result.p99, 2) : '').padStart(8),
      ratio.padStart(7),
      `  ${r.goal ?? ''}${r.pass === undefined ? '' : r.pass ? ' PASS' : ' FAIL'}${r.note ? ` ${r.note}` : ''}${non2xx}`,
    ].join(' '),
  );
}
process.exit(failed ? 1 : 0);
