/**
 * Accounts and resources: create, list (only what the caller may read), get, update, delete,
 * nesting, tenant isolation, and what deleting does to grants (SPEC sections 1, 5; issue 3,
 * item 2). Account ownership transfer is in organizations/ownership.test.ts.
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
  auditRows,
  createAccount,
  createAccountOwnedBy,
  createOrg,
  createResource,
  sorted,
  visibleAccountIds,
} from '../../../test/seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };
let video: { id: string };
let image: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'media');
  video = await createAccount(ctx, owner, org.id, 'video', 'Video');
  image = await createAccount(ctx, owner, org.id, 'image', 'Image');
});
afterAll(async () => {
  await ctx?.close();
});

const accounts = (orgId = org.id) => `/v1/organizations/${orgId}/accounts`;

describe('create', () => {
  it('creates an account of a product, owned by its creator', async () => {
    const res = await ctx.request('POST', accounts(), {
      token: owner.accessToken,
      body: { name: 'Meetings', product: 'meeting' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      organization_id: org.id,
      name: 'Meetings',
      product: 'meeting',
      owner_id: owner.userId,
    });
    expect(res.body.id).toMatch(/^acc_[0-9a-z]{26}$/);
    expect(await auditRows(ctx, org.id, 'account.created')).toContainEqual(
      expect.objectContaining({ target_id: res.body.id, actor_id: owner.userId }),
    );
  });

  it('refuses an unknown product with 400 and creates nothing', async () => {
    const before = await visibleAccountIds(ctx, owner, org.id);
    const res = await ctx.request('POST', accounts(), {
      token: owner.accessToken,
      body: { name: 'Audio', product: 'audio' },
    });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors[0].path).toBe('body.product');
    expect(await visibleAccountIds(ctx, owner, org.id)).toEqual(before);
  });

  it('a member with accounts:create owns what they create', async () => {
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const acc = await createAccount(ctx, admin, org.id, 'image', 'Admin image');
    expect(acc.owner_id).toBe(admin.userId);
  });

  it('names another active member as owner', async () => {
    const member = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const acc = await createAccountOwnedBy(ctx, owner, org.id, member.userId);
    expect(acc.owner_id).toBe(member.userId);
    expect(await allowed(ctx, member, 'video.assets:delete', acc.id)).toBe(true);
  });

  it('refuses an owner who is not a member (400)', async () => {
    const stranger = await ctx.signUp();
    const res = await ctx.request('POST', accounts(), {
      token: owner.accessToken,
      body: { name: 'Gift', product: 'video', owner_id: stranger.userId },
    });
    expectProblem(res, 400, 'validation_failed');
    expect(await allowed(ctx, stranger, 'accounts:read', video.id)).toBe(false);
  });

  it('needs accounts:create: an accountant gets 403, a stranger 404', async () => {
    const accountant = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const stranger = await ctx.signUp();
    const body = { name: 'Nope', product: 'video' };
    expectProblem(
      await ctx.request('POST', accounts(), { token: accountant.accessToken, body }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('POST', accounts(), { token: stranger.accessToken, body }),
      404,
      'not_found',
    );
  });
});

describe('list', () => {
  it('shows the owner every account', async () => {
    const ids = await visibleAccountIds(ctx, owner, org.id);
    expect(ids).toEqual(expect.arrayContaining([video.id, image.id]));
  });

  it('shows a member only the accounts they may read', async () => {
    const analyst = await addMember(ctx, owner, org.id, [
      { role: 'image-analyst', scope: image.id },
    ]);
    expect(await visibleAccountIds(ctx, analyst, org.id)).toEqual([image.id]);
  });

  it('shows a member with no account grant an empty list, not an error', async () => {
    const accountant = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    expect(await visibleAccountIds(ctx, accountant, org.id)).toEqual([]);
  });

  it('pages through visible accounts only, each once', async () => {
    const me = await ctx.signUp();
    const mine = await createOrg(ctx, me, 'accounts');
    const all = [];
    for (let i = 0; i < 7; i++) all.push((await createAccount(ctx, me, mine.id, 'video')).id);
    const picked = [all[1]!, all[3]!, all[4]!, all[6]!];
    const viewer = await addMember(
      ctx,
      me,
      mine.id,
      picked.map((scope) => ({ role: 'viewer', scope })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await ctx.request(
        'GET',
        `${accounts(mine.id)}?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        { token: viewer.accessToken },
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((a: { id: string }) => a.id));
      cursor = res.body.next_cursor;
      if (!cursor) break;
    }
    expect(seen.sort()).toEqual(sorted(picked));
  });

  it('is 404 for a non-member', async () => {
    const stranger = await ctx.signUp();
    expectProblem(
      await ctx.request('GET', accounts(), { token: stranger.accessToken }),
      404,
      'not_found',
    );
  });
});

describe('get, update, delete', () => {
  it('gets an account with accounts:read there', async () => {
    const analyst = await addMember(ctx, owner, org.id, [{ role: 'video-analyst', scope: org.id }]);
    const res = await ctx.request('GET', `${accounts()}/${video.id}`, {
      token: analyst.accessToken,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: video.id, product: 'video' });
  });

  it('renames with accounts:update; the next read sees it', async () => {
    const acc = await createAccount(ctx, owner, org.id, 'video', 'Before');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const res = await ctx.request('PATCH', `${accounts()}/${acc.id}`, {
      token: admin.accessToken,
      body: { name: 'After' },
    });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('After');
    const got = await ctx.request('GET', `${accounts()}/${acc.id}`, { token: owner.accessToken });
    expect(got.body.name).toBe('After');
    expect(await auditRows(ctx, org.id, 'account.updated')).toContainEqual(
      expect.objectContaining({ target_id: acc.id, actor_id: admin.userId }),
    );
  });

  it('refuses a rename without accounts:update with 403', async () => {
    const analyst = await addMember(ctx, owner, org.id, [{ role: 'video-analyst', scope: org.id }]);
    expectProblem(
      await ctx.request('PATCH', `${accounts()}/${video.id}`, {
        token: analyst.accessToken,
        body: { name: 'Mine' },
      }),
      403,
      'forbidden',
    );
  });

  it('deletes with accounts:delete; the account is then 404', async () => {
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const res = await ctx.request('DELETE', `${accounts()}/${acc.id}`, {
      token: owner.accessToken,
    });
    expect(res.status).toBe(204);
    expectProblem(
      await ctx.request('GET', `${accounts()}/${acc.id}`, { token: owner.accessToken }),
      404,
      'not_found',
    );
    expect(await visibleAccountIds(ctx, owner, org.id)).not.toContain(acc.id);
  });

  it('refuses a delete without accounts:delete with 403, and the account stays', async () => {
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const dev = await addMember(ctx, owner, org.id, [{ role: 'video-developer', scope: org.id }]);
    expectProblem(
      await ctx.request('DELETE', `${accounts()}/${acc.id}`, { token: dev.accessToken }),
      403,
      'forbidden',
    );
    expect(
      (await ctx.request('GET', `${accounts()}/${acc.id}`, { token: owner.accessToken })).status,
    ).toBe(200);
  });

  it('answers 404 for an account id that does not exist', async () => {
    const missing = 'acc_00000000000000000000000000';
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      expectProblem(
        await ctx.request(method, `${accounts()}/${missing}`, {
          token: owner.accessToken,
          ...(method === 'PATCH' ? { body: { name: 'x' } } : {}),
        }),
        404,
        'not_found',
      );
    }
  });

  it('the account owner holds everything within the account, and nothing else', async () => {
    const member = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const acc = await createAccountOwnedBy(ctx, owner, org.id, member.userId, 'image');
    const res = await createResource(ctx, member, org.id, acc.id, 'source');
    for (const scope of [acc.id, res.id]) {
      for (const p of ['image.sources:delete', 'resources:delete', 'accounts:update']) {
        expect(await allowed(ctx, member, p, scope)).toBe(true);
      }
    }
    expect(await allowed(ctx, member, 'image.sources:delete', image.id)).toBe(false);
    const del = await ctx.request('DELETE', `${accounts()}/${acc.id}`, {
      token: member.accessToken,
    });
    expect(del.status).toBe(204);
  });
});

describe('tenant isolation', () => {
  it("another organization's account through this organization's path is 404, for every verb", async () => {
    const other = await ctx.signUp();
    const theirs = await createOrg(ctx, other);
    const foreign = await createAccount(ctx, other, theirs.id, 'video', 'Foreign');
    const url = `${accounts()}/${foreign.id}`;
    for (const [method, path, body] of [
      ['GET', url, undefined],
      ['PATCH', url, { name: 'Stolen' }],
      ['DELETE', url, undefined],
      ['GET', `${url}/resources`, undefined],
    ] as const) {
      expectProblem(
        await ctx.request(method, path, { token: owner.accessToken, body }),
        404,
        'not_found',
      );
    }
    expectProblem(
      await ctx.request('POST', `${url}/resources`, {
        token: owner.accessToken,
        body: { name: 'Planted', type: 'room' },
      }),
      404,
      'not_found',
    );
    const still = await ctx.request('GET', `${accounts(theirs.id)}/${foreign.id}`, {
      token: other.accessToken,
    });
    expect(still.body.name).toBe('Foreign');
  });

  it("another organization's resource through this organization's path is 404", async () => {
    const other = await ctx.signUp();
    const theirs = await createOrg(ctx, other);
    const foreignAcc = await createAccount(ctx, other, theirs.id);
    const foreign = await createResource(ctx, other, theirs.id, foreignAcc.id);
    for (const accountId of [video.id, foreignAcc.id]) {
      expectProblem(
        await ctx.request('GET', `${accounts()}/${accountId}/resources/${foreign.id}`, {
          token: owner.accessToken,
        }),
        404,
        'not_found',
      );
    }
  });

  it("a resource of account A through account B's path is 404", async () => {
    const res = await createResource(ctx, owner, org.id, video.id, 'folder');
    expectProblem(
      await ctx.request('GET', `${accounts()}/${image.id}/resources/${res.id}`, {
        token: owner.accessToken,
      }),
      404,
      'not_found',
    );
    expectProblem(
      await ctx.request('PATCH', `${accounts()}/${image.id}/resources/${res.id}`, {
        token: owner.accessToken,
        body: { name: 'moved?' },
      }),
      404,
      'not_found',
    );
  });

  it("the other organization does not list this one's accounts", async () => {
    const other = await ctx.signUp();
    const theirs = await createOrg(ctx, other);
    expect(await visibleAccountIds(ctx, other, theirs.id)).toEqual([]);
  });
});

describe('resources', () => {
  it('creates, lists, renames and deletes a resource', async () => {
    const base = `${accounts()}/${video.id}/resources`;
    const created = await ctx.request('POST', base, {
      token: owner.accessToken,
      body: { name: 'Trailers', type: 'collection' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      account_id: video.id,
      organization_id: org.id,
      parent_id: null,
      type: 'collection',
    });
    const id = created.body.id;
    const list = await ctx.request('GET', base, { token: owner.accessToken });
    expect(list.body.data.map((r: { id: string }) => r.id)).toContain(id);
    const renamed = await ctx.request('PATCH', `${base}/${id}`, {
      token: owner.accessToken,
      body: { name: 'Teasers' },
    });
    expect(renamed.body.name).toBe('Teasers');
    expect(
      (await ctx.request('DELETE', `${base}/${id}`, { token: owner.accessToken })).status,
    ).toBe(204);
    expectProblem(
      await ctx.request('GET', `${base}/${id}`, { token: owner.accessToken }),
      404,
      'not_found',
    );
  });

  it('nests one level: a child of a top-level resource is fine', async () => {
    const parent = await createResource(ctx, owner, org.id, video.id, 'folder', 'Parent');
    const res = await ctx.request('POST', `${accounts()}/${video.id}/resources`, {
      token: owner.accessToken,
      body: { name: 'Child', type: 'folder', parent_id: parent.id },
    });
    expect(res.status).toBe(201);
    expect(res.body.parent_id).toBe(parent.id);
  });

  it('refuses a second level of nesting with 400', async () => {
    const parent = await createResource(ctx, owner, org.id, video.id, 'folder', 'Top');
    const child = await ctx.request('POST', `${accounts()}/${video.id}/resources`, {
      token: owner.accessToken,
      body: { name: 'Child', type: 'folder', parent_id: parent.id },
    });
    const res = await ctx.request('POST', `${accounts()}/${video.id}/resources`, {
      token: owner.accessToken,
      body: { name: 'Grandchild', type: 'folder', parent_id: child.body.id },
    });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors[0].path).toBe('body.parent_id');
  });

  it('refuses a parent from another account with 400', async () => {
    const parent = await createResource(ctx, owner, org.id, image.id, 'folder');
    expectProblem(
      await ctx.request('POST', `${accounts()}/${video.id}/resources`, {
        token: owner.accessToken,
        body: { name: 'Child', type: 'folder', parent_id: parent.id },
      }),
      400,
      'validation_failed',
    );
  });

  it('deleting a parent deletes its children and the grants on them', async () => {
    const parent = await createResource(ctx, owner, org.id, video.id, 'folder', 'P');
    const child = await ctx.request('POST', `${accounts()}/${video.id}/resources`, {
      token: owner.accessToken,
      body: { name: 'C', type: 'folder', parent_id: parent.id },
    });
    const member = await addMember(ctx, owner, org.id, [
      { role: 'video-source-specific', scope: child.body.id },
    ]);
    expect(await allowed(ctx, member, 'video.assets:read', child.body.id)).toBe(true);
    await ctx.request('DELETE', `${accounts()}/${video.id}/resources/${parent.id}`, {
      token: owner.accessToken,
    });
    expectProblem(
      await ctx.request('GET', `${accounts()}/${video.id}/resources/${child.body.id}`, {
        token: owner.accessToken,
      }),
      404,
      'not_found',
    );
    const grants = await ctx.request(
      'GET',
      `/v1/organizations/${org.id}/members/${member.userId}/grants`,
      { token: owner.accessToken },
    );
    expect(grants.body.data).toEqual([]);
  });

  it('lists only the resources the caller may read', async () => {
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const a = await createResource(ctx, owner, org.id, acc.id, 'collection', 'A');
    await createResource(ctx, owner, org.id, acc.id, 'collection', 'B');
    const member = await addMember(ctx, owner, org.id, [
      { role: 'video-source-specific', scope: a.id },
    ]);
    const list = await ctx.request('GET', `${accounts()}/${acc.id}/resources`, {
      token: member.accessToken,
    });
    expect(list.status).toBe(200);
    expect(list.body.data.map((r: { id: string }) => r.id)).toEqual([a.id]);
  });

  it('needs resources:create in the account: a video analyst gets 403', async () => {
    const analyst = await addMember(ctx, owner, org.id, [{ role: 'video-analyst', scope: org.id }]);
    expectProblem(
      await ctx.request('POST', `${accounts()}/${video.id}/resources`, {
        token: analyst.accessToken,
        body: { name: 'No', type: 'room' },
      }),
      403,
      'forbidden',
    );
  });
});

describe('deleting an account', () => {
  it('removes the grants on it: the member then holds nothing there', async () => {
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const member = await addMember(ctx, owner, org.id, [
      { role: 'video-developer', scope: acc.id },
      { role: 'accountant', scope: org.id },
    ]);
    expect(await allowed(ctx, member, 'video.assets:create', acc.id)).toBe(true);
    await ctx.request('DELETE', `${accounts()}/${acc.id}`, { token: owner.accessToken });
    expect(await allowed(ctx, member, 'video.assets:create', acc.id)).toBe(false);
    const grants = await ctx.request(
      'GET',
      `/v1/organizations/${org.id}/members/${member.userId}/grants`,
      { token: owner.accessToken },
    );
    expect(grants.body.data).toEqual([
      expect.objectContaining({ role: 'accountant', scope: org.id }),
    ]);
  });

  it('removes the grants on its resources too', async () => {
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const res = await createResource(ctx, owner, org.id, acc.id);
    const member = await addMember(ctx, owner, org.id, [
      { role: 'video-source-specific', scope: res.id },
    ]);
    await ctx.request('DELETE', `${accounts()}/${acc.id}`, { token: owner.accessToken });
    const grants = await ctx.request(
      'GET',
      `/v1/organizations/${org.id}/members/${member.userId}/grants`,
      { token: owner.accessToken },
    );
    expect(grants.body.data).toEqual([]);
    expect(await allowed(ctx, member, 'video.assets:read', res.id)).toBe(false);
  });

  it('ends the ownership it carried', async () => {
    const member = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const acc = await createAccountOwnedBy(ctx, owner, org.id, member.userId, 'video');
    expect(await allowed(ctx, member, 'accounts:delete', acc.id)).toBe(true);
    await ctx.request('DELETE', `${accounts()}/${acc.id}`, { token: owner.accessToken });
    expect(await visibleAccountIds(ctx, member, org.id)).toEqual([]);
  });
});
