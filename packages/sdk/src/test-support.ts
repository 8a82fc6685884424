/**
 * Test helpers for the SDK's own tests (not exported by the package): the in-process Gatehouse
 * listening on a real port, and a fetch that records what it sends.
 *
 * The server is reached only through the test harness (`apps/server/test`), loaded
 * dynamically: the SDK itself never imports the server.
 */
import type { AddressInfo } from 'node:net';

type Harness = typeof import('../../../apps/server/test/harness');
type Seed = typeof import('../../../apps/server/test/seed');
export type TestContext = Awaited<ReturnType<Harness['createTestContext']>>;
export type SignedIn = Awaited<ReturnType<TestContext['signUp']>>;

export const harness: Harness = await import('../../../apps/server/test/harness');
export const seed: Seed = await import('../../../apps/server/test/seed');

/** The issuer the harness signs with (its PUBLIC_URL), not where it listens. */
export const ISSUER = 'http://gatehouse.test';

export interface Served {
  ctx: TestContext;
  /** where the in-process server listens: http://127.0.0.1:<port> */
  baseUrl: string;
}

export async function serve(options: Parameters<Harness['createTestContext']>[0] = {}) {
  const ctx = await harness.createTestContext(options);
  await ctx.gatehouse.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = ctx.gatehouse.app.server.address() as AddressInfo;
  return { ctx, baseUrl: `http://127.0.0.1:${port}` } satisfies Served;
}

export interface RecordedCall {
  method: string;
  path: string;
  headers: Record<string, string>;
}

/** A fetch that records each call (method, path, headers) before passing it on. */
export function recordingFetch() {
  const calls: RecordedCall[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    calls.push({
      method: init?.method ?? 'GET',
      path: url.pathname,
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
    });
    return fetch(input, init);
  };
  return {
    fetch: fetchImpl,
    calls,
    count: (method: string, path: string) =>
      calls.filter((c) => c.method === method && c.path === path).length,
    reset: () => {
      calls.length = 0;
    },
  };
}

/** Listens on 127.0.0.1 on a free port; answers the base URL. */
export async function listen(server: import('node:http').Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}
