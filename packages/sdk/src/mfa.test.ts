import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotp } from '../../../apps/server/src/modules/mfa/totp';
import { createGatehouseClient } from './client';
import { GatehouseError } from './errors';
import { harness, type Served, serve } from './test-support';
import type { MfaChallenge } from './types';

let served: Served;
beforeAll(async () => {
  served = await serve();
});
afterAll(async () => {
  await served?.ctx.close();
});

const totpAt = (secret: string) =>
  generateTotp({ secret, epoch: Math.floor(served.ctx.clock.now() / 1000) });

describe('second factors through the SDK', () => {
  it('enrols TOTP, then signs in through the challenge and steps up', async () => {
    const email = harness.uniqueEmail('sdk-mfa');
    const gh = createGatehouseClient({ baseUrl: served.baseUrl });
    await gh.auth.register({
      email,
      password: harness.STRONG_PASSWORD,
      first_name: 'Ada',
      last_name: 'Lovelace',
    });
    await gh.auth.verifyEmail({
      email,
      code: await harness.lastCodeFor(served.ctx, email, 'verify_email'),
    });
    const enrolment = await gh.me.mfa.enrolTotp();
    expect(enrolment.otpauth_uri).toContain(enrolment.secret);
    const confirmed = await gh.me.mfa.confirmTotp(await totpAt(enrolment.secret));
    expect(confirmed.recovery_codes).toHaveLength(10);

    const fresh = createGatehouseClient({ baseUrl: served.baseUrl });
    const refusal = await fresh.auth.login({ email, password: harness.STRONG_PASSWORD }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(GatehouseError);
    expect((refusal as GatehouseError).code).toBe('mfa_required');
    const challenge = (refusal as GatehouseError).problem as unknown as MfaChallenge;
    expect(challenge.methods).toContain('totp');
    served.ctx.clock.advance(30_000);
    await fresh.auth.mfa.verify({
      mfa_token: challenge.mfa_token,
      method: 'totp',
      code: await totpAt(enrolment.secret),
    });
    expect((await fresh.me.get()).email).toBe(email);
    expect((await fresh.me.mfa.status()).factors).toHaveLength(1);

    // Eleven minutes later a sensitive act needs a step-up; the client takes the new token.
    served.ctx.clock.advance(11 * 60_000);
    const stale = await fresh.me.mfa.regenerateRecoveryCodes().then(
      () => null,
      (e: unknown) => e as GatehouseError,
    );
    expect(stale?.code).toBe('step_up_required');
    const before = fresh.getTokens().accessToken;
    const stepped = await fresh.auth.stepUp({
      method: 'recovery_code',
      code: confirmed.recovery_codes![0]!,
    });
    expect(stepped.amr).toEqual(expect.arrayContaining(['pwd', 'totp', 'recovery_code', 'mfa']));
    expect(fresh.getTokens().accessToken).toBe(stepped.access_token);
    expect(fresh.getTokens().accessToken).not.toBe(before);
    expect((await fresh.me.mfa.regenerateRecoveryCodes()).recovery_codes).toHaveLength(10);
  });
});
