import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import {
  addDirect,
  addMember,
  check,
  createAccount,
  createOrg,
  createResource,
} from '../../../test/seed';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const members = (orgId: string) => `/v1/organizations/${orgId}/members`;

async function list(who: SignedIn, orgId: string, query: string) {
  const res = await ctx.request('GET', `${members(orgId)}?${query}`, { token: who.accessToken });
  if (res.status !== 200) throw new Error(`list failed: ${res.status} ${res.text}`);
  return res.body as {
    data: { user_id: string; email: string; first_name: string; status: string }[];
    next_cursor: string | null;
  };
}
const ids = (page: { data: { user_id: string }[] }) => page.data.map((m) => m.user_id);

describe('members list: search', () => {
  let owner: SignedIn;
  let orgId: string;
  const people: Record<string, string> = {};

  beforeAll(async () => {
    owner = await ctx.signUp({ first_name: 'Olga', last_name: 'Owner' });
    orgId = (await createOrg(ctx, owner, 'team')).id;
    const add = async (key: string, first: string, last: string, email: string) => {
      people[key] = (
        await addDirect(ctx, owner, orgId, { email, first_name: first, last_name: last })
      ).user_id;
    };
    await add('ada', 'Ada', 'Lovelace', 'countess@analytical.test');
    await add('grace', 'Grace', 'Hopper', 'grace.hopper@navy.test');
    await add('percent', 'Pure', '100%', 'pure@percent.test');
    await add('under', 'Snake', 'Case', 'snake_case@python.test');
    await add('underX', 'Snake', 'Xcase', 'snakeXcase@python.test');
    await add('back', 'Back', 'Sl\\ash', 'back@slash.test');
  });

  it('finds by name prefix and by substring, whatever the case', async () => {
    expect(ids(await list(owner, orgId, 'search=ada'))).toEqual([people.ada]);
    expect(ids(await list(owner, orgId, 'search=LOVE'))).toEqual([people.ada]);
    expect(ids(await list(owner, orgId, 'search=ce%20hop'))).toEqual([people.grace]);
  });

  it('finds by email prefix and by substring', async () => {
    expect(ids(await list(owner, orgId, 'search=countess@'))).toEqual([people.ada]);
    expect(ids(await list(owner, orgId, 'search=NAVY.TEST'))).toEqual([people.grace]);
  });

  it('takes % and _ literally, not as wildcards', async () => {
    expect(ids(await list(owner, orgId, `search=${encodeURIComponent('100%')}`))).toEqual([
      people.percent,
    ]);
    expect(ids(await list(owner, orgId, 'search=snake_case'))).toEqual([people.under]);
    // One or two characters match a prefix only (trigram search needs three; see the README).
    expect(ids(await list(owner, orgId, `search=${encodeURIComponent('%')}`))).toEqual([]);
    expect(ids(await list(owner, orgId, `search=${encodeURIComponent('sl\\ash')}`))).toEqual([
      people.back,
    ]);
  });

  it('answers an empty page when nothing matches, and everyone for an empty search', async () => {
    expect(ids(await list(owner, orgId, 'search=zzzz'))).toEqual([]);
    expect((await list(owner, orgId, 'search=&limit=100')).data).toHaveLength(7);
  });

  it('answers 400, not 500, to a search, role or account holding a NUL character', async () => {
    for (const q of ['search=a%00b', 'role=ad%00min', 'account=acc%00x']) {
      const res = await ctx.request('GET', `${members(orgId)}?${q}`, { token: owner.accessToken });
      expectProblem(res, 400, 'validation_failed');
    }
  });
});

describe('members list: filters', () => {
  let owner: SignedIn;
  let orgId: string;
  let videoAcc: string;
  let imageAcc: string;
  let collection: string;
  const who: Record<string, string> = {};

  beforeAll(async () => {
    owner = await ctx.signUp();
    orgId = (await createOrg(ctx, owner, 'media')).id;
    videoAcc = (await createAccount(ctx, owner, orgId, 'video')).id;
    imageAcc = (await createAccount(ctx, owner, orgId, 'image')).id;
    collection = (await createResource(ctx, owner, orgId, videoAcc, 'collection')).id;
    const add = async (key: string, grants: { role: string; scope: string }[]) => {
      who[key] = (await addDirect(ctx, owner, orgId, { email: uniqueEmail(key), grants })).user_id;
    };
    await add('admin', [{ role: 'admin', scope: orgId }]);
    await add('accountant', [{ role: 'accountant', scope: orgId }]);
    await add('onVideo', [{ role: 'video-developer', scope: videoAcc }]);
    await add('onCollection', [{ role: 'video-source-specific', scope: collection }]);
    await add('onImage', [{ role: 'image-analyst', scope: imageAcc }]);
    await add('suspended', [{ role: 'accountant', scope: orgId }]);
    const res = await ctx.request('POST', `${members(orgId)}/${who.suspended}/suspend`, {
      token: owner.accessToken,
    });
    expect(res.status).toBe(204);
  });

  it('filters by role, and by owner', async () => {
    expect(new Set(ids(await list(owner, orgId, 'role=accountant')))).toEqual(
      new Set([who.accountant, who.suspended]),
    );
    expect(ids(await list(owner, orgId, 'role=admin'))).toEqual([who.admin]);
    expect(ids(await list(owner, orgId, 'role=owner'))).toEqual([owner.userId]);
    expect(ids(await list(owner, orgId, 'role=no-such-role'))).toEqual([]);
  });

  it('filters by account: grants on it or on its resources, and its owner', async () => {
    expect(new Set(ids(await list(owner, orgId, `account=${videoAcc}`)))).toEqual(
      new Set([who.onVideo, who.onCollection, owner.userId]),
    );
    expect(new Set(ids(await list(owner, orgId, `account=${imageAcc}`)))).toEqual(
      new Set([who.onImage, owner.userId]),
    );
  });

  it('filters by status, and combines filters', async () => {
    expect(ids(await list(owner, orgId, 'status=suspended'))).toEqual([who.suspended]);
    expect(ids(await list(owner, orgId, 'status=active&role=accountant'))).toEqual([
      who.accountant,
    ]);
    expect(ids(await list(owner, orgId, 'status=active&limit=100'))).not.toContain(who.suspended);
  });

  it("finds nobody through another organization's account id", async () => {
    const stranger = await ctx.signUp();
    const other = await createOrg(ctx, stranger, 'media');
    const theirs = await createAccount(ctx, stranger, other.id, 'video');
    await addMember(ctx, stranger, other.id, [{ role: 'video-developer', scope: theirs.id }]);
    expect(ids(await list(owner, orgId, `account=${theirs.id}`))).toEqual([]);
    // and the other way round: the stranger sees none of ours through our account id
    expect(ids(await list(stranger, other.id, `account=${videoAcc}`))).toEqual([]);
  });

  it('needs members:read to list', async () => {
    const accountant = await addMember(ctx, owner, orgId, [{ role: 'accountant', scope: orgId }]);
    expectProblem(
      await ctx.request('GET', members(orgId), { token: accountant.accessToken }),
      403,
      'forbidden',
    );
  });
});

describe('members list: sort and cursor', () => {
  let owner: SignedIn;
  let orgId: string;
  const byName: Record<string, string> = {};

  beforeAll(async () => {
    owner = await ctx.signUp({ first_name: 'Mona', last_name: 'Owner' });
    orgId = (await createOrg(ctx, owner, 'team')).id;
    // joined_at follows the clock: advance it so that "joined" has a well-defined order.
    for (const [first, email] of [
      ['Carol', 'a-carol@example.test'],
      ['alice', 'c-alice@example.test'],
      ['Bob', 'b-bob@example.test'],
    ] as const) {
      ctx.clock.advance(1000);
      byName[first.toLowerCase()] = (
        await addDirect(ctx, owner, orgId, { email, first_name: first, last_name: 'Test' })
      ).user_id;
    }
  });

  it('sorts by name (case-insensitive), email and joined date, both ways', async () => {
    const { alice, bob, carol } = byName;
    const o = owner.userId;
    // "mona owner" sorts after the others by name; the owner joined first.
    expect(ids(await list(owner, orgId, 'sort=name'))).toEqual([alice, bob, carol, o]);
    expect(ids(await list(owner, orgId, 'sort=name&order=desc'))).toEqual([o, carol, bob, alice]);
    const emails = (await list(owner, orgId, 'sort=email')).data.map((m) => m.email);
    expect(emails).toEqual([...emails].sort());
    expect(ids(await list(owner, orgId, 'sort=email')).slice(0, 3)).toEqual([carol, bob, alice]);
    expect(ids(await list(owner, orgId, 'sort=joined'))).toEqual([o, carol, alice, bob]);
    expect(ids(await list(owner, orgId, 'sort=joined&order=desc'))).toEqual([bob, alice, carol, o]);
  });

  it('pages with a cursor without duplicates or gaps', async () => {
    for (const sort of ['name', 'email', 'joined']) {
      for (const order of ['asc', 'desc']) {
        const all = ids(await list(owner, orgId, `sort=${sort}&order=${order}&limit=100`));
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await list(
            owner,
            orgId,
            `sort=${sort}&order=${order}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
          );
          seen.push(...ids(page));
          cursor = page.next_cursor;
        } while (cursor);
        expect(seen).toEqual(all);
      }
    }
  });

  it('answers 400 to a malformed cursor', async () => {
    const bad = [
      'not-a-cursor',
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('[null,"usr_x"]').toString('base64url'),
      Buffer.from('[1,2]').toString('base64url'),
    ];
    for (const cursor of bad) {
      expectProblem(
        await ctx.request('GET', `${members(orgId)}?cursor=${cursor}`, {
          token: owner.accessToken,
        }),
        400,
        'validation_failed',
      );
    }
  });

  it('answers 400, not 500, to a cursor made for another sort', async () => {
    const page = await list(owner, orgId, 'sort=name&limit=1');
    expect(page.next_cursor).toBeTruthy();
    const res = await ctx.request(
      'GET',
      `${members(orgId)}?sort=joined&limit=1&cursor=${page.next_cursor}`,
      { token: owner.accessToken },
    );
    expectProblem(res, 400, 'validation_failed');
    const joined = await list(owner, orgId, 'sort=joined&limit=1');
    expectProblem(
      await ctx.request('GET', `${members(orgId)}?sort=email&cursor=${joined.next_cursor}`, {
        token: owner.accessToken,
      }),
      400,
      'validation_failed',
    );
  });
});

describe('member detail and permissions', () => {
  it('shows grants and effective permissions', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const m = await addMember(ctx, owner, org.id, [
      { role: 'accountant', scope: org.id },
      { role: 'video-developer', scope: acc.id },
    ]);
    const res = await ctx.request('GET', `${members(org.id)}/${m.userId}`, {
      token: owner.accessToken,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      user_id: m.userId,
      email: m.email,
      status: 'active',
      is_owner: false,
      invited_by: owner.userId,
      managed_by_organization: false,
      effective_permissions: ['billing:pay', 'billing:read', 'organization:read'],
    });
    expect(
      res.body.grants.map((g: { role: string; scope: string; scope_type: string }) => [
        g.role,
        g.scope,
        g.scope_type,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['accountant', org.id, 'organization'],
        ['video-developer', acc.id, 'account'],
      ]),
    );
    const atAccount = await ctx.request(
      'GET',
      `${members(org.id)}/${m.userId}/permissions?scope=${acc.id}`,
      { token: owner.accessToken },
    );
    expect(atAccount.body.permissions).toEqual(
      expect.arrayContaining(['video.assets:create', 'billing:read', 'accounts:read']),
    );
    expect(atAccount.body.permissions).not.toContain('image.sources:read');
  });

  it("reads one's own permissions without members:read, another's only with it", async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const a = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const b = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const own = await ctx.request('GET', `${members(org.id)}/${a.userId}/permissions`, {
      token: a.accessToken,
    });
    expect(own.status).toBe(200);
    expect(own.body).toEqual({
      user_id: a.userId,
      scope: org.id,
      permissions: ['billing:pay', 'billing:read', 'organization:read'],
    });
    expectProblem(
      await ctx.request('GET', `${members(org.id)}/${b.userId}/permissions`, {
        token: a.accessToken,
      }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('GET', `${members(org.id)}/${b.userId}`, { token: a.accessToken }),
      403,
      'forbidden',
    );
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const theirs = await ctx.request('GET', `${members(org.id)}/${b.userId}/permissions`, {
      token: admin.accessToken,
    });
    expect(theirs.body.permissions).toEqual(['billing:pay', 'billing:read', 'organization:read']);
  });

  it('answers 404 for a scope of another organization, as for an unknown one', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const other = await createOrg(ctx, await ctx.signUp(), 'media');
    const url = (scope: string) => `${members(org.id)}/${owner.userId}/permissions?scope=${scope}`;
    const theirs = await ctx.request('GET', url(other.id), { token: owner.accessToken });
    const unknown = await ctx.request('GET', url(`org_${'0'.repeat(26)}`), {
      token: owner.accessToken,
    });
    expectProblem(theirs, 404, 'not_found');
    expect(theirs.body.detail).toBe(unknown.body.detail);
  });
});

describe('suspend, reactivate, remove', () => {
  it('refuses a suspended member at once, and reactivation restores access', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const user = await addMember(ctx, owner, org.id, [{ role: 'user', scope: acc.id }]);
    // warm every cache first: the suspension must still be seen by the very next request
    expect((await check(ctx, user, 'video.assets:create', acc.id)).allowed).toBe(true);
    expect(
      (await ctx.request('GET', `/v1/organizations/${org.id}`, { token: user.accessToken })).status,
    ).toBe(200);

    const s = await ctx.request('POST', `${members(org.id)}/${user.userId}/suspend`, {
      token: owner.accessToken,
    });
    expect(s.status).toBe(204);
    expect(await check(ctx, user, 'video.assets:create', acc.id)).toMatchObject({
      allowed: false,
      reason: { kind: 'membership_suspended' },
    });
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${org.id}`, { token: user.accessToken }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${org.id}/accounts/${acc.id}`, {
        token: user.accessToken,
      }),
      403,
      'forbidden',
    );
    const listed = await list(owner, org.id, 'status=suspended');
    expect(ids(listed)).toEqual([user.userId]);

    const r = await ctx.request('POST', `${members(org.id)}/${user.userId}/reactivate`, {
      token: owner.accessToken,
    });
    expect(r.status).toBe(204);
    expect((await check(ctx, user, 'video.assets:create', acc.id)).allowed).toBe(true);
    expect(
      (
        await ctx.request('GET', `/v1/organizations/${org.id}/accounts/${acc.id}`, {
          token: user.accessToken,
        })
      ).status,
    ).toBe(200);
  });

  it('removes membership and grants, passes owned accounts to the owner, and audits it', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const acc = await createAccount(ctx, admin, org.id, 'video');
    expect(acc.owner_id).toBe(admin.userId);
    expect((await check(ctx, admin, 'accounts:delete', acc.id)).allowed).toBe(true);

    const res = await ctx.request('DELETE', `${members(org.id)}/${admin.userId}`, {
      token: owner.accessToken,
    });
    expect(res.status).toBe(204);
    const db = ctx.database.db;
    expect(
      await db
        .selectFrom('memberships')
        .selectAll()
        .where('organization_id', '=', org.id)
        .where('user_id', '=', admin.userId)
        .execute(),
    ).toEqual([]);
    expect(
      await db
        .selectFrom('grants')
        .selectAll()
        .where('organization_id', '=', org.id)
        .where('user_id', '=', admin.userId)
        .execute(),
    ).toEqual([]);
    const account = await db
      .selectFrom('accounts')
      .select('owner_user_id')
      .where('id', '=', acc.id)
      .executeTakeFirstOrThrow();
    expect(account.owner_user_id).toBe(owner.userId);
    const audit = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('organization_id', '=', org.id)
      .where('action', '=', 'member.removed')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_id: owner.userId, target_id: admin.userId });
    expect(JSON.parse(audit[0]!.changes!)).toEqual({ accounts_passed_to_owner: [acc.id] });

    // the former member is refused at once, as a stranger (404)
    expect(await check(ctx, admin, 'accounts:read', acc.id)).toMatchObject({
      allowed: false,
      reason: { kind: 'no_access' },
    });
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${org.id}`, { token: admin.accessToken }),
      404,
      'not_found',
    );
    expectProblem(
      await ctx.request('DELETE', `${members(org.id)}/${admin.userId}`, {
        token: owner.accessToken,
      }),
      404,
      'not_found',
    );
  });

  it('ends the pending ownership offers to and from a member who is suspended', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const heir = await addMember(ctx, owner, org.id, []);
    const offer = await ctx.request('POST', `/v1/organizations/${org.id}/transfer-ownership`, {
      token: owner.accessToken,
      body: { user_id: heir.userId },
    });
    expect(offer.status).toBe(201);
    await ctx.request('POST', `${members(org.id)}/${heir.userId}/suspend`, {
      token: owner.accessToken,
    });
    await ctx.request('POST', `${members(org.id)}/${heir.userId}/reactivate`, {
      token: owner.accessToken,
    });
    // reactivated, the member finds the offer gone: a suspension is not a pause of the offer
    expectProblem(
      await ctx.request(
        'POST',
        `/v1/organizations/${org.id}/ownership-offers/${offer.body.id}/accept`,
        { token: heir.accessToken },
      ),
      409,
      'conflict',
    );
    const row = await ctx.database.db
      .selectFrom('ownership_offers')
      .select('status')
      .where('id', '=', offer.body.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('withdrawn');
  });

  it('lets a member leave, but never the owner', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const user = await addMember(ctx, owner, org.id, []);
    expect(
      (
        await ctx.request('DELETE', `${members(org.id)}/${user.userId}`, {
          token: user.accessToken,
        })
      ).status,
    ).toBe(204);
    const left = await ctx.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('organization_id', '=', org.id)
      .where('target_id', '=', user.userId)
      .execute();
    expect(left.map((r) => r.action)).toContain('member.left');
    expectProblem(
      await ctx.request('DELETE', `${members(org.id)}/${owner.userId}`, {
        token: owner.accessToken,
      }),
      403,
      'forbidden',
    );
  });

  it('never suspends or removes the owner, whoever asks', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    for (const [method, path] of [
      ['POST', `${members(org.id)}/${owner.userId}/suspend`],
      ['DELETE', `${members(org.id)}/${owner.userId}`],
    ] as const) {
      expectProblem(
        await ctx.request(method, path, { token: admin.accessToken }),
        403,
        'forbidden',
      );
    }
    expectProblem(
      await ctx.request('POST', `${members(org.id)}/${admin.userId}/suspend`, {
        token: admin.accessToken,
      }),
      403,
      'forbidden',
    );
    const row = await ctx.database.db
      .selectFrom('memberships')
      .select('status')
      .where('organization_id', '=', org.id)
      .where('user_id', '=', owner.userId)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('active');
  });

  it('needs members:update to suspend and members:remove to remove someone else', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const a = await addMember(ctx, owner, org.id, [{ role: 'user', scope: acc.id }]);
    const b = await addMember(ctx, owner, org.id, [{ role: 'user', scope: acc.id }]);
    expectProblem(
      await ctx.request('POST', `${members(org.id)}/${b.userId}/suspend`, {
        token: a.accessToken,
      }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('DELETE', `${members(org.id)}/${b.userId}`, { token: a.accessToken }),
      403,
      'forbidden',
    );
  });
});

describe('bulk', () => {
  let owner: SignedIn;
  let orgId: string;
  beforeAll(async () => {
    owner = await ctx.signUp();
    orgId = (await createOrg(ctx, owner, 'team')).id;
  });
  const bulk = (who: SignedIn, action: string, userIds: string[]) =>
    ctx.request('POST', `${members(orgId)}/bulk`, {
      token: who.accessToken,
      body: { action, user_ids: userIds },
    });

  it('answers per id: done, unchanged, not_found, forbidden', async () => {
    const a = await addDirect(ctx, owner, orgId, { email: uniqueEmail('bulk-a') });
    const b = await addDirect(ctx, owner, orgId, { email: uniqueEmail('bulk-b') });
    await bulk(owner, 'suspend', [b.user_id]);
    const res = await bulk(owner, 'suspend', [
      a.user_id,
      b.user_id,
      'usr_00000000000000000000000000',
      owner.userId,
    ]);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { user_id: a.user_id, status: 'done' },
      { user_id: b.user_id, status: 'unchanged' },
      { user_id: 'usr_00000000000000000000000000', status: 'not_found' },
      expect.objectContaining({ user_id: owner.userId, status: 'forbidden' }),
    ]);
    const back = await bulk(owner, 'reactivate', [a.user_id, b.user_id]);
    expect(back.body.results.map((r: { status: string }) => r.status)).toEqual(['done', 'done']);
    const gone = await bulk(owner, 'remove', [a.user_id, b.user_id, owner.userId]);
    expect(gone.body.results.map((r: { status: string }) => r.status)).toEqual([
      'done',
      'done',
      'forbidden',
    ]);
    expect(ids(await list(owner, orgId, 'limit=100'))).not.toContain(a.user_id);
  });

  it('answers forbidden per id to a member without the permission (but lets them leave)', async () => {
    const x = await addMember(ctx, owner, orgId, []);
    const y = await addDirect(ctx, owner, orgId, { email: uniqueEmail('bulk-y') });
    const res = await bulk(x, 'remove', [y.user_id, x.userId]);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      expect.objectContaining({ user_id: y.user_id, status: 'forbidden' }),
      { user_id: x.userId, status: 'done' },
    ]);
  });

  it('takes up to 500 ids and refuses 501', async () => {
    const real = await addDirect(ctx, owner, orgId, { email: uniqueEmail('bulk-500') });
    const fake = Array.from({ length: 499 }, (_, i) => `usr_${i.toString().padStart(26, '0')}`);
    const ok = await bulk(owner, 'suspend', [real.user_id, ...fake]);
    expect(ok.status).toBe(200);
    expect(ok.body.results).toHaveLength(500);
    expect(ok.body.results[0]).toEqual({ user_id: real.user_id, status: 'done' });
    expect(
      ok.body.results.slice(1).every((r: { status: string }) => r.status === 'not_found'),
    ).toBe(true);
    expectProblem(
      await bulk(owner, 'suspend', [real.user_id, ...fake, 'usr_x']),
      400,
      'validation_failed',
    );
    expectProblem(await bulk(owner, 'suspend', []), 400, 'validation_failed');
    expectProblem(await bulk(owner, 'explode', [real.user_id]), 400, 'validation_failed');
  });
});

describe('grants', () => {
  it('replaces, adds and removes grants, each checked for escalation', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'accounts');
    const a = await createAccount(ctx, owner, org.id, 'video');
    const b = await createAccount(ctx, owner, org.id, 'video');
    const adminA = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: a.id }]);
    const m = await addMember(ctx, owner, org.id, [{ role: 'viewer', scope: b.id }]);
    const url = `${members(org.id)}/${m.userId}/grants`;

    // adminA may add a grant on A ...
    const added = await ctx.request('POST', url, {
      token: adminA.accessToken,
      body: { grants: [{ role: 'viewer', scope: a.id }] },
    });
    expect(added.status).toBe(200);
    expect(added.body.data).toHaveLength(2);
    // ... but not on B, nor give more than it holds on A
    expectProblem(
      await ctx.request('POST', url, {
        token: adminA.accessToken,
        body: { grants: [{ role: 'admin', scope: b.id }] },
      }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('POST', url, {
        token: adminA.accessToken,
        body: { grants: [{ permissions: ['accounts:delete'], scope: a.id }] },
      }),
      403,
      'forbidden',
    );
    // replacing would drop the grant on B, which adminA cannot touch
    expectProblem(
      await ctx.request('PUT', url, {
        token: adminA.accessToken,
        body: { grants: [{ role: 'admin', scope: a.id }] },
      }),
      403,
      'forbidden',
    );
    // keeping B's grant as it is, adminA may replace its own part
    const replaced = await ctx.request('PUT', url, {
      token: adminA.accessToken,
      body: {
        grants: [
          { role: 'viewer', scope: b.id },
          { role: 'admin', scope: a.id },
        ],
      },
    });
    expect(replaced.status).toBe(200);
    const grantOnA = replaced.body.data.find((g: { scope: string }) => g.scope === a.id);
    const removed = await ctx.request('DELETE', `${url}/${grantOnA.id}`, {
      token: adminA.accessToken,
    });
    expect(removed.status).toBe(200);
    expect(removed.body.data.map((g: { scope: string }) => g.scope)).toEqual([b.id]);
    expectProblem(
      await ctx.request('DELETE', `${url}/${removed.body.data[0].id}`, {
        token: adminA.accessToken,
      }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('DELETE', `${url}/mem_doesnotexist`, { token: owner.accessToken }),
      404,
      'not_found',
    );
  });

  it('writes nothing (and audits nothing) when a replacement is the same set', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const m = await addMember(ctx, owner, org.id, [{ role: 'user', scope: acc.id }]);
    const url = `${members(org.id)}/${m.userId}/grants`;
    const before = await ctx.request('GET', url, { token: owner.accessToken });
    const same = await ctx.request('PUT', url, {
      token: owner.accessToken,
      body: { grants: [{ role: 'user', scope: acc.id }] },
    });
    expect(same.status).toBe(200);
    expect(same.body.data).toEqual(before.body.data);
    const audit = await ctx.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('organization_id', '=', org.id)
      .where('action', '=', 'member.grants_replaced')
      .execute();
    expect(audit).toEqual([]);
  });

  it('refuses grants on scopes of another organization as it refuses unknown ones', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const m = await addMember(ctx, owner, org.id, []);
    const other = await createOrg(ctx, await ctx.signUp(), 'media');
    const theirs = await ctx.database.db
      .insertInto('accounts')
      .values({
        id: `acc_${'1'.repeat(26)}`,
        organization_id: other.id,
        name: 'theirs',
        product: 'video',
        owner_user_id: other.owner_id,
        created_at: Date.now(),
        updated_at: Date.now(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const unknown = `acc_${'2'.repeat(26)}`;
    const answer = async (scope: string, how: 'add' | 'put' | 'post') => {
      const res =
        how === 'add'
          ? await ctx.request('POST', members(org.id), {
              token: owner.accessToken,
              body: {
                email: `${how}-${scope}@example.test`,
                grants: [{ role: 'video-developer', scope }],
              },
            })
          : await ctx.request(
              how === 'put' ? 'PUT' : 'POST',
              `${members(org.id)}/${m.userId}/grants`,
              {
                token: owner.accessToken,
                body: { grants: [{ role: 'video-developer', scope }] },
              },
            );
      return {
        status: res.status,
        body: res.text.replaceAll(scope, '<scope>').replace(/"request_id":"[^"]*"/, ''),
      };
    };
    for (const how of ['add', 'put', 'post'] as const) {
      const a = await answer(theirs.id, how);
      const b = await answer(unknown, how);
      expect(a.status).toBeGreaterThanOrEqual(400);
      expect(a).toEqual(b);
    }
  });
});

describe('add user directly and edit managed users', () => {
  it('creates a managed user that this organization may edit', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const email = uniqueEmail('managed');
    const added = await addDirect(ctx, owner, org.id, {
      email,
      first_name: 'Mia',
      last_name: 'Managed',
    });
    expect(added).toMatchObject({ email, first_name: 'Mia', managed_by_organization: true });
    const url = `${members(org.id)}/${added.user_id}`;
    const newEmail = uniqueEmail('renamed');
    const res = await ctx.request('PATCH', url, {
      token: owner.accessToken,
      body: { first_name: 'Maya', email: newEmail.toUpperCase(), timezone: 'Europe/Paris' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      first_name: 'Maya',
      email: newEmail,
      timezone: 'Europe/Paris',
    });
    // the list's copies of name and email follow
    expect(ids(await list(owner, org.id, 'search=maya'))).toEqual([added.user_id]);
    expect(ids(await list(owner, org.id, `search=${encodeURIComponent(newEmail)}`))).toEqual([
      added.user_id,
    ]);
    expectProblem(
      await ctx.request('PATCH', url, {
        token: owner.accessToken,
        body: { timezone: 'Mars/Base' },
      }),
      400,
      'validation_failed',
    );
  });

  it('answers 409 to an email that another user has', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const added = await addDirect(ctx, owner, org.id, { email: uniqueEmail('clash') });
    const res = await ctx.request('PATCH', `${members(org.id)}/${added.user_id}`, {
      token: owner.accessToken,
      body: { email: owner.email },
    });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('email_taken');
  });

  it('refuses to edit users who signed up themselves, or who belong elsewhere too', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const self = await addMember(ctx, owner, org.id, []);
    expectProblem(
      await ctx.request('PATCH', `${members(org.id)}/${self.userId}`, {
        token: owner.accessToken,
        body: { first_name: 'Renamed' },
      }),
      403,
      'forbidden',
    );
    const managed = await addDirect(ctx, owner, org.id, { email: uniqueEmail('shared') });
    const otherOwner = await ctx.signUp();
    const other = await createOrg(ctx, otherOwner, 'team');
    await addDirect(ctx, otherOwner, other.id, { email: managed.email });
    for (const [who, orgId] of [
      [owner, org.id],
      [otherOwner, other.id],
    ] as const) {
      expectProblem(
        await ctx.request('PATCH', `${members(orgId)}/${managed.user_id}`, {
          token: who.accessToken,
          body: { first_name: 'Renamed' },
        }),
        403,
        'forbidden',
      );
    }
  });

  it('answers 409 to adding someone who is already a member', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const email = uniqueEmail('twice');
    await addDirect(ctx, owner, org.id, { email });
    const again = await ctx.request('POST', members(org.id), {
      token: owner.accessToken,
      body: { email },
    });
    expectProblem(again, 409, 'conflict');
  });

  it('lets only the owner add users in a media organization', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    expectProblem(
      await ctx.request('POST', members(org.id), {
        token: admin.accessToken,
        body: { email: uniqueEmail('by-admin') },
      }),
      403,
      'forbidden',
    );
  });
});

describe('grant errors point into the request body', () => {
  // @see issue 10 #23: the engine numbered the list of changes it checked (the removed grants
  // first), so the first new grant of a replacement that also removed one was `body.grants.1`.
  it('names the body index of a bad new grant when an existing grant is removed', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const m = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const res = await ctx.request('PUT', `${members(org.id)}/${m.userId}/grants`, {
      token: owner.accessToken,
      body: {
        grants: [
          { role: 'video-developer', scope: org.id },
          { role: 'no-such-role', scope: acc.id },
        ],
      },
    });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors).toEqual([
      expect.objectContaining({ path: 'body.grants.1', code: 'unknown_role' }),
    ]);
    const first = await ctx.request('PUT', `${members(org.id)}/${m.userId}/grants`, {
      token: owner.accessToken,
      body: { grants: [{ role: 'no-such-role', scope: acc.id }] },
    });
    expect(first.body.errors).toEqual([
      expect.objectContaining({ path: 'body.grants.0', code: 'unknown_role' }),
    ]);
  });

  it("refuses taking away a grant outside the caller's reach, naming its scope", async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'accounts');
    const a = await createAccount(ctx, owner, org.id, 'video');
    const b = await createAccount(ctx, owner, org.id, 'video');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: a.id }]);
    const m = await addDirect(ctx, owner, org.id, {
      email: uniqueEmail('taken'),
      grants: [{ role: 'viewer', scope: b.id }],
    });
    const res = await ctx.request('PUT', `${members(org.id)}/${m.user_id}/grants`, {
      token: admin.accessToken,
      body: { grants: [{ role: 'viewer', scope: a.id }] },
    });
    expectProblem(res, 403, 'forbidden');
    expect(res.body.scope).toBe(b.id);
  });
});

describe('an account admin acts on the members of its accounts (accounts template)', () => {
  // @see issue 10 #4
  it('bulk: per id, within its accounts only', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'accounts');
    const a = await createAccount(ctx, owner, org.id, 'video');
    const b = await createAccount(ctx, owner, org.id, 'video');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: a.id }]);
    const onlyA = await addMember(ctx, owner, org.id, [{ role: 'viewer', scope: a.id }]);
    const both = await addMember(ctx, owner, org.id, [
      { role: 'viewer', scope: a.id },
      { role: 'viewer', scope: b.id },
    ]);
    const onlyB = await addMember(ctx, owner, org.id, [{ role: 'viewer', scope: b.id }]);
    const res = await ctx.request('POST', `${members(org.id)}/bulk`, {
      token: admin.accessToken,
      body: { action: 'suspend', user_ids: [onlyA.userId, both.userId, onlyB.userId] },
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
      'done',
      'forbidden',
      'not_found',
    ]);
    const removed = await ctx.request('POST', `${members(org.id)}/bulk`, {
      token: admin.accessToken,
      body: { action: 'remove', user_ids: [both.userId, onlyB.userId] },
    });
    expect(removed.body.results.map((r: { status: string }) => r.status)).toEqual([
      'done',
      'not_found',
    ]);
    const left = await ctx.request('GET', `${members(org.id)}/${both.userId}`, {
      token: owner.accessToken,
    });
    expect(left.body.grants.map((g: { scope: string }) => g.scope)).toEqual([b.id]);
    expect(left.body.status).toBe('active');
  });
});
