import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, uniqueEmail } from '../../server/test/harness';
import {
  type ConsoleWorld,
  field,
  formsWithPasswordByGet,
  mailTo,
  screenshot,
  seriousA11yViolations,
  startConsoleWorld,
} from './browser';

/**
 * The pages that links in our output and our mails open: the first-admin setup link that
 * `npm start` prints, the invitation link, and the set-password link of a user added directly.
 */
let world: ConsoleWorld;
beforeAll(async () => {
  world = await startConsoleWorld();
});
afterAll(async () => {
  await world?.close();
});

describe('first platform admin setup (issue 10 #6)', () => {
  it('creates the admin from the printed link with the page CSP on, never sending the password in a URL', async () => {
    const token = await world.ctx.gatehouse.services.setup.prepareSetupToken();
    expect(token).toBeTruthy();
    const { page } = await world.newPage();
    const urls: string[] = [];
    const cspErrors: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`/setup?token=${token}`);
    await field(page, 'First name').fill('Pat');
    await field(page, 'Last name').fill('Admin');
    const email = uniqueEmail('admin');
    await field(page, 'Email').fill(email);
    await field(page, 'Password').fill(STRONG_PASSWORD);
    await field(page, 'Confirm password').fill(STRONG_PASSWORD);
    expect(await formsWithPasswordByGet(page)).toBe(0);
    await screenshot(page, 'setup');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await expect.poll(() => page.getByRole('heading', { name: 'Welcome, Pat' }).count()).toBe(1);
    expect(
      urls.filter(
        (u) => u.includes(encodeURIComponent(STRONG_PASSWORD)) || u.includes(STRONG_PASSWORD),
      ),
    ).toEqual([]);
    expect(urls.filter((u) => /[?&]password=/.test(u))).toEqual([]);
    expect(cspErrors).toEqual([]);
    const me = await world.ctx.request('POST', '/v1/auth/login', {
      body: { email, password: STRONG_PASSWORD },
    });
    expect(me.status).toBe(200);
  });

  it('says so when the platform already has an administrator', async () => {
    const { page } = await world.newPage();
    await page.goto('/setup?token=anything');
    await field(page, 'First name').fill('Late');
    await field(page, 'Last name').fill('Comer');
    await field(page, 'Email').fill(uniqueEmail('late'));
    await field(page, 'Password').fill(STRONG_PASSWORD);
    await field(page, 'Confirm password').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await expect
      .poll(() => page.getByText('The platform already has an administrator.').count())
      .toBe(1);
  });
});

describe('an invitation accepted by a new user from the mail’s link', () => {
  it('shows who invites to what, signs the invitee up and lands them in the organization', async () => {
    const owner = await world.ctx.signUp({ first_name: 'Olga', last_name: 'Owner' });
    const org = await world.ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: 'Northwind Media', template: 'team' },
    });
    expect(org.status).toBe(201);
    const invitee = uniqueEmail('invitee');
    const sent = await world.ctx.request('POST', `/v1/organizations/${org.body.id}/invitations`, {
      token: owner.accessToken,
      body: { emails: [invitee], grants: [{ role: 'admin', scope: org.body.id }] },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBeLessThan(300);
    const mail = await mailTo(world.smtp, invitee, /invit/i);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/invitations\/\S+)/.exec(mail.text)?.[1];
    expect(link, mail.text).toBeTruthy();

    const { page } = await world.newPage();
    await page.goto(link!);
    await expect
      .poll(() => page.getByRole('heading', { name: 'Join Northwind Media' }).count())
      .toBe(1);
    await expect.poll(() => page.getByText('Olga Owner').count()).toBeGreaterThan(0);
    await screenshot(page, 'invitation');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await field(page, 'First name').fill('Ivan');
    await field(page, 'Last name').fill('Invitee');
    await field(page, 'New password').fill(STRONG_PASSWORD);
    await field(page, 'Confirm new password').fill(STRONG_PASSWORD);
    expect(await formsWithPasswordByGet(page)).toBe(0);
    await page.getByRole('button', { name: 'Create account and accept' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await expect.poll(() => page.getByText('You joined Northwind Media.').count()).toBe(1);
    await expect.poll(() => page.getByRole('cell', { name: /Northwind Media/ }).count()).toBe(1);

    // The same link again: it was used, and the page says so in words.
    const { page: later } = await world.newPage();
    await later.goto(link!);
    await expect
      .poll(() => later.getByText('This invitation has already been accepted.').count())
      .toBe(1);
  });
});

describe('a user added directly sets a password from the mail’s link', () => {
  it('sets the password and signs in with it', async () => {
    const owner = await world.ctx.signUp();
    const org = await world.ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: 'Directly Managed', template: 'team' },
    });
    expect(org.status, JSON.stringify(org.body)).toBe(201);
    const added = uniqueEmail('added');
    const res = await world.ctx.request('POST', `/v1/organizations/${org.body.id}/members`, {
      token: owner.accessToken,
      body: {
        email: added,
        first_name: 'Dana',
        last_name: 'Direct',
        grants: [{ role: 'admin', scope: org.body.id }],
        send_invite: true,
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    const mail = await mailTo(world.smtp, added, /password/i);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/set-password\?token=\S+)/.exec(mail.text)?.[1];
    expect(link, mail.text).toBeTruthy();

    const { page } = await world.newPage();
    await page.goto(link!);
    await field(page, 'New password').fill('Fresh-Passw0rd-42!');
    await field(page, 'Confirm new password').fill('Fresh-Passw0rd-42!');
    await screenshot(page, 'set-password');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.waitForURL(/\/sign-in/);
    await field(page, 'Email').fill(added);
    await field(page, 'Password').fill('Fresh-Passw0rd-42!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await expect.poll(() => page.getByRole('heading', { name: 'Welcome, Dana' }).count()).toBe(1);
  });
});
