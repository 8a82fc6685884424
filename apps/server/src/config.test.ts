import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

/** The ConfigError a bad environment raises (fails the test when there is none). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('defaults', () => {
  it('serves on 127.0.0.1:3000 with SQLite under ./data in development mode', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      port: 3000,
      host: '127.0.0.1',
      publicUrl: 'http://127.0.0.1:3000',
      dataDir: path.resolve('data'),
      database: { kind: 'sqlite', file: path.resolve('data', 'gatehouse.db') },
      mailFrom: 'Gatehouse <no-reply@gatehouse.local>',
      logLevel: 'info',
      trustProxy: [],
      accountExistsCheck: true,
      accessTokenTtl: 600,
      sessionTtl: 30 * 24 * 3600,
      cookieSecure: 'auto',
      outboxPollMs: 1000,
    });
  });

  // @see issue 10 #14 and #23
  it('accepts a just-rotated refresh token for 30 s and names access tokens for gatehouse', () => {
    expect(loadConfig({})).toMatchObject({
      refreshReuseGraceSeconds: 30,
      accessTokenAudience: 'gatehouse',
    });
    expect(
      loadConfig({
        REFRESH_REUSE_GRACE_SECONDS: '0',
        ACCESS_TOKEN_AUDIENCE: 'https://api.example.com',
      }),
    ).toMatchObject({
      refreshReuseGraceSeconds: 0,
      accessTokenAudience: 'https://api.example.com',
    });
  });

  it('leaves mail, SMS, Redis, keys and secrets unconfigured', () => {
    const config = loadConfig({});
    expect(config.smtpUrl).toBeUndefined();
    expect(config.smsWebhookUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.signingKeyPem).toBeUndefined();
    expect(config.secretKey).toBeUndefined();
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ HOME: '/root', NODE_ENV: 'whatever' })).not.toThrow();
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', SMTP_URL: '', DATABASE_URL: ' ', TRUST_PROXY: '' });
    expect(config.port).toBe(3000);
    expect(config.smtpUrl).toBeUndefined();
    expect(config.database.kind).toBe('sqlite');
  });
});

describe('values', () => {
  it('derives the public URL from HOST and PORT, and trims a given one', () => {
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '8080' }).publicUrl).toBe('http://127.0.0.1:8080');
    expect(loadConfig({ HOST: '::1', PORT: '8080' }).publicUrl).toBe('http://[::1]:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://id.example.com/' }).publicUrl).toBe(
      'https://id.example.com',
    );
  });

  it('uses PostgreSQL when DATABASE_URL is a postgres URL', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/gh' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://u:p@db:5432/gh',
    });
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/gh' }).database.kind).toBe('postgres');
  });

  it('reads TRUST_PROXY as a comma-separated list of addresses and ranges', () => {
    expect(
      loadConfig({ TRUST_PROXY: ' 10.0.0.1, 10.0.0.0/8 ,,fd00::/8, ::1 ,loopback' }).trustProxy,
    ).toEqual(['10.0.0.1', '10.0.0.0/8', 'fd00::/8', '::1', 'loopback']);
  });

  it.each([
    ['off', false],
    ['0', false],
    ['false', false],
    ['on', true],
    ['1', true],
  ])('reads ACCOUNT_EXISTS_CHECK=%s as %s', (value, expected) => {
    expect(loadConfig({ ACCOUNT_EXISTS_CHECK: value }).accountExistsCheck).toBe(expected);
  });

  it('reads sign-in providers from their variables', () => {
    const config = loadConfig({
      GOOGLE_CLIENT_ID: 'g-id',
      GOOGLE_CLIENT_SECRET: 'g-secret',
      GITHUB_CLIENT_ID: 'gh-id',
      GITHUB_CLIENT_SECRET: 'gh-secret',
      GITHUB_URL: 'https://github.example.com/',
      OIDC_PROVIDERS: 'Corp, okta-eu',
      OIDC_CORP_ISSUER: 'https://sso.example.com',
      OIDC_CORP_CLIENT_ID: 'c-id',
      OIDC_CORP_CLIENT_SECRET: 'c-secret',
      OIDC_CORP_DISPLAY_NAME: 'Example SSO',
      OIDC_OKTA_EU_ISSUER: 'https://example.okta.com',
      OIDC_OKTA_EU_CLIENT_ID: 'o-id',
      OIDC_OKTA_EU_CLIENT_SECRET: 'o-secret',
      CORS_ORIGINS: 'https://console.example.com, https://admin.example.com/',
      OAUTH_RETURN_URLS: 'https://console.example.com/after-login',
    });
    expect(config.oauthProviders.map((p) => [p.id, p.kind, p.displayName])).toEqual([
      ['google', 'oidc', 'Google'],
      ['github', 'github', 'GitHub'],
      ['oidc:corp', 'oidc', 'Example SSO'],
      ['oidc:okta-eu', 'oidc', 'okta-eu'],
    ]);
    expect(config.oauthProviders[0]!.issuer).toBe('https://accounts.google.com');
    expect(config.oauthProviders[1]!.webUrl).toBe('https://github.example.com');
    expect(config.corsOrigins).toEqual([
      'https://console.example.com',
      'https://admin.example.com',
    ]);
    expect(config.oauthReturnUrls).toEqual(['https://console.example.com/after-login']);
    expect(loadConfig({}).oauthProviders).toEqual([]);
    expect(loadConfig({}).stepUpMaxAge).toBe(600);
  });

  it('accepts SMTP and SMS endpoints', () => {
    const config = loadConfig({
      SMTP_URL: 'smtps://user:pass@mail.example.com:465',
      SMS_WEBHOOK_URL: 'https://sms.example.com/send',
    });
    expect(config.smtpUrl).toBe('smtps://user:pass@mail.example.com:465');
    expect(config.smsWebhookUrl).toBe('https://sms.example.com/send');
  });

  it('accepts a P-256 signing key, also with escaped newlines', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    expect(loadConfig({ SIGNING_KEY: pem }).signingKeyPem).toBe(pem);
    expect(loadConfig({ SIGNING_KEY: pem.replace(/\n/g, '\\n') }).signingKeyPem).toBe(pem);
  });
});

describe('a bad variable', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://db/gatehouse'],
    ['SMTP_URL', 'http://mail.example.com'],
    ['SMS_WEBHOOK_URL', 'ftp://sms.example.com'],
    ['PUBLIC_URL', 'id.example.com'],
    ['REDIS_URL', 'localhost:6379'],
    ['TRUST_PROXY', '10.0.0.1, proxy.internal'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', 'true'],
    ['ACCOUNT_EXISTS_CHECK', 'maybe'],
    ['LOG_LEVEL', 'verbose'],
    ['GATEHOUSE_ENV', 'staging'],
    ['ACCESS_TOKEN_TTL', '5'],
    ['COOKIE_SECURE', 'yes'],
    ['MAIL_FROM', 'nobody'],
    ['SECRET_KEY', 'short'],
    ['SIGNING_KEY', 'not a pem'],
    ['STEP_UP_MAX_AGE', '10'],
    // @see issue 10 #14 and #23 (refresh reuse grace, access token audience)
    ['REFRESH_REUSE_GRACE_SECONDS', '-1'],
    ['REFRESH_REUSE_GRACE_SECONDS', '301'],
    ['REFRESH_REUSE_GRACE_SECONDS', 'soon'],
    ['ACCESS_TOKEN_AUDIENCE', 'two words'],
    ['CORS_ORIGINS', 'https://console.example.com/app'],
    ['CORS_ORIGINS', '*'],
    ['OAUTH_RETURN_URLS', 'javascript:alert(1)'],
    ['OIDC_PROVIDERS', 'google'],
    ['OIDC_PROVIDERS', 'bad name'],
  ])('%s=%j is refused with one line naming it', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^invalid ${name}: \\S`));
    expect(problems[0]).not.toContain('\n');
  });

  it('names the missing half of a client id and secret pair', () => {
    expect(problemsOf({ GOOGLE_CLIENT_ID: 'only-the-id' })).toEqual([
      'invalid GOOGLE_CLIENT_SECRET: must be set when GOOGLE_CLIENT_ID is',
    ]);
    expect(problemsOf({ GITHUB_CLIENT_SECRET: 'only-the-secret' })).toEqual([
      'invalid GITHUB_CLIENT_ID: must be set when GITHUB_CLIENT_SECRET is',
    ]);
  });

  it('needs the issuer and client of each generic OpenID Connect provider', () => {
    expect(problemsOf({ OIDC_PROVIDERS: 'corp' })).toEqual([
      expect.stringMatching(/^invalid OIDC_CORP_ISSUER: /),
    ]);
    expect(
      problemsOf({ OIDC_PROVIDERS: 'corp', OIDC_CORP_ISSUER: 'https://sso.example.com' }),
    ).toEqual([expect.stringMatching(/^invalid OIDC_CORP_CLIENT_ID: /)]);
  });

  it('names the bad entry of a TRUST_PROXY list', () => {
    const [problem] = problemsOf({ TRUST_PROXY: '10.0.0.1, proxy.internal' });
    expect(problem).toContain('"proxy.internal"');
    expect(problem).not.toContain('10.0.0.1');
  });

  it('says what a port must be', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual([
      'invalid PORT: must be a port number from 0 to 65535',
    ]);
  });

  it('gives one line per bad variable when several are bad', () => {
    const problems = problemsOf({ PORT: 'abc', SMTP_URL: 'http://x', LOG_LEVEL: 'loud' });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'invalid PORT',
      'invalid SMTP_URL',
      'invalid LOG_LEVEL',
    ]);
    try {
      loadConfig({ PORT: 'abc', SMTP_URL: 'http://x' });
    } catch (error) {
      expect((error as Error).message.split('\n')).toHaveLength(2);
    }
  });

  it('never repeats the value, which may be a secret', () => {
    const problems = problemsOf({
      SECRET_KEY: 'tooShortSecret',
      DATABASE_URL: 'mysql://root:hunter2@db/gh',
      SMTP_URL: 'http://user:mailpass@mail',
      SIGNING_KEY: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
    });
    const text = problems.join('\n');
    for (const secret of ['tooShortSecret', 'hunter2', 'mailpass', 'AAAA']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('gatehouse start with a bad variable', () => {
  it('exits non-zero, printing one line that names the variable', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-config-'));
    try {
      const cli = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
        (resolve) => {
          execFile(
            process.execPath,
            [cli, 'start'],
            {
              env: { PATH: process.env.PATH, PORT: 'abc', DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
              timeout: 60_000,
            },
            (error, stdout, stderr) =>
              resolve({ code: error ? ((error.code as number) ?? 1) : 0, stdout, stderr }),
          );
        },
      );
      expect(result.code).not.toBe(0);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('PORT');
      expect(lines[0]).not.toMatch(/\bat \S+:\d+/); // no stack trace
      expect(result.stdout).not.toContain('listening');
      // it stopped before touching the database
      expect(fs.existsSync(path.join(dataDir, 'gatehouse.db'))).toBe(false);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
