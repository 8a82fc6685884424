import { type Kysely, sql } from 'kysely';
import { type Dialect, serialPrimaryKey } from '../dialect';

/**
 * Organizations, accounts, resources, custom roles, memberships, grants and ownership offers.
 * Every tenant-owned table carries `organization_id`, and every repo query filters on it.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('organizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('template', 'text', (c) => c.notNull())
    /** exactly one owner, always: a column, not a grant, so "exactly one" is structural */
    .addColumn('owner_user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('policies', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('organizations_owner_idx')
    .on('organizations')
    .column('owner_user_id')
    .execute();

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('owner_user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('accounts_org_idx')
    .on('accounts')
    .columns(['organization_id', 'id'])
    .execute();

  await db.schema
    .createTable('resources')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('account_id', 'text', (c) =>
      c.notNull().references('accounts.id').onDelete('cascade'),
    )
    .addColumn('parent_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('resources_account_idx')
    .on('resources')
    .columns(['organization_id', 'account_id', 'id'])
    .execute();

  await db.schema
    .createTable('roles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('permissions', 'text', (c) => c.notNull())
    .addColumn('product', 'text')
    .addColumn('grantable_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('roles_org_key_unique', ['organization_id', 'key'])
    .execute();

  // `seq` is an integer key (SQLite: the rowid alias, which VACUUM keeps) that the search index
  // rows point at; (organization_id, user_id) is the natural key and is unique.
  await serialPrimaryKey(db.schema.createTable('memberships'), dialect, 'seq')
    .addColumn('organization_id', 'text', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('invited_by', 'text')
    /** JSON array of login methods this member may use to reach the organization; null = any */
    .addColumn('login_methods', 'text')
    /**
     * Copies of the user's name and email, lower-cased, kept in step by the user writes: the
     * members list sorts and searches within one organization by index, without a join.
     */
    .addColumn('sort_name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('memberships_org_user_unique', ['organization_id', 'user_id'])
    .execute();
  await db.schema.createIndex('memberships_user_idx').on('memberships').column('user_id').execute();
  await db.schema
    .createIndex('memberships_org_name_idx')
    .on('memberships')
    .columns(['organization_id', 'sort_name', 'user_id'])
    .execute();
  await db.schema
    .createIndex('memberships_org_email_idx')
    .on('memberships')
    .columns(['organization_id', 'email', 'user_id'])
    .execute();
  await db.schema
    .createIndex('memberships_org_joined_idx')
    .on('memberships')
    .columns(['organization_id', 'joined_at', 'user_id'])
    .execute();

  await createMemberSearchIndex(db, dialect);

  await db.schema
    .createTable('grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('user_id', 'text', (c) => c.notNull())
    /** a role key (built-in or custom), or null for an inline set of permissions */
    .addColumn('role', 'text')
    /** JSON array of permission patterns when `role` is null */
    .addColumn('permissions', 'text')
    .addColumn('scope_id', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // (org, user, role): the members list's role filter probes it per member; with the role last,
  // no planner (even one without statistics) prefers scanning every grant of that role.
  await db.schema
    .createIndex('grants_member_idx')
    .on('grants')
    .columns(['organization_id', 'user_id', 'role'])
    .execute();
  await db.schema
    .createIndex('grants_scope_idx')
    .on('grants')
    .columns(['organization_id', 'scope_id'])
    .execute();
  await db.schema
    .createIndex('grants_role_idx')
    .on('grants')
    .columns(['organization_id', 'role'])
    .execute();

  await db.schema
    .createTable('ownership_offers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    /** the organization's id, or one of its accounts' */
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('from_user_id', 'text', (c) => c.notNull())
    .addColumn('to_user_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('resolved_at', 'bigint')
    .execute();
  // At most one pending offer per organization or account (partial unique index, both engines).
  await sql`CREATE UNIQUE INDEX ownership_offers_one_pending ON ownership_offers (subject_id) WHERE status = 'pending'`.execute(
    db,
  );
}

/**
 * Substring search over members' names and emails without scanning the organization: trigram
 * indexes. PostgreSQL: pg_trgm GIN on the searched expression. SQLite: an FTS5 table with the
 * trigram tokenizer, kept in step with memberships by triggers (so every writer, including bulk
 * seeding, maintains it). Both serve `LIKE '%term%'` for terms of 3+ characters.
 */
async function createMemberSearchIndex(db: Kysely<unknown>, dialect: Dialect) {
  if (dialect === 'postgres') {
    await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
    await sql`CREATE INDEX memberships_search_trgm ON memberships USING gin ((sort_name || ' ' || email) gin_trgm_ops)`.execute(
      db,
    );
    return;
  }
  // Contentless (the text lives in memberships), rows addressed by memberships.seq.
  await sql`CREATE VIRTUAL TABLE member_search USING fts5(text, content = '', contentless_delete = 1, tokenize = 'trigram')`.execute(
    db,
  );
  await sql`CREATE TRIGGER memberships_search_insert AFTER INSERT ON memberships BEGIN
    INSERT INTO member_search (rowid, text) VALUES (new.seq, new.sort_name || ' ' || new.email);
  END`.execute(db);
  await sql`CREATE TRIGGER memberships_search_update AFTER UPDATE OF sort_name, email ON memberships BEGIN
    DELETE FROM member_search WHERE rowid = old.seq;
    INSERT INTO member_search (rowid, text) VALUES (new.seq, new.sort_name || ' ' || new.email);
  END`.execute(db);
  await sql`CREATE TRIGGER memberships_search_delete AFTER DELETE ON memberships BEGIN
    DELETE FROM member_search WHERE rowid = old.seq;
  END`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS member_search`.execute(db);
  for (const table of [
    'ownership_offers',
    'grants',
    'memberships',
    'roles',
    'resources',
    'accounts',
    'organizations',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
