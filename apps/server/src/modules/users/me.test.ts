import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { tinyJpeg, tinyPng, tinyWebp } from '../../../test/images';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const patch = (user: SignedIn, body: unknown) =>
  ctx.request('PATCH', '/v1/me', { token: user.accessToken, body });
const putMetadata = (user: SignedIn, body: unknown) =>
  ctx.request('PUT', '/v1/me/metadata', { token: user.accessToken, body });
const putAvatar = (user: SignedIn, data: Buffer, contentType: string) =>
  ctx.request('PUT', '/v1/me/avatar', {
    token: user.accessToken,
    body: data,
    headers: { 'content-type': contentType },
  });
const getMe = async (user: SignedIn) =>
  (await ctx.request('GET', '/v1/me', { token: user.accessToken })).body;

/** The audit events recorded about a user, oldest first. */
async function auditOf(user: SignedIn, action: string) {
  const rows = await ctx.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('target_type', '=', 'user')
    .where('target_id', '=', user.userId)
    .where('action', '=', action)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ ...r, changes: r.changes ? JSON.parse(r.changes) : null }));
}

/** The path part of an absolute URL the API handed out. */
const pathOf = (url: string) => new URL(url).pathname;

describe('GET /v1/me', () => {
  it('shows the signed-in user with every profile field', async () => {
    const user = await ctx.signUp({ first_name: 'Grace', last_name: 'Hopper' });
    const res = await ctx.request('GET', '/v1/me', { token: user.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: user.userId,
      email: user.email,
      first_name: 'Grace',
      last_name: 'Hopper',
      mobile: null,
      timezone: null,
      avatar: null,
      status: 'active',
      email_verified: true,
      has_password: true,
      is_platform_admin: false,
      user_settings: {
        locale: null,
        timezone: null,
        date_format: null,
        theme: null,
        email_notifications: null,
      },
      user_metadata: {},
      created_at: expect.any(String),
      updated_at: expect.any(String),
      last_login_at: expect.any(String),
    });
    expect(res.body.id).toMatch(/^usr_/);
  });

  it('never shows the password hash', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('GET', '/v1/me', { token: user.accessToken });
    expect(res.text).not.toContain('argon2');
    expect(res.text).not.toContain('password_hash');
  });

  it('refuses a request without a token', async () => {
    expectProblem(await ctx.request('GET', '/v1/me'), 401, 'unauthenticated');
  });

  it('refuses a forged token', async () => {
    const res = await ctx.request('GET', '/v1/me', { token: 'eyJhbGciOiJub25lIn0.e30.' });
    expect(res.status).toBe(401);
  });
});

describe('PATCH /v1/me', () => {
  it('changes first and last name', async () => {
    const user = await ctx.signUp();
    const res = await patch(user, { first_name: 'Katherine', last_name: 'Johnson' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ first_name: 'Katherine', last_name: 'Johnson' });
    expect(await getMe(user)).toMatchObject({ first_name: 'Katherine', last_name: 'Johnson' });
  });

  it('trims names and refuses an empty one', async () => {
    const user = await ctx.signUp();
    expect((await patch(user, { first_name: '  Ada  ' })).body.first_name).toBe('Ada');
    expectProblem(await patch(user, { last_name: '   ' }), 400, 'validation_failed');
  });

  it('sets an E.164 mobile number', async () => {
    const user = await ctx.signUp();
    const res = await patch(user, { mobile: '+4915112345678' });
    expect(res.status).toBe(200);
    expect(res.body.mobile).toBe('+4915112345678');
  });

  it.each(['015112345678', '+0151123456', '+49 151 1234', 'call me', '+1234567890123456'])(
    'refuses the mobile number %j',
    async (mobile) => {
      const user = await ctx.signUp();
      const res = await patch(user, { mobile });
      expectProblem(res, 400, 'validation_failed');
      expect(res.body.errors[0].path).toBe('body.mobile');
    },
  );

  it('clears the mobile number with null', async () => {
    const user = await ctx.signUp();
    await patch(user, { mobile: '+4915112345678' });
    expect((await patch(user, { mobile: null })).body.mobile).toBeNull();
  });

  it('sets an IANA time zone, shown top-level and in user_settings', async () => {
    const user = await ctx.signUp();
    const res = await patch(user, { timezone: 'Europe/Berlin' });
    expect(res.status).toBe(200);
    expect(res.body.timezone).toBe('Europe/Berlin');
    expect(res.body.user_settings.timezone).toBe('Europe/Berlin');
  });

  it('stores the usual spelling of a time zone given in another case', async () => {
    const user = await ctx.signUp();
    expect((await patch(user, { timezone: 'europe/berlin' })).body.timezone).toBe('Europe/Berlin');
    expect((await patch(user, { timezone: 'Europe/Kyiv' })).body.timezone).toBe('Europe/Kyiv');
  });

  it('clears the time zone with null, in both places', async () => {
    const user = await ctx.signUp();
    await patch(user, { timezone: 'Asia/Tokyo' });
    const res = await patch(user, { timezone: null });
    expect(res.body.timezone).toBeNull();
    expect(res.body.user_settings.timezone).toBeNull();
  });

  it('takes the time zone through user_settings too, as the same value', async () => {
    const user = await ctx.signUp();
    const res = await patch(user, { user_settings: { timezone: 'America/New_York' } });
    expect(res.status).toBe(200);
    expect(res.body.timezone).toBe('America/New_York');
    expect(res.body.user_settings.timezone).toBe('America/New_York');
  });

  it.each(['Mars/Base', '+02:00', 'Europe/../../etc', ''])(
    'refuses the time zone %j',
    async (timezone) => {
      const user = await ctx.signUp();
      expectProblem(await patch(user, { timezone }), 400, 'validation_failed');
      expect((await getMe(user)).timezone).toBeNull();
    },
  );

  it('refuses an unknown time zone given in user_settings', async () => {
    const user = await ctx.signUp();
    const res = await patch(user, { user_settings: { timezone: 'Mars/Base' } });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors[0].path).toBe('body.user_settings.timezone');
  });

  it('refuses two different time zones in one request', async () => {
    const user = await ctx.signUp();
    const res = await patch(user, {
      timezone: 'Europe/Berlin',
      user_settings: { timezone: 'Asia/Tokyo' },
    });
    expectProblem(res, 400, 'validation_failed');
  });

  it('stores the predefined user_settings keys', async () => {
    const user = await ctx.signUp();
    const settings = {
      locale: 'de-DE',
      date_format: 'DD.MM.YYYY',
      theme: 'dark',
      email_notifications: false,
    };
    const res = await patch(user, { user_settings: settings });
    expect(res.status).toBe(200);
    expect(res.body.user_settings).toEqual({ ...settings, timezone: null });
    expect((await getMe(user)).user_settings).toEqual({ ...settings, timezone: null });
  });

  it('merges user_settings key by key', async () => {
    const user = await ctx.signUp();
    await patch(user, { user_settings: { theme: 'dark' } });
    const res = await patch(user, { user_settings: { locale: 'fr' } });
    expect(res.body.user_settings).toMatchObject({ theme: 'dark', locale: 'fr' });
  });

  it('ignores unknown user_settings keys without storing them', async () => {
    const user = await ctx.signUp();
    const res = await patch(user, { user_settings: { theme: 'light', favourite_colour: 'red' } });
    expect(res.status).toBe(200);
    expect(res.body.user_settings.theme).toBe('light');
    expect(res.body.user_settings).not.toHaveProperty('favourite_colour');
    const row = await ctx.database.db
      .selectFrom('users')
      .select('user_settings')
      .where('id', '=', user.userId)
      .executeTakeFirstOrThrow();
    expect(row.user_settings).not.toContain('favourite_colour');
  });

  it.each([
    { theme: 'purple' },
    { email_notifications: 'yes' },
    { locale: 42 },
    { date_format: 'someday' },
  ])('refuses a known user_settings key with a wrong value: %j', async (settings) => {
    const user = await ctx.signUp();
    const res = await patch(user, { user_settings: settings });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors[0].path).toMatch(/^body\.user_settings\./);
  });

  it('refuses user_settings that is not an object', async () => {
    const user = await ctx.signUp();
    expectProblem(await patch(user, { user_settings: 'dark' }), 400, 'validation_failed');
  });

  it('refuses a request naming email with email_read_only', async () => {
    const user = await ctx.signUp();
    const res = await patch(user, { email: 'new@example.com', first_name: 'Changed' });
    expectProblem(res, 400, 'email_read_only');
    const me = await getMe(user);
    expect(me.email).toBe(user.email);
    expect(me.first_name).not.toBe('Changed');
  });

  it('refuses even an unchanged email with email_read_only', async () => {
    const user = await ctx.signUp();
    expectProblem(await patch(user, { email: user.email }), 400, 'email_read_only');
  });

  it('refuses an unknown top-level field', async () => {
    const user = await ctx.signUp();
    const res = await patch(user, { first_name: 'X', is_platform_admin: true });
    expectProblem(res, 400, 'validation_failed');
    expect((await getMe(user)).is_platform_admin).toBe(false);
  });

  it('refuses a wrong type for a field', async () => {
    const user = await ctx.signUp();
    expectProblem(await patch(user, { first_name: 42 }), 400, 'validation_failed');
  });

  it('answers malformed JSON with malformed_json', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('PATCH', '/v1/me', {
      token: user.accessToken,
      body: '{"first_name": ',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 400, 'malformed_json');
  });

  it('refuses an unauthenticated change', async () => {
    expectProblem(
      await ctx.request('PATCH', '/v1/me', { body: { first_name: 'Eve' } }),
      401,
      'unauthenticated',
    );
  });

  it('records the change with before and after in the audit log', async () => {
    const user = await ctx.signUp({ first_name: 'Old' });
    await patch(user, { first_name: 'New', timezone: 'Europe/Berlin' });
    const [event] = await auditOf(user, 'user.updated');
    expect(event).toMatchObject({
      actor_type: 'user',
      actor_id: user.userId,
      changes: {
        before: { first_name: 'Old', timezone: null },
        after: { first_name: 'New', timezone: 'Europe/Berlin' },
      },
    });
    expect(event!.request_id).toBeTruthy();
  });

  it('writes no audit event for a request that changes nothing', async () => {
    const user = await ctx.signUp({ first_name: 'Same' });
    const before = await getMe(user);
    const res = await patch(user, { first_name: 'Same', user_settings: { unknown_key: 1 } });
    expect(res.status).toBe(200);
    expect(res.body.updated_at).toBe(before.updated_at);
    expect(await auditOf(user, 'user.updated')).toEqual([]);
  });

  it('keeps both of two concurrent settings changes', async () => {
    const user = await ctx.signUp();
    await getMe(user); // the user is now cached
    const [a, b] = await Promise.all([
      patch(user, { user_settings: { theme: 'dark' } }),
      patch(user, { user_settings: { locale: 'pt-BR' } }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await getMe(user)).user_settings).toMatchObject({ theme: 'dark', locale: 'pt-BR' });
  });
});

describe('PUT /v1/me/metadata', () => {
  it('stores scalars and one level of nesting', async () => {
    const user = await ctx.signUp();
    const metadata = {
      external_billing_id: 'cus_123',
      seats: 5,
      trial: false,
      note: null,
      tags: ['a', 1, true, null],
      crm: { id: 'c-9', score: 0.5, vip: true, owner: null },
    };
    const res = await putMetadata(user, metadata);
    expect(res.status).toBe(200);
    expect(res.body.user_metadata).toEqual(metadata);
    expect((await getMe(user)).user_metadata).toEqual(metadata);
  });

  it('replaces the whole object: a key left out is removed', async () => {
    const user = await ctx.signUp();
    await putMetadata(user, { external_billing_id: 'cus_1', external_crm_id: 'crm_1' });
    const res = await putMetadata(user, { external_crm_id: 'crm_2' });
    expect(res.body.user_metadata).toEqual({ external_crm_id: 'crm_2' });
    expect((await getMe(user)).user_metadata).toEqual({ external_crm_id: 'crm_2' });
  });

  it('empties the metadata with {}', async () => {
    const user = await ctx.signUp();
    await putMetadata(user, { a: 1 });
    expect((await putMetadata(user, {})).body.user_metadata).toEqual({});
  });

  it.each([
    ['an object inside an object', { crm: { owner: { id: 1 } } }],
    ['an array inside an array', { tags: [['a']] }],
    ['an object inside an array', { tags: [{ id: 1 }] }],
    ['an array inside an object', { crm: { tags: ['a'] } }],
  ])('refuses two levels of nesting: %s', async (_what, metadata) => {
    const user = await ctx.signUp();
    await putMetadata(user, { kept: true });
    expectProblem(await putMetadata(user, metadata), 400, 'validation_failed');
    expect((await getMe(user)).user_metadata).toEqual({ kept: true });
  });

  it.each([
    ['an array', [1, 2]],
    ['a string', 'hello'],
    ['null', null],
  ])('refuses metadata that is %s', async (_what, body) => {
    const user = await ctx.signUp();
    const res = await ctx.request('PUT', '/v1/me/metadata', {
      token: user.accessToken,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 400, 'validation_failed');
  });

  it('accepts metadata of 16 KiB', async () => {
    const user = await ctx.signUp();
    // {"blob":"..."} is 11 bytes around the value
    const res = await putMetadata(user, { blob: 'x'.repeat(16 * 1024 - 11) });
    expect(res.status).toBe(200);
  });

  it('refuses metadata larger than 16 KiB', async () => {
    const user = await ctx.signUp();
    const res = await putMetadata(user, { blob: 'x'.repeat(16 * 1024 - 10) });
    expectProblem(res, 400, 'validation_failed');
  });

  it('records the replacement in the audit log', async () => {
    const user = await ctx.signUp();
    await putMetadata(user, { plan: 'pro' });
    const [event] = await auditOf(user, 'user.metadata_replaced');
    expect(event?.actor_id).toBe(user.userId);
    expect(event?.changes).toEqual({
      before: { user_metadata: {} },
      after: { user_metadata: { plan: 'pro' } },
    });
  });

  it('refuses an unauthenticated replacement', async () => {
    expectProblem(
      await ctx.request('PUT', '/v1/me/metadata', { body: { a: 1 } }),
      401,
      'unauthenticated',
    );
  });
});

describe('PUT /v1/me/avatar', () => {
  it.each([
    ['PNG', tinyPng(), 'image/png'],
    ['JPEG', tinyJpeg(), 'image/jpeg'],
    ['WebP', tinyWebp(), 'image/webp'],
  ])('takes a %s image and serves it back at the profile URL', async (_kind, image, type) => {
    const user = await ctx.signUp();
    const res = await putAvatar(user, image, type);
    expect(res.status).toBe(200);
    expect(res.body.avatar).toMatch(/^http:\/\/gatehouse\.test\/v1\/avatars\/avt_/);
    expect((await getMe(user)).avatar).toBe(res.body.avatar);

    const served = await ctx.gatehouse.app.inject({ method: 'GET', url: pathOf(res.body.avatar) });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe(type);
    expect(served.rawPayload.equals(image)).toBe(true);
  });

  it('goes by the bytes, not the declared type', async () => {
    const user = await ctx.signUp();
    const res = await putAvatar(user, tinyWebp(), 'application/octet-stream');
    expect(res.status).toBe(200);
    const served = await ctx.request('GET', pathOf(res.body.avatar));
    expect(served.headers['content-type']).toBe('image/webp');
  });

  it('refuses text that claims to be a PNG', async () => {
    const user = await ctx.signUp();
    const res = await putAvatar(user, Buffer.from('<svg onload="alert(1)"></svg>'), 'image/png');
    expectProblem(res, 415, 'unsupported_image');
    expect((await getMe(user)).avatar).toBeNull();
  });

  it('refuses an image format it does not take (GIF)', async () => {
    const user = await ctx.signUp();
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    expectProblem(await putAvatar(user, gif, 'image/png'), 415, 'unsupported_image');
    expectProblem(await putAvatar(user, gif, 'image/gif'), 415, 'unsupported_image');
  });

  it('takes a content type with parameters or the non-standard image/jpg', async () => {
    const user = await ctx.signUp();
    expect((await putAvatar(user, tinyPng(), 'image/png; name="me.png"')).status).toBe(200);
    expect((await putAvatar(user, tinyJpeg(), 'image/jpg')).status).toBe(200);
  });

  it('refuses an image larger than 1 MiB', async () => {
    const user = await ctx.signUp();
    const big = Buffer.concat([tinyPng(), Buffer.alloc(1024 * 1024)]);
    expectProblem(await putAvatar(user, big, 'image/png'), 413, 'payload_too_large');
  });

  it('refuses an empty body', async () => {
    const user = await ctx.signUp();
    const res = await putAvatar(user, Buffer.alloc(0), 'image/png');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  });

  it('refuses a JSON body as not an image', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('PUT', '/v1/me/avatar', {
      token: user.accessToken,
      body: { image: 'iVBORw0KGgo=' },
    });
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('replaces the previous avatar, whose URL then answers 404', async () => {
    const user = await ctx.signUp();
    const first = (await putAvatar(user, tinyPng(), 'image/png')).body.avatar;
    const second = (await putAvatar(user, tinyJpeg(), 'image/jpeg')).body.avatar;
    expect(second).not.toBe(first);
    expectProblem(await ctx.request('GET', pathOf(first)), 404, 'not_found');
    expect((await ctx.request('GET', pathOf(second))).status).toBe(200);
  });

  it('records the new avatar in the audit log', async () => {
    const user = await ctx.signUp();
    await putAvatar(user, tinyPng(), 'image/png');
    const [event] = await auditOf(user, 'user.avatar_set');
    expect(event?.actor_id).toBe(user.userId);
    expect(event?.changes.after.avatar_id).toMatch(/^avt_/);
  });

  it('refuses an unauthenticated upload', async () => {
    const res = await ctx.request('PUT', '/v1/me/avatar', {
      body: tinyPng(),
      headers: { 'content-type': 'image/png' },
    });
    expectProblem(res, 401, 'unauthenticated');
  });
});

describe('DELETE /v1/me/avatar', () => {
  it('removes the avatar from the profile, and its URL then answers 404', async () => {
    const user = await ctx.signUp();
    const url = (await putAvatar(user, tinyPng(), 'image/png')).body.avatar;
    const res = await ctx.request('DELETE', '/v1/me/avatar', { token: user.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.avatar).toBeNull();
    expect((await getMe(user)).avatar).toBeNull();
    expectProblem(await ctx.request('GET', pathOf(url)), 404, 'not_found');
  });

  it('records the removal in the audit log', async () => {
    const user = await ctx.signUp();
    const url = (await putAvatar(user, tinyPng(), 'image/png')).body.avatar;
    await ctx.request('DELETE', '/v1/me/avatar', { token: user.accessToken });
    const [event] = await auditOf(user, 'user.avatar_removed');
    expect(event?.changes).toEqual({
      before: { avatar_id: pathOf(url).split('/').pop() },
      after: { avatar_id: null },
    });
  });

  it('answers the profile when there is no avatar to remove, recording nothing', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('DELETE', '/v1/me/avatar', { token: user.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.avatar).toBeNull();
    expect(await auditOf(user, 'user.avatar_removed')).toEqual([]);
  });

  it('refuses an unauthenticated removal', async () => {
    expectProblem(await ctx.request('DELETE', '/v1/me/avatar'), 401, 'unauthenticated');
  });

  it('answers 404 for an avatar that never existed', async () => {
    expectProblem(
      await ctx.request('GET', '/v1/avatars/avt_00000000000000000000000000'),
      404,
      'not_found',
    );
  });
});

describe('name changes and organization member lists', () => {
  it('finds a member by their new name after they rename themselves', async () => {
    const owner = await ctx.signUp();
    const org = await ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: 'Rename Org' },
    });
    const renamed = await ctx.request('PATCH', '/v1/me', {
      token: owner.accessToken,
      body: { first_name: 'Zebedee', last_name: 'Quuxworth' },
    });
    expect(renamed.status).toBe(200);
    const found = await ctx.request(
      'GET',
      `/v1/organizations/${org.body.id}/members?search=quuxworth`,
      { token: owner.accessToken },
    );
    expect(found.body.data.map((m: { user_id: string }) => m.user_id)).toEqual([owner.userId]);
  });
});
