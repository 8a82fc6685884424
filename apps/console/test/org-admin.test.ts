import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
 * API keys, the audit log and the organization's settings, by clicking (issue 12 #6–8): a key's
 * secret is shown once, the key's creation is found in the audit log and the chain verifies, a
 * policy that would lock the owner out is explained, the organization is renamed, ownership
 * moves to a member who accepts in their own browser, and an organization is deleted by typing
 * its name.
 */
let world: ConsoleWorld;
let owner: SignedIn;
let member: SignedIn;
let orgId: string;
const ORG = 'Harbour Video';

beforeAll(async () => {
  world = await startConsoleWorld();
  owner = await world.ctx.signUp({ first_name: 'Olive', last_name: 'Owner' });
  member = await world.ctx.signUp({ first_name: 'Max', last_name: 'Member' });
  const org = await world.ctx.request('POST', '/v1/organizations', {
    token: owner.accessToken,
    body: { name: ORG, template: 'media' },
  });
  expect(org.status).toBe(201);
  orgId = org.body.id;
  const added = await world.ctx.request('POST', `/v1/organizations/${orgId}/members`, {
    token: owner.accessToken,
    body: { email: member.email, grants: [] },
  });
  expect(added.status).toBe(201);
});
afterAll(async () => {
  await world?.close();
});

/** Drawers and dialogs fade in: axe judges colours once no transition is running. */
const settled = (page: Page) =>
  expect
    .poll(() =>
      // biome-ignore lint/suspicious/noExplicitAny: the page's document (the test has no DOM types)
      page.evaluate(() => (globalThis as any).document.getAnimations().length),
    )
    .toBe(0);

/** A fresh access token: the test moves the clock past the first ones' lifetime. */
const tokenOf = async (user: SignedIn) =>
  (await world.ctx.login(user.email, user.password)).accessToken;

async function signIn(page: Page, email: string, password: string) {
  await page.goto('/sign-in');
  await field(page, 'Email').fill(email);
  await field(page, 'Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  // the console enters the first organization on its own
  await page.getByRole('link', { name: 'Organization settings' }).waitFor();
}

describe('organization administration', () => {
  let page: Page;
  beforeAll(async () => {
    ({ page } = await world.newPage());
    await signIn(page, owner.email, owner.password);
  });

  it('creates an API key (secret shown once, then only the prefix) and revokes it', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await expect.poll(() => page.getByText('No API keys yet.', { exact: false }).count()).toBe(1);
    await page.getByRole('button', { name: 'Create API key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create API key' });
    await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Billing export');
    // only what the owner holds is offered; take the first grant
    await dialog.getByRole('checkbox').first().check();
    // creating a key needs a recent sign-in: eleven minutes on, the step-up dialog asks for
    // the password, and the creation goes through once it is given
    world.ctx.clock.advance(11 * 60_000);
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const stepUp = page.getByRole('dialog', { name: 'Confirm it is you' });
    await expect.poll(() => stepUp.count()).toBe(1);
    await stepUp.getByLabel('Your password').fill(owner.password);
    await stepUp.getByRole('button', { name: 'Confirm' }).click();
    const secret = page.getByTestId('api-key-secret');
    await expect.poll(() => secret.count()).toBe(1);
    const value = (await secret.textContent())!.trim();
    expect(value.length).toBeGreaterThan(20);
    await expect.poll(() => page.getByRole('table', { name: 'API keys' }).count()).toBe(1);
    await screenshot(page, 'api-key-created');
    await settled(page);
    expect(await seriousA11yViolations(page)).toEqual([]);

    // the secret works…
    const check = await world.ctx.request('POST', '/v1/auth/api-access-check', {
      body: { token: value },
    });
    expect(check.body).toMatchObject({ active: true, type: 'api_key' });

    // …and after dismissing it, only the prefix is left on the page
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await expect.poll(() => secret.count()).toBe(0);
    expect(await page.content()).not.toContain(value);
    await page.reload();
    await expect
      .poll(() => page.getByRole('cell', { name: 'Billing export', exact: true }).count())
      .toBe(1);
    expect(await page.content()).not.toContain(value);
    const prefix = value.slice(0, 11);
    expect(await page.getByText(`${prefix}…`).count()).toBe(1);
    await screenshot(page, 'api-keys');
    await settled(page);
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Revoke Billing export' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke this API key?' });
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await expect.poll(() => page.getByText('Revoked', { exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Revoke Billing export' }).count()).toBe(0);
    const keys = await world.ctx.request('GET', `/v1/organizations/${orgId}/api-keys`, {
      token: await tokenOf(owner),
    });
    expect(keys.body.data[0]).toMatchObject({ name: 'Billing export', status: 'revoked' });
  });

  it('filters the audit log by action, opens the key creation event and verifies the chain', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Audit events' }).count()).toBe(1);
    await page.getByRole('combobox', { name: 'Action' }).fill('api_key.created');
    await expect
      .poll(() => page.getByRole('table', { name: 'Audit events' }).getByRole('row').count())
      .toBe(2); // the header and the one event
    await page.getByRole('button', { name: /^Details of api_key\.created/ }).click();
    const drawer = page.getByRole('dialog', { name: 'Event: api key created' });
    await expect.poll(() => drawer.getByText('Billing export').count()).toBe(1);
    expect(await drawer.getByText('Olive Owner (you)').count()).toBeGreaterThan(0);
    // the details read as rows, never as raw JSON
    expect(await drawer.textContent()).not.toContain('{"');
    await settled(page);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await expect.poll(() => drawer.count()).toBe(0);

    await page.getByRole('button', { name: 'Verify chain' }).click();
    await expect.poll(() => page.getByText(/The chain is intact/).count()).toBe(1);
    await page.getByRole('button', { name: 'Show signed head' }).click();
    const checkpoint = page.getByTestId('audit-checkpoint');
    await expect.poll(() => checkpoint.count()).toBe(1);
    expect((await checkpoint.textContent())!.split('.')).toHaveLength(3); // a JWS
    expect(await page.getByRole('button', { name: 'Copy checkpoint' }).count()).toBe(1);

    // the export is a plain same-origin download of the filtered events
    const href = await page.getByRole('link', { name: 'Export NDJSON' }).getAttribute('href');
    expect(href).toContain('action=api_key.created');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export NDJSON' }).click(),
    ]);
    const path = await download.path();
    const fs = await import('node:fs');
    const lines = fs.readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ action: 'api_key.created' });
    await screenshot(page, 'audit-log');
    await settled(page);
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it('explains the lockout when requiring MFA from a session without a second factor, and renames the organization', async () => {
    await page.getByRole('link', { name: 'Organization settings' }).click();
    await expect
      .poll(() => page.getByRole('heading', { name: 'Organization settings' }).count())
      .toBe(1);
    await page.getByRole('switch', { name: 'Require two-step verification' }).check();
    await page.getByRole('button', { name: 'Save policies' }).click();
    await expect.poll(() => page.getByText('This would lock you out').count()).toBe(1);
    expect(await page.getByText(/signed in to this session without a second factor/).count()).toBe(
      1,
    );
    const org = await world.ctx.request('GET', `/v1/organizations/${orgId}`, {
      token: await tokenOf(owner),
    });
    expect(org.body.policies.require_mfa).toBe(false);

    // a policy that keeps the owner in is saved
    await page.getByRole('switch', { name: 'Require two-step verification' }).uncheck();
    await page.getByLabel('Idle timeout (minutes)').fill('120');
    await page.getByRole('button', { name: 'Save policies' }).click();
    await expect.poll(() => page.getByText('The sign-in policies were saved.').count()).toBe(1);

    await field(page, 'Organization name').fill('Harbour Studios');
    await page.getByRole('button', { name: 'Save name' }).click();
    await expect.poll(() => page.getByText('The name was saved.').count()).toBe(1);
    const renamed = await world.ctx.request('GET', `/v1/organizations/${orgId}`, {
      token: await tokenOf(owner),
    });
    expect(renamed.body).toMatchObject({
      name: 'Harbour Studios',
      policies: { require_mfa: false, session_idle_timeout_minutes: 120 },
    });
    await screenshot(page, 'organization-settings');
    await settled(page);
    expect(await seriousA11yViolations(page)).toEqual([]);
    expect(await formsWithPasswordByGet(page)).toBe(0);
  });

  it('deletes an organization once its name is typed', async () => {
    const scratch = await world.ctx.request('POST', '/v1/organizations', {
      token: await tokenOf(owner),
      body: { name: 'Scratch Pad', template: 'media' },
    });
    expect(scratch.status).toBe(201);
    await page.goto('/');
    await page.getByRole('combobox', { name: 'Current organization' }).click();
    await page.getByRole('option', { name: 'Scratch Pad' }).click();
    await expect
      .poll(() => page.getByRole('combobox', { name: 'Current organization' }).inputValue())
      .toBe('Scratch Pad');
    await page.getByRole('link', { name: 'Organization settings' }).click();
    await expect.poll(() => field(page, 'Organization name').inputValue()).toBe('Scratch Pad');
    await page.getByRole('button', { name: 'Delete organization…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete Scratch Pad?' });
    const submit = dialog.getByRole('button', { name: 'Delete Scratch Pad' });
    expect(await submit.isDisabled()).toBe(true);
    await dialog.getByRole('textbox', { name: 'Organization name' }).fill('Scratch');
    expect(await submit.isDisabled()).toBe(true);
    await dialog.getByRole('textbox', { name: 'Organization name' }).fill('Scratch Pad');
    await submit.click();
    await page.waitForURL((u) => u.pathname === '/');
    const gone = await world.ctx.request('GET', `/v1/organizations/${scratch.body.id}`, {
      token: await tokenOf(owner),
    });
    expect(gone.status).toBe(404);
  });

  it('offers ownership to a member, who accepts it in their own browser', async () => {
    await page.goto('/organization');
    await expect.poll(() => field(page, 'Organization name').inputValue()).toBe('Harbour Studios');
    await page.getByRole('combobox', { name: 'New owner' }).click();
    await page.getByRole('option', { name: /Max Member/ }).click();
    world.ctx.clock.advance(11 * 60_000); // past the recent sign-in: step-up is asked
    await page.getByRole('button', { name: 'Offer ownership' }).click();
    const stepUp = page.getByRole('dialog', { name: 'Confirm it is you' });
    await expect.poll(() => stepUp.count()).toBe(1);
    await stepUp.getByLabel('Your password').fill(owner.password);
    await stepUp.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.getByText('Pending', { exact: true }).count()).toBe(1);
    expect(await page.getByText(/Offered to Max Member/).count()).toBe(1);

    const { page: theirs } = await world.newPage({ width: 375, height: 800 });
    await signIn(theirs, member.email, member.password);
    await theirs.goto('/organization');
    await expect.poll(() => theirs.getByText('You are offered ownership').count()).toBe(1);
    await settled(theirs);
    expect(await seriousA11yViolations(theirs)).toEqual([]);
    await theirs.getByRole('button', { name: 'Accept ownership' }).click();
    await expect
      .poll(() => theirs.getByText('You are now the owner of Harbour Studios.').count())
      .toBe(1);
    const org = await world.ctx.request('GET', `/v1/organizations/${orgId}`, {
      token: await tokenOf(member),
    });
    expect(org.body.owner_id).toBe(member.userId);
    // the former owner's page no longer offers what only an owner may do, on the next fetch
    await page.reload();
    await expect
      .poll(() =>
        page.getByText('Only the owner can hand the organization to someone else.').count(),
      )
      .toBe(1);
  });
});
