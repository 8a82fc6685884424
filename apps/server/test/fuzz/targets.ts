import { type ChildProcess, fork } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Gatehouse } from '../../src/app';
import type { Database } from '../../src/db/database';
import type { FuzzAnswer, Target } from './target';

/** The latest mail body queued for an address (the outbox keeps it until delivery). */
export async function lastMailIn(database: Database, email: string): Promise<string> {
  const row = await database.db
    .selectFrom('outbox')
    .select('body')
    .where('recipient', '=', email.toLowerCase())
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.body ?? '';
}

let collect: (() => void) | undefined;
/** A full garbage collection, so that heap readings compare live data, not pending garbage. */
export function collectGarbage() {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}

/** The app in this process, through app.inject (no sockets): the slice in `npm test`. */
export function inProcessTarget(name: string, gatehouse: Gatehouse, database: Database): Target {
  return {
    name,
    async send(request) {
      const started = performance.now();
      const res = await gatehouse.app.inject({
        method: request.method as 'GET',
        url: request.url,
        headers: request.headers,
        ...(request.body !== undefined ? { payload: request.body } : {}),
      });
      return {
        status: res.statusCode,
        headers: res.headers as FuzzAnswer['headers'],
        text: res.body,
        ms: performance.now() - started,
      };
    },
    lastMail: (email) => lastMailIn(database, email),
    async makeAdmin({ email, password }) {
      await gatehouse.services.setup.createAdminFromCli({
        email,
        password,
        first_name: 'Fuzz',
        last_name: 'Admin',
      });
    },
    async memory() {
      collectGarbage();
      return process.memoryUsage().heapUsed;
    },
    async close() {},
  };
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../../..');

/**
 * A server in a child process (apps/server/test/fuzz/server.ts) listening on 127.0.0.1, spoken
 * to over real HTTP/1.1 with keep-alive. It reports its RSS, reads mails and makes the
 * administrator over IPC, so the served document has no fuzz-only routes.
 */
export async function spawnedTarget(
  name: string,
  env: Record<string, string | undefined>,
): Promise<Target> {
  const child: ChildProcess = fork(
    path.join(ROOT, 'apps/server/bin/run-ts.js'),
    ['apps/server/test/fuzz/server.ts'],
    { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let nextId = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on('message', (m: { id?: number; error?: string; value?: unknown }) => {
    if (m.id === undefined) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w?.reject(new Error(m.error));
    else w?.resolve(m.value);
  });
  const ask = <T>(type: string, args: unknown = null) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, type, args });
    });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fuzz server: no answer in 60 s')), 60_000);
    child.on('message', (m: { type?: string; port?: number }) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(m.port!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`fuzz server exited with ${code}`));
    });
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  return {
    name,
    send(request) {
      return new Promise<FuzzAnswer>((resolve, reject) => {
        const started = performance.now();
        const headers: Record<string, string | number> = { ...request.headers };
        if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
        // A hard deadline of our own: a socket reset while the body is written can leave a
        // request with neither an answer nor an error (see run.ts).
        const deadline = setTimeout(() => {
          req.destroy();
          reject(new Error('no answer in 30 s'));
        }, 30_000);
        const req = http.request(
          // 127.0.0.1 only: the fuzzer never sends anywhere else
          { host: '127.0.0.1', port, method: request.method, path: request.url, headers, agent },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              clearTimeout(deadline);
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                text: Buffer.concat(chunks).toString('utf8'),
                ms: performance.now() - started,
              });
            });
            res.on('error', (error) => {
              clearTimeout(deadline);
              reject(error);
            });
          },
        );
        req.on('error', (error) => {
          clearTimeout(deadline);
          reject(error);
        });
        req.end(request.body);
      });
    },
    lastMail: (email) => ask<string>('mail', email),
    makeAdmin: (input) => ask<void>('admin', input),
    memory: () => ask<number>('rss'),
    async close() {
      agent.destroy();
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
