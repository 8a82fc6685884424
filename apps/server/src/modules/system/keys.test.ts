import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, expectProblem, type TestContext } from '../../../test/harness';
import { createApp } from '../../app';
import { loadConfig } from '../../config';
import { openDatabase } from '../../db/database';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../bin/gatehouse.js', import.meta.url));

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const kids = async (c: TestContext = ctx) =>
  ((await c.request('GET', '/.well-known/jwks.json')).body.keys as { kid: string }[]).map(
    (k) => k.kid,
  );
const kidOf = (token: string) => decodeProtectedHeader(token).kid;
/** how long a retired key stays published: the access token lifetime plus a minute of skew */
const GRACE_MS = (600 + 60) * 1000;

describe('signing key rotation', () => {
  it('publishes the new key beside the old one', async () => {
    const [before] = await kids();
    const rotated = await ctx.gatehouse.rt.keys.rotate();
    const after = await kids();
    expect(after).toHaveLength(2);
    expect(after).toEqual(expect.arrayContaining([before, rotated.kid]));
    expect(rotated.kid).not.toBe(before);
  });

  it('keeps accepting tokens signed with the old key', async () => {
    const user = await ctx.signUp();
    const oldKid = kidOf(user.accessToken);
    await ctx.gatehouse.rt.keys.rotate();
    expect(kidOf(user.accessToken)).toBe(oldKid);
    const me = await ctx.request('GET', '/v1/me', { token: user.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(user.userId);
  });

  it('signs new logins with the new key', async () => {
    const user = await ctx.signUp();
    const rotated = await ctx.gatehouse.rt.keys.rotate();
    expect(kidOf(user.accessToken)).not.toBe(rotated.kid);
    const again = await ctx.login(user.email, user.password);
    expect(kidOf(again.accessToken)).toBe(rotated.kid);
    const refreshed = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: again.refreshToken },
    });
    expect(kidOf(refreshed.body.access_token)).toBe(rotated.kid);
  });

  it('drops the old key from the JWKS once its tokens have expired', async () => {
    const c = await createTestContext();
    try {
      const user = await c.signUp();
      const [oldKid] = await kids(c);
      const rotated = await c.gatehouse.rt.keys.rotate();

      c.clock.advance(GRACE_MS - 1000);
      expect(await kids(c)).toEqual(expect.arrayContaining([oldKid, rotated.kid]));

      c.clock.advance(2000);
      expect(await kids(c)).toEqual([rotated.kid]);
      const stale = await c.request('GET', '/v1/me', { token: user.accessToken });
      expectProblem(stale, 401, 'invalid_token');
      // the session itself is fine: a refresh gets a token signed with the new key
      const refreshed = await c.request('POST', '/v1/auth/token/refresh', {
        body: { refresh_token: user.refreshToken },
      });
      expect(refreshed.status).toBe(200);
      expect(kidOf(refreshed.body.access_token)).toBe(rotated.kid);
    } finally {
      await c.close();
    }
  });

  it('lets another node verify tokens signed with a key it has not loaded yet', async () => {
    const other = await createApp({
      config: ctx.gatehouse.rt.config,
      database: ctx.database,
      clock: ctx.clock,
      startWorker: false,
    });
    try {
      await other.app.ready();
      const rotated = await ctx.gatehouse.rt.keys.rotate();
      const user = await ctx.signUp();
      expect(kidOf(user.accessToken)).toBe(rotated.kid);
      const me = await other.app.inject({
        method: 'GET',
        url: '/v1/me',
        headers: { authorization: `Bearer ${user.accessToken}` },
      });
      expect(me.statusCode).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('signing key rotation across nodes', () => {
  it("publishes a key rotated on another node in every node's JWKS", async () => {
    const other = await createApp({
      config: ctx.gatehouse.rt.config,
      database: ctx.database,
      clock: ctx.clock,
      startWorker: false,
    });
    try {
      await other.app.ready();
      const rotated = await ctx.gatehouse.rt.keys.rotate();
      ctx.clock.advance(10_000);
      const jwks = await other.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      const published = (jwks.json().keys as { kid: string }[]).map((k) => k.kid);
      expect(published).toContain(rotated.kid);
    } finally {
      await other.close();
    }
  });

  /** A node reloads its keys before signing when its copy is older than 30 s (by the app clock). */
  it('makes a node that did not rotate sign with the new key too', async () => {
    const other = await createApp({
      config: ctx.gatehouse.rt.config,
      database: ctx.database,
      clock: ctx.clock,
      startWorker: false,
    });
    try {
      await other.app.ready();
      const user = await ctx.signUp();
      const rotated = await ctx.gatehouse.rt.keys.rotate();
      ctx.clock.advance(2 * 60_000);
      const login = await other.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email, password: user.password },
      });
      expect(login.statusCode).toBe(200);
      expect(kidOf(login.json().access_token)).toBe(rotated.kid);
    } finally {
      await other.close();
    }
  });
});

describe('gatehouse rotate-keys', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-keys-'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    run(process.execPath, [CLI, ...args], {
      env: {
        PATH: process.env.PATH,
        DATA_DIR: dataDir,
        GATEHOUSE_ENV: 'test',
        LOG_LEVEL: 'silent',
      },
      timeout: 60_000,
    });

  it('adds a key, prints its kid, and a server on that database signs with it', async () => {
    const { stdout } = await cli('rotate-keys');
    const kid = stdout.match(/new signing key (kid_[0-9a-z]+)/)?.[1];
    expect(kid).toBeDefined();

    const config = loadConfig({ DATA_DIR: dataDir, GATEHOUSE_ENV: 'test', LOG_LEVEL: 'silent' });
    const database = openDatabase(config.database);
    const gatehouse = await createApp({ config, database, startWorker: false });
    try {
      expect(gatehouse.rt.keys.active()?.kid).toBe(kid);
      const jwks = await gatehouse.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      const published = (jwks.json().keys as { kid: string }[]).map((k) => k.kid);
      // On a fresh database rotate-keys first creates the initial key, then the new one; the
      // initial key stays published until its tokens could have expired.
      expect(published).toContain(kid);
      expect(published).toHaveLength(2);
    } finally {
      await gatehouse.close();
      await database.close();
    }
  });
});
