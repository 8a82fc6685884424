import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Dialect } from './dialect';
import { migrations } from './migrations/index';
import { migrateToLatest } from './migrator';
import type { DB } from './schema';

export type Db = Kysely<DB>;

export interface Database {
  db: Db;
  dialect: Dialect;
  /** Succeeds when the database answers a trivial query. */
  ping(): Promise<void>;
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

export type DatabaseConfig =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string; max?: number };

/**
 * PostgreSQL returns int8 as strings to be safe past 2^53; our bigints are millisecond times
 * and counts, far below that, so they are read as numbers.
 */
const pgTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text'),
};

export function openDatabase(config: DatabaseConfig): Database {
  let kysely: Db;
  let dialect: Dialect;
  if (config.kind === 'sqlite') {
    if (config.file !== ':memory:') fs.mkdirSync(path.dirname(config.file), { recursive: true });
    const sqlite = new Sqlite(config.file);
    // WAL lets readers proceed while one writer commits; busy_timeout covers a second process
    // (the CLI) writing at the same time as the server.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    // Gathers the statistics the query planner needs (cheap; re-run periodically by the server).
    sqlite.pragma('optimize = 0x10002');
    kysely = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
    dialect = 'sqlite';
  } else {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: config.max ?? 10,
      types: pgTypes,
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    kysely = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    dialect = 'postgres';
  }

  return {
    db: kysely,
    dialect,
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    /** Each pending migration in its own transaction (see migrator.ts, issue 10 #22). */
    async migrate() {
      return migrateToLatest({
        db: kysely,
        dialect,
        migrations,
        ...(config.kind === 'sqlite' ? { file: config.file } : {}),
      });
    },
    async close() {
      await kysely.destroy();
    },
  };
}
