import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { engine } from '../harness';

/**
 * Helpers of the crash suites: a real `gatehouse` process (the CLI, as an operator runs it),
 * killed with SIGKILL and started again on the same database.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const CLI = path.join(root, 'apps/server/bin/gatehouse.js');
export const KILL_HOOK = path.join(root, 'apps/server/test/crash/kill-hook.mjs');
const RUN_TS = path.join(root, 'apps/server/bin/run-ts.js');
const MIGRATE_ONLY = path.join(root, 'apps/server/test/crash/migrate-only.ts');

/** A database of its own for one test: a SQLite data folder, or a new PostgreSQL database. */
export interface CrashDatabase {
  /** the environment that points a gatehouse process at it */
  env: Record<string, string>;
  /** SQLite: the database file */
  file?: string;
  /** PostgreSQL: the connection URL */
  url?: string;
  drop(): Promise<void>;
}

export async function createCrashDatabase(): Promise<CrashDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-crash-'));
  if (engine === 'sqlite') {
    return {
      env: { DATA_DIR: dataDir },
      file: path.join(dataDir, 'gatehouse.db'),
      async drop() {
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set for the postgres project');
  const name = `gh_c_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
}

/** Starts `gatehouse <args>` with the kill hook preloaded (inert unless CRASH_* is set). */
export const spawnGatehouse = (args: string[], env: Record<string, string>) =>
  spawnNode([CLI, ...args], env);

function spawnNode(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, ['--import', KILL_HOOK, ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      GATEHOUSE_ENV: 'test',
      LOG_LEVEL: 'silent',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs `gatehouse <args>` to its end. */
export const runGatehouse = (args: string[], env: Record<string, string>) =>
  spawnGatehouse(args, env).exited;

/** Runs what `gatehouse migrate` runs, in a process that loads only the database code. */
export const runMigrateOnly = (env: Record<string, string>) =>
  spawnNode([RUN_TS, MIGRATE_ONLY], env).exited;
