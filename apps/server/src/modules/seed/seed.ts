import type { Db } from '../../db/database';
import { newId } from '../../lib/ids';
import { sortName } from '../organizations/organizations.repo';

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Margaret',
  'Dennis',
  'Radia',
  'Tim',
  'Hedy',
  'Linus',
  'Sophie',
  'John',
  'Karen',
  'Niklaus',
  'Leslie',
  'Shafi',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Hamilton',
  'Ritchie',
  'Perlman',
  'Berners-Lee',
  'Lamarr',
  'Torvalds',
  'Wilson',
  'McCarthy',
  'Jones',
  'Wirth',
  'Lamport',
  'Goldwasser',
];

/**
 * Creates an organization with `members` members fast: plain batched inserts in a few large
 * transactions, no password hashing (seeded users have no password). For benchmarks and demos,
 * never for production data. Returns the organization, its owner and some accounts.
 */
export async function seedOrganization(
  db: Db,
  options: { members: number; accounts?: number; template?: string; name?: string; now?: number },
) {
  const now = options.now ?? Date.now();
  const tag = Math.random().toString(36).slice(2, 8);
  const orgId = newId('org', now);
  const ownerId = newId('usr', now);
  const accountIds: string[] = [];
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('users')
      .values({
        id: ownerId,
        email: `owner-${tag}@seed.example`,
        password_hash: null,
        first_name: 'Seed',
        last_name: 'Owner',
        mobile: null,
        timezone: null,
        status: 'active',
        email_verified_at: now,
        user_settings: '{}',
        user_metadata: '{}',
        avatar_id: null,
        is_platform_admin: 0,
        managed_by_org_id: orgId,
        created_at: now,
        updated_at: now,
        last_login_at: null,
      })
      .execute();
    await trx
      .insertInto('organizations')
      .values({
        id: orgId,
        name: options.name ?? `Seeded ${tag}`,
        slug: `seeded-${tag}`,
        template: options.template ?? 'media',
        owner_user_id: ownerId,
        status: 'active',
        settings: '{}',
        policies: '{}',
        created_by: ownerId,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await trx
      .insertInto('memberships')
      .values({
        organization_id: orgId,
        user_id: ownerId,
        status: 'active',
        invited_by: null,
        login_methods: null,
        sort_name: 'seed owner',
        email: `owner-${tag}@seed.example`,
        joined_at: now,
        updated_at: now,
      })
      .execute();
    for (let a = 0; a < (options.accounts ?? 10); a++) {
      const id = newId('acc', now);
      accountIds.push(id);
      await trx
        .insertInto('accounts')
        .values({
          id,
          organization_id: orgId,
          name: `Account ${a}`,
          product: a % 2 === 0 ? 'video' : 'image',
          owner_user_id: ownerId,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
  });
  const BATCH = 500;
  for (let start = 0; start < options.members; start += 5000) {
    await db.transaction().execute(async (trx) => {
      for (let b = start; b < Math.min(start + 5000, options.members); b += BATCH) {
        const users = [];
        const memberships = [];
        const grants = [];
        for (let i = b; i < Math.min(b + BATCH, options.members); i++) {
          const id = newId('usr', now);
          const first = FIRST[i % FIRST.length]!;
          const last = `${LAST[Math.floor(i / FIRST.length) % LAST.length]}${i}`;
          const email = `${first}.${last}.${tag}@seed.example`.toLowerCase();
          const joined = now - (options.members - i) * 1000;
          users.push({
            id,
            email,
            password_hash: null,
            first_name: first,
            last_name: last,
            mobile: null,
            timezone: null,
            status: 'active' as const,
            email_verified_at: now,
            user_settings: '{}',
            user_metadata: '{}',
            avatar_id: null,
            is_platform_admin: 0,
            managed_by_org_id: orgId,
            created_at: joined,
            updated_at: joined,
            last_login_at: null,
          });
          memberships.push({
            organization_id: orgId,
            user_id: id,
            status: (i % 50 === 0 ? 'suspended' : 'active') as 'active' | 'suspended',
            invited_by: ownerId,
            login_methods: null,
            sort_name: sortName(first, last),
            email,
            joined_at: joined,
            updated_at: joined,
          });
          // A spread of roles not correlated with the names (real data has no such pattern); a few admins.
          const role =
            i % 1000 === 7
              ? 'admin'
              : ['video-developer', 'video-analyst', 'image-developer', 'accountant'][
                  (i * 7919) % 4
                ]!;
          grants.push({
            id: newId('mem', now),
            organization_id: orgId,
            user_id: id,
            role,
            permissions: null,
            scope_id:
              role === 'admin' || role === 'accountant'
                ? orgId
                : accountIds[i % accountIds.length]!,
            created_by: ownerId,
            created_at: joined,
          });
        }
        await trx.insertInto('users').values(users).execute();
        await trx.insertInto('memberships').values(memberships).execute();
        await trx.insertInto('grants').values(grants).execute();
      }
    });
  }
  return { orgId, ownerId, accountIds };
}
