import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { devModeRefusal, isLoopbackHost, loadConfig } from '../src/config';
import { createTestContext, type TestContext } from './harness';

/**
 * `gatehouse start` as a service manager runs it: a real process, its stdout a pipe, stopped by
 * a signal. The database is this file's (SQLite file or PostgreSQL database from the harness).
 */

const BIN = path.resolve(__dirname, '../bin/gatehouse.js');
const REPO = path.resolve(__dirname, '../../..');

let ctx: TestContext;
let children: ChildProcess[] = [];
beforeAll(async () => {
  ctx = await createTestContext();
});
afterEach(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children = [];
});
afterAll(async () => {
  await ctx?.close();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Started {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startCli(env: Record<string, string>, stdout: 'pipe' | 'ignore' = 'pipe') {
  const port = await freePort();
  const db = ctx.gatehouse.rt.config.database;
  const child = spawn(process.execPath, [BIN, 'start'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TMPDIR: process.env.TMPDIR ?? '',
      PORT: String(port),
      LOG_LEVEL: 'info',
      ARGON2_MEMORY_KIB: '8192',
      ARGON2_ITERATIONS: '1',
      ...(db.kind === 'postgres' ? { DATABASE_URL: db.url } : { DATA_DIR: ctx.dataDir }),
      ...env,
    },
    stdio: ['ignore', stdout, 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, port, stderr: () => stderr, exited } satisfies Started;
}

/** Waits until /health answers 200, or the process exits first (then: false). */
async function healthy(started: Started, withinMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  let exited = false;
  void started.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`http://127.0.0.1:${started.port}/health`);
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** The exit, or null when the process is still running after `ms`. */
function exitWithin(started: Started, ms: number) {
  return Promise.race([
    started.exited,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), ms)),
  ]);
}

describe('development mode on the network', { timeout: 90_000 }, () => {
  // @see issue 10 #15: /v1/dev/outbox (every code and reset link) was served to the network.
  it('start refuses HOST=0.0.0.0 in development mode, with a message naming the way out', async () => {
    const started = await startCli({ HOST: '0.0.0.0' });
    const exit = await Promise.race([
      started.exited,
      healthy(started).then((up) => (up ? 'served' : null)),
    ]);
    expect(exit, 'the process must exit, not serve').not.toBe('served');
    const { code } = await started.exited;
    expect(code).not.toBe(0);
    expect(started.stderr()).toMatch(/development mode/);
    expect(started.stderr()).toMatch(/GATEHOUSE_ENV=production/);
    expect(started.stderr()).toMatch(/ALLOW_DEV_ON_PUBLIC_HOST/);
  });

  // @see issue 10 #15
  it('with ALLOW_DEV_ON_PUBLIC_HOST=on it starts on 0.0.0.0 and warns about the outbox', async () => {
    // A loaded CI machine may need longer than the default grace to close the pools: this test
    // is about the refusal and the warning, the grace has tests of its own below.
    const started = await startCli({
      HOST: '0.0.0.0',
      ALLOW_DEV_ON_PUBLIC_HOST: 'on',
      SHUTDOWN_GRACE_MS: '15000',
    });
    expect(await healthy(started), started.stderr()).toBe(true);
    // The warning is written before the server listens; its bytes may reach us after /health's.
    for (let i = 0; i < 50 && !/outbox/.test(started.stderr()); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(started.stderr()).toMatch(/WARNING: development mode/);
    expect(started.stderr()).toMatch(/\/v1\/dev\/outbox/);
    started.child.kill('SIGTERM');
    const stopped = await exitWithin(started, 20_000);
    expect(stopped?.code, started.stderr()).toBe(0);
  });

  // @see issue 10 #15
  it('decides by the address: loopback is fine, anything else needs the override', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'id.example.com'])
      expect(isLoopbackHost(host), host).toBe(false);
    const dev = (env: Record<string, string>) => devModeRefusal(loadConfig(env));
    expect(dev({ HOST: '0.0.0.0' })).toMatch(/ALLOW_DEV_ON_PUBLIC_HOST/);
    expect(dev({ HOST: '0.0.0.0', ALLOW_DEV_ON_PUBLIC_HOST: 'on' })).toBeNull();
    expect(dev({ HOST: '0.0.0.0', GATEHOUSE_ENV: 'production' })).toBeNull();
    expect(dev({ HOST: '127.0.0.1' })).toBeNull();
  });
});

describe('stopping', { timeout: 90_000 }, () => {
  // @see issue 10 #23: writing the startup banner to a closed pipe (EPIPE) crashed the server.
  it('serves with its stdout pipe closed by the reader, and SIGTERM stops it cleanly', async () => {
    const started = await startCli({ SHUTDOWN_GRACE_MS: '3000' });
    started.child.stdout?.destroy();
    expect(await healthy(started), started.stderr()).toBe(true);
    // Request log lines now meet EPIPE.
    for (let i = 0; i < 20; i++)
      expect((await fetch(`http://127.0.0.1:${started.port}/health`)).status).toBe(200);
    started.child.kill('SIGTERM');
    const exit = await exitWithin(started, 20_000);
    expect(exit, 'the process must exit on SIGTERM').not.toBeNull();
    expect(exit?.code).toBe(0);
  });

  // @see issue 10 #23: a full stdout pipe blocked the shutdown log line, and SIGTERM with it.
  it('exits on SIGTERM while nobody reads its stdout', async () => {
    const started = await startCli({ SHUTDOWN_GRACE_MS: '3000' });
    expect(await healthy(started), started.stderr()).toBe(true);
    // Stop reading: the pipe (64 KiB) fills with request log lines.
    started.child.stdout?.pause();
    const url = `http://127.0.0.1:${started.port}/health`;
    for (let i = 0; i < 1_200; i += 20)
      await Promise.all(Array.from({ length: 20 }, () => fetch(url).then((r) => r.arrayBuffer())));
    started.child.kill('SIGTERM');
    const exit = await exitWithin(started, 20_000);
    expect(exit, 'the process must exit on SIGTERM').not.toBeNull();
  });

  // @see issue 10 #23: a request that never completes does not hold the process past the grace.
  it('exits within the grace period although a client holds a request open', async () => {
    const started = await startCli({ SHUTDOWN_GRACE_MS: '1000', REQUEST_TIMEOUT_MS: '600000' });
    expect(await healthy(started), started.stderr()).toBe(true);
    const socket = net.connect(started.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    await new Promise((r) => setTimeout(r, 300));
    started.child.kill('SIGTERM');
    const exit = await exitWithin(started, 20_000);
    socket.destroy();
    expect(exit, 'the process must exit on SIGTERM').not.toBeNull();
  });
});
