import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotp } from '../../server/src/modules/mfa/totp';
import type { SignedIn } from '../../server/test/harness';
import {
  type ConsoleWorld,
  field,
  formsWithPasswordByGet,
  screenshot,
  seriousA11yViolations,
  startConsoleWorld,
} from './browser';

/**
 * Personal Settings and the second factors, by clicking: edits persist, an authenticator app
 * and text messages are set up and then used to sign in, the password changes under the rules,
 * another session is signed out and refused, and the organization switcher switches.
 */
let world: ConsoleWorld;
beforeAll(async () => {
  world = await startConsoleWorld();
});
afterAll(async () => {
  await world?.close();
});

async function signIn(page: Page, email: string, password: string) {
  await page.goto('/sign-in');
  await field(page, 'Email').fill(email);
  await field(page, 'Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut(page: Page) {
  await page.getByRole('button', { name: /Account menu/ }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.waitForURL(/\/sign-in/);
}

/** A code for a step after any the server accepted before (it refuses a replay of a step). */
async function freshTotp(secret: string) {
  world.ctx.clock.advance(30_000);
  return generateTotp({ secret, epoch: Math.floor(world.ctx.clock.now() / 1000) });
}

const lastSmsTo = async (phone: string) => {
  for (let i = 0; i < 150; i++) {
    const text = world.sms.received
      .map((r) => r.body as { to?: string; body?: string })
      .filter((b) => b.to === phone)
      .at(-1)?.body;
    const code = text?.match(/\b(\d{6})\b/)?.[1];
    if (code) return { code, count: world.sms.received.length };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no SMS reached ${phone}`);
};

describe('personal settings', () => {
  let user: SignedIn;
  /** the authenticator app's key, as the setup screen showed it */
  let secret = '';
  beforeAll(async () => {
    user = await world.ctx.signUp({ first_name: 'Grace', last_name: 'Hopper' });
    await world.ctx.request('POST', '/v1/organizations', {
      token: user.accessToken,
      body: { name: 'Harbour Video', template: 'media' },
    });
  });

  it('saves name, mobile and time zone, shows the email read-only and the role, and keeps them after a reload', async () => {
    const { page } = await world.newPage();
    await signIn(page, user.email, user.password);
    await page.waitForURL((u) => u.pathname === '/');
    await page.getByRole('link', { name: 'Personal settings' }).first().click();
    await expect
      .poll(() => page.getByRole('heading', { name: 'Personal settings' }).count())
      .toBe(1);
    expect(await field(page, 'Email').getAttribute('readonly')).not.toBeNull();
    await expect.poll(() => page.getByText('Owner', { exact: true }).count()).toBeGreaterThan(0);
    await field(page, 'First name').fill('Amazing Grace');
    await page.getByRole('combobox', { name: 'Country code' }).fill('Germany');
    await page.getByRole('option', { name: 'Germany (+49)' }).click();
    await field(page, 'Mobile number').fill('151 2345 6789');
    await page.getByRole('combobox', { name: 'Time zone' }).fill('Asia/Tok');
    await page.getByRole('option', { name: 'Asia/Tokyo' }).click();
    await page.getByRole('button', { name: 'Save' }).first().click();
    await expect.poll(() => page.getByText('Your profile was saved.').count()).toBe(1);
    await screenshot(page, 'personal-settings');
    expect(await seriousA11yViolations(page)).toEqual([]);
    expect(await formsWithPasswordByGet(page)).toBe(0);

    await page.reload();
    await expect.poll(() => field(page, 'First name').inputValue()).toBe('Amazing Grace');
    expect(await field(page, 'Mobile number').inputValue()).toBe('15123456789');
    expect(await page.getByRole('combobox', { name: 'Time zone' }).inputValue()).toBe('Asia/Tokyo');
    const me = await world.ctx.request('GET', '/v1/me', { token: user.accessToken });
    expect(me.body).toMatchObject({
      first_name: 'Amazing Grace',
      mobile: '+4915123456789',
      timezone: 'Asia/Tokyo',
    });
  });

  it('sets up an authenticator app, shows the recovery codes once, and signs in with it', async () => {
    const { page } = await world.newPage();
    await signIn(page, user.email, user.password);
    await page.waitForURL((u) => u.pathname === '/');
    await page.goto('/settings');
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    secret = (await page.getByTestId('totp-secret').textContent())!.trim();
    await expect.poll(() => page.getByRole('img', { name: /QR code/ }).count()).toBe(1);
    await page.getByRole('img', { name: /QR code/ }).scrollIntoViewIfNeeded();
    await screenshot(page, 'totp-setup');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.getByLabel('Code from the app, digit 1 of 6').fill(await freshTotp(secret));
    await expect.poll(() => page.getByText('Save your recovery codes now').count()).toBe(1);
    expect(
      await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').count(),
    ).toBe(10);
    await page.getByText('Save your recovery codes now').scrollIntoViewIfNeeded();
    await screenshot(page, 'recovery-codes');
    await page.getByRole('button', { name: 'I saved them' }).click();
    await expect.poll(() => page.getByText('Authenticator app', { exact: true }).count()).toBe(1);

    await signOut(page);
    await field(page, 'Email').fill(user.email);
    await field(page, 'Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('heading', { name: 'Two-step verification' }).count())
      .toBe(1);
    await screenshot(page, 'sign-in-second-factor');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.getByLabel('Verification code, digit 1 of 6').fill(await freshTotp(secret));
    await page.waitForURL((u) => u.pathname === '/');
  });

  it('changes the password under the rules, and signs out another session that is then refused', async () => {
    const { page } = await world.newPage();
    await signIn(page, user.email, user.password);
    await page.getByLabel('Verification code, digit 1 of 6').fill(await freshTotp(secret));
    await page.waitForURL((u) => u.pathname === '/');

    // A second browser signed in as the same user.
    const { page: second } = await world.newPage({ width: 375, height: 740 });
    await signIn(second, user.email, user.password);
    await second.getByLabel('Verification code, digit 1 of 6').fill(await freshTotp(secret));
    await second.waitForURL((u) => u.pathname === '/');

    await page.goto('/settings');
    const table = page.getByRole('table', { name: 'Sessions' });
    await expect.poll(() => table.getByRole('row').count()).toBeGreaterThanOrEqual(3);
    await table.scrollIntoViewIfNeeded();
    await screenshot(page, 'sessions');
    await table
      .getByRole('button', { name: /^Sign out/ })
      .first()
      .click();
    await expect.poll(async () => (await second.request.get('/v1/me')).status()).toBe(401);
    await second.reload();
    await second.waitForURL(/\/sign-in/);

    await field(page, 'Current password').fill(user.password);
    await field(page, 'New password').fill('short');
    await page.getByRole('button', { name: 'Save' }).nth(1).click();
    await expect
      .poll(() => page.getByText('The password does not meet every rule below').count())
      .toBe(1);
    await field(page, 'New password').fill('Brand-New-Passw0rd!');
    await field(page, 'Confirm new password').fill('Brand-New-Passw0rd!');
    // Eleven minutes later the sign-in is no longer recent: a user with a second factor
    // confirms it is them first (step-up), with the app.
    world.ctx.clock.advance(11 * 60_000);
    await page.getByRole('button', { name: 'Save' }).nth(1).click();
    await expect
      .poll(() => page.getByRole('dialog', { name: 'Confirm it is you' }).count())
      .toBe(1);
    await screenshot(page, 'step-up');
    await page.getByLabel('Verification code, digit 1 of 6').fill(await freshTotp(secret));
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await expect
      .poll(() => page.getByText('Your password was saved.', { exact: false }).count())
      .toBe(1);
    user.password = 'Brand-New-Passw0rd!';
  });
});

describe('text-message sign-in and the organization switcher', () => {
  it('sets up SMS, signs in with a texted code, and switches organization', async () => {
    const user = await world.ctx.signUp({ first_name: 'Sam', last_name: 'Texter' });
    for (const name of ['Alpha Images', 'Beta Meetings']) {
      await world.ctx.request('POST', '/v1/organizations', {
        token: user.accessToken,
        body: { name, template: 'team' },
      });
    }
    const phone = '+14155550123';
    const { page } = await world.newPage();
    await signIn(page, user.email, user.password);
    await page.waitForURL((u) => u.pathname === '/');
    await page.goto('/settings');
    await field(page, 'Mobile number for text messages').fill(phone);
    await page.getByRole('button', { name: 'Send a code' }).click();
    const first = await lastSmsTo(phone);
    await page.getByLabel('Code from the text message, digit 1 of 6').fill(first.code);
    await expect.poll(() => page.getByText(/Text message to/).count()).toBe(1);
    await page.getByRole('button', { name: 'I saved them' }).click();

    await signOut(page);
    await field(page, 'Email').fill(user.email);
    await field(page, 'Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Send code' }).click();
    await expect.poll(() => world.sms.received.length).toBeGreaterThan(first.count);
    const second = await lastSmsTo(phone);
    await page.getByLabel('Verification code, digit 1 of 6').fill(second.code);
    await page.waitForURL((u) => u.pathname === '/');

    const switcher = page.getByRole('combobox', { name: 'Current organization' });
    const before = await switcher.inputValue();
    const target = before === 'Alpha Images' ? 'Beta Meetings' : 'Alpha Images';
    await switcher.click();
    await page.getByRole('option', { name: target }).click();
    await expect.poll(() => switcher.inputValue()).toBe(target);
    await expect
      .poll(() => page.getByRole('row', { name: new RegExp(`${target}.*Current`) }).count())
      .toBe(1);
    await screenshot(page, 'organization-switcher');
  });
});

describe('my invitations', () => {
  it('lists an invitation to my address on the home page and accepts it there', async () => {
    const owner = await world.ctx.signUp({ first_name: 'Ona', last_name: 'Owner' });
    const org = await world.ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: 'Gamma Streams', template: 'team' },
    });
    const user = await world.ctx.signUp({ first_name: 'Ida', last_name: 'Invited' });
    const sent = await world.ctx.request('POST', `/v1/organizations/${org.body.id}/invitations`, {
      token: owner.accessToken,
      body: { emails: [user.email], grants: [{ role: 'admin', scope: org.body.id }] },
    });
    expect(sent.status).toBe(200);
    const { page } = await world.newPage();
    await signIn(page, user.email, user.password);
    await page.waitForURL((u) => u.pathname === '/');
    await expect.poll(() => page.getByText('Invitations for you').count()).toBe(1);
    await screenshot(page, 'home-invitation');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Accept the invitation to Gamma Streams' }).click();
    await expect.poll(() => page.getByRole('cell', { name: /Gamma Streams/ }).count()).toBe(1);
    await expect.poll(() => page.getByText('Invitations for you').count()).toBe(0);
  });
});
