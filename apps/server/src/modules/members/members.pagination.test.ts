import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type SignedIn, type TestContext } from '../../../test/harness';
import { addDirect, createOrg } from '../../../test/seed';

/**
 * Keyset pagination, tried with random members: paging through any sort, either order, with
 * any page size, yields every member exactly once, in the order a plain JS sort gives.
 *
 * Names and emails are ASCII, and the test databases compare bytes (SQLite's BINARY; the
 * PostgreSQL test server's C.UTF-8), which is the order of JS string comparison; ties (equal
 * names, same join time) break on the user id in the same direction.
 */

let ctx: TestContext;
let owner: SignedIn;
beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp({ first_name: 'Page', last_name: 'Owner' });
});
afterAll(async () => {
  await ctx?.close();
});

interface Row {
  user_id: string;
  name: string;
  email: string;
  joined: number;
}

const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

describe('members list pagination (property)', () => {
  it('pages through every sort and order without duplicates or gaps', async () => {
    const person = fc.record({
      first: fc.stringMatching(/^[a-cA-C]{1,3}$/),
      last: fc.stringMatching(/^[a-cA-C]{0,2}$/),
      local: fc.stringMatching(/^[a-cA-C]{1,3}$/),
      gap: fc.constantFrom(0, 0, 1, 1000),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(person, { minLength: 0, maxLength: 14 }),
        fc.constantFrom('name', 'email', 'joined'),
        fc.constantFrom('asc', 'desc'),
        fc.integer({ min: 1, max: 6 }),
        async (people, sort, order, limit) => {
          run++;
          const org = await createOrg(ctx, owner, 'team');
          const rows: Row[] = [
            {
              user_id: owner.userId,
              name: 'page owner',
              email: owner.email.toLowerCase(),
              joined: ctx.clock.now(),
            },
          ];
          for (const [i, p] of people.entries()) {
            ctx.clock.advance(p.gap);
            const email = `${p.local}.${run}-${i}@p.test`;
            const added = await addDirect(ctx, owner, org.id, {
              email,
              first_name: p.first,
              ...(p.last ? { last_name: p.last } : {}),
            });
            rows.push({
              user_id: added.user_id,
              name: `${p.first} ${p.last}`.trim().toLowerCase(),
              email: email.toLowerCase(),
              joined: ctx.clock.now(),
            });
          }
          const key = (r: Row) =>
            sort === 'name' ? r.name : sort === 'email' ? r.email : r.joined;
          const dir = order === 'asc' ? 1 : -1;
          const expected = [...rows]
            .sort((a, b) => dir * (cmp(key(a), key(b)) || cmp(a.user_id, b.user_id)))
            .map((r) => r.user_id);

          const seen: string[] = [];
          let cursor: string | null = null;
          let pages = 0;
          do {
            const res = await ctx.request(
              'GET',
              `/v1/organizations/${org.id}/members?sort=${sort}&order=${order}&limit=${limit}${
                cursor ? `&cursor=${cursor}` : ''
              }`,
              { token: owner.accessToken },
            );
            expect(res.status).toBe(200);
            expect(res.body.data.length).toBeLessThanOrEqual(limit);
            seen.push(...res.body.data.map((m: { user_id: string }) => m.user_id));
            cursor = res.body.next_cursor;
            pages++;
            expect(pages).toBeLessThanOrEqual(rows.length + 1);
          } while (cursor);
          expect(seen).toEqual(expected);
          // a page is "full" unless it is the last: no empty trailing page after an exact fit
          expect(pages).toBe(Math.max(1, Math.ceil(rows.length / limit)));
        },
      ),
      { numRuns: 40 },
    );
  });
});
