import { createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting Gatehouse reads, from environment variables. Parsed once at start; a bad value
 * stops the process with one line naming the variable (see `loadConfig`). The README's table
 * of variables is written from this schema — keep them together.
 */
const flag = (fallback: boolean) =>
  z
    .enum(['on', 'off', 'true', 'false', '1', '0'], { error: 'must be on or off' })
    .optional()
    .transform((v) => (v === undefined ? fallback : v === 'on' || v === 'true' || v === '1'));

const integer = (fallback: number, min: number, max: number, what = 'a whole number') => {
  const message = `must be ${what} from ${min} to ${max}`;
  return z.coerce
    .number({ error: message })
    .int(message)
    .min(min, message)
    .max(max, message)
    .default(fallback);
};

/** proxy-addr's names for address ranges, accepted beside addresses and CIDR ranges */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry) || isIP(entry) !== 0) return true;
  const m = entry.match(/^(.+)\/(\d{1,3})$/);
  if (!m) return false;
  const version = isIP(m[1]!);
  return version !== 0 && Number(m[2]) <= (version === 4 ? 32 : 128);
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      url.origin === value.replace(/\/+$/, '')
    );
  } catch {
    return false;
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * A comma-separated list variable: trimmed entries, empty ones dropped; every entry must pass
 * `valid`, else one message naming the bad entries (`describe` says what they must be).
 */
const commaList = (
  valid: (entry: string) => boolean,
  describe: (bad: string[]) => string,
  normalize = (e: string) => e,
) =>
  z
    .string()
    .optional()
    .transform((v) =>
      v
        ? v
            .split(',')
            .map((e) => normalize(e.trim()))
            .filter(Boolean)
        : [],
    )
    .check((ctx) => {
      const bad = ctx.value.filter((entry) => !valid(entry));
      if (bad.length > 0)
        ctx.issues.push({ code: 'custom', input: ctx.value, message: describe(bad) });
    });

const quoted = (bad: string[]) => bad.map((b) => JSON.stringify(b)).join(', ');

/** One configured sign-in provider (Google, GitHub or a generic OpenID Connect issuer). */
export interface OAuthProviderConfig {
  /** google | github | oidc:<name>: the login method name, the path segment and the identity's provider */
  id: string;
  kind: 'oidc' | 'github';
  displayName: string;
  clientId: string;
  clientSecret: string;
  /** OIDC: the issuer, discovered at first use */
  issuer?: string;
  /** GitHub: web and API addresses */
  webUrl?: string;
  apiUrl?: string;
  scopes: string;
  /**
   * Whether an email this provider verified may join an existing account on its own (issue 10
   * #11). Off: the person must also prove the account (its password or an emailed code).
   */
  linkByEmail: boolean;
}

const EnvSchema = z.object({
  GATEHOUSE_ENV: z
    .enum(['development', 'production', 'test'], {
      error: 'must be development, production or test',
    })
    .default('development'),
  PORT: integer(3000, 0, 65535, 'a port number'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: z
    .url({
      protocol: /^https?$/,
      error: 'must be an absolute http(s) URL such as https://id.example.com',
    })
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (leave unset for SQLite)')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/]/, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z
    .string()
    .regex(/@/, 'must be an address such as Gatehouse <no-reply@example.com>')
    .default('Gatehouse <no-reply@gatehouse.local>'),
  SMS_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  /**
   * Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For we trust
   * (also `loopback`, `linklocal`, `uniquelocal`). Checked here: Fastify would otherwise throw
   * at start with a stack trace.
   */
  TRUST_PROXY: commaList(
    isProxyAddress,
    (bad) =>
      `${quoted(bad)} ${bad.length > 1 ? 'are not IP addresses or CIDR ranges' : 'is not an IP address or CIDR range'}`,
  ),
  ACCOUNT_EXISTS_CHECK: flag(true),
  ACCESS_TOKEN_TTL: integer(600, 60, 3600, 'a number of seconds'),
  SESSION_TTL: integer(30 * 24 * 3600, 300, 365 * 24 * 3600, 'a number of seconds'),
  /**
   * Seconds during which a just-rotated refresh token is accepted again and answers the same new
   * pair (two tabs refreshing together, a retry whose answer was lost); 0 turns the grace off.
   * Outside it, a reuse revokes the session (issue 10 #14).
   */
  REFRESH_REUSE_GRACE_SECONDS: integer(30, 0, 300, 'a number of seconds'),
  /** The `aud` claim of access tokens, checked when they are verified (issue 10 #23). */
  ACCESS_TOKEN_AUDIENCE: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1–200 printable characters without spaces')
    .default('gatehouse'),
  /**
   * PEM (PKCS#8) of an ES256 private key; when unset a key is generated and kept in the
   * database. Escaped newlines (`\n`, as env files often carry them) are accepted.
   */
  SIGNING_KEY: z
    .string()
    .optional()
    .transform((v) => v?.replace(/\\n/g, '\n'))
    .check((ctx) => {
      if (ctx.value === undefined) return;
      let ok = false;
      try {
        const key = createPrivateKey(ctx.value);
        ok = key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
      } catch {
        ok = false;
      }
      if (!ok)
        ctx.issues.push({
          code: 'custom',
          input: '[redacted]',
          message: 'must be the PEM of a P-256 (ES256) private key',
        });
    }),
  /** Secret for HMACs over one-time codes and CSRF tokens; generated and kept in the database when unset. */
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  COOKIE_SECURE: z
    .enum(['auto', 'on', 'off'], { error: 'must be auto, on or off' })
    .default('auto'),
  OUTBOX_POLL_MS: integer(1000, 50, 60_000, 'a number of milliseconds'),
  ARGON2_MEMORY_KIB: integer(19456, 8192, 1_048_576, 'a number of KiB'),
  ARGON2_ITERATIONS: integer(2, 1, 10),
  /** How recent a sign-in or factor must be for sensitive acts (step-up), in seconds. */
  STEP_UP_MAX_AGE: integer(600, 60, 24 * 3600, 'a number of seconds'),
  /** Comma-separated origins (https://console.example.com) allowed to call the API from a browser. */
  CORS_ORIGINS: commaList(
    isOrigin,
    (bad) => `${quoted(bad)}: each must be an origin such as https://console.example.com`,
  ),
  /**
   * Where an OAuth sign-in may send the browser back to: comma-separated origins or URL
   * prefixes. PUBLIC_URL's origin is always allowed.
   */
  OAUTH_RETURN_URLS: commaList(isHttpUrl, (bad) => `${quoted(bad)}: each must be an http(s) URL`),
  GOOGLE_CLIENT_ID: z.string().optional(),
  GOOGLE_CLIENT_SECRET: z.string().optional(),
  /** Google's issuer; change it only to point at a stand-in (tests) */
  GOOGLE_ISSUER: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://accounts.google.com'),
  /** Whether Google's verified email may join an existing account without its password */
  GOOGLE_LINK_BY_EMAIL: flag(true),
  GITHUB_CLIENT_ID: z.string().optional(),
  GITHUB_CLIENT_SECRET: z.string().optional(),
  /** GitHub's web address (GitHub Enterprise Server: https://github.example.com) */
  GITHUB_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://github.com'),
  /** GitHub's API address (GitHub Enterprise Server: https://github.example.com/api/v3) */
  GITHUB_API_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://api.github.com'),
  /** Whether GitHub's verified primary email may join an existing account without its password */
  GITHUB_LINK_BY_EMAIL: flag(true),
  /** Comma-separated names of generic OpenID Connect providers, each configured by OIDC_<NAME>_* */
  OIDC_PROVIDERS: commaList(
    (n) => /^[a-z0-9_-]{1,40}$/.test(n) && n !== 'google' && n !== 'github',
    (bad) => `${quoted(bad)}: names are 1–40 of a-z, 0-9, _ and -, and not google or github`,
    (n) => n.toLowerCase(),
  ),
  /** Days to keep audit events; older ones are removed hourly, leaving a verifiable checkpoint. Unset: keep forever. */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  /**
   * Transport timeouts (issue 10 #16): a client that is slow to send its headers, or its whole
   * request (headers and body), is answered 408 and disconnected; an idle kept-alive connection
   * is closed after KEEP_ALIVE_TIMEOUT_MS (above the 60 s idle timeout of common load balancers,
   * so they never reuse a connection we are closing); a connection with no traffic either way
   * (a client that stopped reading its answer) after SOCKET_IDLE_TIMEOUT_MS.
   */
  HEADERS_TIMEOUT_MS: integer(10_000, 100, 600_000, 'a number of milliseconds'),
  REQUEST_TIMEOUT_MS: integer(30_000, 100, 3_600_000, 'a number of milliseconds'),
  KEEP_ALIVE_TIMEOUT_MS: integer(72_000, 100, 600_000, 'a number of milliseconds'),
  SOCKET_IDLE_TIMEOUT_MS: integer(120_000, 100, 3_600_000, 'a number of milliseconds'),
  /**
   * On SIGTERM/SIGINT, how long requests in flight may take to finish before the process exits
   * anyway (issue 10 #23); below Docker's 10 s so a stop never ends in SIGKILL.
   */
  SHUTDOWN_GRACE_MS: integer(8_000, 0, 600_000, 'a number of milliseconds'),
  /**
   * Development mode serves every mailed code and link at /v1/dev/outbox without authentication,
   * so `gatehouse start` refuses it on an address other machines can reach unless this is on
   * (issue 10 #15).
   */
  ALLOW_DEV_ON_PUBLIC_HOST: flag(false),
  /**
   * How long a rotated signing key is published in the JWKS before it signs (issue 10 #20):
   * longer than verifiers keep a JWKS (the SDK: 10 minutes) so none meets a token of a key it
   * has not fetched. The old key signs meanwhile.
   */
  KEY_PUBLISH_LEAD_SECONDS: integer(660, 0, 7 * 24 * 3600, 'a number of seconds'),
  /** SMS caps against SMS pumping (issue 10 #13), per hour: per phone number, per organization, platform-wide. */
  SMS_PER_NUMBER_PER_HOUR: integer(10, 1, 1_000_000),
  SMS_PER_ORGANIZATION_PER_HOUR: integer(500, 1, 10_000_000),
  SMS_PLATFORM_PER_HOUR: integer(5000, 1, 100_000_000),
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
  refreshReuseGraceSeconds: number;
  accessTokenAudience: string;
  signingKeyPem?: string;
  secretKey?: string;
  cookieSecure: 'auto' | 'on' | 'off';
  outboxPollMs: number;
  argon2: { memoryCost: number; timeCost: number };
  auditRetentionDays?: number;
  /** transport timeouts, in milliseconds (HEADERS_TIMEOUT_MS, ...) */
  http: {
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    socketIdleTimeoutMs: number;
  };
  shutdownGraceMs: number;
  allowDevOnPublicHost: boolean;
  keyPublishLeadSeconds: number;
  sms: { perNumberPerHour: number; perOrganizationPerHour: number; platformPerHour: number };
  stepUpMaxAge: number;
  corsOrigins: string[];
  oauthReturnUrls: string[];
  oauthProviders: OAuthProviderConfig[];
}

/** A bad configuration: one line per bad variable, naming it and what is wrong (never its value). */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/**
 * Parses the environment; throws ConfigError with one line per bad variable. An empty variable
 * (`PORT=` in a compose file) counts as unset. Values are never echoed: some are secrets.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const given = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''),
  );
  const parsed = EnvSchema.safeParse(given);
  if (!parsed.success) {
    const byVariable = new Map<string, string[]>();
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]);
      const messages = byVariable.get(name) ?? [];
      if (!messages.includes(issue.message)) messages.push(issue.message);
      byVariable.set(name, messages);
    }
    throw new ConfigError(
      [...byVariable].map(([name, messages]) => `invalid ${name}: ${messages.join('; ')}`),
    );
  }
  const e = parsed.data;
  // Node refuses a headers timeout longer than the whole-request timeout; say so by name.
  if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS)
    throw new ConfigError([
      'invalid HEADERS_TIMEOUT_MS: must not be longer than REQUEST_TIMEOUT_MS',
    ]);
  const providers = oauthProvidersFrom(e, given);
  if (providers.problems.length > 0) throw new ConfigError(providers.problems);
  const dataDir = path.resolve(e.DATA_DIR);
  // A wildcard address is not one a client can use; an IPv6 address needs brackets in a URL.
  const hostForUrl =
    e.HOST === '0.0.0.0' || e.HOST === '::'
      ? '127.0.0.1'
      : isIP(e.HOST) === 6
        ? `[${e.HOST}]`
        : e.HOST;
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
    refreshReuseGraceSeconds: e.REFRESH_REUSE_GRACE_SECONDS,
    accessTokenAudience: e.ACCESS_TOKEN_AUDIENCE,
    signingKeyPem: e.SIGNING_KEY,
    secretKey: e.SECRET_KEY,
    cookieSecure: e.COOKIE_SECURE,
    outboxPollMs: e.OUTBOX_POLL_MS,
    argon2: { memoryCost: e.ARGON2_MEMORY_KIB, timeCost: e.ARGON2_ITERATIONS },
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    http: {
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      socketIdleTimeoutMs: e.SOCKET_IDLE_TIMEOUT_MS,
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    allowDevOnPublicHost: e.ALLOW_DEV_ON_PUBLIC_HOST,
    keyPublishLeadSeconds: e.KEY_PUBLISH_LEAD_SECONDS,
    sms: {
      perNumberPerHour: e.SMS_PER_NUMBER_PER_HOUR,
      perOrganizationPerHour: e.SMS_PER_ORGANIZATION_PER_HOUR,
      platformPerHour: e.SMS_PLATFORM_PER_HOUR,
    },
    stepUpMaxAge: e.STEP_UP_MAX_AGE,
    corsOrigins: e.CORS_ORIGINS.map((o) => o.replace(/\/+$/, '')),
    oauthReturnUrls: e.OAUTH_RETURN_URLS,
    oauthProviders: providers.list,
  };
}

/** Whether an address to bind accepts connections from this machine only (127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Why `gatehouse start` must not serve this configuration, or null (issue 10 #15): development
 * mode answers every mailed code and reset link at /v1/dev/outbox without authentication, so it
 * binds only to loopback unless the operator says otherwise.
 */
export function devModeRefusal(config: Config): string | null {
  if (config.env !== 'development' || config.allowDevOnPublicHost || isLoopbackHost(config.host))
    return null;
  return (
    `refusing to start in development mode on HOST=${config.host}: /v1/dev/outbox would show ` +
    'every verification code and reset link to anyone who can reach this address. ' +
    'Set GATEHOUSE_ENV=production for a real deployment, bind HOST=127.0.0.1, or set ' +
    'ALLOW_DEV_ON_PUBLIC_HOST=on if this network is yours alone.'
  );
}

/**
 * Providers are on when their client id and secret are set. A generic provider NAME is read
 * from OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET and optional _DISPLAY_NAME, _SCOPES and
 * _LINK_BY_EMAIL (off by default).
 */
function oauthProvidersFrom(
  e: z.output<typeof EnvSchema>,
  env: Record<string, string | undefined>,
): { list: OAuthProviderConfig[]; problems: string[] } {
  const list: OAuthProviderConfig[] = [];
  const problems: string[] = [];
  const pair = (idVar: string, secretVar: string) => {
    const id = env[idVar];
    const secret = env[secretVar];
    if (id && !secret) problems.push(`invalid ${secretVar}: must be set when ${idVar} is`);
    if (secret && !id) problems.push(`invalid ${idVar}: must be set when ${secretVar} is`);
    return id && secret ? { clientId: id, clientSecret: secret } : null;
  };
  const google = pair('GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET');
  if (google)
    list.push({
      id: 'google',
      kind: 'oidc',
      displayName: 'Google',
      issuer: e.GOOGLE_ISSUER,
      scopes: 'openid email profile',
      linkByEmail: e.GOOGLE_LINK_BY_EMAIL,
      ...google,
    });
  const github = pair('GITHUB_CLIENT_ID', 'GITHUB_CLIENT_SECRET');
  if (github)
    list.push({
      id: 'github',
      kind: 'github',
      displayName: 'GitHub',
      webUrl: e.GITHUB_URL.replace(/\/+$/, ''),
      apiUrl: e.GITHUB_API_URL.replace(/\/+$/, ''),
      scopes: 'read:user user:email',
      linkByEmail: e.GITHUB_LINK_BY_EMAIL,
      ...github,
    });
  for (const name of e.OIDC_PROVIDERS) {
    const prefix = `OIDC_${name.toUpperCase().replace(/-/g, '_')}`;
    const issuer = env[`${prefix}_ISSUER`];
    if (!issuer || !isHttpUrl(issuer)) {
      problems.push(`invalid ${prefix}_ISSUER: must be the provider's issuer URL`);
      continue;
    }
    const client = pair(`${prefix}_CLIENT_ID`, `${prefix}_CLIENT_SECRET`);
    if (!client) {
      if (!env[`${prefix}_CLIENT_ID`] && !env[`${prefix}_CLIENT_SECRET`])
        problems.push(`invalid ${prefix}_CLIENT_ID: must be set for provider ${name}`);
      continue;
    }
    // Off unless told: any issuer (a customer's, a lax one) can vouch for any address.
    const linkByEmail = flag(false).safeParse(env[`${prefix}_LINK_BY_EMAIL`]);
    if (!linkByEmail.success) {
      problems.push(`invalid ${prefix}_LINK_BY_EMAIL: must be on or off`);
      continue;
    }
    list.push({
      id: `oidc:${name}`,
      kind: 'oidc',
      displayName: env[`${prefix}_DISPLAY_NAME`] ?? name,
      issuer,
      scopes: env[`${prefix}_SCOPES`] ?? 'openid email profile',
      linkByEmail: linkByEmail.data,
      ...client,
    });
  }
  return { list, problems };
}
