/**
 * The `reseller` template's story (source 001): a customer (organization) owner and account
 * owners, who "have all the possible permissions" and "are the only user who can send
 * invitations"; members associated with the customer, with accounts and with rooms, each
 * association with its own checked permissions (inline grants).
 * @see issue 3, item 8
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, expectProblem, type SignedIn, type TestContext } from '../harness';
import {
  addExisting,
  addMember,
  allowed,
  check,
  createAccount,
  createAccountOwnedBy,
  createOrg,
  createResource,
  sorted,
  visibleAccountIds,
} from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let accountOwner: SignedIn;
let org: { id: string };
let meetings: { id: string };
let streaming: { id: string };
let room1: { id: string };
let room2: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'reseller', 'Reseller Customer');
  accountOwner = await addMember(ctx, owner, org.id, [{ role: 'member', scope: org.id }]);
  meetings = await createAccountOwnedBy(ctx, owner, org.id, accountOwner.userId, 'meeting');
  streaming = await createAccount(ctx, owner, org.id, 'video', 'Streaming');
  room1 = await createResource(ctx, owner, org.id, meetings.id, 'room', 'Room 1');
  room2 = await createResource(ctx, owner, org.id, meetings.id, 'room', 'Room 2');
});
afterAll(async () => {
  await ctx?.close();
});

describe('reseller: inline grants at each level', () => {
  it('at the customer: the checked permissions hold on every account', async () => {
    const member = await addMember(ctx, owner, org.id, [
      { permissions: ['organization:read', 'accounts:read', 'meeting.rooms:read'], scope: org.id },
    ]);
    expect(await visibleAccountIds(ctx, member, org.id)).toEqual(
      sorted([meetings.id, streaming.id]),
    );
    expect(await check(ctx, member, 'meeting.rooms:read', room1.id)).toEqual({
      allowed: true,
      reason: {
        kind: 'grant',
        permissions: ['organization:read', 'accounts:read', 'meeting.rooms:read'],
        scope: org.id,
      },
    });
    expect(await allowed(ctx, member, 'meeting.rooms:create', room1.id)).toBe(false);
  });

  it('at an account: its rooms included, other accounts not', async () => {
    const member = await addMember(ctx, owner, org.id, [
      { permissions: ['accounts:read', 'meeting.rooms:create'], scope: meetings.id },
    ]);
    expect(await allowed(ctx, member, 'meeting.rooms:create', meetings.id)).toBe(true);
    expect(await allowed(ctx, member, 'meeting.rooms:create', room2.id)).toBe(true);
    expect(await allowed(ctx, member, 'accounts:read', streaming.id)).toBe(false);
    expect(await allowed(ctx, member, 'organization:read', org.id)).toBe(false);
    expect(await visibleAccountIds(ctx, member, org.id)).toEqual([meetings.id]);
  });

  it('at a room: that room only, not its account nor the next room', async () => {
    const member = await addMember(ctx, owner, org.id, [
      { permissions: ['meeting.rooms:read', 'meeting.rooms:update'], scope: room1.id },
    ]);
    expect(await allowed(ctx, member, 'meeting.rooms:update', room1.id)).toBe(true);
    expect(await allowed(ctx, member, 'meeting.rooms:update', room2.id)).toBe(false);
    expect(await allowed(ctx, member, 'meeting.rooms:read', meetings.id)).toBe(false);
  });

  it('one member with different permissions at each level', async () => {
    const member = await addMember(ctx, owner, org.id, [
      { permissions: ['organization:read'], scope: org.id },
      { permissions: ['accounts:read'], scope: streaming.id },
      { permissions: ['meeting.rooms:delete'], scope: room2.id },
    ]);
    expect(await allowed(ctx, member, 'organization:read', org.id)).toBe(true);
    expect(await allowed(ctx, member, 'accounts:read', streaming.id)).toBe(true);
    expect(await allowed(ctx, member, 'accounts:read', meetings.id)).toBe(false);
    expect(await allowed(ctx, member, 'meeting.rooms:delete', room2.id)).toBe(true);
    expect(await allowed(ctx, member, 'meeting.rooms:delete', room1.id)).toBe(false);
  });

  it('an unknown permission in a checklist is refused', async () => {
    const user = await ctx.signUp();
    const res = await addExisting(ctx, owner, org.id, user.email, [
      { permissions: ['meeting.rooms:fly'], scope: meetings.id },
    ]);
    expectProblem(res, 400, 'validation_failed');
  });
});

describe('reseller: only owners add people', () => {
  it('the customer owner adds anyone anywhere', async () => {
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, owner, org.id, newcomer.email, [
      { permissions: ['meeting.rooms:read'], scope: room1.id },
      { role: 'member', scope: org.id },
    ]);
    expect(res.status).toBe(201);
  });

  it('a member holding members:invite is still refused: owners only', async () => {
    const member = await addMember(ctx, owner, org.id, [
      { permissions: ['organization:read', 'members:read', 'members:invite'], scope: org.id },
    ]);
    const newcomer = await ctx.signUp();
    expectProblem(
      await addExisting(ctx, member, org.id, newcomer.email, [
        { permissions: ['organization:read'], scope: org.id },
      ]),
      403,
      'forbidden',
    );
  });

  it('an account owner adds people to their account', async () => {
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, accountOwner, org.id, newcomer.email, [
      { permissions: ['meeting.rooms:read', 'meeting.rooms:create'], scope: meetings.id },
      { permissions: ['meeting.rooms:delete'], scope: room1.id },
    ]);
    expect(res.status).toBe(201);
    expect(await allowed(ctx, newcomer, 'meeting.rooms:create', room2.id)).toBe(true);
    expect(await allowed(ctx, newcomer, 'meeting.rooms:delete', room1.id)).toBe(true);
  });

  it('an account owner cannot add people to another account or to the customer', async () => {
    const newcomer = await ctx.signUp();
    expectProblem(
      await addExisting(ctx, accountOwner, org.id, newcomer.email, [
        { permissions: ['accounts:read'], scope: streaming.id },
      ]),
      403,
      'forbidden',
    );
    expectProblem(
      await addExisting(ctx, accountOwner, org.id, newcomer.email, [
        { role: 'member', scope: org.id },
      ]),
      403,
      'forbidden',
    );
    expectProblem(
      await addExisting(ctx, accountOwner, org.id, newcomer.email, []),
      403,
      'forbidden',
    );
  });
});

describe('reseller: owners hold everything where they own', () => {
  it('the account owner holds every permission within the account', async () => {
    for (const scope of [meetings.id, room1.id]) {
      expect(await check(ctx, accountOwner, 'meeting.rooms:delete', scope)).toEqual({
        allowed: true,
        reason: { kind: 'owner', scope: meetings.id },
      });
    }
    expect(await allowed(ctx, accountOwner, 'accounts:delete', meetings.id)).toBe(true);
  });

  it('the account owner holds nothing beyond it', async () => {
    expect(await allowed(ctx, accountOwner, 'accounts:read', streaming.id)).toBe(false);
    expect(await allowed(ctx, accountOwner, 'organization:update', org.id)).toBe(false);
    expect(await allowed(ctx, accountOwner, 'billing:read', org.id)).toBe(false);
  });

  it("the customer owner holds all privileges over every account, the customer's own", async () => {
    expect(await check(ctx, owner, 'meeting.rooms:delete', room2.id)).toEqual({
      allowed: true,
      reason: { kind: 'owner', scope: org.id },
    });
  });

  it('the account owner manages the account through the API', async () => {
    const base = `/v1/organizations/${org.id}/accounts/${meetings.id}`;
    const renamed = await ctx.request('PATCH', base, {
      token: accountOwner.accessToken,
      body: { name: 'Meetings' },
    });
    expect(renamed.status).toBe(200);
    const room = await createResource(ctx, accountOwner, org.id, meetings.id, 'room', 'Room 3');
    expect(room.account_id).toBe(meetings.id);
  });
});
