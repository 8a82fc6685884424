import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, engine, type TestContext } from '../harness';
import { formatReport, fuzz, judge, memoryKept } from './fuzz';
import { inProcessTarget } from './targets';

/**
 * The bounded slice of `npm run fuzz` that runs with the suite, on each engine: ≥ 10,000
 * requests generated from the served OpenAPI document (every operation, every role, valid and
 * broken inputs, forged credentials) through app.inject. It fails on any 5xx, any error that is
 * not problem+json with a `code`, a stack trace, an answer slower than FUZZ_SLOW_MS, or a heap
 * that grows past FUZZ_MEMORY_MB. The seed is random per run and printed on failure: rerun with
 * FUZZ_SEED=<seed> to get the same requests.
 *
 * @see issue 10 "Suites that stay"
 */

// Findings other helpers are still fixing, by exact key ("METHOD /path STATUS" or
// "METHOD /path slow"). A key here is reported when seen but does not fail the run; each entry
// names its defect. The lead clears this list: an empty list is the goal.
const KNOWN_FINDINGS = new Set<string>([]);

const REQUESTS = Number(process.env.FUZZ_TEST_REQUESTS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
// A bound, not a benchmark: generous, because CI machines are shared and slow.
const SLOW_MS = Number(process.env.FUZZ_SLOW_MS ?? 5_000);
const MEMORY_MB = Number(process.env.FUZZ_MEMORY_MB ?? 256);

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ rateLimitScale: 1_000_000 });
});
afterAll(async () => {
  await ctx?.close();
});

it(`answers ${REQUESTS} fuzzed requests without a 5xx, a non-problem error, a slow answer or a leak`, async () => {
  const report = await fuzz({
    target: inProcessTarget(`${engine} in-process`, ctx.gatehouse, ctx.database),
    requests: REQUESTS,
    seed: SEED,
    slowMs: SLOW_MS,
    memoryGrowthBytes: MEMORY_MB * 1024 * 1024,
    known: KNOWN_FINDINGS,
  }).catch((error: Error) => {
    // a world that cannot be made is a failure too; the seed still reproduces it
    throw new Error(`fuzz (FUZZ_SEED=${SEED}): ${error.message}`, { cause: error });
  });
  const summary = formatReport(report);
  if (process.env.FUZZ_VERBOSE) console.log(summary);
  expect(report.requests).toBeGreaterThanOrEqual(REQUESTS);
  expect(report.findings, summary).toEqual([]);
  expect(memoryKept(report), summary).toBe(true);
}, 600_000);

describe('what the fuzzer counts as a finding', () => {
  const answer = (status: number, type: string, text: string, ms = 5) => ({
    status,
    headers: { 'content-type': type },
    text,
    ms,
  });
  const problemText = JSON.stringify({ status: 400, code: 'validation_failed', title: 'x' });

  it('passes successes and problem+json errors with a code', () => {
    expect(judge(answer(200, 'application/json', '{}'), 2_000)).toBeNull();
    expect(judge(answer(302, 'text/html', ''), 2_000)).toBeNull();
    expect(
      judge(answer(400, 'application/problem+json; charset=utf-8', problemText), 2_000),
    ).toBeNull();
  });

  it('flags a 5xx even when it is problem+json', () => {
    const internal = JSON.stringify({ status: 500, code: 'internal_error' });
    expect(judge(answer(500, 'application/problem+json', internal), 2_000)).toBe('5xx');
    expect(judge(answer(503, 'text/plain', 'down'), 2_000)).toBe('5xx');
  });

  it('flags an error that is not problem+json or has no code', () => {
    expect(judge(answer(400, 'application/json', problemText), 2_000)).toBe('not-problem');
    expect(judge(answer(404, 'application/problem+json', '{"status":404}'), 2_000)).toBe(
      'not-problem',
    );
    expect(judge(answer(431, '', ''), 2_000)).toBe('not-problem');
  });

  it('flags a stack trace and a slow answer', () => {
    expect(judge(answer(200, 'application/json', 'x\n    at f (/a/b.ts:1:2)'), 2_000)).toBe(
      'stack-trace',
    );
    const escaped = JSON.stringify({ message: 'boom\n    at handler (/app/src/x.ts:10:5)' });
    expect(judge(answer(200, 'application/json', escaped), 2_000)).toBe('stack-trace');
    expect(judge(answer(200, 'application/json', '{}', 2_500), 2_000)).toBe('slow');
  });
});
