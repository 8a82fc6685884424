import { z } from 'zod';
import { Email, IsoDateTime } from './common';

/** Passwords are length-capped so nobody can make the server hash a megabyte (argon2 cost). */
export const Password = z.string().min(1).max(256);
const Name = z.string().trim().min(1).max(100);
const OtpCode = z
  .string()
  .trim()
  .max(6)
  .regex(/^\d{6}$/, 'must be 6 digits');

export const RegisterBody = z.strictObject({
  email: Email,
  password: Password,
  first_name: Name,
  last_name: Name,
});

/** Registration answers the same whether or not the email was already registered. */
export const AcceptedResponse = z.object({
  status: z.literal('accepted'),
  message: z.string(),
});

export const VerifyEmailBody = z.strictObject({ email: Email, code: OtpCode });
export const ResendOtpBody = z.strictObject({
  email: Email,
  purpose: z.enum(['verify_email', 'password_reset']).default('verify_email'),
});

export const LoginBody = z.strictObject({
  email: Email,
  password: Password,
  /** `token` (default) answers with bearer + refresh tokens; `cookie` sets an httpOnly session cookie. */
  mode: z.enum(['token', 'cookie']).default('token'),
});

export const RefreshBody = z.strictObject({ refresh_token: z.string().min(1).max(512) });

export const SessionTokens = z
  .object({
    token_type: z.literal('Bearer'),
    access_token: z.string(),
    expires_in: z.number().int().describe('seconds until the access token expires'),
    refresh_token: z.string(),
    session_id: z.string(),
  })
  .meta({ id: 'SessionTokens' });

export const CookieSession = z
  .object({
    session_id: z.string(),
    csrf_token: z.string().describe('send back as X-CSRF-Token on state-changing requests'),
  })
  .meta({ id: 'CookieSession' });

export const LoginResponse = z.union([SessionTokens, CookieSession]);

export const ForgotPasswordBody = z.strictObject({ email: Email });
export const ForgotPasswordVerifyBody = z.strictObject({ email: Email, code: OtpCode });
export const ResetTokenResponse = z.object({
  reset_token: z.string(),
  expires_in: z.number().int(),
});
export const ResetPasswordBody = z.strictObject({
  reset_token: z.string().min(1).max(512),
  password: Password,
});
export const SetPasswordBody = z.strictObject({ password: Password });
export const UpdatePasswordBody = z.strictObject({
  current_password: Password,
  new_password: Password,
});

export const AccountExistsBody = z.strictObject({ email: Email });
export const AccountExistsResponse = z.object({ exists: z.boolean() });

export const SessionView = z
  .object({
    id: z.string(),
    created_at: IsoDateTime,
    last_seen_at: IsoDateTime,
    expires_at: IsoDateTime,
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    device: z.string().describe('a short description derived from the user agent'),
    amr: z.array(z.string()).describe('authentication methods used: pwd, otp, totp, ...'),
    current_organization_id: z.string().nullable(),
    current: z.boolean(),
  })
  .meta({ id: 'Session' });

export const RevokedCount = z.object({ revoked: z.number().int() });

export const SetupBody = z.strictObject({
  token: z.string().min(1).max(200),
  email: Email,
  password: Password,
  first_name: Name,
  last_name: Name,
});

export const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });
