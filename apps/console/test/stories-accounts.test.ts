import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedIn, STRONG_PASSWORD, uniqueEmail } from '../../server/test/harness';
import {
  type ConsoleWorld,
  field,
  mailTo,
  screenshot,
  seriousA11yViolations,
  startConsoleWorld,
} from './browser';

/**
 * Source 003 (accounts), by clicking: "Go to Configuration → Users and Accounts, click Add user,
 * enter one or more email addresses, select the accounts the user should access, assign a role
 * (Admin or Viewer), send the invitation"; "new users will receive an invitation email and must
 * accept it"; "users can only add users to accounts where they are Admin"; "select a user and
 * click Delete. You can bulk delete users by selecting more than one." An admin of two accounts
 * invites two addresses to both as Viewer in one go, one invitee accepts from the mail's link,
 * and the admin removes two users at once.
 */
/** The browser and server share two cores with other suites: wait longer than poll's 1 s default. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });
/** A story is several pages and mails long: more than the suite's 30 s on a loaded machine. */
const STORY_TIMEOUT = 90_000;

let world: ConsoleWorld;
let owner: SignedIn;
let admin: SignedIn;
let watcher: SignedIn;
let orgId: string;
const account: Record<string, string> = {};

const api = (method: string, path: string, body?: unknown) =>
  world.ctx.request(method, path, { token: owner.accessToken, body });

beforeAll(async () => {
  world = await startConsoleWorld();
  owner = await world.ctx.signUp({ first_name: 'Otto', last_name: 'Owner' });
  const org = await api('POST', '/v1/organizations', { name: 'Northwind', template: 'accounts' });
  expect(org.status, JSON.stringify(org.body)).toBe(201);
  orgId = org.body.id;
  for (const name of ['North', 'South', 'West']) {
    const created = await api('POST', `/v1/organizations/${orgId}/accounts`, {
      name,
      product: 'video',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    account[name] = created.body.id;
  }
  // The admin of North and South (not West): "users can only add users to accounts where they
  // are Admin".
  admin = await world.ctx.signUp({ first_name: 'Ada', last_name: 'Accounts' });
  const added = await api('POST', `/v1/organizations/${orgId}/members`, {
    email: admin.email,
    grants: [
      { role: 'admin', scope: account.North },
      { role: 'admin', scope: account.South },
    ],
  });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  // Someone already viewing North, to be removed together with the new viewer.
  watcher = await world.ctx.signUp({ first_name: 'Walt', last_name: 'Watcher' });
  const viewer = await api('POST', `/v1/organizations/${orgId}/members`, {
    email: watcher.email,
    grants: [{ role: 'viewer', scope: account.North }],
  });
  expect(viewer.status, JSON.stringify(viewer.body)).toBe(201);
});
afterAll(async () => {
  await world?.close();
});

async function signIn(page: Page, who: SignedIn) {
  await page.goto('/sign-in');
  await field(page, 'Email').fill(who.email);
  await field(page, 'Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === '/');
}

const table = (page: Page) => page.getByRole('table', { name: 'Members' });
const emailsListed = (page: Page) =>
  table(page).locator('tbody tr td:nth-child(3)').allInnerTexts();

async function memberEmails(): Promise<string[]> {
  const listed = await api('GET', `/v1/organizations/${orgId}/members?limit=100`);
  return listed.body.data.map((m: { email: string }) => m.email);
}

describe('accounts: an account admin invites two viewers, one accepts, the admin bulk-removes', () => {
  const first = uniqueEmail('vera');
  const second = uniqueEmail('victor');

  it('invites two addresses to two accounts as Viewer in one go', {
    timeout: STORY_TIMEOUT,
  }, async () => {
    const { page } = await world.newPage({ width: 1440, height: 900 });
    await signIn(page, admin);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Users and Accounts' })
      .click();
    await poll(() => page.getByRole('heading', { name: 'Users and Accounts' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Add user' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await poll(() => field(page, 'Email addresses').count()).toBe(1);
    // Two addresses pasted as a list.
    await field(page, 'Email addresses').fill(`${first}\n${second}`);
    // "By default, new users are assigned the Admin role"; the admin picks Viewer.
    const role = dialog.getByRole('combobox', { name: 'Role' });
    expect(await role.inputValue()).toBe('Admin');
    await role.click();
    await page.getByRole('option', { name: 'Viewer', exact: true }).click();
    // Only the accounts where they are Admin are offered, not the organization or West.
    expect(
      await dialog
        .getByRole('checkbox', { name: /Northwind \(the whole organization\)/ })
        .isDisabled(),
    ).toBe(true);
    expect(await dialog.getByRole('checkbox', { name: /West/ }).count()).toBe(0);
    await dialog.getByRole('checkbox', { name: 'North video' }).check();
    await dialog.getByRole('checkbox', { name: 'South video' }).check();
    expect(await seriousA11yViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    const results = page.getByRole('table', { name: 'Result per address' });
    await poll(() => results.getByText('Invitation sent').count()).toBe(2);
    await screenshot(page, 'accounts-invite-result');
    await dialog.getByRole('button', { name: 'Done' }).click();

    const pending = await api('GET', `/v1/organizations/${orgId}/invitations?status=pending`);
    const sent = pending.body.data.filter((i: { email: string }) =>
      [first, second].includes(i.email),
    );
    expect(sent).toHaveLength(2);
    for (const invitation of sent)
      expect(
        invitation.grants
          .map((g: { role: string; scope: string }) => `${g.role}@${g.scope}`)
          .sort(),
      ).toEqual([`viewer@${account.North}`, `viewer@${account.South}`].sort());
  });

  it('one invitee accepts from the mail’s link and is a viewer of both accounts', {
    timeout: STORY_TIMEOUT,
  }, async () => {
    const mail = await mailTo(world.smtp, first, /invit/i);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/invitations\/\S+)/.exec(mail.text)?.[1];
    expect(link, mail.text).toBeTruthy();
    const { page } = await world.newPage();
    await page.goto(link!);
    await poll(() => page.getByRole('heading', { name: 'Join Northwind' }).count()).toBe(1);
    await field(page, 'First name').fill('Vera');
    await field(page, 'Last name').fill('Viewer');
    await field(page, 'New password').fill(STRONG_PASSWORD);
    await field(page, 'Confirm new password').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Create account and accept' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await poll(() => page.getByText('You joined Northwind.').count()).toBe(1);

    const found = await api('GET', `/v1/organizations/${orgId}/members?search=${first}`);
    const id = found.body.data?.[0]?.user_id as string;
    expect(id, JSON.stringify(found.body)).toBeTruthy();
    const detail = await api('GET', `/v1/organizations/${orgId}/members/${id}`);
    expect(
      detail.body.grants.map((g: { role: string; scope: string }) => `${g.role}@${g.scope}`).sort(),
    ).toEqual([`viewer@${account.North}`, `viewer@${account.South}`].sort());
  });

  it('the admin views users by account and bulk-removes two of them', {
    timeout: STORY_TIMEOUT,
  }, async () => {
    const { page } = await world.newPage({ width: 1440, height: 900 });
    await signIn(page, admin);
    await page.goto('/members');
    // View users by account: South has the new viewer (and the admin), not Walt.
    await page.getByRole('combobox', { name: 'Account', exact: true }).click();
    await page.getByRole('option', { name: 'South', exact: true }).click();
    await poll(() => emailsListed(page)).toEqual(expect.arrayContaining([first]));
    expect(await emailsListed(page)).not.toContain(watcher.email);
    await page.getByRole('button', { name: 'Clear search and filters' }).click();
    await poll(() => emailsListed(page)).toEqual(expect.arrayContaining([first, watcher.email]));

    await page.getByRole('checkbox', { name: 'Select Vera Viewer' }).check();
    await page.getByRole('checkbox', { name: 'Select Walt Watcher' }).check();
    await poll(() => page.getByText('2 members selected').count()).toBe(1);
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    await page
      .getByRole('dialog', { name: 'Remove 2 members?' })
      .getByRole('button', { name: 'Remove' })
      .click();
    const results = page.getByRole('list', { name: 'Result for each member' });
    await poll(async () => (await results.getByRole('listitem').allInnerTexts()).sort()).toEqual(
      [`Vera Viewer (${first}): Removed`, `Walt Watcher (${watcher.email}): Removed`].sort(),
    );
    // The list updates without a reload.
    await poll(async () => {
      const listed = await emailsListed(page);
      return listed.includes(first) || listed.includes(watcher.email);
    }).toBe(false);
    expect(await emailsListed(page)).toContain(admin.email);
    expect(await seriousA11yViolations(page)).toEqual([]);
    const remaining = await memberEmails();
    expect(remaining).not.toContain(first);
    expect(remaining).not.toContain(watcher.email);
    expect(remaining).toContain(admin.email);
  });
});
