/**
 * The `media` template's story (source 000 and SPEC section 3): an image + video platform where
 * the owner alone adds users, sees billing details and API keys; admin = developer + analyst +
 * accountant for both products; per-product developer/analyst/admin roles that give nothing on
 * the other product; source-specific roles granted on single collections (accounts).
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
  createOrg,
  createResource,
  permissionsAt,
  sorted,
  visibleAccountIds,
} from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };
let video: { id: string };
let video2: { id: string };
let image: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'media', 'Media Story');
  video = await createAccount(ctx, owner, org.id, 'video', 'Video collection A');
  video2 = await createAccount(ctx, owner, org.id, 'video', 'Video collection B');
  image = await createAccount(ctx, owner, org.id, 'image', 'Image source');
});
afterAll(async () => {
  await ctx?.close();
});

const orgGrant = (role: string) => [{ role, scope: org.id }];

describe('media: video-developer', () => {
  it('creates and deletes video assets and profiles on every video account', async () => {
    const dev = await addMember(ctx, owner, org.id, orgGrant('video-developer'));
    for (const acc of [video, video2]) {
      for (const p of [
        'video.assets:create',
        'video.assets:delete',
        'video.profiles:create',
        'video.profiles:delete',
      ]) {
        expect(await check(ctx, dev, p, acc.id)).toEqual({
          allowed: true,
          reason: { kind: 'grant', role: 'video-developer', scope: org.id },
        });
      }
    }
  });

  it('gets nothing on an image account, not even reading it', async () => {
    const dev = await addMember(ctx, owner, org.id, orgGrant('video-developer'));
    expect(await permissionsAt(ctx, dev, org.id, image.id)).toEqual([]);
    const res = await check(ctx, dev, 'video.assets:create', image.id);
    expect(res.allowed).toBe(false);
    expect(res.reason.kind).toBe('product_mismatch');
    expect(await visibleAccountIds(ctx, dev, org.id)).toEqual(sorted([video.id, video2.id]));
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${org.id}/accounts/${image.id}`, {
        token: dev.accessToken,
      }),
      403,
      'forbidden',
    );
  });

  it('cannot see billing', async () => {
    const dev = await addMember(ctx, owner, org.id, orgGrant('video-developer'));
    expect(await allowed(ctx, dev, 'billing:read', org.id)).toBe(false);
    expect(await allowed(ctx, dev, 'billing:read', video.id)).toBe(false);
  });

  it('has no analytics: usage and insights belong to the analyst', async () => {
    const dev = await addMember(ctx, owner, org.id, orgGrant('video-developer'));
    expect(await allowed(ctx, dev, 'video.usage:read', video.id)).toBe(false);
    expect(await allowed(ctx, dev, 'video.insights:read', video.id)).toBe(false);
  });

  it('granted on one account, works there and nowhere else', async () => {
    const dev = await addMember(ctx, owner, org.id, [{ role: 'video-developer', scope: video.id }]);
    expect(await allowed(ctx, dev, 'video.assets:create', video.id)).toBe(true);
    expect(await allowed(ctx, dev, 'video.assets:create', video2.id)).toBe(false);
  });
});

describe('media: analysts and product admins', () => {
  it('a video-analyst reads usage and insights but creates nothing', async () => {
    const analyst = await addMember(ctx, owner, org.id, orgGrant('video-analyst'));
    expect(await allowed(ctx, analyst, 'video.usage:read', video.id)).toBe(true);
    expect(await allowed(ctx, analyst, 'video.insights:read', video.id)).toBe(true);
    expect(await allowed(ctx, analyst, 'video.assets:create', video.id)).toBe(false);
    expect(await allowed(ctx, analyst, 'image.usage:read', image.id)).toBe(false);
  });

  it('a video-admin holds what the video developer and analyst hold together', async () => {
    const [vadmin, dev, analyst] = [
      await addMember(ctx, owner, org.id, orgGrant('video-admin')),
      await addMember(ctx, owner, org.id, orgGrant('video-developer')),
      await addMember(ctx, owner, org.id, orgGrant('video-analyst')),
    ];
    const held = await permissionsAt(ctx, vadmin, org.id, video.id);
    for (const p of [
      ...(await permissionsAt(ctx, dev, org.id, video.id)),
      ...(await permissionsAt(ctx, analyst, org.id, video.id)),
    ]) {
      expect(held).toContain(p);
    }
    expect(await permissionsAt(ctx, vadmin, org.id, image.id)).toEqual([]);
  });

  it('an image-developer creates and deletes image sources but gets nothing on video', async () => {
    const dev = await addMember(ctx, owner, org.id, orgGrant('image-developer'));
    expect(await allowed(ctx, dev, 'image.sources:create', image.id)).toBe(true);
    expect(await allowed(ctx, dev, 'image.sources:delete', image.id)).toBe(true);
    expect(await allowed(ctx, dev, 'image.usage:read', image.id)).toBe(false);
    expect(await permissionsAt(ctx, dev, org.id, video.id)).toEqual([]);
  });
});

describe('media: accountant', () => {
  it('views and pays invoices', async () => {
    const accountant = await addMember(ctx, owner, org.id, orgGrant('accountant'));
    expect(await check(ctx, accountant, 'billing:read', org.id)).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'accountant', scope: org.id },
    });
    expect(await allowed(ctx, accountant, 'billing:pay', org.id)).toBe(true);
  });

  it('cannot manage billing details, API keys, or any product', async () => {
    const accountant = await addMember(ctx, owner, org.id, orgGrant('accountant'));
    expect(await allowed(ctx, accountant, 'billing:manage', org.id)).toBe(false);
    expect(await allowed(ctx, accountant, 'api_keys:read', org.id)).toBe(false);
    expect(await allowed(ctx, accountant, 'video.assets:read', video.id)).toBe(false);
    expect(await allowed(ctx, accountant, 'image.sources:read', image.id)).toBe(false);
  });

  it('cannot add users', async () => {
    const accountant = await addMember(ctx, owner, org.id, orgGrant('accountant'));
    const newcomer = await ctx.signUp();
    expectProblem(await addExisting(ctx, accountant, org.id, newcomer.email, []), 403, 'forbidden');
  });
});

describe('media: admin', () => {
  it('holds everything a developer, an analyst and an accountant hold, for video and image', async () => {
    const admin = await addMember(ctx, owner, org.id, orgGrant('admin'));
    const others = {
      'video-developer': await addMember(ctx, owner, org.id, orgGrant('video-developer')),
      'video-analyst': await addMember(ctx, owner, org.id, orgGrant('video-analyst')),
      'image-developer': await addMember(ctx, owner, org.id, orgGrant('image-developer')),
      'image-analyst': await addMember(ctx, owner, org.id, orgGrant('image-analyst')),
      accountant: await addMember(ctx, owner, org.id, orgGrant('accountant')),
    };
    for (const scope of [org.id, video.id, image.id]) {
      const held = new Set(await permissionsAt(ctx, admin, org.id, scope));
      for (const [role, member] of Object.entries(others)) {
        const missing = (await permissionsAt(ctx, member, org.id, scope)).filter(
          (p) => !held.has(p),
        );
        expect({ role, scope, missing }).toEqual({ role, scope, missing: [] });
      }
    }
  });

  it('cannot add users: the owner alone does', async () => {
    const admin = await addMember(ctx, owner, org.id, orgGrant('admin'));
    const newcomer = await ctx.signUp();
    expectProblem(
      await addExisting(ctx, admin, org.id, newcomer.email, [
        { role: 'video-analyst', scope: org.id },
      ]),
      403,
      'forbidden',
    );
    // The refused add left nothing behind: the newcomer belongs to no organization.
    const mine = await ctx.request('GET', '/v1/organizations', { token: newcomer.accessToken });
    expect(mine.body.data).toEqual([]);
  });

  it("cannot change another member's role", async () => {
    const admin = await addMember(ctx, owner, org.id, orgGrant('admin'));
    const analyst = await addMember(ctx, owner, org.id, orgGrant('video-analyst'));
    expectProblem(
      await ctx.request('PUT', `/v1/organizations/${org.id}/members/${analyst.userId}/grants`, {
        token: admin.accessToken,
        body: { grants: [{ role: 'video-developer', scope: org.id }] },
      }),
      403,
      'forbidden',
    );
  });

  it('cannot manage billing details or API keys', async () => {
    const admin = await addMember(ctx, owner, org.id, orgGrant('admin'));
    expect(await allowed(ctx, admin, 'billing:read', org.id)).toBe(true);
    expect(await allowed(ctx, admin, 'billing:pay', org.id)).toBe(true);
    expect(await allowed(ctx, admin, 'billing:manage', org.id)).toBe(false);
    expect(await allowed(ctx, admin, 'api_keys:read', org.id)).toBe(false);
    expect(await allowed(ctx, admin, 'api_keys:manage', org.id)).toBe(false);
  });

  it('adds, renames and deletes sources and collections (accounts and resources)', async () => {
    const admin = await addMember(ctx, owner, org.id, orgGrant('admin'));
    const acc = await createAccount(ctx, admin, org.id, 'image', 'Admin made');
    const res = await createResource(ctx, admin, org.id, acc.id, 'folder');
    expect(
      (
        await ctx.request('PATCH', `/v1/organizations/${org.id}/accounts/${acc.id}`, {
          token: admin.accessToken,
          body: { name: 'Renamed' },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await ctx.request(
          'DELETE',
          `/v1/organizations/${org.id}/accounts/${acc.id}/resources/${res.id}`,
          { token: admin.accessToken },
        )
      ).status,
    ).toBe(204);
    expect(
      (
        await ctx.request('DELETE', `/v1/organizations/${org.id}/accounts/${acc.id}`, {
          token: admin.accessToken,
        })
      ).status,
    ).toBe(204);
  });
});

describe('media: video-source-specific', () => {
  it('granted on one collection, sees only that one in the accounts list', async () => {
    const specific = await addMember(ctx, owner, org.id, [
      { role: 'video-source-specific', scope: video.id },
    ]);
    expect(await visibleAccountIds(ctx, specific, org.id)).toEqual([video.id]);
  });

  it('reads that collection, its usage and insights, and nothing on another video account', async () => {
    const specific = await addMember(ctx, owner, org.id, [
      { role: 'video-source-specific', scope: video.id },
    ]);
    for (const p of ['video.assets:read', 'video.usage:read', 'video.insights:read']) {
      expect(await allowed(ctx, specific, p, video.id)).toBe(true);
      expect(await allowed(ctx, specific, p, video2.id)).toBe(false);
    }
    expect(await allowed(ctx, specific, 'video.assets:create', video.id)).toBe(false);
    expect(await allowed(ctx, specific, 'billing:read', org.id)).toBe(false);
  });

  it('reaches the resources inside its collection', async () => {
    const folder = await createResource(ctx, owner, org.id, video.id, 'folder', 'Episodes');
    const specific = await addMember(ctx, owner, org.id, [
      { role: 'video-source-specific', scope: video.id },
    ]);
    expect(await allowed(ctx, specific, 'video.assets:read', folder.id)).toBe(true);
  });

  it('cannot be granted organization-wide, which would defeat "specific"', async () => {
    const user = await ctx.signUp();
    const res = await addExisting(ctx, owner, org.id, user.email, [
      { role: 'video-source-specific', scope: org.id },
    ]);
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors[0].code).toBe('not_grantable_here');
  });

  it('cannot be granted on an image source', async () => {
    const user = await ctx.signUp();
    const res = await addExisting(ctx, owner, org.id, user.email, [
      { role: 'video-source-specific', scope: image.id },
    ]);
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors[0].code).toBe('product_mismatch');
  });

  it('an image-source-specific member sees only their image source', async () => {
    const specific = await addMember(ctx, owner, org.id, [
      { role: 'image-source-specific', scope: image.id },
    ]);
    expect(await visibleAccountIds(ctx, specific, org.id)).toEqual([image.id]);
    expect(await allowed(ctx, specific, 'image.insights:read', image.id)).toBe(true);
    expect(await allowed(ctx, specific, 'image.sources:create', image.id)).toBe(false);
  });
});

describe('media: owner', () => {
  it('adds users, and the added user then holds the role given', async () => {
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, owner, org.id, newcomer.email, [
      { role: 'video-analyst', scope: org.id },
    ]);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ user_id: newcomer.userId, status: 'active' });
    expect(await allowed(ctx, newcomer, 'video.usage:read', video.id)).toBe(true);
  });

  it('holds everything: billing details and API keys included', async () => {
    for (const p of ['billing:manage', 'api_keys:manage', 'members:invite', 'audit:read']) {
      expect(await check(ctx, owner, p, org.id)).toEqual({
        allowed: true,
        reason: { kind: 'owner', scope: org.id },
      });
    }
  });

  it('is the only one who adds users: every built-in role is refused', async () => {
    const newcomer = await ctx.signUp();
    for (const role of ['admin', 'accountant', 'video-admin', 'image-admin']) {
      const member = await addMember(ctx, owner, org.id, orgGrant(role));
      expectProblem(await addExisting(ctx, member, org.id, newcomer.email, []), 403, 'forbidden');
    }
  });
});
