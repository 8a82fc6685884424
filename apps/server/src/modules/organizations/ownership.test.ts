/**
 * Transfer of ownership (organization and account): the current owner offers, an active member
 * accepts or declines, the owner may withdraw. Exactly one owner at every step (SPEC section 2).
 * @see issue 3, item 1
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import {
  addMember,
  allowed,
  answerOffer,
  auditRows,
  check,
  createAccount,
  createAccountOwnedBy,
  createOrg,
  offerOwnership,
  suspendMember,
} from '../../../test/seed';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

/** An organization of `template` with its owner and one member of each given role. */
async function orgWith(template: string, ...roles: string[]) {
  const owner = await ctx.signUp();
  const org = await createOrg(ctx, owner, template);
  const members: SignedIn[] = [];
  for (const role of roles)
    members.push(await addMember(ctx, owner, org.id, [{ role, scope: org.id }]));
  return { owner, org, members };
}

const getOrg = async (who: SignedIn, orgId: string) =>
  (await ctx.request('GET', `/v1/organizations/${orgId}`, { token: who.accessToken })).body;

describe('organization ownership: offer and accept', () => {
  it('moves ownership to the member who accepts', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant');
    const heir = members[0]!;
    const offer = await offerOwnership(ctx, owner, org.id, heir.userId);
    expect(offer.status).toBe(201);
    expect(offer.body).toMatchObject({
      subject_id: org.id,
      from_user_id: owner.userId,
      to_user_id: heir.userId,
      status: 'pending',
      resolved_at: null,
    });
    // Nothing moves until the offer is accepted.
    expect((await getOrg(owner, org.id)).owner_id).toBe(owner.userId);
    const accepted = await answerOffer(ctx, heir, org.id, offer.body.id);
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe('accepted');
    expect((await getOrg(heir, org.id)).owner_id).toBe(heir.userId);
    expect(await check(ctx, heir, 'organization:delete', org.id)).toEqual({
      allowed: true,
      reason: { kind: 'owner', scope: org.id },
    });
  });

  it('leaves the former owner an admin-level grant, not ownership', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant');
    const offer = await offerOwnership(ctx, owner, org.id, members[0]!.userId);
    await answerOffer(ctx, members[0]!, org.id, offer.body.id);
    expect(await check(ctx, owner, 'video.assets:create', org.id)).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'admin', scope: org.id },
    });
    expect(await allowed(ctx, owner, 'organization:delete', org.id)).toBe(false);
    const mine = await ctx.request('GET', '/v1/organizations', { token: owner.accessToken });
    expect(mine.body.data.find((o: { id: string }) => o.id === org.id)).toMatchObject({
      is_owner: false,
      membership_status: 'active',
    });
  });

  it('in a template whose admin cannot be held organization-wide, keeps all but deleting', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'accounts');
    const heir = await addMember(ctx, owner, org.id, []);
    const offer = await offerOwnership(ctx, owner, org.id, heir.userId);
    await answerOffer(ctx, heir, org.id, offer.body.id);
    expect(await allowed(ctx, owner, 'members:invite', org.id)).toBe(true);
    expect(await allowed(ctx, owner, 'organization:update', org.id)).toBe(true);
    expect(await allowed(ctx, owner, 'organization:delete', org.id)).toBe(false);
  });

  it('the new owner can hand it back, and the old owner can accept', async () => {
    const { owner, org, members } = await orgWith('team', 'admin');
    const heir = members[0]!;
    const first = await offerOwnership(ctx, owner, org.id, heir.userId);
    await answerOffer(ctx, heir, org.id, first.body.id);
    const back = await offerOwnership(ctx, heir, org.id, owner.userId);
    expect(back.status).toBe(201);
    expect((await answerOffer(ctx, owner, org.id, back.body.id)).status).toBe(200);
    expect((await getOrg(owner, org.id)).owner_id).toBe(owner.userId);
  });

  it('records the transfer in the audit log', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant');
    const offer = await offerOwnership(ctx, owner, org.id, members[0]!.userId);
    await answerOffer(ctx, members[0]!, org.id, offer.body.id);
    const rows = await auditRows(ctx, org.id, 'ownership.transferred');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.changes).toEqual({
      before: { owner_id: owner.userId },
      after: { owner_id: members[0]!.userId },
    });
  });

  it('lists the pending offer to both parties, and to nobody else', async () => {
    const { owner, org, members } = await orgWith('team', 'admin', 'admin');
    const [heir, bystander] = members as [SignedIn, SignedIn];
    const offer = await offerOwnership(ctx, owner, org.id, heir.userId);
    const url = `/v1/organizations/${org.id}/ownership-offers`;
    for (const who of [owner, heir]) {
      const res = await ctx.request('GET', url, { token: who.accessToken });
      expect(res.body.data.map((o: { id: string }) => o.id)).toEqual([offer.body.id]);
    }
    const res = await ctx.request('GET', url, { token: bystander.accessToken });
    expect(res.body.data).toEqual([]);
  });
});

describe('organization ownership: who may offer, to whom', () => {
  it('only the owner may offer: an admin gets 403', async () => {
    const { org, members } = await orgWith('team', 'admin', 'admin');
    expectProblem(
      await offerOwnership(ctx, members[0]!, org.id, members[1]!.userId),
      403,
      'forbidden',
    );
  });

  it('the target must be a member: a stranger is refused with 400', async () => {
    const { owner, org } = await orgWith('media');
    const stranger = await ctx.signUp();
    const res = await offerOwnership(ctx, owner, org.id, stranger.userId);
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors[0].path).toBe('body.user_id');
  });

  it('the target must be active: a suspended member is refused', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant');
    await suspendMember(ctx, owner, org.id, members[0]!.userId);
    expectProblem(
      await offerOwnership(ctx, owner, org.id, members[0]!.userId),
      400,
      'validation_failed',
    );
  });

  it('offering it to oneself is a conflict', async () => {
    const { owner, org } = await orgWith('media');
    expectProblem(await offerOwnership(ctx, owner, org.id, owner.userId), 409, 'conflict');
  });

  it('a second pending offer is refused with 409 until the first is withdrawn', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant', 'accountant');
    const first = await offerOwnership(ctx, owner, org.id, members[0]!.userId);
    expect(first.status).toBe(201);
    expectProblem(await offerOwnership(ctx, owner, org.id, members[1]!.userId), 409, 'conflict');
    await ctx.request('DELETE', `/v1/organizations/${org.id}/ownership-offers/${first.body.id}`, {
      token: owner.accessToken,
    });
    expect((await offerOwnership(ctx, owner, org.id, members[1]!.userId)).status).toBe(201);
  });

  it('a non-member gets 404', async () => {
    const { org, members } = await orgWith('media', 'accountant');
    const stranger = await ctx.signUp();
    expectProblem(
      await offerOwnership(ctx, stranger, org.id, members[0]!.userId),
      404,
      'not_found',
    );
  });
});

describe('organization ownership: decline, withdraw, stale offers', () => {
  it('the member declines: nothing moves, and the offer cannot be accepted after', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant');
    const heir = members[0]!;
    const offer = await offerOwnership(ctx, owner, org.id, heir.userId);
    const declined = await answerOffer(ctx, heir, org.id, offer.body.id, 'decline');
    expect(declined.status).toBe(200);
    expect(declined.body.status).toBe('declined');
    expectProblem(await answerOffer(ctx, heir, org.id, offer.body.id), 409, 'conflict');
    expect((await getOrg(owner, org.id)).owner_id).toBe(owner.userId);
  });

  it('the owner withdraws: the member can no longer accept', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant');
    const heir = members[0]!;
    const offer = await offerOwnership(ctx, owner, org.id, heir.userId);
    const withdrawn = await ctx.request(
      'DELETE',
      `/v1/organizations/${org.id}/ownership-offers/${offer.body.id}`,
      { token: owner.accessToken },
    );
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.status).toBe('withdrawn');
    expectProblem(await answerOffer(ctx, heir, org.id, offer.body.id), 409, 'conflict');
    expect((await getOrg(owner, org.id)).owner_id).toBe(owner.userId);
  });

  it('only the offered member may accept or decline; only the offerer may withdraw', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant', 'admin');
    const [heir, other] = members as [SignedIn, SignedIn];
    const offer = await offerOwnership(ctx, owner, org.id, heir.userId);
    expectProblem(await answerOffer(ctx, other, org.id, offer.body.id), 404, 'not_found');
    expectProblem(await answerOffer(ctx, owner, org.id, offer.body.id), 404, 'not_found');
    expectProblem(
      await answerOffer(ctx, other, org.id, offer.body.id, 'decline'),
      404,
      'not_found',
    );
    expectProblem(
      await ctx.request('DELETE', `/v1/organizations/${org.id}/ownership-offers/${offer.body.id}`, {
        token: heir.accessToken,
      }),
      404,
      'not_found',
    );
    expect((await answerOffer(ctx, heir, org.id, offer.body.id)).status).toBe(200);
  });

  it('an offer accepted once cannot be accepted again', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant');
    const offer = await offerOwnership(ctx, owner, org.id, members[0]!.userId);
    await answerOffer(ctx, members[0]!, org.id, offer.body.id);
    expectProblem(await answerOffer(ctx, members[0]!, org.id, offer.body.id), 409, 'conflict');
  });

  it('a stale offer, after a different transfer went through, is refused with 409', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant', 'accountant');
    const [b, c] = members as [SignedIn, SignedIn];
    const toB = await offerOwnership(ctx, owner, org.id, b.userId);
    await ctx.request('DELETE', `/v1/organizations/${org.id}/ownership-offers/${toB.body.id}`, {
      token: owner.accessToken,
    });
    const toC = await offerOwnership(ctx, owner, org.id, c.userId);
    await answerOffer(ctx, c, org.id, toC.body.id);
    expectProblem(await answerOffer(ctx, b, org.id, toB.body.id), 409, 'conflict');
    expect((await getOrg(b, org.id)).owner_id).toBe(c.userId);
  });

  it('an offer made by a former owner is refused with 409 and ends withdrawn (concurrent transfer)', async () => {
    // Two nodes: the offer to B is pending when another transfer (to C) commits elsewhere. No
    // API sequence on one node reaches this (one pending offer per subject), so the other
    // node's commit is written directly.
    const { owner, org, members } = await orgWith('media', 'accountant', 'accountant');
    const [b, c] = members as [SignedIn, SignedIn];
    const toB = await offerOwnership(ctx, owner, org.id, b.userId);
    await ctx.database.db
      .updateTable('organizations')
      .set({ owner_user_id: c.userId })
      .where('id', '=', org.id)
      .execute();
    expectProblem(await answerOffer(ctx, b, org.id, toB.body.id), 409, 'conflict');
    const offer = await ctx.database.db
      .selectFrom('ownership_offers')
      .select('status')
      .where('id', '=', toB.body.id)
      .executeTakeFirstOrThrow();
    // The refused acceptance must not be recorded as "accepted": nothing moved.
    expect(offer.status).toBe('withdrawn');
    expect(await auditRows(ctx, org.id, 'ownership.transferred')).toEqual([]);
    const rows = await ctx.database.db
      .selectFrom('organizations')
      .select('owner_user_id')
      .where('id', '=', org.id)
      .executeTakeFirstOrThrow();
    expect(rows.owner_user_id).toBe(c.userId);
  });

  it('removing the offered member withdraws the offer and frees the slot', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant', 'accountant');
    const [b, c] = members as [SignedIn, SignedIn];
    const toB = await offerOwnership(ctx, owner, org.id, b.userId);
    const removed = await ctx.request('DELETE', `/v1/organizations/${org.id}/members/${b.userId}`, {
      token: owner.accessToken,
    });
    expect(removed.status).toBe(204);
    expectProblem(await answerOffer(ctx, b, org.id, toB.body.id), 404, 'not_found');
    expect((await offerOwnership(ctx, owner, org.id, c.userId)).status).toBe(201);
  });

  it("another organization's offer through this organization's path is 404", async () => {
    const one = await orgWith('media', 'accountant');
    const two = await orgWith('media');
    // The heir of `one` joins `two` as well, and tries to accept `one`'s offer through `two`.
    const heir = one.members[0]!;
    await ctx.request('POST', `/v1/organizations/${two.org.id}/members`, {
      token: two.owner.accessToken,
      body: { email: heir.email, grants: [] },
    });
    const offer = await offerOwnership(ctx, one.owner, one.org.id, heir.userId);
    expectProblem(await answerOffer(ctx, heir, two.org.id, offer.body.id), 404, 'not_found');
    expect((await getOrg(two.owner, two.org.id)).owner_id).toBe(two.owner.userId);
    expect((await getOrg(one.owner, one.org.id)).owner_id).toBe(one.owner.userId);
  });

  it('an unknown offer id is 404', async () => {
    const { org, members } = await orgWith('media', 'accountant');
    expectProblem(
      await answerOffer(ctx, members[0]!, org.id, 'tok_00000000000000000000000000'),
      404,
      'not_found',
    );
  });
});

describe('account ownership', () => {
  it('the creator owns a new account by default', async () => {
    const { owner, org } = await orgWith('media');
    const acc = await createAccount(ctx, owner, org.id);
    expect(acc.owner_id).toBe(owner.userId);
  });

  it('moves to the member who accepts, who then holds everything within it', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant');
    const heir = members[0]!;
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const other = await createAccount(ctx, owner, org.id, 'video');
    const offer = await offerOwnership(ctx, owner, org.id, heir.userId, acc.id);
    expect(offer.status).toBe(201);
    expect(offer.body.subject_id).toBe(acc.id);
    expect((await answerOffer(ctx, heir, org.id, offer.body.id)).status).toBe(200);
    const got = await ctx.request('GET', `/v1/organizations/${org.id}/accounts/${acc.id}`, {
      token: heir.accessToken,
    });
    expect(got.body.owner_id).toBe(heir.userId);
    expect(await check(ctx, heir, 'video.assets:delete', acc.id)).toEqual({
      allowed: true,
      reason: { kind: 'owner', scope: acc.id },
    });
    expect(await allowed(ctx, heir, 'video.assets:delete', other.id)).toBe(false);
    // The organization owner still holds every right over the account.
    expect(await allowed(ctx, owner, 'accounts:delete', acc.id)).toBe(true);
  });

  it('the account owner may offer it on; a former account owner keeps a grant on it', async () => {
    const { owner, org, members } = await orgWith('reseller', 'member', 'member');
    const [first, second] = members as [SignedIn, SignedIn];
    const acc = await createAccountOwnedBy(ctx, owner, org.id, first.userId, 'meeting');
    const offer = await offerOwnership(ctx, first, org.id, second.userId, acc.id);
    expect(offer.status).toBe(201);
    expect(offer.body.from_user_id).toBe(first.userId);
    await answerOffer(ctx, second, org.id, offer.body.id);
    expect((await check(ctx, second, 'meeting.rooms:delete', acc.id)).reason.kind).toBe('owner');
    const kept = await check(ctx, first, 'meeting.rooms:delete', acc.id);
    expect(kept.allowed).toBe(true);
    expect(kept.reason.kind).toBe('grant');
  });

  it('the organization owner may offer an account someone else owns', async () => {
    const { owner, org, members } = await orgWith('reseller', 'member', 'member');
    const [first, second] = members as [SignedIn, SignedIn];
    const acc = await createAccountOwnedBy(ctx, owner, org.id, first.userId, 'meeting');
    const offer = await offerOwnership(ctx, owner, org.id, second.userId, acc.id);
    expect(offer.status).toBe(201);
    expect(offer.body.from_user_id).toBe(first.userId);
  });

  it('nobody else may offer it: 403', async () => {
    const { owner, org, members } = await orgWith('media', 'admin', 'accountant');
    const [admin, accountant] = members as [SignedIn, SignedIn];
    const acc = await createAccount(ctx, owner, org.id);
    expectProblem(
      await offerOwnership(ctx, admin, org.id, accountant.userId, acc.id),
      403,
      'forbidden',
    );
  });

  it("another organization's account through this organization's path is 404", async () => {
    const { owner, org, members } = await orgWith('media', 'accountant');
    const elsewhere = await orgWith('media');
    const foreign = await createAccount(ctx, elsewhere.owner, elsewhere.org.id);
    expectProblem(
      await offerOwnership(ctx, owner, org.id, members[0]!.userId, foreign.id),
      404,
      'not_found',
    );
  });

  it('deleting the account withdraws its pending offer', async () => {
    const { owner, org, members } = await orgWith('media', 'accountant');
    const acc = await createAccount(ctx, owner, org.id);
    const offer = await offerOwnership(ctx, owner, org.id, members[0]!.userId, acc.id);
    await ctx.request('DELETE', `/v1/organizations/${org.id}/accounts/${acc.id}`, {
      token: owner.accessToken,
    });
    expectProblem(await answerOffer(ctx, members[0]!, org.id, offer.body.id), 409, 'conflict');
  });
});
