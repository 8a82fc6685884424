import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedIn, uniqueEmail } from '../../server/test/harness';
import {
  type ConsoleWorld,
  field,
  formsWithPasswordByGet,
  screenshot,
  seriousA11yViolations,
  startConsoleWorld,
} from './browser';

/**
 * Source 000 (media), by clicking: "click on 'Add User'. Provide Email-ID, and select role and
 * login type"; "'Owner' can edit role of any existing user or delete it". The owner adds a
 * video-developer with login type Google to a video collection, edits the role, deletes the
 * user. Each address is validated on its own; an admin (who may not add users) is not offered it.
 */
/** The browser and server share two cores with other suites: wait longer than poll's 1 s default. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });
/** A story is several pages and mails long: more than the suite's 30 s on a loaded machine. */
const STORY_TIMEOUT = 90_000;

let world: ConsoleWorld;
let owner: SignedIn;
let orgId: string;
let trailers: { id: string };

beforeAll(async () => {
  world = await startConsoleWorld();
  owner = await world.ctx.signUp({ first_name: 'Mona', last_name: 'Media' });
  const org = await world.ctx.request('POST', '/v1/organizations', {
    token: owner.accessToken,
    body: { name: 'Harbour Media', template: 'media' },
  });
  expect(org.status, JSON.stringify(org.body)).toBe(201);
  orgId = org.body.id;
  const account = (name: string, product: string) =>
    world.ctx.request('POST', `/v1/organizations/${orgId}/accounts`, {
      token: owner.accessToken,
      body: { name, product },
    });
  trailers = (await account('Trailers', 'video')).body;
  await account('Product photos', 'image');
});
afterAll(async () => {
  await world?.close();
});

async function signIn(page: Page, email: string, password: string) {
  await page.goto('/sign-in');
  await field(page, 'Email').fill(email);
  await field(page, 'Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === '/');
}

const api = (method: string, path: string, body?: unknown) =>
  world.ctx.request(method, path, { token: owner.accessToken, body });

describe('media: the owner manages users', () => {
  it('adds a video-developer with login type Google, edits the role, and deletes the user', {
    timeout: STORY_TIMEOUT,
  }, async () => {
    const { page } = await world.newPage();
    await signIn(page, owner.email, owner.password);
    await page.goto('/members?invite=1');
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await poll(() => dialog.count()).toBe(1);
    await poll(() => field(page, 'Email addresses').count()).toBe(1);

    // Each address is judged on its own before anything is sent.
    const email = uniqueEmail('video-dev');
    await field(page, 'Email addresses').fill(`not-an-address, ${email}`);
    await dialog.getByRole('combobox', { name: 'Role' }).click();
    await page.getByRole('option', { name: 'Video developer', exact: true }).click();
    await page.getByRole('checkbox', { name: /Trailers/ }).check();
    // An image source cannot take a video role: it is not offered.
    expect(await page.getByRole('checkbox', { name: /Product photos/ }).isDisabled()).toBe(true);
    await dialog.getByRole('combobox', { name: 'Login type' }).click();
    await page.getByRole('option', { name: 'Google', exact: true }).click();
    await dialog.getByRole('button', { name: 'Add user' }).click();
    await poll(() =>
      page.getByText('1 of 2 addresses is not valid; correct or remove it.').count(),
    ).toBe(1);
    await poll(() =>
      page.getByRole('table', { name: 'Addresses not valid' }).getByText('not-an-address').count(),
    ).toBe(1);
    await screenshot(page, 'invite-dialog');
    expect(await seriousA11yViolations(page)).toEqual([]);
    expect(await formsWithPasswordByGet(page)).toBe(0);

    await field(page, 'Email addresses').fill(email);
    await field(page, 'First name').fill('Vera');
    await field(page, 'Last name').fill('Video');
    await dialog.getByRole('button', { name: 'Add user' }).click();
    const results = page.getByRole('table', { name: 'Result per address' });
    await poll(() => results.getByText(email).count()).toBe(1);
    await poll(() => results.getByText(/Added/).count()).toBe(1);

    const found = await api('GET', `/v1/organizations/${orgId}/members?search=${email}`);
    const userId = found.body.data[0]?.user_id as string;
    expect(userId).toBeTruthy();
    const added = await api('GET', `/v1/organizations/${orgId}/members/${userId}`);
    expect(added.body).toMatchObject({
      login_methods: ['google'],
      grants: [{ role: 'video-developer', scope: trailers.id }],
      managed_by_organization: true,
      first_name: 'Vera',
      last_name: 'Video',
    });
    await page.getByRole('button', { name: 'Done' }).click();
    await poll(() => dialog.count()).toBe(0);

    // The user console: who, when, what; edit the role.
    await page.goto(`/members/${userId}`);
    await poll(() => page.getByText(userId, { exact: true }).count()).toBe(1);
    await poll(() => page.getByRole('heading', { name: 'Vera Video' }).count()).toBe(1);
    await poll(() => page.getByText('Google.', { exact: false }).count()).toBeGreaterThan(0);
    await poll(() =>
      page
        .getByRole('table', { name: 'Grants' })
        .getByText(/Trailers/)
        .count(),
    ).toBe(1);
    await page.getByRole('combobox', { name: /Role on Trailers/ }).click();
    await page.getByRole('option', { name: 'Video admin', exact: true }).click();
    await poll(() => page.getByText('Roles saved.').count()).toBe(1);
    await poll(
      async () => (await api('GET', `/v1/organizations/${orgId}/members/${userId}`)).body.grants,
    ).toMatchObject([{ role: 'video-admin', scope: trailers.id }]);

    // What can they do on the collection?
    await page.getByRole('combobox', { name: 'Permissions at' }).click();
    await page.getByRole('option', { name: 'Trailers (video)' }).click();
    await poll(() =>
      page.getByRole('list', { name: 'Effective permissions' }).getByText('video.assets').count(),
    ).toBe(1);
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, 'member-detail');
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Delete user' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click();
    await page.waitForURL((u) => u.pathname === '/members');
    expect((await api('GET', `/v1/organizations/${orgId}/members/${userId}`)).status).toBe(404);
  });

  it('shows the 375 px dialog full screen and the user console, usable', {
    timeout: STORY_TIMEOUT,
  }, async () => {
    const { page } = await world.newPage({ width: 375, height: 740 });
    await signIn(page, owner.email, owner.password);
    await page.goto('/members?invite=1');
    await poll(() => field(page, 'Email addresses').count()).toBe(1);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'invite-dialog-mobile');
    // The user console at 375 px too (here, the owner's own: nothing to disable or delete).
    await page.goto(`/members/${owner.userId}`);
    await poll(() => page.getByText(owner.userId, { exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Delete user' }).count()).toBe(0);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'member-detail-mobile');
  });

  it('does not offer adding users to an admin (only the owner adds users in media)', {
    timeout: STORY_TIMEOUT,
  }, async () => {
    const admin = await world.ctx.signUp({ first_name: 'Ari', last_name: 'Admin' });
    const added = await api('POST', `/v1/organizations/${orgId}/members`, {
      email: admin.email,
      grants: [{ role: 'admin', scope: orgId }],
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const { page } = await world.newPage();
    await signIn(page, admin.email, admin.password);
    await page.goto('/members/invitations?invite=1');
    await poll(() => page.getByRole('heading', { name: 'Invitations sent' }).count()).toBe(1);
    await page.waitForLoadState('networkidle');
    expect(await page.getByRole('button', { name: 'Add user' }).count()).toBe(0);
    expect(await page.getByRole('dialog', { name: 'Add user' }).count()).toBe(0);
  });
});
