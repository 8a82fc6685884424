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
import { ManualClock } from '../../lib/clock';

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
/** KEY_PUBLISH_LEAD_SECONDS' default: a rotated key is published this long before it signs */
const LEAD_MS = 660 * 1000;

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

  it('signs new logins with the new key once the publish lead time has passed', async () => {
    const user = await ctx.signUp();
    const rotated = await ctx.gatehouse.rt.keys.rotate();
    expect(kidOf(user.accessToken)).not.toBe(rotated.kid);
    ctx.clock.advance(LEAD_MS);
    const again = await ctx.login(user.email, user.password);
    expect(kidOf(again.accessToken)).toBe(rotated.kid);
    const refreshed = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: again.refreshToken },
    });
    expect(kidOf(refreshed.body.access_token)).toBe(rotated.kid);
  });

  // @see issue 10 #20
  it('publishes a rotated key at once but signs with the old one until the lead time passes', async () => {
    const c = await createTestContext();
    try {
      const user = await c.signUp();
      const oldKid = kidOf(user.accessToken);
      const rotated = await c.gatehouse.rt.keys.rotate();
      expect(await kids(c)).toEqual(expect.arrayContaining([oldKid, rotated.kid]));

      c.clock.advance(LEAD_MS - 1000);
      const during = await c.login(user.email, user.password);
      expect(kidOf(during.accessToken)).toBe(oldKid);
      const refreshed = await c.request('POST', '/v1/auth/token/refresh', {
        body: { refresh_token: during.refreshToken },
      });
      expect(kidOf(refreshed.body.access_token)).toBe(oldKid);

      c.clock.advance(2000);
      const after = await c.login(user.email, user.password);
      expect(kidOf(after.accessToken)).toBe(rotated.kid);
      // the old key's last tokens stay verifiable: it is published until they have expired
      expect(await kids(c)).toEqual(expect.arrayContaining([oldKid, rotated.kid]));
      expect((await c.request('GET', '/v1/me', { token: during.accessToken })).status).toBe(200);
      c.clock.advance(GRACE_MS + 1000);
      expect(await kids(c)).toEqual([rotated.kid]);
    } finally {
      await c.close();
    }
  });

  // @see issue 10 #20
  it('stores when the new key starts signing, so every node switches at that time', async () => {
    const c = await createTestContext();
    const other = await createApp({
      config: c.gatehouse.rt.config,
      database: c.database,
      clock: c.clock,
      startWorker: false,
    });
    try {
      await other.app.ready();
      const user = await c.signUp();
      const oldKid = kidOf(user.accessToken);
      const rotated = await c.gatehouse.rt.keys.rotate();
      const row = await c.database.db
        .selectFrom('signing_keys')
        .select('signs_from')
        .where('kid', '=', rotated.kid)
        .executeTakeFirstOrThrow();
      expect(row.signs_from).toBe(c.clock.now() + LEAD_MS);
      const login = (app: typeof other) =>
        app.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: user.email, password: user.password },
        });
      c.clock.advance(60_000);
      for (const app of [c.gatehouse, other])
        expect(kidOf((await login(app)).json().access_token)).toBe(oldKid);
      c.clock.advance(LEAD_MS);
      for (const app of [c.gatehouse, other])
        expect(kidOf((await login(app)).json().access_token)).toBe(rotated.kid);
    } finally {
      await other.close();
      await c.close();
    }
  });

  it('signs at once with a key rotated immediately (a compromised key)', async () => {
    const user = await ctx.signUp();
    const rotated = await ctx.gatehouse.rt.keys.rotate(undefined, { immediate: true });
    const again = await ctx.login(user.email, user.password);
    expect(kidOf(again.accessToken)).toBe(rotated.kid);
  });

  it('drops the old key from the JWKS once its tokens have expired', async () => {
    const c = await createTestContext();
    try {
      const user = await c.signUp();
      const [oldKid] = await kids(c);
      const rotated = await c.gatehouse.rt.keys.rotate();

      // The old key signs for the lead time, then stays published for its tokens' lifetime.
      c.clock.advance(LEAD_MS + GRACE_MS - 1000);
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
      const rotated = await ctx.gatehouse.rt.keys.rotate(undefined, { immediate: true });
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

describe('KEY_PUBLISH_LEAD_SECONDS', () => {
  // @see issue 10 #20
  it('defaults to 11 minutes (longer than the SDK keeps a JWKS), and is validated', () => {
    expect(loadConfig({}).keyPublishLeadSeconds).toBe(660);
    expect(loadConfig({ KEY_PUBLISH_LEAD_SECONDS: '0' }).keyPublishLeadSeconds).toBe(0);
    for (const bad of ['-1', '1.5', 'soon', '604801'])
      expect(() => loadConfig({ KEY_PUBLISH_LEAD_SECONDS: bad })).toThrow(
        /invalid KEY_PUBLISH_LEAD_SECONDS/,
      );
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
      ctx.clock.advance(LEAD_MS);
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

  it('adds a key, prints its kid, publishes it and signs with it after the lead time', async () => {
    const { stdout } = await cli('rotate-keys');
    const kid = stdout.match(/new signing key (kid_[0-9a-z]+)/)?.[1];
    expect(kid).toBeDefined();
    expect(stdout).toMatch(/published now; every node signs with it from \d{4}-/);

    const config = loadConfig({ DATA_DIR: dataDir, GATEHOUSE_ENV: 'test', LOG_LEVEL: 'silent' });
    const database = openDatabase(config.database);
    const clock = new ManualClock(Date.now());
    const gatehouse = await createApp({ config, database, clock, startWorker: false });
    try {
      expect(gatehouse.rt.keys.active()?.kid).not.toBe(kid);
      const jwks = await gatehouse.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      const published = (jwks.json().keys as { kid: string }[]).map((k) => k.kid);
      // On a fresh database rotate-keys first creates the initial key, then the new one; the
      // initial key signs for the lead time and stays published until its tokens have expired.
      expect(published).toContain(kid);
      expect(published).toHaveLength(2);
      clock.advance(LEAD_MS);
      expect(gatehouse.rt.keys.active()?.kid).toBe(kid);
    } finally {
      await gatehouse.close();
      await database.close();
    }
  });

  it('with --now, signs with the new key at once', async () => {
    const { stdout } = await cli('rotate-keys', '--now');
    const kid = stdout.match(/new signing key (kid_[0-9a-z]+)/)?.[1];
    const config = loadConfig({ DATA_DIR: dataDir, GATEHOUSE_ENV: 'test', LOG_LEVEL: 'silent' });
    const database = openDatabase(config.database);
    const gatehouse = await createApp({ config, database, startWorker: false });
    try {
      expect(gatehouse.rt.keys.active()?.kid).toBe(kid);
    } finally {
      await gatehouse.close();
      await database.close();
    }
  });
});
