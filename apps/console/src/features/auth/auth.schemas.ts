import {
  ForgotPasswordBody,
  failedPasswordShapeRules,
  LoginBody,
  RegisterBody,
  ResetPasswordBody,
  VerifyEmailBody,
} from '@gatehouse/contracts';
import { z } from 'zod';

/**
 * The console's forms validate with the server's own request schemas (@gatehouse/contracts):
 * a rule lives in one place. Console-only fields (password confirmation) are added here.
 */
const confirmMatches = <T extends { password: string; confirm: string }>(value: T) =>
  value.password === value.confirm;
const confirmError = { message: 'The passwords do not match', path: ['confirm'] };
/** The policy's shape rules, judged before sending (the server judges them all again). */
const meetsRules = <T extends { password: string }>(value: T) =>
  failedPasswordShapeRules(value.password, null).length === 0;
const rulesError = { message: 'The password does not meet every rule below', path: ['password'] };

export const SignInForm = LoginBody.pick({ email: true, password: true });
export type SignInValues = z.input<typeof SignInForm>;

export const SignUpForm = RegisterBody.extend({ confirm: z.string() })
  .refine(meetsRules, rulesError)
  .refine(confirmMatches, confirmError);
export type SignUpValues = z.input<typeof SignUpForm>;

export const VerifyForm = VerifyEmailBody;

export const ForgotForm = ForgotPasswordBody;
export type ForgotValues = z.input<typeof ForgotForm>;

export const NewPasswordForm = ResetPasswordBody.pick({ password: true })
  .extend({ confirm: z.string() })
  .refine(meetsRules, rulesError)
  .refine(confirmMatches, confirmError);
export type NewPasswordValues = z.input<typeof NewPasswordForm>;
