import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedIn } from '../../server/test/harness';
import { addDirect, addMember, createAccount, createOrg } from '../../server/test/seed';
import {
  type ConsoleWorld,
  field,
  screenshot,
  seriousA11yViolations,
  startConsoleWorld,
} from './browser';

/**
 * The members page (issue 12 #1), by clicking: an owner searches, filters by role and by
 * account, pages forward and back, bulk-suspends and reactivates three members and removes one
 * (each row's result shown in words); an account admin sees only their account's users; a
 * member without members:read has no menu entry and is refused in words.
 */
let world: ConsoleWorld;
beforeAll(async () => {
  world = await startConsoleWorld();
});
afterAll(async () => {
  await world?.close();
});

/** expect.poll with room for a real browser and server (vitest's default is one second) */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });

async function signIn(page: Page, who: SignedIn) {
  await page.goto('/sign-in');
  await field(page, 'Email')
    .waitFor({ timeout: 30_000 })
    .catch(async (e) => {
      throw new Error(`${e}\nat ${page.url()}: ${(await page.content()).slice(0, 1500)}`);
    });
  await field(page, 'Email').fill(who.email);
  await field(page, 'Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === '/');
}

const table = (page: Page) => page.getByRole('table', { name: 'Members' });
/** the member names on the page, in order */
const names = (page: Page) => table(page).locator('tbody tr td:nth-child(2)').allInnerTexts();
const pageNote = async (page: Page) =>
  (await page.getByTestId('members-page-note').allTextContents()).join('');

async function pick(page: Page, label: string, option: string) {
  await page.getByRole('combobox', { name: label, exact: true }).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

describe('members page: an owner with 32 members (media)', { timeout: 60_000 }, () => {
  let owner: SignedIn;
  let nobody: SignedIn;
  let orgId: string;
  const video: Record<string, string> = {};

  beforeAll(async () => {
    owner = await world.ctx.signUp({ first_name: 'Olga', last_name: 'Owner' });
    orgId = (await createOrg(world.ctx, owner, 'media', 'Harbour Video')).id;
    video.one = (await createAccount(world.ctx, owner, orgId, 'video', 'Video One')).id;
    video.two = (await createAccount(world.ctx, owner, orgId, 'video', 'Video Two')).id;
    // 30 people added directly: 10 video developers on Video One, 5 organization admins.
    for (let i = 1; i <= 30; i++) {
      const n = String(i).padStart(2, '0');
      await addDirect(world.ctx, owner, orgId, {
        email: `person-${n}@crowd.test`,
        first_name: 'Person',
        last_name: n,
        grants:
          i <= 10
            ? [{ role: 'video-developer', scope: video.one }]
            : i <= 15
              ? [{ role: 'admin', scope: orgId }]
              : [],
      });
    }
    await addDirect(world.ctx, owner, orgId, {
      email: 'countess@analytical.test',
      first_name: 'Ada',
      last_name: 'Lovelace',
      grants: [{ role: 'video-developer', scope: video.two }],
    });
    // A member who holds nothing: no members:read anywhere.
    nobody = await world.ctx.signUp({ first_name: 'Nora', last_name: 'Nobody' });
    await addDirect(world.ctx, owner, orgId, { email: nobody.email });
  });

  it('searches as you type, filters by role and by account, sorts, and pages forward and back', async () => {
    const { page } = await world.newPage({ width: 1440, height: 900 });
    await signIn(page, owner);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Manage Users' })
      .click();
    await page.waitForURL((u) => u.pathname === '/members');
    // The pointer leaves the menu: axe judges the page at rest, not a hovered link.
    await page.mouse.move(900, 850);
    await poll(() => page.getByRole('heading', { name: 'Manage Users' }).count()).toBe(1);
    // 33 members (owner, 30 people, Ada, the one who holds nothing), 20 a page, by name.
    await poll(() => pageNote(page)).toBe('Page 1: 20 members');
    const first = await names(page);
    expect(first[0]).toBe('Ada Lovelace');
    await screenshot(page, 'members');
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Next page' }).click();
    await poll(() => pageNote(page)).toBe('Page 2: 13 members');
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    const second = await names(page);
    expect(second.some((n) => first.includes(n))).toBe(false);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await poll(() => pageNote(page)).toBe('Page 1: 20 members');
    expect(await names(page)).toEqual(first);

    // Sort by email, descending on a second click.
    const emails = () => table(page).locator('tbody tr td:nth-child(3)').allInnerTexts();
    const sorted = (list: string[], order: 1 | -1) =>
      list.every((e, i) => i === 0 || order * (list[i - 1]! < e ? 1 : -1) > 0);
    await page.getByRole('button', { name: /^Email/ }).click();
    await poll(async () => sorted(await emails(), 1)).toBe(true);
    await page.getByRole('button', { name: /^Email/ }).click();
    await poll(async () => sorted(await emails(), -1)).toBe(true);
    expect(
      await table(page).getByRole('columnheader', { name: /Email/ }).getAttribute('aria-sort'),
    ).toBe('descending');

    // As you type: the list narrows without pressing anything.
    await page.getByRole('searchbox', { name: 'Search' }).fill('lovel');
    await poll(() => names(page)).toEqual(['Ada Lovelace']);
    await page.getByRole('searchbox', { name: 'Search' }).fill('');
    await poll(() => pageNote(page)).toBe('Page 1: 20 members');

    await pick(page, 'Role', 'Admin');
    await poll(() => pageNote(page)).toBe('Page 1: 5 members');
    expect(await names(page)).toEqual(
      expect.arrayContaining(['Person 11', 'Person 12', 'Person 13', 'Person 14', 'Person 15']),
    );
    await page.getByRole('button', { name: 'Clear search and filters' }).click();

    // View users by account.
    await pick(page, 'Account', 'Video Two');
    await poll(() => names(page)).toEqual(expect.arrayContaining(['Ada Lovelace']));
    expect(await names(page)).not.toContain('Person 01');
    await pick(page, 'Account', 'Video One');
    await poll(() => (async () => (await names(page)).includes('Person 01'))()).toBe(true);
    expect(await names(page)).not.toContain('Ada Lovelace');
    expect(await table(page).getByText('Video developer on Video One').count()).toBeGreaterThan(0);

    // Nobody: the empty state in words, offering the invite.
    await page.getByRole('searchbox', { name: 'Search' }).fill('zzz-nobody-by-this-name');
    await poll(() => page.getByText('Nobody matches this search and these filters.').count()).toBe(
      1,
    );
    const invite = page.getByRole('link', { name: 'Invite users' });
    expect(await invite.getAttribute('href')).toBe('/members?invite=1');
    await screenshot(page, 'members-empty');
    expect(await seriousA11yViolations(page)).toEqual([]);
    // The invite opens where the link says (the invite dialog reads `?invite=1`).
    await invite.click();
    await page.waitForURL((u) => u.search === '?invite=1');
    await poll(() => page.getByRole('dialog').count()).toBe(1);
  });

  it('selects three, suspends and reactivates them with a result per row, and removes one', async () => {
    const { page } = await world.newPage({ width: 1440, height: 900 });
    await signIn(page, owner);
    await page.goto('/members');
    await page.getByRole('searchbox', { name: 'Search' }).fill('person-2');
    await poll(() => pageNote(page)).toBe('Page 1: 10 members');
    for (const n of ['21', '22', '23'])
      await page.getByRole('checkbox', { name: `Select Person ${n}` }).check();
    await poll(() => page.getByText('3 members selected').count()).toBe(1);

    await page.getByRole('button', { name: 'Suspend', exact: true }).click();
    const results = page.getByRole('list', { name: 'Result for each member' });
    await poll(() => results.getByRole('listitem').allInnerTexts()).toEqual(
      expect.arrayContaining([
        'Person 21 (person-21@crowd.test): Suspended',
        'Person 22 (person-22@crowd.test): Suspended',
        'Person 23 (person-23@crowd.test): Suspended',
      ]),
    );
    await poll(() => table(page).getByText('Suspended', { exact: true }).count()).toBe(3);
    await screenshot(page, 'members-bulk-result');
    expect(await seriousA11yViolations(page)).toEqual([]);
    // Suspended means refused by the server too.
    const listed = await world.ctx.request(
      'GET',
      `/v1/organizations/${orgId}/members?status=suspended`,
      { token: owner.accessToken },
    );
    expect(listed.body.data.map((m: { email: string }) => m.email).sort()).toEqual([
      'person-21@crowd.test',
      'person-22@crowd.test',
      'person-23@crowd.test',
    ]);

    // Reactivate the same three (still selected), and one already active says so.
    await page.getByRole('checkbox', { name: 'Select Person 24' }).check();
    await page.getByRole('button', { name: 'Reactivate' }).click();
    await poll(() => results.getByRole('listitem').allInnerTexts()).toEqual(
      expect.arrayContaining([
        'Person 21 (person-21@crowd.test): Reactivated',
        'Person 22 (person-22@crowd.test): Reactivated',
        'Person 23 (person-23@crowd.test): Reactivated',
        'Person 24 (person-24@crowd.test): Already active',
      ]),
    );
    await poll(() => table(page).getByText('Suspended', { exact: true }).count()).toBe(0);

    // Remove one, after a confirmation.
    await page.getByRole('button', { name: 'Clear selection' }).click();
    await page.getByRole('checkbox', { name: 'Select Person 25' }).check();
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    await page
      .getByRole('dialog', { name: 'Remove 1 member?' })
      .getByRole('button', { name: 'Remove' })
      .click();
    await poll(() => results.getByRole('listitem').allInnerTexts()).toEqual([
      'Person 25 (person-25@crowd.test): Removed',
    ]);
    await poll(() => pageNote(page)).toBe('Page 1: 9 members');
    expect(await names(page)).not.toContain('Person 25');
  });

  it('a member without members:read sees no menu entry, and /members is refused in words', async () => {
    const { page } = await world.newPage({ width: 375, height: 800 });
    await signIn(page, nobody);
    await page.getByRole('button', { name: 'Menu', exact: true }).click();
    await poll(() =>
      page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Personal settings' })
        .count(),
    ).toBe(1);
    expect(
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Manage Users' })
        .count(),
    ).toBe(0);
    await page.goto('/members');
    const refusal = page.getByRole('alert').filter({ hasText: 'You cannot open Manage Users' });
    await poll(async () => (await refusal.allTextContents()).join('')).toContain(
      'You do not have permission to do this.',
    );
    expect(await table(page).count()).toBe(0);
    expect(await seriousA11yViolations(page)).toEqual([]);
  });
});

describe('members page: an account admin (accounts template, source 003)', {
  timeout: 60_000,
}, () => {
  it('sees only the users of their own account', async () => {
    const owner = await world.ctx.signUp({ first_name: 'Otto', last_name: 'Owner' });
    const orgId = (await createOrg(world.ctx, owner, 'accounts', 'Northwind')).id;
    const north = (await createAccount(world.ctx, owner, orgId, 'video', 'North')).id;
    const south = (await createAccount(world.ctx, owner, orgId, 'video', 'South')).id;
    const admin = await addMember(world.ctx, owner, orgId, [{ role: 'admin', scope: north }]);
    const northViewer = await addMember(world.ctx, owner, orgId, [
      { role: 'viewer', scope: north },
    ]);
    const southViewer = await addMember(world.ctx, owner, orgId, [
      { role: 'viewer', scope: south },
    ]);
    const southAdmin = await addMember(world.ctx, owner, orgId, [{ role: 'admin', scope: south }]);

    const { page } = await world.newPage({ width: 1440, height: 900 });
    await signIn(page, admin);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Users and Accounts' })
      .click();
    await poll(() => page.getByRole('heading', { name: 'Users and Accounts' }).count()).toBe(1);
    await poll(() => table(page).locator('tbody tr td:nth-child(3)').allInnerTexts()).toEqual(
      expect.arrayContaining([admin.email, northViewer.email]),
    );
    const emails = await table(page).locator('tbody tr td:nth-child(3)').allInnerTexts();
    expect(emails).not.toContain(southViewer.email);
    expect(emails).not.toContain(southAdmin.email);
    // Their account is the only one offered by "view users by account".
    await page.getByRole('combobox', { name: 'Account', exact: true }).click();
    expect(await page.getByRole('option').allInnerTexts()).toEqual(['North']);
    await page.keyboard.press('Escape');
    expect(await seriousA11yViolations(page)).toEqual([]);
  });
});
