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
 * Source 004 (team), by clicking: the owner "can invite users as Admin or Owner" (Add User →
 * email, role, project(s) → Send Invitation; the invitee accepts from the mail), and in the User
 * Console can "enable or disable access" and "update roles, timezones, or email" of a user the
 * organization manages. Plus the organization's sent invitations: status, resend, revoke.
 */
/** The browser and server share two cores with other suites: wait longer than poll's 1 s default. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });
/** A story is several pages and mails long: more than the suite's 30 s on a loaded machine. */
const STORY_TIMEOUT = 90_000;

let world: ConsoleWorld;
let owner: SignedIn;
let orgId: string;

beforeAll(async () => {
  world = await startConsoleWorld();
  owner = await world.ctx.signUp({ first_name: 'Tess', last_name: 'Team' });
  const org = await world.ctx.request('POST', '/v1/organizations', {
    token: owner.accessToken,
    body: { name: 'Bot Builders', template: 'team' },
  });
  expect(org.status, JSON.stringify(org.body)).toBe(201);
  orgId = org.body.id;
  await world.ctx.request('POST', `/v1/organizations/${orgId}/accounts`, {
    token: owner.accessToken,
    body: { name: 'Website bot', product: 'meeting' },
  });
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

async function memberIdOf(email: string): Promise<string> {
  const found = await api('GET', `/v1/organizations/${orgId}/members?search=${email}`);
  const id = found.body.data?.[0]?.user_id as string | undefined;
  if (!id) throw new Error(`${email} is not a member: ${JSON.stringify(found.body)}`);
  return id;
}

describe('team: the owner invites, disables, re-enables and edits', () => {
  it('invites an admin, who accepts from the mail’s link', { timeout: STORY_TIMEOUT }, async () => {
    const { page } = await world.newPage();
    await signIn(page, owner.email, owner.password);
    await page.goto('/members?invite=1');
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await poll(() => field(page, 'Email addresses').count()).toBe(1);
    const invitee = uniqueEmail('new-admin');
    await field(page, 'Email addresses').fill(invitee);
    // The template's default role is User; the owner may choose Admin (owner-only in team).
    expect(await dialog.getByRole('combobox', { name: 'Role' }).inputValue()).toBe('User');
    await dialog.getByRole('combobox', { name: 'Role' }).click();
    await page.getByRole('option', { name: 'Admin', exact: true }).click();
    // Admin is an organization-wide role: the organization is chosen, projects are not offered.
    expect(await dialog.getByRole('checkbox', { name: /Bot Builders/ }).isChecked()).toBe(true);
    expect(await dialog.getByRole('checkbox', { name: /Website bot/ }).isDisabled()).toBe(true);
    expect(await dialog.getByRole('checkbox', { name: 'Offer ownership' }).count()).toBe(1);
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    const results = page.getByRole('table', { name: 'Result per address' });
    await poll(() => results.getByText('Invitation sent').count()).toBe(1);
    await dialog.getByRole('button', { name: 'Done' }).click();

    const mail = await mailTo(world.smtp, invitee, /invit/i);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/invitations\/\S+)/.exec(mail.text)?.[1];
    expect(link, mail.text).toBeTruthy();
    const { page: theirs } = await world.newPage();
    await theirs.goto(link!);
    await poll(() => theirs.getByRole('heading', { name: 'Join Bot Builders' }).count()).toBe(1);
    await field(theirs, 'First name').fill('Ada');
    await field(theirs, 'Last name').fill('Admin');
    await field(theirs, 'New password').fill(STRONG_PASSWORD);
    await field(theirs, 'Confirm new password').fill(STRONG_PASSWORD);
    await theirs.getByRole('button', { name: 'Create account and accept' }).click();
    await theirs.waitForURL((url) => url.pathname === '/');
    await poll(() => theirs.getByText('You joined Bot Builders.').count()).toBe(1);

    const adminId = await memberIdOf(invitee);
    const detail = await api('GET', `/v1/organizations/${orgId}/members/${adminId}`);
    expect(detail.body.grants).toMatchObject([{ role: 'admin', scope: orgId }]);

    // The sent invitations list shows it accepted.
    await page.goto('/members/invitations');
    const table = page.getByRole('table', { name: 'Invitations sent' });
    await poll(() =>
      table
        .getByRole('row', { name: new RegExp(invitee) })
        .getByText('Accepted')
        .count(),
    ).toBe(1);
  });

  it('adds a user directly, disables and re-enables them, and edits their time zone', {
    timeout: STORY_TIMEOUT,
  }, async () => {
    const { page } = await world.newPage();
    await signIn(page, owner.email, owner.password);
    await page.goto('/members?invite=1');
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await poll(() => field(page, 'Email addresses').count()).toBe(1);
    await dialog.getByText('Add directly').click();
    const email = uniqueEmail('bot-manager');
    await field(page, 'Email addresses').fill(email);
    await dialog.getByRole('checkbox', { name: /Website bot/ }).check();
    await dialog.getByRole('button', { name: 'Add user' }).click();
    const results = page.getByRole('table', { name: 'Result per address' });
    await poll(() => results.getByText(/Added/).count()).toBe(1);
    await dialog.getByRole('button', { name: 'Done' }).click();
    const userId = await memberIdOf(email);

    await page.goto(`/members/${userId}`);
    await poll(() => page.getByText(userId, { exact: true }).count()).toBe(1);
    await page.getByRole('button', { name: 'Disable access' }).click();
    await poll(() => page.getByText('Disabled', { exact: true }).count()).toBe(1);
    expect((await api('GET', `/v1/organizations/${orgId}/members/${userId}`)).body.status).toBe(
      'suspended',
    );
    await page.getByRole('button', { name: 'Enable access' }).click();
    await poll(() => page.getByText('Active', { exact: true }).count()).toBe(1);
    expect((await api('GET', `/v1/organizations/${orgId}/members/${userId}`)).body.status).toBe(
      'active',
    );

    await page.getByRole('combobox', { name: 'Time zone' }).fill('Asia/Tok');
    await page.getByRole('option', { name: 'Asia/Tokyo' }).click();
    await page.getByRole('button', { name: 'Save profile' }).click();
    await poll(() => page.getByText('Profile saved.').count()).toBe(1);
    expect((await api('GET', `/v1/organizations/${orgId}/members/${userId}`)).body.timezone).toBe(
      'Asia/Tokyo',
    );
    await poll(() => page.getByText('Asia/Tokyo', { exact: true }).count()).toBeGreaterThan(0);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.getByRole('heading', { name: /Profile \(managed/ }).scrollIntoViewIfNeeded();
    await screenshot(page, 'member-detail-managed');
  });

  it('shows the server’s refusal in words when the inviter lost the right meanwhile', {
    timeout: STORY_TIMEOUT,
  }, async () => {
    const admin = await world.ctx.signUp({ first_name: 'Lee', last_name: 'Lapsed' });
    const added = await api('POST', `/v1/organizations/${orgId}/members`, {
      email: admin.email,
      grants: [{ role: 'admin', scope: orgId }],
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const { page } = await world.newPage();
    await signIn(page, admin.email, admin.password);
    await page.goto('/members?invite=1');
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await poll(() => field(page, 'Email addresses').count()).toBe(1);
    // An admin may invite users, never admins (owner-only in team): Admin is not offered.
    await dialog.getByRole('combobox', { name: 'Role' }).click();
    expect(await page.getByRole('option', { name: 'Admin', exact: true }).count()).toBe(0);
    await page.getByRole('option', { name: 'User', exact: true }).click();
    await field(page, 'Email addresses').fill(uniqueEmail('too-late'));
    await dialog.getByRole('checkbox', { name: /Website bot/ }).check();
    // Meanwhile the owner takes the admin role away.
    const accounts = await api('GET', `/v1/organizations/${orgId}/accounts`);
    const demoted = await api(
      'PUT',
      `/v1/organizations/${orgId}/members/${added.body.user_id}/grants`,
      {
        grants: [{ role: 'user', scope: accounts.body.data[0].id }],
      },
    );
    expect(demoted.status, JSON.stringify(demoted.body)).toBe(200);
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    const alert = dialog.getByRole('alert').filter({ hasText: 'Nothing was sent' });
    await poll(() => alert.count()).toBe(1);
    expect(await alert.textContent()).toContain('You do not have permission to do this.');
  });

  it('resends and revokes a pending invitation from the list', {
    timeout: STORY_TIMEOUT,
  }, async () => {
    const pending = uniqueEmail('pending');
    const sent = await api('POST', `/v1/organizations/${orgId}/invitations`, {
      emails: [pending],
      grants: [{ role: 'admin', scope: orgId }],
    });
    expect(sent.status, JSON.stringify(sent.body)).toBeLessThan(300);
    const { page } = await world.newPage();
    await signIn(page, owner.email, owner.password);
    await page.goto('/members/invitations');
    const row = page.getByRole('table', { name: 'Invitations sent' }).getByRole('row', {
      name: new RegExp(pending),
    });
    await poll(() => row.getByText('Pending', { exact: true }).count()).toBe(1);
    await screenshot(page, 'sent-invitations');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await row.getByRole('button', { name: `Resend the invitation to ${pending}` }).click();
    await poll(() => page.getByText(`Sent again to ${pending}`, { exact: false }).count()).toBe(1);
    const newRow = page.getByRole('table', { name: 'Invitations sent' }).getByRole('row', {
      name: new RegExp(`${pending}.*Pending`),
    });
    await newRow.getByRole('button', { name: `Revoke the invitation to ${pending}` }).click();
    await poll(() => page.getByText(`The invitation to ${pending} was revoked.`).count()).toBe(1);
    const list = await api('GET', `/v1/organizations/${orgId}/invitations?status=pending`);
    expect(list.body.data.filter((i: { email: string }) => i.email === pending)).toEqual([]);
  });
});
