import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Dialect } from './dialect';
import type { DialectMigration } from './migrations/index';

/**
 * Applies pending migrations, each one atomically: its statements and the row recording it
 * commit together or not at all, on both engines.
 *
 * Why not Kysely's Migrator: on SQLite it runs every statement outside any transaction
 * (`supportsTransactionalDdl` is false for its SQLite adapter), so a process killed while a new
 * database is being built left half a schema and no record of it, and every later start failed
 * with `table "users" already exists` (issue 10 #22). SQLite DDL is transactional inside
 * BEGIN ... COMMIT, so each migration runs in `BEGIN IMMEDIATE` (which also takes the write lock
 * up front, so a second process migrating at the same time waits, then sees the migration done).
 * On PostgreSQL each migration runs in its own transaction holding an advisory lock, so nodes
 * starting together apply each migration once.
 *
 * Consequence for migration authors: a migration runs inside a transaction. `PRAGMA
 * foreign_keys` and `PRAGMA journal_mode` do nothing there (they are set when the database is
 * opened); a SQLite table rebuild uses `PRAGMA defer_foreign_keys = ON` instead. On PostgreSQL
 * nothing that refuses a transaction (`CREATE INDEX CONCURRENTLY`, `ALTER TYPE ... ADD VALUE`
 * before 12) may be used.
 *
 * The history table keeps the name and shape Kysely's Migrator gave it, so databases migrated by
 * earlier versions carry on where they stopped.
 */
export const MIGRATION_TABLE = 'kysely_migration';
/** Arbitrary, fixed: every Gatehouse node takes the same PostgreSQL advisory lock. */
const PG_LOCK_KEY = 'gatehouse_migrations';

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration?: string,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

interface Options {
  // biome-ignore lint/suspicious/noExplicitAny: runs against any schema (the history table is not in DB)
  db: Kysely<any>;
  dialect: Dialect;
  migrations: Record<string, DialectMigration>;
  /** SQLite only: the database file, named in the advice of a half-applied migration */
  file?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: see Options.db
type AnyDb = Kysely<any>;

async function appliedNames(db: AnyDb): Promise<string[]> {
  const rows = await db.selectFrom(MIGRATION_TABLE).select('name').execute();
  return rows.map((r: { name: string }) => r.name);
}

async function ensureHistoryTable(db: AnyDb, dialect: Dialect): Promise<void> {
  const create = (trx: AnyDb) =>
    trx.schema
      .createTable(MIGRATION_TABLE)
      .ifNotExists()
      .addColumn('name', 'varchar(255)', (c) => c.notNull().primaryKey())
      .addColumn('timestamp', 'varchar(255)', (c) => c.notNull())
      .execute();
  if (dialect === 'postgres') {
    // Two nodes creating it at once would otherwise collide on pg_type even with IF NOT EXISTS.
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${PG_LOCK_KEY}))`.execute(trx);
      await create(trx);
    });
  } else {
    await create(db);
  }
}

/** Runs `work` in one transaction; on SQLite a `BEGIN IMMEDIATE` one on the single connection. */
async function atomically<T>(
  db: AnyDb,
  dialect: Dialect,
  work: (trx: AnyDb) => Promise<T>,
): Promise<T> {
  if (dialect === 'postgres') {
    return db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${PG_LOCK_KEY}))`.execute(trx);
      return work(trx);
    });
  }
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const out = await work(conn);
      await sql`commit`.execute(conn);
      return out;
    } catch (error) {
      // A failed COMMIT or statement may already have ended the transaction.
      await sql`rollback`.execute(conn).catch(() => {});
      throw error;
    }
  });
}

/** An error a migration raises when (part of) what it creates is already there. */
function isAlreadyThere(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  // 42P07 duplicate_table (and relation/index), 42710 duplicate_object, 42701 duplicate_column
  if (e?.code === '42P07' || e?.code === '42710' || e?.code === '42701') return true;
  return /already exists|duplicate column name/i.test(e?.message ?? '');
}

type SchemaObject = { type: string; name: string };

async function sqliteObjects(db: AnyDb): Promise<SchemaObject[]> {
  const { rows } = await sql<SchemaObject>`
    select type, name from sqlite_master where name not like 'sqlite_%'`.execute(db);
  return rows;
}

/**
 * The schema objects `name` creates, found by applying the migrations up to it to an empty
 * in-memory database (SQLite only; cheap, and exact whatever the migration's code looks like).
 */
async function objectsCreatedBy(
  migrations: Record<string, DialectMigration>,
  name: string,
): Promise<SchemaObject[]> {
  const scratch = new Kysely<unknown>({
    dialect: new SqliteDialect({ database: new Sqlite(':memory:') }),
  });
  try {
    let before: SchemaObject[] = [];
    for (const key of Object.keys(migrations).sort()) {
      if (key === name) before = await sqliteObjects(scratch);
      await migrations[key]!.up(scratch, 'sqlite');
      if (key === name) break;
    }
    const seen = new Set(before.map((o) => `${o.type} ${o.name}`));
    return (await sqliteObjects(scratch)).filter((o) => !seen.has(`${o.type} ${o.name}`));
  } finally {
    await scratch.destroy();
  }
}

/**
 * Explains a migration that found its own objects already there: an older Gatehouse (which ran
 * SQLite migrations outside a transaction) was stopped part-way through it. Nothing is changed;
 * the operator is told what is there and what to do.
 */
async function halfAppliedError(
  options: Options,
  name: string,
  cause: unknown,
): Promise<MigrationError> {
  const detail = (cause as Error).message;
  let present = '';
  if (options.dialect === 'sqlite') {
    try {
      const created = await objectsCreatedBy(options.migrations, name);
      const existing = new Set((await sqliteObjects(options.db)).map((o) => `${o.type} ${o.name}`));
      const there = created.filter((o) => existing.has(`${o.type} ${o.name}`));
      if (there.length > 0) {
        present = ` Of the ${created.length} objects it creates, these already exist: ${there
          .map((o) => `${o.type} ${o.name}`)
          .join(', ')}.`;
      }
    } catch {
      // The explanation is best effort; the advice below holds without the list.
    }
  }
  const where =
    options.dialect === 'sqlite' && options.file
      ? `delete ${options.file} (with its -wal and -shm files)`
      : 'drop and recreate the database';
  return new MigrationError(
    `migration ${name} was applied only in part by an earlier run that was stopped before it ` +
      `finished (Gatehouse versions before migrations became atomic ran them outside a ` +
      `transaction), and it is not recorded as applied (${detail}).${present} Nothing was ` +
      `changed now. To recover: if this database holds no data yet (a new installation), ${where} ` +
      `and start again; otherwise restore the backup taken before the upgrade, or drop the ` +
      `objects listed above and start again.`,
    name,
  );
}

/** Applies every pending migration in name order; returns the names it applied. */
export async function migrateToLatest(options: Options): Promise<string[]> {
  const { db, dialect, migrations } = options;
  await ensureHistoryTable(db, dialect);
  const names = Object.keys(migrations).sort();
  const applied = await appliedNames(db);
  const unknown = applied.filter((n) => !(n in migrations));
  if (unknown.length > 0) {
    throw new MigrationError(
      `the database was migrated by a newer Gatehouse (unknown migration ${unknown.join(', ')}); ` +
        'run that version or a later one',
      unknown[0],
    );
  }
  const done: string[] = [];
  for (const name of names) {
    if (applied.includes(name)) continue;
    let ran: boolean;
    try {
      ran = await atomically(db, dialect, async (trx) => {
        // Re-read under the lock: another process may have applied it meanwhile.
        if ((await appliedNames(trx)).includes(name)) return false;
        await migrations[name]!.up(trx, dialect);
        await trx
          .insertInto(MIGRATION_TABLE)
          .values({ name, timestamp: new Date().toISOString() })
          .execute();
        return true;
      });
    } catch (error) {
      if (isAlreadyThere(error)) throw await halfAppliedError(options, name, error);
      throw new MigrationError(`migration ${name} failed: ${(error as Error).message}`, name);
    }
    if (ran) done.push(name);
  }
  return done;
}
