import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_DIST } from '../../server/src/modules/console/console.routes';
import { STRONG_PASSWORD, uniqueEmail } from '../../server/test/harness';
import {
  type ConsoleWorld,
  codeIn,
  field,
  mailTo,
  screenshot,
  seriousA11yViolations,
  startConsoleWorld,
} from './browser';

/**
 * The pages every user meets first, in a real Chromium against a real server, reading codes and
 * links from the mails the server really sent (issue 11).
 */
let world: ConsoleWorld;
beforeAll(async () => {
  world = await startConsoleWorld();
});
afterAll(async () => {
  await world?.close();
});

describe('the console is served at / beside the API', () => {
  it('answers the app for console paths and the API problem for unknown API paths', async () => {
    const home = await fetch(`${world.url}/sign-in`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toMatch(/text\/html/);
    for (const apiPath of [
      '/v1/nope',
      '/docs/nope',
      '/.well-known/nope',
      '/health/x',
      '/metrics/x',
    ]) {
      const res = await fetch(`${world.url}${apiPath}`);
      expect(res.status, apiPath).toBe(404);
      expect(res.headers.get('content-type'), apiPath).toMatch(/application\/problem\+json/);
    }
  });
});

describe('the first screen', () => {
  it('loads at most 250 KB of gzipped JavaScript, served precompressed', async () => {
    const { page } = await world.newPage();
    const scripts = new Set<string>();
    const encodings = new Set<string>();
    page.on('response', (r) => {
      if (r.request().resourceType() !== 'script') return;
      scripts.add(new URL(r.url()).pathname);
      encodings.add(r.headers()['content-encoding'] ?? 'identity');
    });
    await page.goto('/sign-in');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.waitForLoadState('networkidle');
    let gzipped = 0;
    for (const script of scripts)
      gzipped += fs.statSync(path.join(CONSOLE_DIST, `${script}.gz`)).size;
    console.info(
      `first screen (/sign-in): ${scripts.size} scripts, ${(gzipped / 1024).toFixed(1)} KB gzipped`,
    );
    expect(scripts.size).toBeGreaterThan(0);
    expect(gzipped).toBeLessThanOrEqual(250 * 1024);
    expect([...encodings]).toEqual(['br']);
  });
});

describe('sign up, confirm the email, land signed in', () => {
  it('ticks each password rule as it is met and signs in with the mailed code', async () => {
    const { page } = await world.newPage();
    const email = uniqueEmail('newcomer');
    await page.goto('/');
    await page.waitForURL(/\/sign-in/);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await field(page, 'First name').fill('Ada');
    await field(page, 'Last name').fill('Lovelace');
    await field(page, 'Email').fill(email);
    const rules = page.getByRole('list', { name: 'Password rules' });
    await field(page, 'Password').fill('short');
    await expect
      .poll(() => rules.getByText('At least 10 characters — not met yet').count())
      .toBe(1);
    await field(page, 'Password').fill(STRONG_PASSWORD);
    await expect.poll(() => rules.getByText('At least 10 characters — met').count()).toBe(1);
    await field(page, 'Confirm password').fill('something else');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.getByText('The passwords do not match').count()).toBe(1);
    await screenshot(page, 'sign-up');
    expect(await seriousA11yViolations(page)).toEqual([]);

    await field(page, 'Confirm password').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/verify-email/);
    await expect.poll(() => page.getByText(/Send a new code in \d+ s/).count()).toBe(1);
    await screenshot(page, 'verify-email');
    expect(await seriousA11yViolations(page)).toEqual([]);
    const mail = await mailTo(world.smtp, email);
    await page.getByLabel('Verification code, digit 1 of 6').fill(codeIn(mail.subject + mail.text));
    await page.waitForURL((url) => url.pathname === '/');
    await expect.poll(() => page.getByRole('heading', { name: 'Welcome, Ada' }).count()).toBe(1);
    await screenshot(page, 'home');
    expect(await seriousA11yViolations(page)).toEqual([]);
  });
});

describe('sign in', () => {
  it('explains a wrong password in words, and works at 375 px wide', async () => {
    const user = await world.ctx.signUp();
    const { page } = await world.newPage({ width: 375, height: 740 });
    await page.goto('/sign-in');
    await field(page, 'Email').fill(user.email);
    await field(page, 'Password').fill('Wrong-password-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByText('The email or password is incorrect.').count()).toBe(1);
    await screenshot(page, 'sign-in-error-mobile');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await field(page, 'Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/');
  });

  it('is usable with the keyboard alone', async () => {
    const user = await world.ctx.signUp();
    const { page } = await world.newPage();
    await page.goto('/sign-in');
    await field(page, 'Email').focus();
    await page.keyboard.type(user.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(user.password);
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === '/');
  });
});

describe('forgot password', () => {
  it('mails a code, accepts a new password, then signs in with it', async () => {
    const user = await world.ctx.signUp();
    const { page } = await world.newPage();
    await page.goto('/sign-in');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await field(page, 'Email').fill(user.email);
    await screenshot(page, 'forgot-password');
    await page.getByRole('button', { name: 'Send code' }).click();
    // The code screen first: the server took the request (an error would show on this one).
    await expect.poll(() => page.getByRole('heading', { name: 'Enter the code' }).count()).toBe(1);
    const mail = await mailTo(world.smtp, user.email, /reset|password/i);
    await page.getByLabel('Reset code, digit 1 of 6').fill(codeIn(mail.subject + mail.text));
    await field(page, 'New password').fill('Another-Str0ng-pass!');
    await field(page, 'Confirm new password').fill('Another-Str0ng-pass!');
    await screenshot(page, 'reset-password');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(/\/sign-in/);
    await field(page, 'Password').fill('Another-Str0ng-pass!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/');
  });
});

describe('links that are wrong or used', () => {
  it('a set-password link with a bad token says so in words', async () => {
    const { page } = await world.newPage();
    await page.goto('/set-password?token=not-a-real-token');
    await field(page, 'New password').fill('Another-Str0ng-pass!');
    await field(page, 'Confirm new password').fill('Another-Str0ng-pass!');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect
      .poll(() =>
        page.getByRole('heading', { name: 'This link is invalid or has expired' }).count(),
      )
      .toBe(1);
    await screenshot(page, 'link-invalid');
  });

  it('an unknown page answers a page, not an error dump', async () => {
    const { page } = await world.newPage();
    await page.goto('/no/such/page');
    await expect.poll(() => page.getByRole('heading', { name: 'Page not found' }).count()).toBe(1);
  });
});
