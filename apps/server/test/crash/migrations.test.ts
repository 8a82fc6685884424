import Sqlite from 'better-sqlite3';
import {
  DummyDriver,
  Kysely,
  type KyselyPlugin,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database';
import { migrations } from '../../src/db/migrations/index';
import { MIGRATION_TABLE } from '../../src/db/migrator';
import { engine } from '../harness';
import { type CrashDatabase, createCrashDatabase, runGatehouse, runMigrateOnly } from './process';

/**
 * Migrations are atomic: a process killed (SIGKILL) anywhere while it migrates leaves a database
 * the next start finishes, with exactly the schema a clean run builds; and a migration left half
 * applied by an older version is explained, not answered with `table "users" already exists`.
 * @see issue 10 #22
 */

const dbs: CrashDatabase[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

async function freshDatabase() {
  const db = await createCrashDatabase();
  dbs.push(db);
  return db;
}

/** Every table, column, index, trigger and extension, comparable between two databases. */
async function describeSchema(db: CrashDatabase): Promise<string[]> {
  if (engine === 'sqlite') {
    const sqlite = new Sqlite(db.file!, { readonly: true });
    try {
      return (
        sqlite
          .prepare("select type, name, sql from sqlite_master where name not like 'sqlite_%'")
          .all() as { type: string; name: string; sql: string | null }[]
      )
        .map((r) => `${r.type} ${r.name}: ${r.sql}`)
        .sort();
    } finally {
      sqlite.close();
    }
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const columns = await client.query(
      `select table_name, column_name, data_type, is_nullable, column_default
         from information_schema.columns where table_schema = 'public'`,
    );
    const indexes = await client.query(
      `select indexname, indexdef from pg_indexes where schemaname = 'public'`,
    );
    const constraints = await client.query(
      `select conname, pg_get_constraintdef(oid) as def from pg_constraint
         where connamespace = 'public'::regnamespace`,
    );
    const triggers = await client.query(`select tgname from pg_trigger where not tgisinternal`);
    const extensions = await client.query(`select extname from pg_extension`);
    return [
      ...columns.rows.map((r) => `column ${Object.values(r).join(' ')}`),
      ...indexes.rows.map((r) => `index ${r.indexname}: ${r.indexdef}`),
      ...constraints.rows.map((r) => `constraint ${r.conname}: ${r.def}`),
      ...triggers.rows.map((r) => `trigger ${r.tgname}`),
      ...extensions.rows.map((r) => `extension ${r.extname}`),
    ].sort();
  } finally {
    await client.end();
  }
}

async function appliedMigrations(db: CrashDatabase): Promise<string[]> {
  const database = openDatabase(
    engine === 'sqlite' ? { kind: 'sqlite', file: db.file! } : { kind: 'postgres', url: db.url! },
  );
  try {
    const rows = await (database.db as unknown as Kysely<Record<string, { name: string }>>)
      .selectFrom(MIGRATION_TABLE)
      .select('name')
      .execute();
    return rows.map((r) => r.name).sort();
  } finally {
    await database.close();
  }
}

/**
 * The statements each migration runs on this engine, in order, compiled by Kysely without a
 * database (a dummy driver): taken from the migrations themselves, not from any runner, so the
 * kill points mean the same places whatever runs them.
 */
async function statementsOf(name: string): Promise<string[]> {
  const statements: string[] = [];
  const dry = new Kysely<unknown>({
    dialect: {
      createAdapter: () => (engine === 'sqlite' ? new SqliteAdapter() : new PostgresAdapter()),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) =>
        engine === 'sqlite' ? new SqliteIntrospector(db) : new PostgresIntrospector(db),
      createQueryCompiler: () =>
        engine === 'sqlite' ? new SqliteQueryCompiler() : new PostgresQueryCompiler(),
    },
    log: (event) => {
      statements.push(event.query.sql);
    },
  });
  await migrations[name]!.up(dry, engine);
  await dry.destroy();
  return statements;
}

/**
 * Kill points: within each migration the middle statement and, for the first migration, the
 * last one (everything built, nothing recorded: the state the old runner left behind). Only
 * statements that occur once in all migrations can name a point.
 */
async function killPoints(): Promise<string[]> {
  const perMigration = await Promise.all(Object.keys(migrations).sort().map(statementsOf));
  const counts = new Map<string, number>();
  for (const s of perMigration.flat()) counts.set(s, (counts.get(s) ?? 0) + 1);
  const points: string[] = [];
  perMigration.forEach((all, i) => {
    const unique = all.filter((s) => counts.get(s) === 1);
    if (unique.length === 0) return;
    points.push(unique[Math.floor(unique.length / 2)]!);
    if (i === 0) points.push(unique[unique.length - 1]!);
  });
  return [...new Set(points)];
}

describe(`migrations survive kill -9 (${engine})`, () => {
  it('a migrate killed at any of many points mid-migration is finished by the next start, with the full schema', async () => {
    const reference = await freshDatabase();
    const clean = await runGatehouse(['migrate'], reference.env);
    expect(clean.code, clean.stderr).toBe(0);
    const points = await killPoints();
    // one per migration at least: the test must really cut into each of them
    expect(points.length).toBeGreaterThanOrEqual(Object.keys(migrations).length);

    // One database, killed at each point in turn: every run after a kill first has to get past
    // what the previous kill left (before the fix the second run died of `table "users"
    // already exists`), then reaches its own kill point.
    const crashed = await freshDatabase();
    for (const point of points) {
      const run = await runMigrateOnly({ ...crashed.env, CRASH_KILL_AFTER: point });
      if (run.signal !== 'SIGKILL') {
        throw new Error(
          `expected the run to be killed after ${point.slice(0, 80)}, it exited ${run.code}: ${run.stderr}`,
        );
      }
    }
    // the real CLI finishes the job (the killed runs load only the database code, to be quick)
    const last = await runGatehouse(['migrate'], crashed.env);
    expect(last.code, last.stderr).toBe(0);
    expect(await appliedMigrations(crashed)).toEqual(Object.keys(migrations).sort());
    expect(await describeSchema(crashed)).toEqual(await describeSchema(reference));
  }, 180_000);

  it('two processes migrating a new database at once both succeed, and apply each migration once', async () => {
    const db = await freshDatabase();
    const [a, b] = await Promise.all([runMigrateOnly(db.env), runMigrateOnly(db.env)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(await appliedMigrations(db)).toEqual(Object.keys(migrations).sort());
  }, 60_000);

  it('explains a migration an older version left half applied, naming it and what to do', async () => {
    const db = await freshDatabase();
    const database = openDatabase(
      engine === 'sqlite' ? { kind: 'sqlite', file: db.file! } : { kind: 'postgres', url: db.url! },
    );
    try {
      // What the old runner left after a kill: the history table, and the first statements of
      // the first migration run outside any transaction, the rest never run.
      const [first] = Object.keys(migrations).sort();
      await database.db.schema
        .createTable(MIGRATION_TABLE)
        .addColumn('name', 'varchar(255)', (c) => c.notNull().primaryKey())
        .addColumn('timestamp', 'varchar(255)', (c) => c.notNull())
        .execute();
      let statements = 0;
      const stopAfterThree: KyselyPlugin = {
        transformQuery(args) {
          if (++statements > 3) throw new Error('killed');
          return args.node;
        },
        async transformResult(args) {
          return args.result;
        },
      };
      await expect(
        migrations[first!]!.up(
          database.db.withPlugin(stopAfterThree) as unknown as Kysely<unknown>,
          database.dialect,
        ),
      ).rejects.toThrow('killed');

      const error = await database.migrate().then(
        () => null,
        (e: Error) => e,
      );
      expect(error?.message).toContain(`migration ${first} was applied only in part`);
      expect(error?.message).toContain('restore the backup');
      if (engine === 'sqlite') {
        // names what is there, and the file a new installation can delete
        expect(error?.message).toContain('table users');
        expect(error?.message).toContain(db.file!);
      }
      // nothing was changed by the refused attempt: still not recorded, still explained
      expect(await appliedMigrations(db)).toEqual([]);
      await expect(database.migrate()).rejects.toThrow(
        `migration ${first} was applied only in part`,
      );
    } finally {
      await database.close();
    }
  });
});
