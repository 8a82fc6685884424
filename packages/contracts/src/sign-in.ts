import { z } from 'zod';
import { Password } from './auth';
import { IsoDateTime } from './common';

/** The second factors a user can hold, and the names a sign-in challenge or step-up accepts. */
export const SecondFactorMethod = z.enum(['totp', 'sms', 'recovery_code']);
export type SecondFactorMethod = z.infer<typeof SecondFactorMethod>;

const SixDigits = z
  .string()
  .trim()
  .max(6)
  .regex(/^\d{6}$/, 'must be 6 digits');
/** A TOTP or SMS code (6 digits) or a recovery code (xxxxx-xxxxx). */
const FactorCode = z.string().trim().min(6).max(32);
/** E.164: a plus, the country code and the number, 8 to 15 digits in all. */
export const PhoneNumber = z
  .string()
  .trim()
  .max(16)
  .regex(/^\+[1-9]\d{7,14}$/, 'must be an E.164 number such as +14155550123');

export const MfaFactorView = z
  .object({
    id: z.string(),
    type: z.enum(['totp', 'sms']),
    /** SMS: the number with all but its last 2 digits masked */
    phone: z.string().nullable(),
    confirmed: z.boolean(),
    created_at: IsoDateTime,
    last_used_at: IsoDateTime.nullable(),
  })
  .meta({ id: 'MfaFactor' });

export const MfaStatus = z
  .object({
    factors: z.array(MfaFactorView),
    recovery_codes_remaining: z.number().int(),
    /** what a step-up in this account accepts */
    step_up_methods: z.array(z.string()),
  })
  .meta({ id: 'MfaStatus' });

export const TotpEnrolment = z
  .object({
    factor_id: z.string(),
    secret: z.string().describe('base32; for typing into an authenticator by hand'),
    otpauth_uri: z.string(),
    qr_code: z.string().describe('a data: URL of a PNG showing otpauth_uri'),
  })
  .meta({ id: 'TotpEnrolment' });

export const ConfirmCodeBody = z.strictObject({ code: SixDigits });
export const SmsEnrolBody = z.strictObject({ phone: PhoneNumber });
export const SmsEnrolment = z.object({
  factor_id: z.string(),
  phone: z.string(),
  expires_in: z.number().int(),
});

export const FactorConfirmed = z
  .object({
    factor: MfaFactorView,
    /** set when this is the user's first factor: shown once, store them safely */
    recovery_codes: z.array(z.string()).nullable(),
  })
  .meta({ id: 'FactorConfirmed' });

export const RecoveryCodes = z.object({ recovery_codes: z.array(z.string()) });

export const MfaVerifyBody = z.strictObject({
  mfa_token: z.string().min(1).max(200),
  method: SecondFactorMethod,
  code: FactorCode,
});
export const MfaTokenBody = z.strictObject({ mfa_token: z.string().min(1).max(200) });
export const CodeSent = z.object({ status: z.literal('sent'), expires_in: z.number().int() });

export const StepUpBody = z.strictObject({
  method: z.enum(['password', 'totp', 'sms', 'recovery_code']),
  password: z.string().min(1).max(256).optional(),
  code: FactorCode.optional(),
});
export const StepUpResponse = z.object({
  auth_time: IsoDateTime,
  amr: z.array(z.string()),
  /** seconds this proof counts as recent for sensitive acts */
  valid_for: z.number().int(),
  /** a new access token carrying the updated amr (bearer clients should switch to it) */
  access_token: z.string(),
  expires_in: z.number().int().describe('seconds until that access token expires'),
});

export const OAuthProviderId = z
  .string()
  .max(60)
  .regex(/^(google|github|oidc:[a-z0-9_-]{1,40})$/, 'google, github or oidc:<name>');
export const OAuthProviderView = z.object({
  id: z.string(),
  name: z.string(),
  start_url: z.string(),
});
export const OAuthStartQuery = z.object({
  /** where the browser goes after sign-in: a path on this site or an allowed URL */
  return_to: z.string().max(2000).optional(),
  /** cookie (default): the browser gets the session cookie; token: the return address gets a login_token to exchange */
  mode: z.enum(['token', 'cookie']).default('cookie'),
});
export const OAuthCallbackQuery = z.object({
  state: z.string().max(500).optional(),
  code: z.string().max(4000).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
  iss: z.string().max(2000).optional(),
});
export const OAuthExchangeBody = z.strictObject({ login_token: z.string().min(1).max(200) });
/**
 * Finishes a provider sign-in that joins an existing account it may not join on the provider's
 * word alone: the link_pending_token from the return address, and the proof its `proof` asked
 * for (the account's password, or the code mailed to its address).
 */
export const OAuthLinkConfirmBody = z.strictObject({
  link_pending_token: z.string().min(1).max(200),
  /** proof=password: the existing account's password */
  password: Password.optional(),
  /** proof=email_code: the code mailed to the existing account's address */
  code: z
    .string()
    .max(20)
    .trim()
    .regex(/^\d{6}$/, 'must be 6 digits')
    .optional(),
});
export const LinkStartBody = z.strictObject({
  provider: z.string().min(1).max(60),
  return_to: z.string().max(2000).optional(),
});
export const LinkStart = z.object({ authorization_url: z.string() });
export const LinkConfirmBody = z.strictObject({ link_token: z.string().min(1).max(200) });

export const IdentityView = z
  .object({
    id: z.string(),
    provider: z.string(),
    email: z.string().nullable(),
    created_at: IsoDateTime,
    last_used_at: IsoDateTime.nullable(),
  })
  .meta({ id: 'Identity' });
