import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../../..');

export interface SampleService {
  /** http://127.0.0.1:<port>: GET /hello and GET /protected/:scope */
  baseUrl: string;
  stop(): Promise<void>;
}

/** Starts sample-service.ts in a child process (through tsx), pointed at a Gatehouse. */
export async function startSampleService(options: {
  gatehouseUrl: string;
  permission?: string;
  cacheTtlMs?: number;
}): Promise<SampleService> {
  const child = fork(
    path.join(ROOT, 'apps/server/bin/run-ts.js'),
    [path.join(HERE, 'sample-service.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        GATEHOUSE_URL: options.gatehouseUrl,
        PERMISSION: options.permission ?? 'organization:read',
        SDK_CACHE_TTL_MS: String(options.cacheTtlMs ?? 5_000),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('sample service: no answer in 30 s')), 30_000);
    child.on('message', (m: { type?: string; port?: number }) => {
      if (m.type === 'ready' && m.port) {
        clearTimeout(timer);
        resolve(m.port);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sample service exited with ${code} before listening`));
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    async stop() {
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
