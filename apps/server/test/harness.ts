import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { createApp, type Gatehouse } from '../src/app';
import { type Env, loadConfig } from '../src/config';
import { type Database, openDatabase } from '../src/db/database';
import { ManualClock } from '../src/lib/clock';

/**
 * Each test file owns its world: a fresh SQLite file in a temp folder, or a fresh PostgreSQL
 * database created on the server named by TEST_DATABASE_URL (never the database in that URL
 * itself), dropped again at the end. The engine comes from the vitest project (sqlite|postgres).
 */
export const engine = (process.env.GATEHOUSE_TEST_ENGINE ?? 'sqlite') as 'sqlite' | 'postgres';

async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set for the postgres project');
  const name = `gh_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestContextOptions {
  env?: Partial<Record<keyof Env, string>>;
  /** raise every rate limit (default 100x) so tests that do not test limits never hit them */
  rateLimitScale?: number;
  startWorker?: boolean;
  /** the app's logger (default: built from LOG_LEVEL, which the harness sets to silent) */
  logger?: Logger;
}

export interface InjectOptions {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  remoteAddress?: string;
}

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers by path
  body: any;
  text: string;
  cookies: { name: string; value: string }[];
}

export interface TestContext {
  gatehouse: Gatehouse;
  database: Database;
  clock: ManualClock;
  dataDir: string;
  request(method: string, url: string, options?: InjectOptions): Promise<TestResponse>;
  /** the latest 6-digit code mailed (queued) to an address */
  lastCode(email: string): Promise<string>;
  /** registers and verifies a user; returns its tokens */
  signUp(
    input?: Partial<{ email: string; password: string; first_name: string; last_name: string }>,
  ): Promise<SignedIn>;
  login(email: string, password: string): Promise<SignedIn>;
  close(): Promise<void>;
}

export interface SignedIn {
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  userId: string;
}

export const STRONG_PASSWORD = 'Tr0ub4dor&3-horse';
let counter = 0;
export const uniqueEmail = (prefix = 'user') =>
  `${prefix}-${Date.now().toString(36)}-${counter++}@example.com`;

export async function createTestContext(options: TestContextOptions = {}): Promise<TestContext> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-test-'));
  const pgDb = engine === 'postgres' ? await createPostgresDatabase() : undefined;
  const config = loadConfig({
    GATEHOUSE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    PORT: '0',
    PUBLIC_URL: 'http://gatehouse.test',
    // Cheap hashes keep the suite fast; the parameters are not what the tests test.
    ARGON2_MEMORY_KIB: '8192',
    ARGON2_ITERATIONS: '1',
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
    ...options.env,
  });
  const database = openDatabase(config.database);
  await database.migrate();
  const clock = new ManualClock(Date.now());
  const gatehouse = await createApp({
    config,
    database,
    clock,
    rateLimitScale: options.rateLimitScale ?? 100,
    startWorker: options.startWorker ?? false,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await gatehouse.app.ready();

  async function request(
    method: string,
    url: string,
    o: InjectOptions = {},
  ): Promise<TestResponse> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const res = await gatehouse.app.inject({
      method: method as 'GET',
      url,
      headers,
      cookies: o.cookies,
      remoteAddress: o.remoteAddress,
      ...(o.body !== undefined
        ? typeof o.body === 'string' || Buffer.isBuffer(o.body)
          ? { payload: o.body }
          : {
              payload: JSON.stringify(o.body),
              headers: { 'content-type': 'application/json', ...headers },
            }
        : {}),
    });
    let body: unknown = null;
    try {
      body = res.body ? JSON.parse(res.body) : null;
    } catch {
      body = null;
    }
    return {
      status: res.statusCode,
      headers: res.headers,
      body,
      text: res.body,
      cookies: res.cookies.map((c) => ({ name: c.name, value: c.value })),
    };
  }

  async function lastCode(email: string): Promise<string> {
    const row = await database.db
      .selectFrom('outbox')
      .select('body')
      .where('recipient', '=', email.toLowerCase())
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    const match = row?.body?.match(/\b(\d{6})\b/);
    if (!match) throw new Error(`no code was sent to ${email}`);
    return match[1]!;
  }

  async function login(email: string, password: string): Promise<SignedIn> {
    const res = await request('POST', '/v1/auth/login', { body: { email, password } });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
    const me = await request('GET', '/v1/me', { token: res.body.access_token });
    return {
      email,
      password,
      accessToken: res.body.access_token,
      refreshToken: res.body.refresh_token,
      sessionId: res.body.session_id,
      userId: me.body.id,
    };
  }

  async function signUp(
    input: Partial<{ email: string; password: string; first_name: string; last_name: string }> = {},
  ): Promise<SignedIn> {
    const email = input.email ?? uniqueEmail();
    const password = input.password ?? STRONG_PASSWORD;
    const reg = await request('POST', '/v1/auth/register', {
      body: {
        email,
        password,
        first_name: input.first_name ?? 'Ada',
        last_name: input.last_name ?? 'Lovelace',
      },
    });
    if (reg.status !== 202) throw new Error(`register failed: ${reg.status} ${reg.text}`);
    const verified = await request('POST', '/v1/auth/verify-email', {
      body: { email, code: await lastCode(email) },
    });
    if (verified.status !== 200)
      throw new Error(`verify failed: ${verified.status} ${verified.text}`);
    const me = await request('GET', '/v1/me', { token: verified.body.access_token });
    return {
      email,
      password,
      accessToken: verified.body.access_token,
      refreshToken: verified.body.refresh_token,
      sessionId: verified.body.session_id,
      userId: me.body.id,
    };
  }

  return {
    gatehouse,
    database,
    clock,
    dataDir,
    request,
    lastCode,
    signUp,
    login,
    async close() {
      await gatehouse.close();
      await database.close();
      await pgDb?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Asserts the RFC 9457 shape every error must have. */
export function expectProblem(res: TestResponse, status: number, code: string) {
  const ct = String(res.headers['content-type'] ?? '');
  if (
    res.status !== status ||
    res.body?.code !== code ||
    !ct.startsWith('application/problem+json')
  ) {
    throw new Error(`expected ${status} ${code} problem+json, got ${res.status} ${ct} ${res.text}`);
  }
  if (res.text.includes('    at ')) throw new Error('a stack trace leaked into the response');
}

// ---------------------------------------------------------------------------------------------
// Helpers for the identity flows (auth and sessions tests).

export interface QueuedMail {
  subject: string | null;
  body: string | null;
  created_at: number;
}

/**
 * Every message queued for an address, newest first. Ids sort by time, then randomly within one
 * millisecond, and the ManualClock stands still unless a test moves it: advance it between two
 * sends whose order matters.
 */
export async function mailsTo(ctx: TestContext, email: string): Promise<QueuedMail[]> {
  return ctx.database.db
    .selectFrom('outbox')
    .select(['subject', 'body', 'created_at'])
    .where('recipient', '=', email.toLowerCase())
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

/** The latest code of one kind mailed to an address (told apart by the mail's subject). */
export async function lastCodeFor(
  ctx: TestContext,
  email: string,
  purpose: 'verify_email' | 'password_reset',
): Promise<string> {
  const marker = purpose === 'verify_email' ? 'verification code' : 'password reset code';
  const mail = (await mailsTo(ctx, email)).find((m) => m.subject?.includes(marker));
  const match = mail?.body?.match(/\b(\d{6})\b/);
  if (!match) throw new Error(`no ${purpose} code was sent to ${email}`);
  return match[1]!;
}

/** A well-formed 6-digit code that is not `code`. */
export const otherCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

/** Registers without verifying; throws unless the answer is 202. */
export async function registerOnly(
  ctx: TestContext,
  input: Partial<{ email: string; password: string; first_name: string; last_name: string }> = {},
): Promise<{ email: string; password: string }> {
  const email = input.email ?? uniqueEmail('unverified');
  const password = input.password ?? STRONG_PASSWORD;
  const res = await ctx.request('POST', '/v1/auth/register', {
    body: {
      email,
      password,
      first_name: input.first_name ?? 'Ada',
      last_name: input.last_name ?? 'Lovelace',
    },
  });
  if (res.status !== 202) throw new Error(`register failed: ${res.status} ${res.text}`);
  return { email, password };
}

/**
 * A signed-in user without a password, as after joining by invitation or OAuth: signs up, then
 * clears the hash in the database (and tells the caches).
 */
export async function signUpWithoutPassword(ctx: TestContext): Promise<SignedIn> {
  const user = await ctx.signUp();
  await ctx.database.db
    .updateTable('users')
    .set({ password_hash: null })
    .where('id', '=', user.userId)
    .execute();
  ctx.gatehouse.rt.bus.publish(`user:${user.userId}`);
  return user;
}

export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

/** The Set-Cookie header a response sent for one cookie, with its attributes (keys lower-cased). */
export function setCookieOf(res: TestResponse, name: string): SetCookie | undefined {
  const raw = res.headers['set-cookie'];
  const lines = Array.isArray(raw) ? raw : raw === undefined ? [] : [String(raw)];
  for (const line of lines) {
    const [pair, ...attrs] = line.split(';').map((p) => p.trim());
    const eq = pair!.indexOf('=');
    if (pair!.slice(0, eq) !== name) continue;
    const attributes: Record<string, string | true> = {};
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      if (i < 0) attributes[attr.toLowerCase()] = true;
      else attributes[attr.slice(0, i).toLowerCase()] = attr.slice(i + 1);
    }
    return { name, value: decodeURIComponent(pair!.slice(eq + 1)), attributes };
  }
  return undefined;
}
