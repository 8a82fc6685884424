import { performance } from 'node:perf_hooks';
import argon2 from 'argon2';
import { summarize, type Timing } from './stats';

/**
 * The raw argon2id rate of this machine: the same addon and the same options as
 * `createPasswordHasher` (apps/server/src/security/passwords.ts), called back to back with
 * `inFlight` calls outstanding and nothing else running in the process. The addon hashes on
 * libuv's thread pool, so more in flight than UV_THREADPOOL_SIZE only queues.
 */
export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
}

export const argon2Options = (params: Argon2Params) => ({
  type: argon2.argon2id as 2,
  memoryCost: params.memoryCost,
  timeCost: params.timeCost,
  parallelism: 1,
});

const PASSWORD = 'Bench-Passw0rd!-raw';

export async function referenceHash(params: Argon2Params): Promise<string> {
  return argon2.hash(PASSWORD, argon2Options(params));
}

export async function measureArgon2(
  op: 'hash' | 'verify',
  params: Argon2Params,
  inFlight: number,
  seconds: number,
): Promise<Timing> {
  const options = argon2Options(params);
  const stored = await referenceHash(params);
  const once: () => Promise<unknown> =
    op === 'hash'
      ? () => argon2.hash(PASSWORD, options)
      : () =>
          argon2.verify(stored, PASSWORD).then((ok) => {
            if (!ok) throw new Error('argon2.verify refused its own hash');
          });
  // Warm-up: one call per lane, so the pool threads exist and the memory is touched.
  await Promise.all(Array.from({ length: inFlight }, once));

  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  async function lane() {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await once();
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
  // Every started call is counted and the clock runs until the last one ends: no tail is dropped.
  const elapsed = (performance.now() - start) / 1000;
  return summarize(latencies, elapsed);
}
