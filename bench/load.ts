import autocannon from 'autocannon';
import { summarize, type Timing } from './stats';

/**
 * One autocannon stream against the bench server (127.0.0.1 only). Connection i sends the
 * headers and body of `perConnection(i)` on every request — a few users hitting repeatedly — or,
 * with `nextBody`, a fresh body per request (sign-ups need a new address each time).
 *
 * Latencies are taken from autocannon's `response` event (hrtime, fractional ms) rather than its
 * histogram, which records whole milliseconds: p50 of a sub-millisecond route would read 0 or 1.
 * Only 2xx answers count towards the rate; anything else is reported and fails the row.
 */
export interface LoadSpec {
  baseUrl: string;
  path: string;
  method?: 'GET' | 'POST';
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  perConnection?: (index: number) => { headers?: Record<string, string>; body?: string };
  nextBody?: () => string;
}

export interface LoadResult extends Timing {
  /** every 2xx latency, ms, for merging rounds */
  latencies: number[];
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

export interface RunningLoad {
  done: Promise<LoadResult>;
  stop(): void;
}

export function startLoad(spec: LoadSpec): RunningLoad {
  const url = new URL(spec.path, spec.baseUrl);
  if (url.hostname !== '127.0.0.1') throw new Error(`refusing to load ${url.host}: 127.0.0.1 only`);
  const method = spec.method ?? 'GET';
  const headers = {
    ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    ...spec.headers,
  };
  let connectionIndex = 0;
  const { nextBody } = spec;
  const instance = autocannon({
    url: url.toString(),
    method,
    connections: spec.connections,
    duration: spec.seconds,
    headers,
    ...(spec.perConnection
      ? {
          setupClient: (client) => {
            const own = spec.perConnection!(connectionIndex++);
            client.setHeadersAndBody({ ...headers, ...own.headers }, own.body ?? '');
          },
        }
      : {}),
    ...(nextBody
      ? {
          requests: [
            {
              method,
              path: url.pathname,
              headers,
              setupRequest: (req) => ({ ...req, body: nextBody() }),
            },
          ],
        }
      : {}),
  });
  const latencies: number[] = [];
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const done = Promise.resolve(instance).then((result): LoadResult => {
    const statusCodes: Record<string, number> = {};
    for (const [code, { count }] of Object.entries(result.statusCodeStats))
      statusCodes[code] = count;
    return {
      ...summarize(latencies, result.duration),
      latencies,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      statusCodes,
    };
  });
  return { done, stop: () => instance.stop() };
}

export const runLoad = (spec: LoadSpec) => startLoad(spec).done;

/** Several runs of the same stream as one: all their answers over all their time. */
export function mergeLoads(runs: LoadResult[]): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies);
  const statusCodes: Record<string, number> = {};
  for (const r of runs)
    for (const [code, n] of Object.entries(r.statusCodes))
      statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const sum = (pick: (r: LoadResult) => number) => runs.reduce((acc, r) => acc + pick(r), 0);
  return {
    ...summarize(
      latencies,
      sum((r) => r.seconds),
    ),
    latencies,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    statusCodes,
  };
}
