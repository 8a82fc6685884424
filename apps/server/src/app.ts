import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyContextConfig,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RouteOptions,
} from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import type { Config } from './config';
import type { Database } from './db/database';
import type { SessionsTable } from './db/schema';
import { createOutboxWorker, type OutboxWorker } from './delivery/worker';
import { AppError, installErrorHandling, problem } from './http/errors';
import { createMetrics } from './http/metrics';
import { transportOptions } from './http/transport';
import type { App } from './http/types';
import { InvalidatingCache } from './lib/cache';
import { type Clock, systemClock } from './lib/clock';
import { newId } from './lib/ids';
import { createInvalidationBus } from './lib/invalidation';
import { stdoutDestination } from './lib/log-destination';
import { accessRoutes } from './modules/access/access.routes';
import { createAccessService } from './modules/access/access.service';
import { accountRoutes } from './modules/accounts/accounts.routes';
import { createAccountService } from './modules/accounts/accounts.service';
import { adminRoutes } from './modules/admin/admin.routes';
import { createAdminService } from './modules/admin/admin.service';
import { apiAccessCheckRoutes } from './modules/api-keys/api-access-check.routes';
import { apiKeyRoutes } from './modules/api-keys/api-keys.routes';
import { createApiKeyService, isApiKeySecret } from './modules/api-keys/api-keys.service';
import { useAuditKey } from './modules/audit/audit.repo';
import { auditRoutes } from './modules/audit/audit.routes';
import { createAuditService } from './modules/audit/audit.service';
import { authRoutes } from './modules/auth/auth.routes';
import { createAuthService } from './modules/auth/auth.service';
import { consoleRoutes } from './modules/console/console.routes';
import { invitationRoutes } from './modules/invitations/invitations.routes';
import { createInvitationService } from './modules/invitations/invitations.service';
import { memberRoutes } from './modules/members/members.routes';
import { createMemberService } from './modules/members/members.service';
import { mfaRoutes } from './modules/mfa/mfa.routes';
import { createMfaService } from './modules/mfa/mfa.service';
import { oauthRoutes } from './modules/oauth/oauth.routes';
import { createOAuthService } from './modules/oauth/oauth.service';
import { organizationRoutes } from './modules/organizations/organizations.routes';
import { createOrganizationService } from './modules/organizations/organizations.service';
import { roleRoutes } from './modules/roles/roles.routes';
import { createRoleService } from './modules/roles/roles.service';
import { createSessionService } from './modules/sessions/sessions.service';
import { setupRoutes } from './modules/setup/setup.routes';
import { createSetupService } from './modules/setup/setup.service';
import { devRoutes } from './modules/system/dev.routes';
import { systemRoutes } from './modules/system/system.routes';
import { meRoutes } from './modules/users/me.routes';
import type { UserRow } from './modules/users/users.repo';
import { createUserService } from './modules/users/users.service';
import type { Runtime } from './runtime';
import { createPasswordHasher } from './security/passwords';
import { createRateLimits } from './security/rate-limits';
import { AccessTokens } from './tokens/access-tokens';
import { SigningKeyStore } from './tokens/signing-keys';

export interface AppDeps {
  config: Config;
  database: Database;
  clock?: Clock;
  logger?: Logger;
  /** multiplies every rate limit; tests that do not test limits raise them */
  rateLimitScale?: number;
  /** run the outbox delivery worker in the background (default true) */
  startWorker?: boolean;
}

export interface Gatehouse {
  app: App;
  rt: Runtime;
  outbox: OutboxWorker;
  services: ReturnType<typeof createServices>;
  close(): Promise<void>;
}

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-csrf-token"]',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.refresh_token',
  '*.access_token',
  '*.reset_token',
  '*.token',
  '*.code',
  '*.secret',
];

export function createLogger(config: Config): Logger {
  // Never a blocking write: a stalled log reader must not freeze the server (issue 10 #23).
  return pino(
    { level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' } },
    stdoutDestination(),
  );
}

/** The HMAC secret: configured, or generated once and kept in the database for every node. */
async function loadSecretKey(database: Database, configured?: string): Promise<string> {
  if (configured) return configured;
  const { db } = database;
  const existing = await db
    .selectFrom('system_settings')
    .select('value')
    .where('key', '=', 'secret_key')
    .executeTakeFirst();
  if (existing) return existing.value;
  const generated = randomBytes(32).toString('base64url');
  // Two nodes starting at once: the second insert loses and both read the winner's value.
  await db
    .insertInto('system_settings')
    .values({ key: 'secret_key', value: generated })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db
    .selectFrom('system_settings')
    .select('value')
    .where('key', '=', 'secret_key')
    .executeTakeFirstOrThrow();
  return row.value;
}

function createServices(rt: Runtime) {
  const sessions = createSessionService(rt);
  const mfa = createMfaService(rt, sessions);
  const auth = createAuthService(rt, sessions, mfa);
  const oauth = createOAuthService(rt, sessions, mfa);
  const users = createUserService(rt);
  const setup = createSetupService(rt, sessions);
  const access = createAccessService(rt, { expireSession: sessions.expire });
  // A refresh judges the session's organization exactly as a switch does (issue 10 #2).
  sessions.useOrganizationJudge((session, principal) =>
    access.organizationRefusal(principal, session.current_org_id!),
  );
  const organizations = createOrganizationService(rt, access);
  const accounts = createAccountService(rt, access);
  const roles = createRoleService(rt, access);
  const members = createMemberService(rt, access);
  const invitations = createInvitationService(rt, access, members, sessions);
  const apiKeys = createApiKeyService(rt, access);
  const audit = createAuditService(rt);
  const admin = createAdminService(rt, access, sessions);
  return {
    sessions,
    mfa,
    auth,
    oauth,
    users,
    setup,
    access,
    organizations,
    accounts,
    roles,
    members,
    invitations,
    admin,
    apiKeys,
    audit,
  };
}

const nodeTag = newId('tok').slice(-8);
let requestCounter = 0;

/** Whether a parsed request value holds a NUL character anywhere (strings, keys, nested). */
function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 32 || value === null || typeof value !== 'object' || Buffer.isBuffer(value))
    return false;
  for (const [k, v] of Object.entries(value))
    if (k.includes('\u0000') || hasNul(v, depth + 1)) return true;
  return false;
}

/**
 * The OpenAPI security requirements of a route, from what it declares: `auth: 'public'` needs
 * nothing (`[]`), `optional` may also be called anonymously (`{}`), anything else needs a
 * bearer token or a session cookie. An API key authenticates on every signed-in route, but
 * routes that act as a person (their handler calls userOf) and platform administration
 * refuse it: only the others list `apiKey`.
 */
function securityOf(route: RouteOptions): Record<string, string[]>[] {
  const config = (route.config ?? {}) as FastifyContextConfig;
  const mode = config.auth ?? 'required';
  if (mode === 'public') return [];
  const personOnly = config.platformAdmin === true || /\buserOf\b/.test(String(route.handler));
  return [
    ...(mode === 'optional' ? [{}] : []),
    { bearer: [] },
    { cookie: [] },
    ...(personOnly ? [] : [{ apiKey: [] }]),
  ];
}

/**
 * The route parameters as the route's schema reads them, or null when they are not valid (or
 * hold a NUL character): then validation answers 400 and no handler runs.
 */
function wellFormedParams(req: FastifyRequest): Record<string, string> | null {
  if (hasNul(req.params)) return null;
  const schema = req.routeOptions.schema?.params as
    | { safeParse?: (v: unknown) => { success: boolean; data?: unknown } }
    | undefined;
  if (typeof schema?.safeParse !== 'function') return req.params as Record<string, string>;
  const parsed = schema.safeParse(req.params);
  return parsed.success ? (parsed.data as Record<string, string>) : null;
}

/** The composition root: wires config, database, clock, delivery and services as plain objects. */
export async function createApp(deps: AppDeps): Promise<Gatehouse> {
  const { config, database } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger(config);
  const now = () => clock.now();

  const keys = new SigningKeyStore(
    database.db,
    now,
    (config.accessTokenTtl + 60) * 1000,
    config.keyPublishLeadSeconds * 1000,
  );
  await keys.init(config.signingKeyPem);
  const secretKey = await loadSecretKey(database, config.secretKey);
  // The audit chain's HMAC key, derived from SECRET_KEY: never stored in the database.
  useAuditKey(database.db, secretKey);
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
    : undefined;
  redis?.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));
  const bus = createInvalidationBus({ redisUrl: config.redisUrl, logger });
  const caches = {
    users: new InvalidatingCache<UserRow | null>(100_000, 60_000, now),
    sessions: new InvalidatingCache<SessionsTable | null>(100_000, 60_000, now),
  };
  bus.subscribe((topic) => {
    const [kind, id] = topic.split(':', 2) as [string, string];
    if (kind === 'user') caches.users.invalidate(id);
    else if (kind === 'session') caches.sessions.invalidate(id);
  });
  bus.onReset(() => {
    caches.users.clear();
    caches.sessions.clear();
  });
  const metrics = createMetrics();
  let outbox: OutboxWorker | undefined;

  const rt: Runtime = {
    config,
    db: database.db,
    dialect: database.dialect,
    clock,
    logger,
    bus,
    caches,
    keys,
    tokens: new AccessTokens(
      keys,
      config.publicUrl,
      config.accessTokenTtl,
      now,
      config.accessTokenAudience,
    ),
    hasher: createPasswordHasher(config.argon2),
    limits: createRateLimits({ redis, scale: deps.rateLimitScale, sms: config.sms }),
    secretKey,
    notifyOutbox: () => outbox?.notify(),
    metrics,
  };
  outbox = createOutboxWorker(rt);
  const services = createServices(rt);

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request is written by our onResponse hook (route pattern, no URL).
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: 256 * 1024,
    // Timeouts, and problem+json for what Node answers before Fastify (issue 10 #16, #17).
    ...transportOptions(config),
    requestIdHeader: false,
    // A safe incoming id is kept; otherwise this node's random tag and a counter: unique across
    // nodes and restarts, and far cheaper per request than fresh random bytes.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given)
        ? given
        : `${nodeTag}-${(requestCounter++).toString(36)}`;
    },
    routerOptions: { ignoreTrailingSlash: true },
    // A malformed URL (`/v1/x/%`) is a request problem like any other: problem+json, not
    // Fastify's own error body.
    frameworkErrors: (error, req, rawReply) => {
      const reply = rawReply as unknown as FastifyReply;
      reply
        .code(400)
        .type('application/problem+json')
        .send(
          JSON.stringify({
            ...problem('validation_failed', `The request is not valid (${error.message})`),
            request_id: req.id,
          }),
        );
    },
  }).withTypeProvider<ZodTypeProvider>() as App;

  // JSON is the only body the API reads (avatars add their image types in their own scope):
  // a text/plain body is refused as 415, not half-parsed.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  await app.register(fastifyCookie);
  // Security headers on every answer (CSP, no sniffing, no framing, HSTS, no referrer leaks).
  // The defaults suit the API and the docs UI (scripts and styles from this origin only).
  const https = config.publicUrl.startsWith('https://');
  await app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: {
      directives: {
        'frame-ancestors': ["'none'"],
        // On plain http (a laptop, a test) upgrading would break every asset.
        'upgrade-insecure-requests': https ? [] : null,
      },
    },
    frameguard: { action: 'deny' },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
  // Browsers on other origins may call the API only from CORS_ORIGINS; with none configured,
  // no CORS headers are sent and browsers refuse cross-origin calls.
  if (config.corsOrigins.length > 0)
    await app.register(fastifyCors, {
      origin: config.corsOrigins,
      credentials: true,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: [
        'authorization',
        'content-type',
        'x-csrf-token',
        'x-api-key',
        'x-request-id',
      ],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse API',
        version: '0.1.0',
        description:
          'Users, organizations, access and sessions for media platforms. Errors are RFC 9457 problem+json with a stable `code`.',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          cookie: {
            type: 'apiKey',
            in: 'cookie',
            name: 'gatehouse_session',
            description: 'state-changing requests also send the CSRF token as X-CSRF-Token',
          },
          apiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'x-api-key',
            description: 'an organization API key (also accepted as `Authorization: Bearer`)',
          },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  // Each operation documents its own security, derived from its declaration (issue 10 #18):
  // public routes none, signed-in routes a bearer token or the session cookie, plus an API key
  // where one is accepted. Set on every route registered after this point (all of the API).
  app.addHook('onRoute', (route) => {
    route.schema = { ...(route.schema ?? {}), security: securityOf(route) };
  });
  // The documentation UI's own routes are public; mark them so in their own scope.
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), auth: 'public' };
      route.schema = { ...(route.schema ?? {}), hide: true };
    });
    await scope.register(fastifySwaggerUi, { routePrefix: '/docs' });
  });

  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    const mode = req.routeOptions.config?.auth ?? 'required';
    if (mode === 'public' || req.is404) return;
    try {
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const headerKey = req.headers['x-api-key'];
      if (typeof headerKey === 'string' || (bearer && isApiKeySecret(bearer))) {
        req.principal = await services.apiKeys.authenticate(
          typeof headerKey === 'string' ? headerKey : bearer!,
        );
      } else {
        const csrf = req.headers['x-csrf-token'];
        req.principal = await services.sessions.authenticate(
          {
            authorization: req.headers.authorization,
            csrf: typeof csrf === 'string' ? csrf : undefined,
          },
          req.method,
          req.cookies,
        );
      }
    } catch (error) {
      if (error instanceof AppError) metrics.authFailures.inc({ code: error.code });
      throw error;
    }
    if (!req.principal && mode === 'required') {
      metrics.authFailures.inc({ code: 'unauthenticated' });
      throw new AppError('unauthenticated');
    }
  });
  // Authorization: routes declare what they need (config.access, config.platformAdmin); this
  // one hook enforces it as soon as the caller is known, BEFORE the body is read or validated:
  // a non-member's 100,000-element body is never parsed or validated, and answers 404 like any
  // other request of a non-member (issue 10 #5). Only the route parameters are needed; they are
  // parsed here with the route's own schema, and malformed ones skip the check, since
  // validation then refuses the request (400) before any handler runs.
  app.addHook('onRequest', async (req) => {
    const config = req.routeOptions.config;
    if (config?.platformAdmin && !(req.principal?.kind === 'user' && req.principal.isPlatformAdmin))
      throw new AppError('platform_admin_required');
    const need = config?.access;
    if (!need) return;
    const principal = req.principal;
    if (!principal) throw new AppError('unauthenticated');
    const params = wellFormedParams(req);
    if (!params) return;
    const orgId = params.orgId;
    if (!orgId) throw new Error(`route ${req.routeOptions.url} declares access but has no :orgId`);
    if (need.permission === 'member') await services.access.assertMember(principal, orgId);
    else if (need.reach) {
      // Held at the organization, or only at some accounts/resources: the handler filters to
      // where (issue 10 #4); a named member must hold something there.
      req.reach = await services.access.authorizeReach(principal, orgId, need.permission);
      const member = need.memberParam ? params[need.memberParam] : undefined;
      if (member !== undefined) await services.access.assertMemberInReach(orgId, member, req.reach);
    } else
      await services.access.authorize(
        principal,
        orgId,
        need.permission,
        need.scopeParam ? params[need.scopeParam] : orgId,
      );
  });
  // PostgreSQL text cannot hold NUL characters; no Gatehouse field needs one. Refuse them in
  // any parameter, query or JSON body up front (400), rather than failing at the database (500).
  app.addHook('preValidation', async (req) => {
    const where = hasNul(req.params)
      ? 'params'
      : hasNul(req.query)
        ? 'query'
        : hasNul(req.body)
          ? 'body'
          : null;
    if (where)
      throw new AppError('validation_failed', `The ${where} contains a NUL character`, {
        errors: [{ path: where, message: 'NUL characters are not allowed' }],
      });
  });
  app.addHook('preHandler', async (req) => {
    // After access (checked on request, above): a caller who may not act here learns nothing
    // about step-up.
    if (req.routeOptions.config?.stepUp && req.principal?.kind === 'user')
      await services.mfa.assertRecentAuth(req.principal);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: reply.statusCode });
    metrics.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    // The route pattern, not the URL: paths and queries may carry tokens.
    req.log.info(
      {
        method: req.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });

  app.get('/openapi.json', { schema: { hide: true }, config: { auth: 'public' } }, async () =>
    app.swagger(),
  );
  systemRoutes(app, { rt });
  authRoutes(app, { rt, auth: services.auth, sessions: services.sessions });
  meRoutes(app, { rt, users: services.users });
  mfaRoutes(app, { rt, mfa: services.mfa });
  oauthRoutes(app, { rt, oauth: services.oauth });
  setupRoutes(app, { rt, setup: services.setup });
  organizationRoutes(app, { organizations: services.organizations });
  accountRoutes(app, { accounts: services.accounts });
  roleRoutes(app, { roles: services.roles, access: services.access });
  memberRoutes(app, { members: services.members, access: services.access });
  accessRoutes(app, { access: services.access, apiKeys: services.apiKeys, rt });
  apiKeyRoutes(app, { apiKeys: services.apiKeys });
  apiAccessCheckRoutes(app, {
    rt,
    sessions: services.sessions,
    apiKeys: services.apiKeys,
    access: services.access,
  });
  auditRoutes(app, { audit: services.audit });
  invitationRoutes(app, { invitations: services.invitations });
  adminRoutes(app, { admin: services.admin });
  if (config.env === 'development') devRoutes(app, { rt });
  // Last: the console answers every GET that no API route took (apps/console, same origin).
  await consoleRoutes(app);

  if (deps.startWorker !== false) outbox.start();
  // Audit retention (AUDIT_RETENTION_DAYS): trims old events hourly, leaving checkpoints.
  const retentionDays = config.auditRetentionDays;
  const retention = retentionDays
    ? setInterval(
        () =>
          void services.audit
            .applyRetention(retentionDays)
            .catch((err: Error) => logger.warn({ err: err.message }, 'audit retention failed')),
        3_600_000,
      )
    : undefined;
  retention?.unref();

  return {
    app,
    rt,
    outbox,
    services,
    async close() {
      if (retention) clearInterval(retention);
      await outbox.stop();
      await app.close();
      await services.apiKeys.close();
      await bus.close();
      redis?.disconnect();
    },
  };
}
