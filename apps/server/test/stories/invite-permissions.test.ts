/**
 * Inviting in the `permissions` template (source 002): "Input the email address ... Assign the
 * invitee to one or multiple projects ... check the boxes", plus the billing and API switches;
 * "click Send Invite ... The invitee will receive an email with instructions to accept". Only
 * members holding `members:invite` invite, and only with what they hold themselves.
 * @see issue 4, items 2 and 9
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  mailsTo,
  type SignedIn,
  type TestContext,
  uniqueEmail,
} from '../harness';
import { addMember, allowed, createAccount, createOrg, invite, inviteOne } from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };
let p1: { id: string };
let p2: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'permissions', 'Permissions Invites');
  p1 = await createAccount(ctx, owner, org.id, 'video', 'Project 1');
  p2 = await createAccount(ctx, owner, org.id, 'image', 'Project 2');
});
afterAll(async () => {
  await ctx?.close();
});

/** The invitation form: project checkboxes plus the billing and API switches. */
function form(projects: string[], switches: { billing?: boolean; api?: boolean } = {}) {
  return [
    { role: 'member', scope: org.id },
    ...projects.map((scope) => ({ role: 'project', scope })),
    ...(switches.billing ? [{ role: 'billing', scope: org.id }] : []),
    ...(switches.api ? [{ role: 'api-access', scope: org.id }] : []),
  ];
}

const accept = (token: string, who: SignedIn) =>
  ctx.request('POST', `/v1/invitations/${token}/accept`, { token: who.accessToken, body: {} });
const invitationCount = async () =>
  (
    await ctx.database.db
      .selectFrom('invitations')
      .select('id')
      .where('organization_id', '=', org.id)
      .execute()
  ).length;

describe('permissions: the owner', () => {
  it('invites with checked projects and both switches; the invitee holds exactly that', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(
      ctx,
      owner,
      org.id,
      invitee.email,
      form([p1.id], { billing: true, api: true }),
    );
    expect((await accept(token, invitee)).status).toBe(200);
    expect(await allowed(ctx, invitee, 'video.assets:create', p1.id)).toBe(true);
    expect(await allowed(ctx, invitee, 'image.sources:create', p2.id)).toBe(false);
    expect(await allowed(ctx, invitee, 'billing:manage', org.id)).toBe(true);
    expect(await allowed(ctx, invitee, 'api_keys:manage', org.id)).toBe(true);
  });

  it('with the switches off, the invitee sees no billing and no API keys', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email, form([p2.id]));
    await accept(token, invitee);
    expect(await allowed(ctx, invitee, 'billing:read', org.id)).toBe(false);
    expect(await allowed(ctx, invitee, 'api_keys:read', org.id)).toBe(false);
  });

  it('the mail lists the checked projects and switches in words', async () => {
    const email = uniqueEmail('perm-words');
    await inviteOne(ctx, owner, org.id, email, form([p1.id, p2.id], { billing: true }));
    const [mail] = await mailsTo(ctx, email);
    for (const line of [
      'Member on Permissions Invites',
      'Project on Project 1',
      'Project on Project 2',
      'Billing access on Permissions Invites',
    ])
      expect(mail!.body).toContain(line);
  });
});

describe('permissions: an admin (members:invite, no switches)', () => {
  const anAdmin = () => addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);

  it('invites with project checkboxes', async () => {
    const admin = await anAdmin();
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, admin, org.id, invitee.email, form([p1.id, p2.id]));
    await accept(token, invitee);
    expect(await allowed(ctx, invitee, 'image.sources:create', p2.id)).toBe(true);
  });

  it('cannot turn on the billing switch without holding it: 403, nothing written', async () => {
    const admin = await anAdmin();
    const before = await invitationCount();
    const res = await invite(ctx, admin, org.id, {
      emails: [uniqueEmail()],
      grants: form([p1.id], { billing: true }),
    });
    expectProblem(res, 403, 'forbidden');
    expect(await invitationCount()).toBe(before);
  });

  it('cannot turn on the API switch without holding it', async () => {
    const admin = await anAdmin();
    expectProblem(
      await invite(ctx, admin, org.id, {
        emails: [uniqueEmail()],
        grants: form([], { api: true }),
      }),
      403,
      'forbidden',
    );
  });

  it('with the billing switch, may pass it on', async () => {
    const admin = await addMember(ctx, owner, org.id, [
      { role: 'admin', scope: org.id },
      { role: 'billing', scope: org.id },
    ]);
    const res = await invite(ctx, admin, org.id, {
      emails: [uniqueEmail()],
      grants: form([], { billing: true }),
    });
    expect(res.body.results[0].status).toBe('invited');
  });
});

describe('permissions: members:invite decides', () => {
  it('a plain member (with projects and both switches) cannot invite', async () => {
    const member = await addMember(ctx, owner, org.id, form([p1.id], { billing: true, api: true }));
    expectProblem(
      await invite(ctx, member, org.id, { emails: [uniqueEmail()], grants: form([p1.id]) }),
      403,
      'forbidden',
    );
  });

  it('a member given members:invite inline may invite plain members, not give projects they lack', async () => {
    const inviter = await addMember(ctx, owner, org.id, [
      { permissions: ['organization:read', 'members:invite'], scope: org.id },
    ]);
    const ok = await invite(ctx, inviter, org.id, {
      emails: [uniqueEmail()],
      grants: [{ role: 'member', scope: org.id }],
    });
    expect(ok.body.results[0].status).toBe('invited');
    expectProblem(
      await invite(ctx, inviter, org.id, { emails: [uniqueEmail()], grants: form([p1.id]) }),
      403,
      'forbidden',
    );
  });

  it('members:invite on one project only: invites to that project, not organization-wide', async () => {
    const lead = await addMember(ctx, owner, org.id, [
      { role: 'member', scope: org.id },
      { role: 'project', scope: p1.id },
      { permissions: ['members:invite'], scope: p1.id },
    ]);
    const ok = await invite(ctx, lead, org.id, {
      emails: [uniqueEmail()],
      grants: [{ role: 'project', scope: p1.id }],
    });
    expect(ok.body.results[0].status).toBe('invited');
    expectProblem(
      await invite(ctx, lead, org.id, {
        emails: [uniqueEmail()],
        grants: [{ role: 'project', scope: p2.id }],
      }),
      403,
      'forbidden',
    );
    expectProblem(
      await invite(ctx, lead, org.id, { emails: [uniqueEmail()], grants: form([]) }),
      403,
      'forbidden',
    );
  });
});
