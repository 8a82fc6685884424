/**
 * Sending invitations (`POST /v1/organizations/{org}/invitations`): up to 100 addresses, one
 * result per address, normalisation and deduplication, the refresh of a pending invitation,
 * the secrecy of the token, the expiry, the mail, the audit trail.
 * @see issue 4, items 1 and 8
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  mailsTo,
  type SignedIn,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import {
  addMember,
  auditRows,
  createAccount,
  createOrg,
  invitationToken,
  invite,
  inviteOne,
} from '../../../test/seed';

const DAY = 24 * 3600 * 1000;

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string; name: string };
let video: { id: string; name: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp({ first_name: 'Olga', last_name: 'Owner' });
  org = await createOrg(ctx, owner, 'media', 'Send Org');
  video = await createAccount(ctx, owner, org.id, 'video', 'Holiday Videos');
});
afterAll(async () => {
  await ctx?.close();
});

/** Moves the clock, then signs the owner in again: their access token would have expired. */
async function advance(ms: number) {
  ctx.clock.advance(ms);
  owner = await ctx.login(owner.email, owner.password);
}

const invitationRows = (orgId: string, email?: string) => {
  let q = ctx.database.db
    .selectFrom('invitations')
    .selectAll()
    .where('organization_id', '=', orgId);
  if (email) q = q.where('email', '=', email);
  return q.execute();
};

/** A fresh organization, so counts are not disturbed by the other tests. */
const freshOrg = (template = 'media') => createOrg(ctx, owner, template);

describe('how many addresses', () => {
  it('invites 100 addresses in one request, each with its own result', async () => {
    const o = await freshOrg();
    const emails = Array.from({ length: 100 }, (_, i) => uniqueEmail(`bulk${i}`));
    const res = await invite(ctx, owner, o.id, { emails });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(100);
    expect(res.body.results.map((r: { email: string }) => r.email)).toEqual(emails);
    expect(new Set(res.body.results.map((r: { status: string }) => r.status))).toEqual(
      new Set(['invited']),
    );
    expect(await invitationRows(o.id)).toHaveLength(100);
  });

  it('refuses 101 addresses with a 400 and invites nobody', async () => {
    const o = await freshOrg();
    const emails = Array.from({ length: 101 }, (_, i) => uniqueEmail(`over${i}`));
    const res = await invite(ctx, owner, o.id, { emails });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors.some((e: { path: string }) => e.path.includes('emails'))).toBe(true);
    expect(await invitationRows(o.id)).toHaveLength(0);
  });

  it('refuses an empty list of addresses', async () => {
    expectProblem(await invite(ctx, owner, org.id, { emails: [] }), 400, 'validation_failed');
  });
});

describe('results per address', () => {
  it('reports invited, already_member, already_invited, invalid_email and duplicate, in the order sent', async () => {
    const o = await freshOrg();
    const member = await addMember(ctx, owner, o.id, [{ role: 'accountant', scope: o.id }]);
    const pending = uniqueEmail('pending');
    await inviteOne(ctx, owner, o.id, pending);
    const fresh = uniqueEmail('fresh');
    const res = await invite(ctx, owner, o.id, {
      emails: [fresh, member.email, pending, 'not-an-address', fresh.toUpperCase()],
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { email: fresh, status: 'invited', invitation_id: expect.stringMatching(/^inv_/) },
      { email: member.email, status: 'already_member' },
      { email: pending, status: 'already_invited', invitation_id: expect.stringMatching(/^inv_/) },
      { email: 'not-an-address', status: 'invalid_email' },
      { email: fresh, status: 'duplicate' },
    ]);
  });

  it('normalises case and whitespace, so variants of one address make one invitation', async () => {
    const o = await freshOrg();
    const email = uniqueEmail('variant');
    const res = await invite(ctx, owner, o.id, {
      emails: [
        `  ${email.toUpperCase()}`,
        email,
        `\t${email}  `,
        email.replace(/^./, (c) => c.toUpperCase()),
      ],
    });
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
      'invited',
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
    const rows = await invitationRows(o.id);
    expect(rows.map((r) => r.email)).toEqual([email]);
    expect(await mailsTo(ctx, email)).toHaveLength(1);
  });

  it('reports the first occurrence of an address as invited and the later ones as duplicates', async () => {
    const o = await freshOrg();
    const a = uniqueEmail('first');
    const b = uniqueEmail('second');
    const res = await invite(ctx, owner, o.id, { emails: [a, b, a.toUpperCase(), ` ${b}`] });
    expect(res.body.results).toEqual([
      { email: a, status: 'invited', invitation_id: expect.any(String) },
      { email: b, status: 'invited', invitation_id: expect.any(String) },
      { email: a, status: 'duplicate' },
      { email: b, status: 'duplicate' },
    ]);
  });

  it.each([
    ['no at sign', 'plainaddress'],
    ['no local part', '@example.com'],
    ['no domain', 'someone@'],
    ['a space inside', 'some one@example.com'],
    ['two at signs', 'a@b@example.com'],
    ['empty', ''],
    ['blank', '   '],
    ['a trailing dot', 'someone@example.'],
    ['over 254 characters', `${'x'.repeat(250)}@example.com`],
  ])(
    'reports an address with %s as invalid_email and still invites the others',
    async (_l, bad) => {
      const o = await freshOrg();
      const good = uniqueEmail('good');
      const res = await invite(ctx, owner, o.id, { emails: [bad, good] });
      expect(res.status).toBe(200);
      expect(res.body.results).toEqual([
        { email: bad, status: 'invalid_email' },
        { email: good, status: 'invited', invitation_id: expect.any(String) },
      ]);
      expect((await invitationRows(o.id)).map((r) => r.email)).toEqual([good]);
    },
  );

  it('writes nothing and mails nobody when every address is invalid', async () => {
    const o = await freshOrg();
    const res = await invite(ctx, owner, o.id, { emails: ['nope', 'also nope'] });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
      'invalid_email',
      'invalid_email',
    ]);
    expect(await invitationRows(o.id)).toHaveLength(0);
  });

  it('sends no mail to an address that is already a member', async () => {
    const o = await freshOrg();
    const member = await addMember(ctx, owner, o.id, [{ role: 'accountant', scope: o.id }]);
    const before = (await mailsTo(ctx, member.email)).length;
    await invite(ctx, owner, o.id, { emails: [member.email] });
    expect(await mailsTo(ctx, member.email)).toHaveLength(before);
    expect(await invitationRows(o.id, member.email)).toHaveLength(0);
  });
});

describe('property: any mix of addresses', () => {
  /** An address as a person might paste it: a base address in some case, with some spaces. */
  const variant = (base: string) =>
    fc
      .record({
        upper: fc.boolean(),
        lead: fc.constantFrom('', ' ', '\t', '  '),
        trail: fc.constantFrom('', ' ', '\n'),
      })
      .map(({ upper, lead, trail }) => `${lead}${upper ? base.toUpperCase() : base}${trail}`);
  const garbage = fc.oneof(
    fc.constantFrom('', ' ', 'nope', '@x.com', 'a@', 'a b@example.com', 'x@@example.com'),
    fc.string({ maxLength: 30 }).filter((s) => !s.includes('@')),
  );

  it('gives one result per address sent, in order, and one pending invitation per distinct valid address', async () => {
    const bases = ['ana@example.com', 'bo@example.org', 'cy.d@example.net'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(...bases.map(variant), garbage), { minLength: 1, maxLength: 12 }),
        async (emails) => {
          const o = await freshOrg();
          const res = await invite(ctx, owner, o.id, { emails });
          expect(res.status).toBe(200);
          const results = res.body.results as { email: string; status: string }[];
          expect(results).toHaveLength(emails.length);
          const firstSeen = new Set<string>();
          results.forEach((r, i) => {
            const normal = emails[i]!.trim().toLowerCase();
            if (!bases.includes(normal)) {
              expect(r.status).toBe('invalid_email');
              return;
            }
            expect(r.email).toBe(normal);
            expect(r.status).toBe(firstSeen.has(normal) ? 'duplicate' : 'invited');
            firstSeen.add(normal);
          });
          const rows = await invitationRows(o.id);
          expect(rows.map((r) => r.email).sort()).toEqual([...firstSeen].sort());
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('a second invitation to a pending address', () => {
  it('keeps one pending invitation, with the same id', async () => {
    const o = await freshOrg();
    const email = uniqueEmail('again');
    const first = await inviteOne(ctx, owner, o.id, email);
    ctx.clock.advance(1000);
    const second = await inviteOne(ctx, owner, o.id, email);
    expect(second.id).toBe(first.id);
    const rows = await invitationRows(o.id, email);
    expect(rows.filter((r) => r.status === 'pending')).toHaveLength(1);
  });

  it('replaces the link: the old one answers 404, the new one works', async () => {
    const o = await freshOrg();
    const email = uniqueEmail('relink');
    const first = await inviteOne(ctx, owner, o.id, email);
    ctx.clock.advance(1000);
    const second = await inviteOne(ctx, owner, o.id, email);
    expect(second.token).not.toBe(first.token);
    expectProblem(await ctx.request('GET', `/v1/invitations/${first.token}`), 404, 'not_found');
    const preview = await ctx.request('GET', `/v1/invitations/${second.token}`);
    expect(preview.status).toBe(200);
  });

  it('gives it a new expiry and the new grants', async () => {
    const o = await freshOrg();
    const email = uniqueEmail('regrant');
    const first = await inviteOne(ctx, owner, o.id, email, [{ role: 'accountant', scope: o.id }]);
    const before = await ctx.request('GET', `/v1/organizations/${o.id}/invitations/${first.id}`, {
      token: owner.accessToken,
    });
    await advance(DAY);
    await inviteOne(ctx, owner, o.id, email, [{ role: 'video-analyst', scope: o.id }], {
      expires_in_days: 10,
    });
    const after = await ctx.request('GET', `/v1/organizations/${o.id}/invitations/${first.id}`, {
      token: owner.accessToken,
    });
    expect(after.body.grants).toEqual([{ role: 'video-analyst', scope: o.id }]);
    expect(Date.parse(after.body.expires_at)).toBe(ctx.clock.now() + 10 * DAY);
    expect(Date.parse(after.body.expires_at)).toBeGreaterThan(Date.parse(before.body.expires_at));
  });

  it('refreshes an invitation whose link has expired, which becomes pending again', async () => {
    const o = await freshOrg();
    const email = uniqueEmail('stale');
    const first = await inviteOne(ctx, owner, o.id, email, [], { expires_in_days: 1 });
    await advance(2 * DAY);
    const res = await invite(ctx, owner, o.id, { emails: [email] });
    expect(res.body.results[0]).toMatchObject({
      status: 'already_invited',
      invitation_id: first.id,
    });
    const got = await ctx.request('GET', `/v1/organizations/${o.id}/invitations/${first.id}`, {
      token: owner.accessToken,
    });
    expect(got.body.status).toBe('pending');
  });

  it('invites again, as a new invitation, an address whose invitation was revoked', async () => {
    const o = await freshOrg();
    const email = uniqueEmail('revoked-again');
    const first = await inviteOne(ctx, owner, o.id, email);
    await ctx.request('DELETE', `/v1/organizations/${o.id}/invitations/${first.id}`, {
      token: owner.accessToken,
    });
    const res = await invite(ctx, owner, o.id, { emails: [email] });
    expect(res.body.results[0].status).toBe('invited');
    expect(res.body.results[0].invitation_id).not.toBe(first.id);
  });
});

describe('the token', () => {
  it('carries at least 128 random bits', async () => {
    const { token } = await inviteOne(ctx, owner, org.id, uniqueEmail('bits'));
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);
  });

  it('differs for every invitation', async () => {
    const emails = Array.from({ length: 20 }, (_, i) => uniqueEmail(`distinct${i}`));
    await invite(ctx, owner, org.id, { emails });
    const tokens = await Promise.all(emails.map((e) => invitationToken(ctx, e)));
    expect(new Set(tokens).size).toBe(20);
  });

  it('is stored only as its SHA-256 hash', async () => {
    const email = uniqueEmail('hashed');
    const { id, token } = await inviteOne(ctx, owner, org.id, email);
    const row = await ctx.database.db
      .selectFrom('invitations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).not.toBe(token);
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token);
  });

  it('appears in no API answer: send, list, get, resend, revoke, preview, mine', async () => {
    const invitee = await ctx.signUp();
    const res = await invite(ctx, owner, org.id, { emails: [invitee.email] });
    const id = res.body.results[0].invitation_id;
    const token = await invitationToken(ctx, invitee.email);
    const answers = [res.text];
    const as = (t: string) => ({ token: t });
    answers.push(
      (await ctx.request('GET', `/v1/organizations/${org.id}/invitations`, as(owner.accessToken)))
        .text,
    );
    answers.push(
      (
        await ctx.request(
          'GET',
          `/v1/organizations/${org.id}/invitations/${id}`,
          as(owner.accessToken),
        )
      ).text,
    );
    answers.push((await ctx.request('GET', `/v1/invitations/${token}`)).text);
    answers.push((await ctx.request('GET', '/v1/me/invitations', as(invitee.accessToken))).text);
    const resent = await ctx.request(
      'POST',
      `/v1/organizations/${org.id}/invitations/${id}/resend`,
      as(owner.accessToken),
    );
    answers.push(resent.text);
    const newToken = await invitationToken(ctx, invitee.email);
    answers.push((await ctx.request('GET', '/v1/me/invitations', as(invitee.accessToken))).text);
    answers.push(
      (
        await ctx.request(
          'DELETE',
          `/v1/organizations/${org.id}/invitations/${id}`,
          as(owner.accessToken),
        )
      ).text,
    );
    for (const text of answers) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(newToken);
    }
  });

  it('is the last path segment of PUBLIC_URL/invitations/ in the mail', async () => {
    const email = uniqueEmail('link');
    await inviteOne(ctx, owner, org.id, email);
    const [mail] = await mailsTo(ctx, email);
    expect(mail!.body).toMatch(/http:\/\/gatehouse\.test\/invitations\/[A-Za-z0-9_-]{22,}\n/);
  });
});

describe('expiry', () => {
  it('defaults to 7 days', async () => {
    const o = await freshOrg();
    const { id } = await inviteOne(ctx, owner, o.id, uniqueEmail('seven'));
    const got = await ctx.request('GET', `/v1/organizations/${o.id}/invitations/${id}`, {
      token: owner.accessToken,
    });
    expect(Date.parse(got.body.expires_at)).toBe(ctx.clock.now() + 7 * DAY);
  });

  it("follows the organization's invitation_expiry_days policy", async () => {
    const o = await freshOrg();
    const patched = await ctx.request('PATCH', `/v1/organizations/${o.id}`, {
      token: owner.accessToken,
      body: { policies: { invitation_expiry_days: 3 } },
    });
    expect(patched.status).toBe(200);
    const email = uniqueEmail('three');
    const { id } = await inviteOne(ctx, owner, o.id, email);
    const got = await ctx.request('GET', `/v1/organizations/${o.id}/invitations/${id}`, {
      token: owner.accessToken,
    });
    expect(Date.parse(got.body.expires_at)).toBe(ctx.clock.now() + 3 * DAY);
    expect((await mailsTo(ctx, email))[0]!.body).toContain('valid for 3 days');
  });

  it('may be set per request, over the policy', async () => {
    const o = await freshOrg();
    await ctx.request('PATCH', `/v1/organizations/${o.id}`, {
      token: owner.accessToken,
      body: { policies: { invitation_expiry_days: 3 } },
    });
    const { id } = await inviteOne(ctx, owner, o.id, uniqueEmail('thirty'), [], {
      expires_in_days: 30,
    });
    const got = await ctx.request('GET', `/v1/organizations/${o.id}/invitations/${id}`, {
      token: owner.accessToken,
    });
    expect(Date.parse(got.body.expires_at)).toBe(ctx.clock.now() + 30 * DAY);
  });

  it.each([0, 91, 1.5, -1, '7'])('refuses expires_in_days = %j', async (days) => {
    expectProblem(
      await ctx.request('POST', `/v1/organizations/${org.id}/invitations`, {
        token: owner.accessToken,
        body: { emails: [uniqueEmail()], expires_in_days: days },
      }),
      400,
      'validation_failed',
    );
  });
});

describe('the mail', () => {
  it("names the organization, the inviter, the grants in words and the inviter's message", async () => {
    const email = uniqueEmail('words');
    await inviteOne(ctx, owner, org.id, email, [{ role: 'video-developer', scope: video.id }], {
      message: 'Welcome aboard!',
    });
    const [mail] = await mailsTo(ctx, email);
    expect(mail!.subject).toBe('Olga Owner invited you to Send Org');
    expect(mail!.body).toContain('Video developer on Holiday Videos');
    expect(mail!.body).toContain('Olga Owner wrote: Welcome aboard!');
  });

  it('goes to each invited address once, and to nobody else', async () => {
    const o = await freshOrg();
    const a = uniqueEmail('mail-a');
    const b = uniqueEmail('mail-b');
    await invite(ctx, owner, o.id, { emails: [a, b, a, 'bad'] });
    expect(await mailsTo(ctx, a)).toHaveLength(1);
    expect(await mailsTo(ctx, b)).toHaveLength(1);
    expect(await mailsTo(ctx, 'bad')).toHaveLength(0);
  });
});

describe('grants', () => {
  it('stores the grants given, at organization, account and resource scopes', async () => {
    const o = await freshOrg();
    const acc = await createAccount(ctx, owner, o.id, 'video');
    const room = await ctx.request(
      'POST',
      `/v1/organizations/${o.id}/accounts/${acc.id}/resources`,
      {
        token: owner.accessToken,
        body: { name: 'Folder', type: 'folder' },
      },
    );
    const grants = [
      { role: 'accountant', scope: o.id },
      { role: 'video-developer', scope: acc.id },
      { permissions: ['video.assets:read'], scope: room.body.id },
    ];
    const { id } = await inviteOne(ctx, owner, o.id, uniqueEmail('scopes'), grants);
    const got = await ctx.request('GET', `/v1/organizations/${o.id}/invitations/${id}`, {
      token: owner.accessToken,
    });
    expect(got.body.grants).toEqual(grants);
  });

  it('refuses a role the template does not have, and writes nothing', async () => {
    const o = await freshOrg();
    const res = await invite(ctx, owner, o.id, {
      emails: [uniqueEmail()],
      grants: [{ role: 'no-such-role', scope: o.id }],
    });
    expectProblem(res, 400, 'validation_failed');
    expect(await invitationRows(o.id)).toHaveLength(0);
  });

  it('refuses a scope of another organization as unknown (404-like 400), and writes nothing', async () => {
    const o = await freshOrg();
    const other = await freshOrg();
    const res = await invite(ctx, owner, o.id, {
      emails: [uniqueEmail()],
      grants: [{ role: 'accountant', scope: other.id }],
    });
    expectProblem(res, 400, 'validation_failed');
    expect(await invitationRows(o.id)).toHaveLength(0);
  });

  it('refuses a role granted at a level it cannot be granted at', async () => {
    const res = await invite(ctx, owner, org.id, {
      emails: [uniqueEmail()],
      grants: [{ role: 'video-source-specific', scope: org.id }],
    });
    expectProblem(res, 400, 'validation_failed');
  });
});

describe('who is refused', () => {
  it('answers 404 to a non-member, as if the organization did not exist', async () => {
    const stranger = await ctx.signUp();
    expectProblem(
      await invite(ctx, stranger, org.id, { emails: [uniqueEmail()] }),
      404,
      'not_found',
    );
  });

  it('answers 401 without credentials', async () => {
    const res = await ctx.request('POST', `/v1/organizations/${org.id}/invitations`, {
      body: { emails: [uniqueEmail()] },
    });
    expectProblem(res, 401, 'unauthenticated');
  });

  it('refuses offer_ownership in a template that does not offer ownership by invitation', async () => {
    const res = await invite(ctx, owner, org.id, {
      emails: [uniqueEmail()],
      offer_ownership: true,
    });
    expectProblem(res, 403, 'forbidden');
  });
});

describe('audit', () => {
  it('records one invitation.sent event with the counts and the invitation ids', async () => {
    const o = await freshOrg();
    const a = uniqueEmail('audit');
    const res = await invite(ctx, owner, o.id, { emails: [a, 'bad', a] });
    const [event] = await auditRows(ctx, o.id, 'invitation.sent');
    expect(event).toMatchObject({ actor_type: 'user', actor_id: owner.userId });
    expect(event!.changes).toMatchObject({
      invited: 1,
      invalid_email: 1,
      duplicate: 1,
      invitation_ids: [res.body.results[0].invitation_id],
    });
  });
});
