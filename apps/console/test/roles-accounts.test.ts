import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedIn } from '../../server/test/harness';
import { createAccount, createOrg } from '../../server/test/seed';
import {
  type ConsoleWorld,
  field,
  screenshot,
  seriousA11yViolations,
  startConsoleWorld,
} from './browser';

/**
 * Issue 12 items 4 and 5, by clicking: the Roles page (built-in roles read-only, a custom role
 * created with picked permissions, edited, deleted; the "test permission" box of seed 002 asking
 * /v1/authz/check about another member and saying why) and the Accounts page (the customer →
 * accounts → resources tree: create, rename, delete with the name typed; an account's owner
 * changed by an offer the member accepts in their own browser).
 */
let world: ConsoleWorld;
let owner: SignedIn;
let ada: SignedIn;
let orgId: string;
let filmId: string;

beforeAll(async () => {
  world = await startConsoleWorld();
  owner = await world.ctx.signUp({ first_name: 'Olive', last_name: 'Owner' });
  orgId = (await createOrg(world.ctx, owner, 'team', 'Harbour Studio')).id;
  filmId = (await createAccount(world.ctx, owner, orgId, 'video', 'Launch film')).id;
  ada = await world.ctx.signUp({ first_name: 'Ada', last_name: 'Lovelace' });
  const added = await world.ctx.request('POST', `/v1/organizations/${orgId}/members`, {
    token: owner.accessToken,
    body: { email: ada.email, grants: [{ role: 'user', scope: filmId }] },
  });
  if (added.status !== 201) throw new Error(`add member failed: ${added.text}`);
});
afterAll(async () => {
  await world?.close();
});

async function signIn(page: Page, who: SignedIn) {
  // two cores shared by many runs: the first page of a fresh profile may take a while
  page.setDefaultTimeout(30_000);
  await page.goto('/sign-in');
  await field(page, 'Email').fill(who.email);
  await field(page, 'Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  // the console enters the member's organization after sign-in: wait for it to be current
  await expect
    .poll(() => page.getByRole('combobox', { name: 'Current organization' }).inputValue())
    .toBe('Harbour Studio');
}

/** Picks an option of a Mantine Select by typing into it when it is searchable. */
async function pick(page: Page, label: string, option: string | RegExp, type?: string) {
  const box = page.getByRole('combobox', { name: label, exact: true });
  await box.click();
  if (type) await box.fill(type);
  await page.getByRole('option', { name: option }).first().click();
}

const rolesOf = async () =>
  (
    await world.ctx.request('GET', `/v1/organizations/${orgId}/roles`, {
      token: owner.accessToken,
    })
  ).body.data as { key: string; name: string; permissions: string[]; built_in: boolean }[];

describe('roles', () => {
  it('shows the template roles, creates, edits and deletes a custom role, and tests a permission for a member', async () => {
    const { page } = await world.newPage({ width: 1440, height: 900 });
    await signIn(page, owner);
    await page.getByRole('link', { name: 'Roles' }).first().click();
    // the pointer leaves the menu (a hovered active entry is not what the page looks like)
    await page.mouse.move(1400, 10);
    await expect
      .poll(() => page.getByRole('heading', { name: 'Roles', exact: true }).count())
      .toBe(1);
    const builtIn = page.getByRole('table', { name: 'Built-in roles' });
    await expect.poll(() => builtIn.getByText('Admin', { exact: true }).count()).toBe(1);
    expect(await builtIn.getByText('members:*').count()).toBe(1);
    // read-only: no edit button on the template's roles
    expect(await builtIn.getByRole('button').count()).toBe(0);
    expect(await page.getByText('No custom roles yet.', { exact: false }).count()).toBe(1);
    await screenshot(page, 'roles');
    expect(await seriousA11yViolations(page)).toEqual([]);

    // create: a name, and permissions picked from the video product's group
    await page.getByRole('button', { name: 'Create custom role' }).click();
    const dialog = page.getByRole('dialog', { name: 'New custom role' });
    await field(page, 'Role name').fill('Video editor');
    expect(await field(page, 'Key').inputValue()).toBe('video-editor');
    await expect.poll(() => dialog.getByRole('group', { name: 'Video' }).count()).toBe(1);
    await dialog.getByRole('checkbox', { name: 'video.assets:read', exact: true }).check();
    await dialog.getByRole('checkbox', { name: 'video.usage:read', exact: true }).check();
    await dialog.getByRole('checkbox', { name: 'One resource', exact: true }).uncheck();
    await screenshot(page, 'role-editor');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Create role' }).click();
    const custom = page.getByRole('table', { name: 'Custom roles' });
    await expect.poll(() => custom.getByText('Video editor', { exact: true }).count()).toBe(1);
    expect((await rolesOf()).find((r) => r.key === 'video-editor')).toMatchObject({
      name: 'Video editor',
      permissions: ['video.assets:read', 'video.usage:read'],
      built_in: false,
    });

    // edit: one more permission, one less
    await page.getByRole('button', { name: 'Edit role Video editor' }).click();
    const editor = page.getByRole('dialog', { name: 'Edit role Video editor' });
    expect(
      await editor.getByRole('checkbox', { name: 'video.assets:read', exact: true }).isChecked(),
    ).toBe(true);
    await editor.getByRole('checkbox', { name: 'video.assets:create', exact: true }).check();
    await editor.getByRole('checkbox', { name: 'video.usage:read', exact: true }).uncheck();
    await editor.getByRole('button', { name: 'Save role' }).click();
    await expect.poll(() => custom.getByText('video.assets:create').count()).toBe(1);
    expect(await custom.getByText('video.usage:read').count()).toBe(0);
    expect((await rolesOf()).find((r) => r.key === 'video-editor')?.permissions).toEqual([
      'video.assets:create',
      'video.assets:read',
    ]);

    // test a permission for another member: allowed, with the grant that allows it
    await pick(page, 'Member', /Ada Lovelace/, 'Ada');
    await pick(page, 'Permission', 'video.assets:create', 'video.assets:cr');
    await pick(page, 'Where', 'Account Launch film (video)');
    await page.getByRole('button', { name: 'Test permission' }).click();
    const decision = page.getByTestId('permission-decision');
    await expect
      .poll(() => decision.textContent())
      .toContain('Allowed by the role User, granted on account Launch film.');
    expect(await decision.textContent()).toContain(
      'Ada Lovelace (' + ada.email + ') may use video.assets:create on account Launch film.',
    );
    await decision.scrollIntoViewIfNeeded();
    await screenshot(page, 'test-permission');
    expect(await seriousA11yViolations(page)).toEqual([]);

    // …and denied, with the reason in words
    await pick(page, 'Permission', 'billing:read', 'billing:re');
    await pick(page, 'Where', /The whole organization/);
    await page.getByRole('button', { name: 'Test permission' }).click();
    await expect.poll(() => decision.textContent()).toContain('may not use billing:read');
    expect(await decision.textContent()).toContain(
      'Denied: no role or permission granted to them on the whole organization (Harbour Studio), or above it, includes billing:read.',
    );

    // delete the custom role: still granted (to Grace, on the film), so its holders get a
    // replacement picked in the dialog
    const grace = await world.ctx.signUp({ first_name: 'Grace', last_name: 'Hopper' });
    const added = await world.ctx.request('POST', `/v1/organizations/${orgId}/members`, {
      token: owner.accessToken,
      body: { email: grace.email, grants: [{ role: 'video-editor', scope: filmId }] },
    });
    expect(added.status).toBe(201);
    await page.getByRole('button', { name: 'Delete role Video editor' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete role Video editor?' });
    await confirm.getByRole('button', { name: 'Delete role' }).click();
    await expect
      .poll(() => confirm.getByText('This role is still granted.', { exact: false }).count())
      .toBe(1);
    expect(await confirm.getByRole('button', { name: 'Delete role' }).isDisabled()).toBe(true);
    await pick(page, 'Replace with', 'User');
    await confirm.getByRole('button', { name: 'Delete role' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Custom roles' }).count()).toBe(0);
    expect((await rolesOf()).some((r) => r.key === 'video-editor')).toBe(false);
    const graceGrants = await world.ctx.request(
      'GET',
      `/v1/organizations/${orgId}/members/${grace.userId}/grants`,
      { token: owner.accessToken },
    );
    expect(graceGrants.body.data).toEqual([
      expect.objectContaining({ role: 'user', scope: filmId }),
    ]);
  }, 90_000);

  it('refuses to ask about another member without members:read', async () => {
    const res = await world.ctx.request('POST', '/v1/authz/check', {
      token: ada.accessToken,
      body: { subject: owner.userId, permission: 'billing:read', scope: orgId },
    });
    expect(res.status).toBe(403);
  });
});

const accountsOf = async () =>
  (
    await world.ctx.request('GET', `/v1/organizations/${orgId}/accounts`, {
      token: owner.accessToken,
    })
  ).body.data as { id: string; name: string; owner_id: string; product: string }[];

describe('accounts', () => {
  it('creates an account and a room, renames both, and deletes them with the name typed', async () => {
    const { page } = await world.newPage({ width: 1440, height: 900 });
    await signIn(page, owner);
    // the team template calls accounts projects
    await page.getByRole('link', { name: 'Projects' }).first().click();
    await page.mouse.move(1400, 10);
    await expect
      .poll(() => page.getByRole('heading', { name: 'Projects', exact: true }).count())
      .toBe(1);
    const tree = page.getByRole('list', { name: 'Projects of Harbour Studio' });
    await expect.poll(() => tree.getByRole('heading', { name: 'Launch film' }).count()).toBe(1);

    await field(page, 'Name of the project').fill('Town hall');
    await pick(page, 'Product', 'Meeting');
    await page.getByRole('button', { name: 'Create project' }).click();
    await expect.poll(() => tree.getByRole('heading', { name: 'Town hall' }).count()).toBe(1);
    const created = (await accountsOf()).find((a) => a.name === 'Town hall');
    expect(created).toMatchObject({ product: 'meeting', owner_id: owner.userId });

    const addRoom = page.getByRole('form', { name: 'Add a resource to Town hall' });
    expect(
      await addRoom
        .getByRole('combobox', { name: 'Type of the new resource in Town hall' })
        .inputValue(),
    ).toBe('room');
    await addRoom.getByRole('textbox', { name: 'New resource in Town hall' }).fill('Main room');
    await addRoom.getByRole('button', { name: 'Add resource' }).click();
    const rooms = page.getByRole('list', { name: 'Resources of Town hall' });
    await expect.poll(() => rooms.getByText('Main room').count()).toBe(1);

    await page.getByRole('button', { name: 'Rename room Main room' }).click();
    await field(page, 'New name').fill('Big room');
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await expect.poll(() => rooms.getByText('Big room').count()).toBe(1);

    await page.getByRole('button', { name: 'Rename project Town hall' }).click();
    await field(page, 'New name').fill('Town square');
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await expect.poll(() => tree.getByRole('heading', { name: 'Town square' }).count()).toBe(1);
    await screenshot(page, 'accounts');
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Delete room Big room' }).click();
    const confirmRoom = page.getByRole('dialog', { name: 'Delete room Big room?' });
    expect(await confirmRoom.getByRole('button', { name: 'Delete room' }).isDisabled()).toBe(true);
    await field(page, 'Type Big room to confirm').fill('Big room');
    await confirmRoom.getByRole('button', { name: 'Delete room' }).click();
    await expect
      .poll(() => page.getByRole('list', { name: 'Resources of Town square' }).count())
      .toBe(0);

    await page.getByRole('button', { name: 'Delete project Town square' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete project Town square?' });
    await field(page, 'Type Town square to confirm').fill('Town squar');
    expect(await confirm.getByRole('button', { name: 'Delete project' }).isDisabled()).toBe(true);
    await field(page, 'Type Town square to confirm').fill('Town square');
    await confirm.getByRole('button', { name: 'Delete project' }).click();
    await expect.poll(() => tree.getByRole('heading', { name: 'Town square' }).count()).toBe(0);
    expect((await accountsOf()).some((a) => a.id === created?.id)).toBe(false);
  }, 90_000);

  it("offers an account's ownership to a member, who declines, then accepts it in their own browser", async () => {
    const { page } = await world.newPage({ width: 1440, height: 900 });
    await signIn(page, owner);
    await page.goto('/accounts');
    const offered = page.getByText(
      'You offered the ownership of project Launch film to Ada Lovelace',
    );
    const offerToAda = async () => {
      await page.getByRole('button', { name: 'Change owner of Launch film' }).click();
      await pick(page, 'New owner', /Ada Lovelace/, 'Ada');
      await page.getByRole('button', { name: 'Offer ownership' }).click();
      // a recent sign-in needs no step-up; if the window has passed, confirm with the password
      const stepUp = page.getByRole('dialog', { name: 'Confirm it is you' });
      await expect.poll(async () => (await offered.count()) + (await stepUp.count())).toBe(1);
      if (await stepUp.count()) {
        await stepUp.getByLabel('Password').fill(owner.password);
        await stepUp.getByRole('button', { name: /Confirm/ }).click();
      }
      await expect.poll(() => offered.count()).toBe(1);
    };
    await offerToAda();
    // nothing changes until the new owner accepts
    expect((await accountsOf()).find((a) => a.id === filmId)?.owner_id).toBe(owner.userId);

    // Ada, in her own browser, sees the offer on her Projects page and declines it
    const mine = await world.newPage({ width: 375, height: 800 });
    await signIn(mine.page, ada);
    await mine.page.goto('/accounts');
    const offer = mine.page.getByRole('list', { name: 'Ownership offers' });
    const waiting = offer.getByText(/offers you the ownership of project Launch film/);
    await expect.poll(() => waiting.count()).toBe(1);
    expect(await seriousA11yViolations(mine.page)).toEqual([]);
    await screenshot(mine.page, 'accounts-offer');
    await offer.getByRole('button', { name: 'Decline' }).click();
    await expect.poll(() => mine.page.getByText('You declined the offer.').count()).toBe(1);
    expect((await accountsOf()).find((a) => a.id === filmId)?.owner_id).toBe(owner.userId);
    await page.reload();
    await expect.poll(() => page.getByText('Owner: you').count()).toBeGreaterThan(0);
    expect(await offered.count()).toBe(0);

    // offered again, she accepts
    await offerToAda();
    await mine.page.reload();
    await expect.poll(() => waiting.count()).toBe(1);
    await offer.getByRole('button', { name: 'Accept ownership' }).click();
    await expect.poll(() => mine.page.getByText('You are now the owner.').count()).toBe(1);
    await expect.poll(() => mine.page.getByText('Owner: you').count()).toBe(1);
    expect((await accountsOf()).find((a) => a.id === filmId)?.owner_id).toBe(ada.userId);

    // the owner's page shows the new owner on the next fetch
    await page.reload();
    await expect.poll(() => page.getByText('Owner: Ada Lovelace').count()).toBe(1);
    expect(await offered.count()).toBe(0);
  }, 90_000);
});
