import net from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/database';
import { engine, type TestContext } from '../harness';
import { ownerViolations, snapshot } from '../invariants/world';
import { startSmtpServer, type TestSmtpServer } from '../smtp';
import {
  type CrashDatabase,
  createCrashDatabase,
  runGatehouse,
  type Spawned,
  spawnGatehouse,
} from './process';

/**
 * Crash safety (issue 10, "Suites that stay"): a real `gatehouse start` on 127.0.0.1, driven over
 * HTTP by concurrent writers (registrations, invitations sent and accepted, grant changes,
 * ownership transfers, member removals, API keys), is killed with SIGKILL a few times in the
 * middle of it and started again on the same database. After the last restart:
 * - every write the server acknowledged before a kill is still there;
 * - every organization and account has exactly one owner, an active member; no grant without
 *   its membership, no membership without its user or organization, no invitation or API key
 *   without its organization, no membership twice;
 * - every audit chain verifies, by the API's own verify endpoint (whatever its hash rule);
 * - every queued mail is delivered, through a real SMTP server, each with the Message-ID of its
 *   outbox row; a mail sent twice (the kill fell between the SMTP server's acceptance and the
 *   row's update: delivery is at least once) is reported by that id, which is how receivers
 *   de-duplicate.
 * Bounded: KILLS rounds of ~WRITES_PER_ROUND acknowledged requests each.
 */

const KILLS = Number(process.env.CRASH_KILLS ?? 3);
const WRITES_PER_ROUND = Number(process.env.CRASH_WRITES ?? 40);
const PASSWORD = 'Tr0ub4dor&3-horse';

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers by path
  body: any;
  text: string;
}

interface User {
  id: string;
  email: string;
  ip: string;
  token?: string;
}

let smtp: TestSmtpServer;
let db: CrashDatabase;
let server: { base: string; proc: Spawned } | undefined;
let reader: Database;
/** set between a kill and the next start: waits for mail give up at once */
let down = false;

beforeAll(async () => {
  smtp = await startSmtpServer();
  db = await createCrashDatabase();
});
afterAll(async () => {
  server?.proc.child.kill('SIGKILL');
  await server?.proc.exited;
  await reader?.close();
  await smtp?.close();
  await db?.drop();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const port = await freePort();
  const proc = spawnGatehouse(['start'], {
    ...db.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    SMTP_URL: smtp.url,
    // each simulated client has its own address (X-Forwarded-For), as real users would
    TRUST_PROXY: 'loopback',
    ARGON2_MEMORY_KIB: '8192',
    ARGON2_ITERATIONS: '1',
    LOG_LEVEL: 'error',
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (proc.stdout().includes('Gatehouse is listening')) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    void proc.exited.then((exit) => {
      clearInterval(timer);
      reject(new Error(`gatehouse start exited ${exit.code ?? exit.signal}: ${exit.stderr}`));
    });
  });
  server = { base: `http://127.0.0.1:${port}`, proc };
  down = false;
  return server;
}

async function kill() {
  const s = server!;
  down = true;
  s.proc.child.kill('SIGKILL');
  const exit = await s.proc.exited;
  expect(exit.signal).toBe('SIGKILL');
  server = undefined;
  return exit;
}

/** One HTTP request to the running server; throws on a network error (the server is gone). */
async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; ip?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-forwarded-for': options.ip ?? '10.9.9.9' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server!.base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, body, text };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let ipCounter = 0;
const nextIp = () => `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter++ & 255}`;
let emailCounter = 0;
const freshEmail = (kind: string) =>
  `${kind}-${Date.now().toString(36)}-${emailCounter++}@crash.example`;

/** The first mail to `email` whose text matches, waiting for delivery up to `ms`. */
async function mailTo(email: string, pattern: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
  const until = Date.now() + ms;
  for (;;) {
    for (const m of smtp.messages) {
      if (!m.to.includes(email)) continue;
      const match = m.text.match(pattern);
      if (match) return match;
    }
    if (down) throw new Error('the server was killed');
    if (Date.now() > until) throw new Error(`no mail matching ${pattern} reached ${email}`);
    await sleep(50);
  }
}

/** The token of the invitation link mailed to `email`, if its mail has come. */
function linkIn(email: string): string | undefined {
  for (const m of smtp.messages) {
    const match = m.to.includes(email) && m.text.match(/\/invitations\/([A-Za-z0-9_-]+)/);
    if (match) return match[1];
  }
  return undefined;
}

/** A token for `user`, signing in if it has none (sessions survive restarts: rarely needed). */
async function tokenOf(user: User): Promise<string> {
  if (user.token) return user.token;
  const res = await call('POST', '/v1/auth/login', {
    body: { email: user.email, password: PASSWORD },
    ip: user.ip,
  });
  if (res.status !== 200) throw new Error(`login ${user.email}: ${res.status} ${res.text}`);
  user.token = res.body.access_token as string;
  return user.token;
}

async function signUp(kind: string): Promise<User> {
  const email = freshEmail(kind);
  const ip = nextIp();
  const reg = await call('POST', '/v1/auth/register', {
    body: { email, password: PASSWORD, first_name: 'Crash', last_name: kind },
    ip,
  });
  if (reg.status !== 202) throw new Error(`register: ${reg.status} ${reg.text}`);
  const [, code] = await mailTo(email, /\b(\d{6})\b/);
  const verified = await call('POST', '/v1/auth/verify-email', { body: { email, code }, ip });
  if (verified.status !== 200) throw new Error(`verify: ${verified.status} ${verified.text}`);
  const me = await call('GET', '/v1/me', { token: verified.body.access_token, ip });
  return { id: me.body.id, email, ip, token: verified.body.access_token };
}

/** What the test knows about the world, and every write the server acknowledged. */
const users = new Map<string, User>();
const orgs: { id: string; accountId: string; members: Set<string> }[] = [];
const acknowledged = {
  verifiedUsers: new Set<string>(),
  apiKeys: new Set<string>(),
  /** invitations sent (id), pending until accepted */
  invitations: new Map<string, { orgId: string; email: string }>(),
};
const failures: string[] = [];

async function ownerOf(orgId: string): Promise<User> {
  const row = await reader.db
    .selectFrom('organizations')
    .select('owner_user_id')
    .where('id', '=', orgId)
    .executeTakeFirstOrThrow();
  return users.get(row.owner_user_id)!;
}

const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

/**
 * One write of a random kind on one organization. Answers other than 2xx/4xx before the kill
 * are failures; conflicting writes answering 4xx are expected (a transfer to a removed member).
 */
async function writeOnce(org: (typeof orgs)[number]): Promise<void> {
  const owner = await ownerOf(org.id);
  const others = [...org.members].filter((id) => id !== owner.id).map((id) => users.get(id)!);
  const base = `/v1/organizations/${org.id}`;
  const op = pick(['invite', 'accept', 'grants', 'transfer', 'apikey', 'remove', 'account']);
  const check = (what: string, res: Answer) => {
    if (res.status >= 500) failures.push(`${what}: ${res.status} ${res.text.slice(0, 300)}`);
    return res.status < 300;
  };
  switch (op) {
    case 'invite': {
      const email = freshEmail('invitee');
      const res = await call('POST', `${base}/invitations`, {
        token: await tokenOf(owner),
        ip: owner.ip,
        body: { emails: [email], grants: [{ role: 'accountant', scope: org.id }] },
      });
      if (check('invite', res) && res.body.results[0].status === 'invited')
        acknowledged.invitations.set(res.body.results[0].invitation_id, { orgId: org.id, email });
      return;
    }
    case 'accept': {
      // only invitations whose mail has come: one queued just before a kill may be held by the
      // dead process's claim until it lapses (a minute), which this test does not wait out
      const arrived = [...acknowledged.invitations].flatMap(([id, i]) => {
        if (i.orgId !== org.id) return [];
        const token = linkIn(i.email);
        return token ? [{ id, email: i.email, token }] : [];
      });
      const chosen = pick(arrived);
      if (!chosen) return;
      const { id, email, token } = chosen;
      const ip = nextIp();
      const res = await call('POST', `/v1/invitations/${token}/accept`, {
        body: { first_name: 'Invited', last_name: 'Member', password: PASSWORD },
        ip,
      });
      if (check('accept', res)) {
        acknowledged.invitations.delete(id);
        users.set(res.body.user_id, {
          id: res.body.user_id,
          email,
          ip,
          token: res.body.session?.access_token,
        });
        org.members.add(res.body.user_id);
      }
      return;
    }
    case 'grants': {
      const member = pick(others);
      if (!member) return;
      const role = pick(['admin', 'accountant'])!;
      const res = await call('PUT', `${base}/members/${member.id}/grants`, {
        token: await tokenOf(owner),
        ip: owner.ip,
        body: { grants: [{ role, scope: org.id }] },
      });
      check('grants', res);
      return;
    }
    case 'transfer': {
      const to = pick(others);
      if (!to) return;
      const offer = await call('POST', `${base}/transfer-ownership`, {
        token: await tokenOf(owner),
        ip: owner.ip,
        body: { user_id: to.id },
      });
      if (!check('offer', offer)) return;
      const res = await call('POST', `${base}/ownership-offers/${offer.body.id}/accept`, {
        token: await tokenOf(to),
        ip: to.ip,
      });
      check('accept offer', res);
      return;
    }
    case 'apikey': {
      const res = await call('POST', `${base}/api-keys`, {
        token: await tokenOf(owner),
        ip: owner.ip,
        body: { name: 'crash key', grants: [{ role: 'accountant', scope: org.id }] },
      });
      if (check('api key', res)) acknowledged.apiKeys.add(res.body.id);
      return;
    }
    case 'remove': {
      // keep a few members around for the other writes
      if (others.length < 3) return;
      const member = pick(others)!;
      const res = await call('DELETE', `${base}/members/${member.id}`, {
        token: await tokenOf(owner),
        ip: owner.ip,
      });
      if (check('remove', res)) org.members.delete(member.id);
      return;
    }
    case 'account': {
      const to = pick(others);
      if (!to) return;
      const offer = await call('POST', `${base}/accounts/${org.accountId}/transfer-ownership`, {
        token: await tokenOf(owner),
        ip: owner.ip,
        body: { user_id: to.id },
      });
      if (!check('account offer', offer)) return;
      const res = await call('POST', `${base}/ownership-offers/${offer.body.id}/accept`, {
        token: await tokenOf(to),
        ip: to.ip,
      });
      check('accept account offer', res);
      return;
    }
  }
}

async function registerOnce(): Promise<void> {
  const email = freshEmail('signup');
  const ip = nextIp();
  const reg = await call('POST', '/v1/auth/register', {
    body: { email, password: PASSWORD, first_name: 'New', last_name: 'User' },
    ip,
  });
  if (reg.status >= 500) failures.push(`register: ${reg.status} ${reg.text.slice(0, 300)}`);
  if (reg.status !== 202) return;
  const [, code] = await mailTo(email, /\b(\d{6})\b/);
  const res = await call('POST', '/v1/auth/verify-email', { body: { email, code }, ip });
  if (res.status >= 500) failures.push(`verify: ${res.status} ${res.text.slice(0, 300)}`);
  if (res.status === 200) acknowledged.verifiedUsers.add(email);
}

/**
 * Concurrent writers until `writes` requests have been acknowledged, then SIGKILL while the
 * writers are still going. Errors after the kill (refused connections, a mail that never came)
 * end a writer; before it they are failures.
 */
async function roundOfWrites(writes: number) {
  let done = 0;
  let killed = false;
  const writer = async (step: () => Promise<void>) => {
    while (!killed) {
      try {
        await step();
        done++;
      } catch (error) {
        if (!killed) failures.push(`before the kill: ${(error as Error).message}`);
        return;
      }
    }
  };
  const writers = [
    ...orgs.flatMap((org) => [writer(() => writeOnce(org)), writer(() => writeOnce(org))]),
    writer(registerOnce),
    writer(registerOnce),
  ];
  while (done < writes && failures.length === 0) await sleep(20);
  killed = true;
  await kill();
  await Promise.all(writers);
}

describe(`crash safety: kill -9 during concurrent writes (${engine})`, () => {
  it('restarts into a consistent state: owners, no orphans, audit chains, every mail delivered', async () => {
    const admin = { email: 'crash-admin@crash.example', password: PASSWORD };
    const made = await runGatehouse(
      ['create-admin', '--email', admin.email, '--password', admin.password],
      db.env,
    );
    expect(made.code, made.stderr).toBe(0);
    reader = openDatabase(
      engine === 'sqlite' ? { kind: 'sqlite', file: db.file! } : { kind: 'postgres', url: db.url! },
    );

    await startServer();
    for (let i = 0; i < 2; i++) {
      const owner = await signUp('owner');
      users.set(owner.id, owner);
      const org = await call('POST', '/v1/organizations', {
        token: owner.token,
        ip: owner.ip,
        body: { name: `Crash ${i}`, template: 'media' },
      });
      expect(org.status, org.text).toBe(201);
      const account = await call('POST', `/v1/organizations/${org.body.id}/accounts`, {
        token: owner.token,
        ip: owner.ip,
        body: { name: 'Video', product: 'video' },
      });
      expect(account.status, account.text).toBe(201);
      orgs.push({ id: org.body.id, accountId: account.body.id, members: new Set([owner.id]) });
      for (let m = 0; m < 3; m++) {
        const member = await signUp('member');
        users.set(member.id, member);
        const added = await call('POST', `/v1/organizations/${org.body.id}/members`, {
          token: owner.token,
          ip: owner.ip,
          body: { email: member.email, grants: [{ role: 'accountant', scope: org.body.id }] },
        });
        expect(added.status, added.text).toBe(201);
        orgs[i]!.members.add(member.id);
      }
    }

    for (let round = 0; round < KILLS; round++) {
      if (!server) await startServer();
      await roundOfWrites(WRITES_PER_ROUND);
      expect(failures).toEqual([]);
    }

    // Every process is dead, so every claim on an outbox row is stale: the claim would lapse
    // after its minute; lifting it now stands for that minute passing.
    await reader.db
      .updateTable('outbox')
      .set({ locked_until: null })
      .where('status', '=', 'pending')
      .execute();
    await startServer();

    // Acknowledged writes survived.
    const verified = await reader.db
      .selectFrom('users')
      .select('email')
      .where('email_verified_at', 'is not', null)
      .execute();
    const verifiedEmails = new Set(verified.map((u) => u.email));
    for (const email of acknowledged.verifiedUsers) expect(verifiedEmails).toContain(email);
    const keys = await reader.db.selectFrom('api_keys').select('id').execute();
    for (const id of acknowledged.apiKeys) expect(keys.map((k) => k.id)).toContain(id);
    for (const [id] of acknowledged.invitations) {
      const row = await reader.db
        .selectFrom('invitations')
        .select('id')
        .where('id', '=', id)
        .executeTakeFirst();
      expect(row?.id).toBe(id);
    }

    // One owner per organization and account, an active member.
    const asCtx = { database: reader } as unknown as TestContext;
    const snap = await snapshot(
      asCtx,
      orgs.map((o) => o.id),
    );
    expect(snap.size).toBe(orgs.length);
    expect(await ownerViolations(asCtx, snap)).toEqual([]);

    // No orphans, no duplicates.
    const q = reader.db;
    const grantsWithoutMember = await q
      .selectFrom('grants as g')
      .leftJoin('memberships as m', (j) =>
        j.onRef('m.organization_id', '=', 'g.organization_id').onRef('m.user_id', '=', 'g.user_id'),
      )
      .select('g.id')
      .where('m.user_id', 'is', null)
      .execute();
    expect(grantsWithoutMember).toEqual([]);
    const membershipsWithoutUser = await q
      .selectFrom('memberships as m')
      .leftJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.organization_id', 'm.user_id'])
      .where('u.id', 'is', null)
      .execute();
    expect(membershipsWithoutUser).toEqual([]);
    const membershipsWithoutOrg = await q
      .selectFrom('memberships as m')
      .leftJoin('organizations as o', 'o.id', 'm.organization_id')
      .select(['m.organization_id', 'm.user_id'])
      .where('o.id', 'is', null)
      .execute();
    expect(membershipsWithoutOrg).toEqual([]);
    for (const table of ['invitations', 'api_keys', 'accounts'] as const) {
      const orphans = await sql<{ id: string }>`select t.id from ${sql.table(table)} t
        left join organizations o on o.id = t.organization_id where o.id is null`.execute(q);
      expect(orphans.rows, table).toEqual([]);
    }
    const duplicates = await q
      .selectFrom('memberships')
      .select(['organization_id', 'user_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['organization_id', 'user_id'])
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();
    expect(duplicates).toEqual([]);
    // Every accepted invitation made its member (unless removed later, which the test tracks).
    const accepted = await q
      .selectFrom('invitations as i')
      .leftJoin('users as u', 'u.id', 'i.accepted_by')
      .select(['i.id', 'u.id as user'])
      .where('i.status', '=', 'accepted')
      .execute();
    for (const row of accepted) expect(row.user, `invitation ${row.id}`).not.toBeNull();

    // Every audit chain verifies, as the API judges it.
    const signIn = await call('POST', '/v1/auth/login', { body: admin, ip: nextIp() });
    expect(signIn.status, signIn.text).toBe(200);
    for (const chain of [...orgs.map((o) => o.id), 'platform']) {
      const res = await call('GET', `/v1/admin/audit-logs/verify?organization_id=${chain}`, {
        token: signIn.body.access_token,
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body, `audit chain ${chain}`).toMatchObject({ valid: true, first_broken: null });
      expect(res.body.checked).toBeGreaterThan(0);
    }

    // Every mail is delivered; each carries its outbox row's Message-ID.
    const until = Date.now() + 30_000;
    let pending: { id: string; status: string }[] = [];
    for (;;) {
      pending = await q
        .selectFrom('outbox')
        .select(['id', 'status'])
        .where('channel', '=', 'email')
        .where('status', '!=', 'sent')
        .execute();
      if (pending.length === 0 || Date.now() > until) break;
      await sleep(100);
    }
    expect(pending).toEqual([]);
    const rows = await q.selectFrom('outbox').select('id').where('channel', '=', 'email').execute();
    const idOf = (m: (typeof smtp.messages)[number]) =>
      /^<([^@>]+)@/.exec(m.headers['message-id'] ?? '')?.[1];
    const received = new Map<string, number>();
    for (const m of smtp.messages) {
      const id = idOf(m);
      expect(id, `a mail without our Message-ID: ${m.headers['message-id']}`).toBeTruthy();
      received.set(id!, (received.get(id!) ?? 0) + 1);
    }
    for (const row of rows) expect(received.get(row.id), `outbox ${row.id}`).toBeGreaterThan(0);
    expect([...received.keys()].every((id) => rows.some((r) => r.id === id))).toBe(true);
    const repeated = [...received].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`);
    // At-least-once delivery: a repeat is allowed, and named by the id receivers de-duplicate on.
    console.info(
      `crash suite (${engine}): ${KILLS} kills, ${rows.length} mails queued, ${smtp.messages.length} received` +
        (repeated.length
          ? `; delivered more than once (same Message-ID): ${repeated.join(', ')}`
          : ''),
    );
    expect(failures).toEqual([]);
  }, 240_000);
});
