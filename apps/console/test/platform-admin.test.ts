import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolTotp } from '../../server/src/modules/mfa/mfa.test-support';
import { type SignedIn, STRONG_PASSWORD, uniqueEmail } from '../../server/test/harness';
import { platformAdmin } from '../../server/test/seed';
import {
  type ConsoleWorld,
  field,
  mailTo,
  screenshot,
  seriousA11yViolations,
  startConsoleWorld,
} from './browser';

/**
 * Seed 001 (the reseller's user management), its platform admin's stories by clicking: create a
 * customer with its owner (who sets a password from the mail, signs in and creates an account
 * and a room on the Accounts page), suspend and reactivate it; search users, suspend and reactivate one, reset a user's second factors (they
 * then sign in with the password alone and got a mail), list and sign out a user's session
 * (refused from then on). Anyone else never sees the admin menu and is refused in words.
 * @see issue 12, items 9 and 11
 */
let world: ConsoleWorld;
let admin: SignedIn;
beforeAll(async () => {
  world = await startConsoleWorld();
  admin = await platformAdmin(world.ctx);
});
afterAll(async () => {
  await world?.close();
});

async function signIn(page: Page, email: string, password: string) {
  await page.goto('/sign-in');
  await field(page, 'Email').fill(email);
  await field(page, 'Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname === '/');
}

const menuLink = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
const rowOf = (page: Page, table: string, text: string) =>
  page.getByRole('table', { name: table }).getByRole('row').filter({ hasText: text });

describe('a platform admin and a new customer', () => {
  it('creates a customer with its owner by clicking; the owner sets a password, builds an account and a room, and associates a user with checked permissions', async () => {
    const { page } = await world.newPage({ width: 1440 });
    await signIn(page, admin.email, admin.password);
    await menuLink(page, 'Customers (platform)').click();
    await page.waitForURL(/\/admin\/customers$/);

    const tag = Math.random().toString(36).slice(2, 8);
    const name = `Streamline ${tag}`;
    const ownerEmail = uniqueEmail('reseller-owner');
    await page.getByRole('button', { name: 'Create customer' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create customer' });
    await field(page, 'Customer name').fill(name);
    await field(page, "Owner's first name").fill('Cora');
    await field(page, "Owner's last name").fill('Customer');
    await field(page, "Owner's email").fill(ownerEmail);
    await dialog.getByRole('button', { name: 'Create customer' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: name }).count()).toBe(1);
    await expect.poll(() => rowOf(page, 'Customers', name).count()).toBe(1);
    expect(await rowOf(page, 'Customers', name).textContent()).toContain('reseller');

    // Search as you type: only the match stays.
    await field(page, 'Search customers').fill(tag);
    await expect
      .poll(() => page.getByRole('table', { name: 'Customers' }).getByRole('row').count())
      .toBe(2);
    await screenshot(page, 'admin-customers');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await field(page, 'Search customers').fill(`nothing-${tag}`);
    await expect
      .poll(() => page.getByText(`No customer matches “nothing-${tag}”.`).count())
      .toBe(1);
    await field(page, 'Search customers').fill(tag);

    // The owner's mail: set a password from the link, then sign in.
    const mail = await mailTo(world.smtp, ownerEmail, /set-password/);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/set-password\?token=\S+)/.exec(mail.text)?.[1];
    expect(link, mail.text).toBeTruthy();
    const owner = await world.newPage({ width: 1440 });
    await owner.page.goto(link!);
    await field(owner.page, 'New password').fill(STRONG_PASSWORD);
    await field(owner.page, 'Confirm new password').fill(STRONG_PASSWORD);
    await owner.page.getByRole('button', { name: 'Set password' }).click();
    await owner.page.waitForURL(/\/sign-in/);
    await signIn(owner.page, ownerEmail, STRONG_PASSWORD);
    await expect
      .poll(() => owner.page.getByRole('heading', { name: 'Welcome, Cora' }).count())
      .toBe(1);
    // The owner never sees the platform admin's menu.
    expect(await menuLink(owner.page, 'Customers (platform)').count()).toBe(0);

    // The owner builds the customer's tree by clicking: an account (Meeting) and a room in it.
    await menuLink(owner.page, 'Accounts').click();
    await owner.page.waitForURL(/\/accounts$/);
    await field(owner.page, 'Name of the account').fill('Web meetings');
    const product = owner.page.getByRole('combobox', { name: 'Product', exact: true });
    await product.click();
    await owner.page.getByRole('option', { name: 'Meeting' }).first().click();
    await owner.page.getByRole('button', { name: 'Create account' }).click();
    const addRoom = owner.page.getByRole('form', { name: 'Add a resource to Web meetings' });
    await expect.poll(() => addRoom.count()).toBe(1);
    await addRoom.getByRole('textbox', { name: 'New resource in Web meetings' }).fill('Board room');
    await addRoom.getByRole('button', { name: 'Add resource' }).click();
    const rooms = owner.page.getByRole('list', { name: 'Resources of Web meetings' });
    await expect.poll(() => rooms.getByText('Board room').count()).toBe(1);

    const ownerApi = await world.ctx.login(ownerEmail, STRONG_PASSWORD);
    const listed = await world.ctx.request('GET', `/v1/admin/customers?search=${tag}`, {
      token: admin.accessToken,
    });
    const orgId: string = listed.body.data[0].id;
    const accounts = await world.ctx.request('GET', `/v1/organizations/${orgId}/accounts`, {
      token: ownerApi.accessToken,
    });
    expect(accounts.body.data).toEqual([
      expect.objectContaining({ name: 'Web meetings', product: 'meeting' }),
    ]);
    const resources = await world.ctx.request(
      'GET',
      `/v1/organizations/${orgId}/accounts/${accounts.body.data[0].id}/resources`,
      { token: ownerApi.accessToken },
    );
    expect(resources.body.data).toEqual([
      expect.objectContaining({ name: 'Board room', type: 'room' }),
    ]);

    // Seed 001: the owner associates a user with the room, checking the desired permissions.
    const associate = uniqueEmail('associate');
    await menuLink(owner.page, 'User Management').click();
    await owner.page.getByRole('button', { name: 'Associate user' }).first().click();
    const association = owner.page.getByRole('dialog', { name: 'Associate user' });
    await association.getByRole('textbox', { name: 'Email addresses' }).fill(associate);
    await association.getByRole('checkbox', { name: /Board room/ }).check();
    await association.getByRole('checkbox', { name: 'meeting.rooms:read' }).check();
    await association.getByRole('checkbox', { name: 'meeting.rooms:update' }).check();
    await association.getByRole('button', { name: 'Associate user' }).click();
    const room = resources.body.data[0].id as string;
    await expect
      .poll(
        async () => {
          const found = await world.ctx.request(
            'GET',
            `/v1/organizations/${orgId}/members?search=${encodeURIComponent(associate)}`,
            { token: ownerApi.accessToken },
          );
          const userId = found.body.data?.[0]?.user_id;
          if (!userId) return null;
          const grants = await world.ctx.request(
            'GET',
            `/v1/organizations/${orgId}/members/${userId}/grants`,
            { token: ownerApi.accessToken },
          );
          return grants.body.data?.find((g: { scope: string }) => g.scope === room) ?? null;
        },
        { timeout: 15_000 },
      )
      .toMatchObject({ permissions: ['meeting.rooms:read', 'meeting.rooms:update'], scope: room });
    expect(await seriousA11yViolations(owner.page)).toEqual([]);
    await owner.page.keyboard.press('Escape');

    // Suspend: every member of the customer is refused; reactivate: they are back.
    await page.getByRole('button', { name: `Suspend ${name}` }).click();
    await expect.poll(() => rowOf(page, 'Customers', name).textContent()).toContain('Suspended');
    const refused = await world.ctx.request('GET', `/v1/organizations/${orgId}/accounts`, {
      token: ownerApi.accessToken,
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    await page.getByRole('button', { name: `Reactivate ${name}` }).click();
    await expect.poll(() => rowOf(page, 'Customers', name).textContent()).toContain('Active');
    const back = await world.ctx.request('GET', `/v1/organizations/${orgId}/accounts`, {
      token: ownerApi.accessToken,
    });
    expect(back.status).toBe(200);
  });
});

describe('a platform admin’s support desk', () => {
  it('searches users, suspends and reactivates one, resets second factors, signs out a session', async () => {
    const sam = await world.ctx.signUp({ first_name: 'Sam', last_name: 'Suspendable' });
    // Sue: two sessions, then an authenticator app (and recovery codes).
    const sue = await world.ctx.signUp({ first_name: 'Sue', last_name: 'Support' });
    const sueOther = await world.ctx.login(sue.email, sue.password);
    await enrolTotp(world.ctx, sue);

    const { page } = await world.newPage({ width: 1440 });
    await signIn(page, admin.email, admin.password);
    await menuLink(page, 'Users (platform)').click();
    await page.waitForURL(/\/admin\/users$/);

    // Search, suspend, reactivate.
    await field(page, 'Search users').fill(sam.email);
    await expect
      .poll(() => page.getByRole('table', { name: 'Users' }).getByRole('row').count())
      .toBe(2);
    await page.getByRole('button', { name: `Suspend ${sam.email}` }).click();
    await expect.poll(() => rowOf(page, 'Users', sam.email).textContent()).toContain('Suspended');
    const whileSuspended = await world.ctx.request('POST', '/v1/auth/login', {
      body: { email: sam.email, password: sam.password },
    });
    expect(whileSuspended.status).toBeGreaterThanOrEqual(400);
    await page.getByRole('button', { name: `Reactivate ${sam.email}` }).click();
    await expect.poll(() => rowOf(page, 'Users', sam.email).textContent()).toContain('Active');
    const afterReactivation = await world.ctx.request('POST', '/v1/auth/login', {
      body: { email: sam.email, password: sam.password },
    });
    expect(afterReactivation.status).toBe(200);

    await field(page, 'Search users').fill('Support');
    await expect.poll(() => rowOf(page, 'Users', sue.email).count()).toBe(1);
    await screenshot(page, 'admin-users');
    expect(await seriousA11yViolations(page)).toEqual([]);

    // Reset Sue's second factors: she is mailed and signs in with her password alone.
    const before = await world.ctx.request('POST', '/v1/auth/login', {
      body: { email: sue.email, password: sue.password },
    });
    expect(before.body.code).toBe('mfa_required');
    await page.getByRole('button', { name: `Reset second factors of ${sue.email}` }).click();
    const resetDialog = page.getByRole('dialog', { name: 'Reset second factors' });
    expect(await seriousA11yViolations(page)).toEqual([]);
    await resetDialog.getByRole('button', { name: 'Reset second factors' }).click();
    await expect
      .poll(() =>
        page
          .getByRole('status')
          .filter({ hasText: /Removed 1 second factor and 10 recovery codes/ })
          .count(),
      )
      .toBe(1);
    const notified = await mailTo(
      world.smtp,
      sue.email,
      /administrator removed all second factors/,
    );
    expect(notified.subject).toBe('A security setting of your Gatehouse account changed');
    const suePage = await world.newPage({ width: 375, height: 800 });
    await signIn(suePage.page, sue.email, sue.password);
    await expect
      .poll(() => suePage.page.getByRole('heading', { name: 'Welcome, Sue' }).count())
      .toBe(1);
    // Her sessions kept working.
    expect((await world.ctx.request('GET', '/v1/me', { token: sue.accessToken })).status).toBe(200);

    // Her sessions: sign one out; it is refused from then on, the others are not.
    await page.getByRole('button', { name: `Sessions of ${sue.email}` }).click();
    const sessions = page.getByRole('dialog', { name: `Sessions of ${sue.email}` });
    const signOut = sessions.locator(`[data-session-id="${sueOther.sessionId}"]`);
    await expect.poll(() => signOut.count()).toBe(1);
    expect(await sessions.getByRole('row').count()).toBeGreaterThanOrEqual(4); // head + 3
    expect(await seriousA11yViolations(page)).toEqual([]);
    await signOut.click();
    await expect.poll(() => signOut.count()).toBe(0);
    await expect.poll(() => sessions.getByText('The session was signed out').count()).toBe(1);
    const gone = await world.ctx.request('GET', '/v1/me', { token: sueOther.accessToken });
    expect(gone.status).toBe(401);
    expect(gone.body.code).toBe('session_revoked');
    expect((await world.ctx.request('GET', '/v1/me', { token: sue.accessToken })).status).toBe(200);
  });

  it('works on a phone-sized screen too', async () => {
    const { page } = await world.newPage({ width: 375, height: 800 });
    await signIn(page, admin.email, admin.password);
    await page.goto('/admin/users');
    await expect.poll(() => page.getByRole('table', { name: 'Users' }).count()).toBe(1);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.goto('/admin/customers');
    await expect.poll(() => page.getByRole('table', { name: 'Customers' }).count()).toBe(1);
    expect(await seriousA11yViolations(page)).toEqual([]);
  });
});

describe('anyone else', () => {
  it('never sees the admin menu, and /admin/customers and /admin/users refuse in words', async () => {
    const user = await world.ctx.signUp({ first_name: 'Nora', last_name: 'Normal' });
    const { page } = await world.newPage({ width: 1440 });
    await signIn(page, user.email, user.password);
    await expect.poll(() => menuLink(page, 'Personal settings').count()).toBe(1);
    expect(await menuLink(page, 'Customers (platform)').count()).toBe(0);
    expect(await menuLink(page, 'Users (platform)').count()).toBe(0);
    for (const path of ['/admin/customers', '/admin/users']) {
      await page.goto(path);
      await expect
        .poll(() =>
          page.getByRole('alert').filter({ hasText: 'Platform administrators only' }).count(),
        )
        .toBe(1);
      expect(await page.getByRole('table').count()).toBe(0);
      expect(await seriousA11yViolations(page)).toEqual([]);
    }
  });
});
