/**
 * A sample platform service for the benchmark (issue 6 item 6), run as a child process so that
 * neither Gatehouse nor the load generator shares its event loop:
 *
 *   GET /hello               the baseline: the same Fastify, no middleware
 *   GET /protected/:scope    behind `gatehouseFastify.requirePermission(PERMISSION, scope)`
 *
 * Environment: GATEHOUSE_URL (required), PERMISSION (default organization:read),
 * SDK_CACHE_TTL_MS (default 5000; 0 = ask Gatehouse on every request). Tells its parent
 * `{ type: 'ready', port }` over IPC and closes on `{ type: 'stop' }`.
 */
import Fastify from 'fastify';
import { gatehouseFastify } from '../fastify';
import { createPermissionGuard } from '../guard';

const gatehouseUrl = process.env.GATEHOUSE_URL;
if (!gatehouseUrl) throw new Error('GATEHOUSE_URL is required');
const permission = process.env.PERMISSION ?? 'organization:read';
const cacheTtlMs = Number(process.env.SDK_CACHE_TTL_MS ?? 5_000);

const guard = createPermissionGuard({ baseUrl: gatehouseUrl, cacheTtlMs });
const app = Fastify({ logger: false });
app.get('/hello', async () => ({ hello: 'world' }));
app.get<{ Params: { scope: string } }>(
  '/protected/:scope',
  {
    preHandler: gatehouseFastify.requirePermission<{ Params: { scope: string } }>(
      permission,
      (req) => req.params.scope,
      guard,
    ),
  },
  async (req) => ({ hello: 'world', reason: req.gatehouse?.reason.kind }),
);

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
if (process.send) {
  process.send({ type: 'ready', port });
  process.on('message', async (m: { type?: string }) => {
    if (m.type === 'stop') {
      await app.close();
      process.exit(0);
    }
  });
} else {
  console.log(`sample service on http://127.0.0.1:${port}`);
}
