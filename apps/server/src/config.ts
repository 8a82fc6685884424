import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting Gatehouse reads, from environment variables. Parsed once at start; a bad value
 * stops the process with one line naming the variable (see `loadConfig`). The README's table
 * of variables is written from this schema — keep them together.
 */
const flag = (fallback: boolean) =>
  z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? fallback : v === 'on' || v === 'true' || v === '1'));

const seconds = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const EnvSchema = z.object({
  GATEHOUSE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: z
    .url({ message: 'must be an absolute URL such as https://id.example.com' })
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (leave unset for SQLite)')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).default('Gatehouse <no-reply@gatehouse.local>'),
  SMS_WEBHOOK_URL: z.url({ message: 'must be an http(s) URL' }).optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For we trust. */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v) =>
      v
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : [],
    ),
  ACCOUNT_EXISTS_CHECK: flag(true),
  ACCESS_TOKEN_TTL: seconds(600, 60, 3600),
  SESSION_TTL: seconds(30 * 24 * 3600, 300, 365 * 24 * 3600),
  /** PEM (PKCS#8) of an ES256 private key; when unset a key is generated and kept in the database. */
  SIGNING_KEY: z.string().optional(),
  /** Secret for HMACs over one-time codes and CSRF tokens; generated and kept in the database when unset. */
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  COOKIE_SECURE: z.enum(['auto', 'on', 'off']).default('auto'),
  OUTBOX_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  ARGON2_MEMORY_KIB: z.coerce.number().int().min(8192).max(1_048_576).default(19456),
  ARGON2_ITERATIONS: z.coerce.number().int().min(1).max(10).default(2),
});

export type Env = z.input<typeof EnvSchema>;

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  publicUrl: string;
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
  dataDir: string;
  smtpUrl?: string;
  mailFrom: string;
  smsWebhookUrl?: string;
  redisUrl?: string;
  logLevel: string;
  trustProxy: string[];
  accountExistsCheck: boolean;
  accessTokenTtl: number;
  sessionTtl: number;
  signingKeyPem?: string;
  secretKey?: string;
  cookieSecure: 'auto' | 'on' | 'off';
  outboxPollMs: number;
  argon2: { memoryCost: number; timeCost: number };
}

export class ConfigError extends Error {}

/** Parses the environment; throws ConfigError with one line per bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const hostForUrl = e.HOST === '0.0.0.0' || e.HOST === '::' ? '127.0.0.1' : e.HOST;
  return {
    env: e.GATEHOUSE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://${hostForUrl}:${e.PORT}`).replace(/\/+$/, ''),
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL }
      : { kind: 'sqlite', file: path.join(dataDir, 'gatehouse.db') },
    dataDir,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    smsWebhookUrl: e.SMS_WEBHOOK_URL,
    redisUrl: e.REDIS_URL,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    accountExistsCheck: e.ACCOUNT_EXISTS_CHECK,
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    sessionTtl: e.SESSION_TTL,
    signingKeyPem: e.SIGNING_KEY,
    secretKey: e.SECRET_KEY,
    cookieSecure: e.COOKIE_SECURE,
    outboxPollMs: e.OUTBOX_POLL_MS,
    argon2: { memoryCost: e.ARGON2_MEMORY_KIB, timeCost: e.ARGON2_ITERATIONS },
  };
}
