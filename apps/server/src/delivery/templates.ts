import type { EmailMessage, SmsMessage } from './outbox';

/** The mails Gatehouse sends. Plain text: it reaches every client and carries no tracking. */
/**
 * A moment as the recipient reads it: in their time zone when they chose one (seed 003: the time
 * zone "affects how dates and times are displayed in reports and messages"), else in UTC, and
 * always naming the zone, e.g. "2 Dec 2026, 01:20 (Europe/Berlin)".
 */
export function mailTime(ms: number, timezone: string | null | undefined): string {
  const zone = timezone || 'UTC';
  const format = (timeZone: string) =>
    new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(
      new Date(ms),
    );
  try {
    return `${format(zone)} (${zone})`;
  } catch {
    // A zone this Node's ICU does not know: UTC rather than no date at all.
    return `${format('UTC')} (UTC)`;
  }
}

export const mails = {
  verifyEmail: (to: string, name: string, code: string): EmailMessage => ({
    to,
    subject: `${code} is your Gatehouse verification code`,
    subjectAtRest: 'Your Gatehouse verification code',
    text: `Hello ${name},\n\nYour verification code is ${code}. It is valid for 10 minutes.\n\nIf you did not sign up, ignore this message.\n`,
  }),
  alreadyRegistered: (to: string, name: string, publicUrl: string): EmailMessage => ({
    to,
    subject: 'You already have a Gatehouse account',
    text: `Hello ${name},\n\nSomeone (probably you) tried to sign up with this address, but it already has an account.\nSign in at ${publicUrl}, or reset your password if you forgot it.\n\nIf it was not you, no action is needed.\n`,
  }),
  passwordReset: (to: string, name: string, code: string): EmailMessage => ({
    to,
    subject: `${code} is your Gatehouse password reset code`,
    subjectAtRest: 'Your Gatehouse password reset code',
    text: `Hello ${name},\n\nYour password reset code is ${code}. It is valid for 10 minutes.\n\nIf you did not ask to reset your password, ignore this message; your password is unchanged.\n`,
  }),
  passwordChanged: (
    to: string,
    name: string,
    at: number,
    timezone: string | null,
  ): EmailMessage => ({
    to,
    subject: 'Your Gatehouse password was changed',
    text: `Hello ${name},\n\nThe password of your account was changed on ${mailTime(at, timezone)} and your other sessions were signed out.\nIf this was not you, reset your password at once.\n`,
  }),
  addedToOrganization: (
    to: string,
    name: string,
    organization: string,
    publicUrl: string,
    setPasswordToken: string | null,
  ): EmailMessage => ({
    to,
    subject: `You were added to ${organization} on Gatehouse`,
    text: setPasswordToken
      ? `Hello ${name},\n\nYou were added to ${organization}. Set your password to sign in:\n${publicUrl}/set-password?token=${setPasswordToken}\n(or POST it as reset_token with your new password to ${publicUrl}/v1/auth/password/reset). The link is valid for 7 days.\n`
      : `Hello ${name},\n\nYou were added to ${organization}. Sign in at ${publicUrl} with your existing account.\n`,
  }),
  invitation: (
    to: string,
    inviter: string,
    organization: string,
    grants: string[],
    message: string | null,
    link: string,
    days: number,
  ): EmailMessage => ({
    to,
    subject: `${inviter} invited you to ${organization}`,
    text: `Hello,\n\n${inviter} invited you to join ${organization} on Gatehouse${grants.length ? ` as:\n${grants.map((g) => `  - ${g}`).join('\n')}` : '.'}\n${message ? `\n${inviter} wrote: ${message}\n` : ''}\nAccept or decline here (valid for ${days} days):\n${link}\n\nIf you did not expect this, ignore this message.\n`,
  }),
  organizationCreatedForYou: (
    to: string,
    name: string,
    organization: string,
    publicUrl: string,
    setPasswordToken: string | null,
  ): EmailMessage => ({
    to,
    subject: `${organization} is ready for you on Gatehouse`,
    text: setPasswordToken
      ? `Hello ${name},\n\nAn organization, ${organization}, was created for you and you are its owner. Set your password to sign in:\n${publicUrl}/set-password?token=${setPasswordToken}\n(or POST it as reset_token with your new password to ${publicUrl}/v1/auth/password/reset). The link is valid for 7 days.\n`
      : `Hello ${name},\n\nAn organization, ${organization}, was created for you and you are its owner. Sign in at ${publicUrl} with your existing account.\n`,
  }),
  /** The code that proves an account before a provider sign-in joins it (the code is not in the subject). */
  providerLinkCode: (to: string, name: string, provider: string, code: string): EmailMessage => ({
    to,
    subject: `Confirm signing in to Gatehouse with ${provider}`,
    text: `Hello ${name},\n\nSomeone signing in with ${provider} asked to join your Gatehouse account. If it was you, enter this code: ${code}. It is valid for 10 minutes.\n\nIf it was not you, ignore this message: without the code nothing changes.\n`,
  }),
  /** Sent whenever sign-in protection changes, so a takeover does not go unnoticed. */
  securityChanged: (
    to: string,
    name: string,
    what: string,
    at: number,
    timezone: string | null,
  ): EmailMessage => ({
    to,
    subject: 'A security setting of your Gatehouse account changed',
    text: `Hello ${name},\n\n${what}\nWhen: ${mailTime(at, timezone)}.\n\nIf this was not you, reset your password and review your sign-in methods now.\n`,
  }),
};

/** SMS bodies: short, the code first (phones show it in the notification). */
export const texts = {
  signInCode: (to: string, code: string): SmsMessage => ({
    to,
    body: `${code} is your Gatehouse sign-in code. It expires in 5 minutes. Never share it.`,
  }),
  confirmPhone: (to: string, code: string): SmsMessage => ({
    to,
    body: `${code} is your Gatehouse code to confirm this number. It expires in 5 minutes.`,
  }),
};
