import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../server/src/lib/ids';
import { seedOrganization } from '../../server/src/modules/seed/seed';
import type { SignedIn } from '../../server/test/harness';
import { type ConsoleWorld, field, startConsoleWorld } from './browser';

/**
 * Issue 12 #11: "the members table pages through 100k members". One organization seeded with
 * 100,000 members by `gatehouse seed`'s own code (in-process, against this world's database),
 * an admin signed in through the browser pages forward and back on the Members page, and every
 * page answers with other rows. The members API pages by keyset, so a page deep in the list is
 * as cheap as the first; this test proves the console uses it (an offset-paged or load-everything
 * table would not answer here).
 */
const MEMBERS = 100_000;

let world: ConsoleWorld;
let admin: SignedIn;
let seededMs = 0;

/** expect.poll with room for a real browser and server on a loaded machine */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000 });

beforeAll(async () => {
  world = await startConsoleWorld();
  const started = Date.now();
  const seeded = await seedOrganization(world.ctx.database.db, {
    members: MEMBERS,
    template: 'media',
    name: 'Hundred Thousand',
    now: world.ctx.clock.now(),
  });
  seededMs = Date.now() - started;
  // The seeded owner has no password: a real user who signs in is made an organization admin.
  admin = await world.ctx.signUp({ first_name: 'Ann', last_name: 'Admin' });
  const now = world.ctx.clock.now();
  await world.ctx.database.db
    .insertInto('memberships')
    .values({
      organization_id: seeded.orgId,
      user_id: admin.userId,
      status: 'active',
      invited_by: seeded.ownerId,
      login_methods: null,
      sort_name: 'ann admin',
      email: admin.email,
      joined_at: now,
      updated_at: now,
    })
    .execute();
  await world.ctx.database.db
    .insertInto('grants')
    .values({
      id: newId('mem', now),
      organization_id: seeded.orgId,
      user_id: admin.userId,
      role: 'admin',
      permissions: null,
      scope_id: seeded.orgId,
      created_by: seeded.ownerId,
      created_at: now,
    })
    .execute();
}, 240_000);
afterAll(async () => {
  await world?.close();
});

const table = (page: Page) => page.getByRole('table', { name: 'Members' });
/** the member names on the page, in order (each seeded name is unique: the last name ends in its number) */
const names = (page: Page) => table(page).locator('tbody tr td a').allInnerTexts();
const pageNote = async (page: Page) =>
  (await page.getByTestId('members-page-note').allTextContents()).join('');

describe('members page: 100,000 members', () => {
  it('pages forward and back, each page answering with other rows', {
    timeout: 120_000,
  }, async () => {
    // Reported, not asserted (tests assert behaviour, never timings).
    console.info(`seeded ${MEMBERS} members in ${(seededMs / 1000).toFixed(1)} s`);
    const { page } = await world.newPage({ width: 1440, height: 900 });
    await page.goto('/sign-in');
    await field(page, 'Email').fill(admin.email);
    await field(page, 'Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Manage Users' })
      .click();
    await page.waitForURL((u) => u.pathname === '/members');
    await poll(() => pageNote(page)).toBe('Page 1: 20 members');

    const seen: string[][] = [await names(page)];
    expect(seen[0]).toHaveLength(20);
    // The table keeps the previous page's rows while the next one loads (the note's number
    // changes first): wait for the rows themselves.
    const rowsNotIn = async (earlier: string[][]) => {
      const rows = await names(page);
      return rows.length === 20 && earlier.every((e) => !rows.some((r) => e.includes(r)));
    };
    for (let n = 2; n <= 5; n++) {
      await page.getByRole('button', { name: 'Next page' }).click();
      // No row of any earlier page comes again: the pages move on through the list.
      await poll(() => rowsNotIn(seen)).toBe(true);
      expect(await pageNote(page)).toBe(`Page ${n}: 20 members`);
      seen.push(await names(page));
    }
    // Back three pages: each is the same page as on the way forward.
    for (let n = 4; n >= 2; n--) {
      await page.getByRole('button', { name: 'Previous page' }).click();
      await poll(() => names(page)).toEqual(seen[n - 1]);
      expect(await pageNote(page)).toBe(`Page ${n}: 20 members`);
    }
    // And forward again from there: the page still answers, with the same rows as before.
    await page.getByRole('button', { name: 'Next page' }).click();
    await poll(() => names(page)).toEqual(seen[2]);
    expect(await pageNote(page)).toBe('Page 3: 20 members');

    // A search over the 100,000 narrows as typed.
    await page.getByRole('searchbox', { name: 'Search' }).fill('ada.lovelace0.');
    await poll(() => names(page)).toEqual([expect.stringMatching(/^Ada Lovelace0\b/)]);
  });
});
