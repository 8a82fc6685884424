/**
 * The server `npm run fuzz` fuzzes, run as a child of apps/server/test/fuzz/run.ts: the real
 * composition root (`loadConfig` + `createApp`) on the database the parent chose (DATA_DIR for
 * SQLite, DATABASE_URL for PostgreSQL), listening on 127.0.0.1 only. The parent asks over IPC
 * for what the HTTP API does not give a stranger: the latest mail to an address (`mail`), a
 * platform administrator (`admin`, as `gatehouse create-admin`), the process's RSS (`rss`), and
 * `stop`. The outbox worker does not run, so mails stay readable; rate limits are raised
 * (RATE_LIMIT_SCALE, default 1e6) since one address and four users are what they exist to stop.
 */
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { lastMailIn } from './targets';

if (!process.send)
  throw new Error('apps/server/test/fuzz/server.ts runs as a child of run.ts (IPC)');
const send = (message: unknown) => process.send?.(message);

const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0' });
const database = openDatabase(config.database);
await database.migrate();
const gatehouse = await createApp({
  config,
  database,
  rateLimitScale: Number(process.env.RATE_LIMIT_SCALE ?? 1_000_000),
  startWorker: false,
});
await gatehouse.app.listen({ host: '127.0.0.1', port: 0 });
const address = gatehouse.app.server.address();
if (!address || typeof address === 'string') throw new Error('no TCP address');

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  await new Promise((resolve) => setTimeout(resolve, 500));
  await gatehouse.close();
  await database.close();
  process.exit(code);
}

type Message = { id?: number; type: string; args?: unknown };
process.on('message', (message: Message) => {
  const answer = async () => {
    switch (message.type) {
      case 'mail':
        return lastMailIn(database, String(message.args));
      case 'admin': {
        const { email, password } = message.args as { email: string; password: string };
        await gatehouse.services.setup.createAdminFromCli({
          email,
          password,
          first_name: 'Fuzz',
          last_name: 'Admin',
        });
        return null;
      }
      case 'rss':
        return process.memoryUsage().rss;
      case 'stop':
        void stop(0);
        return null;
      default:
        throw new Error(`unknown message ${message.type}`);
    }
  };
  answer().then(
    (value) => message.id !== undefined && send({ id: message.id, value }),
    (error: Error) => message.id !== undefined && send({ id: message.id, error: error.message }),
  );
});
process.on('disconnect', () => void stop(0));

send({ type: 'ready', port: address.port });
