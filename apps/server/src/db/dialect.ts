import type { ColumnDataType, CreateTableBuilder } from 'kysely';
import { sql } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/** Binary column: SQLite calls it blob, PostgreSQL bytea. */
export const binaryType = (dialect: Dialect): ColumnDataType =>
  dialect === 'postgres' ? 'bytea' : 'blob';

/** An auto-incrementing integer primary key in either engine. */
export function serialPrimaryKey<T extends string>(
  builder: CreateTableBuilder<T, never>,
  dialect: Dialect,
  column: string,
): CreateTableBuilder<T, string> {
  return dialect === 'postgres'
    ? builder.addColumn(column, sql`bigserial`, (c) => c.primaryKey())
    : builder.addColumn(column, 'integer', (c) => c.primaryKey().autoIncrement());
}

/** Unique-constraint violations, as each driver reports them. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/**
 * Foreign-key violations, as each driver reports them: in Gatehouse they mean the row referred to
 * was deleted by a concurrent request between the check and the write (the answer is 404).
 */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** Makes `%`, `_` and `\` literal in a LIKE pattern (use with `escape '\'`). */
export const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
