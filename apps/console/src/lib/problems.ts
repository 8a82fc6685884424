import { type ErrorCode, GatehouseError } from '@gatehouse/sdk/browser';

/**
 * Every problem code the API can answer, as a sentence a person reads. One catalogue for the
 * whole console: a new code in @gatehouse/contracts fails the typecheck until it is worded here.
 */
export const problemMessages: Record<ErrorCode, string> = {
  validation_failed: 'Some fields need attention.',
  malformed_json:
    'The console sent a request the server could not read. Reload the page and try again.',
  payload_too_large: 'That is too large to send.',
  unsupported_media_type: 'That kind of file or request is not supported.',
  not_found: 'We could not find that. It may have been deleted, or you may not have access to it.',
  method_not_allowed: 'That action is not available here.',
  malformed_request: 'The request could not be read. Reload the page and try again.',
  request_timeout: 'The request took too long to arrive. Check your connection and try again.',
  expectation_failed: 'The request could not be read. Reload the page and try again.',
  request_headers_too_large:
    'Your browser sent too much data with the request. Clear this site’s cookies and try again.',
  conflict: 'Something changed in the meantime. Reload and try again.',
  rate_limited: 'Too many attempts. Wait a moment before trying again.',
  internal_error: 'The server ran into a problem. Nothing was changed; please try again.',
  service_unavailable: 'The server is busy or unavailable. Please try again in a moment.',
  unauthenticated: 'Please sign in to continue.',
  invalid_token: 'Your sign-in has expired. Please sign in again.',
  session_revoked: 'This session was signed out. Please sign in again.',
  refresh_token_reused: 'This session was signed out for your safety. Please sign in again.',
  invalid_credentials: 'The email or password is incorrect.',
  email_not_verified: 'Confirm your email address first: enter the code we sent you.',
  user_inactive: 'This account is suspended. Contact your administrator.',
  csrf_failed: 'Your session could not be confirmed. Reload the page and try again.',
  mfa_required: 'Enter a code from your second factor to continue.',
  mfa_enrollment_required:
    'This organization requires two-step verification. Set up a second factor in your settings first.',
  mfa_challenge_invalid: 'This sign-in attempt has expired or was used up. Please sign in again.',
  mfa_method_unavailable: 'That second factor is not set up for your account.',
  factor_exists: 'That kind of second factor is already set up.',
  mobile_is_sms_factor:
    'This mobile number receives your sign-in codes. To change it, set up text-message verification with the new number.',
  step_up_required: 'Please confirm it is you before doing this.',
  login_method_not_allowed:
    'This organization does not accept the way you signed in. Sign in with a method it allows.',
  session_max_age_exceeded:
    'This organization requires you to sign in again after a while. Please sign in again.',
  session_idle_timeout:
    'You were signed out after being inactive for longer than this organization allows.',
  policy_lockout:
    'This change would lock you out of the organization with your current sign-in. Adjust it first.',
  oauth_provider_unknown: 'That sign-in provider is not available.',
  oauth_failed: 'The sign-in provider did not complete the sign-in. Please try again.',
  redirect_not_allowed: 'That return address is not allowed.',
  oauth_state_invalid:
    'This sign-in did not start in this browser, or took too long. Start the sign-in again here.',
  oauth_email_unverified:
    'The provider has not confirmed your email address. Confirm it with the provider, or sign in with your password.',
  oauth_email_invalid: 'The provider sent an email address we cannot use. Sign in another way.',
  identity_linked_elsewhere: 'That provider account is already linked to another Gatehouse user.',
  sms_limit_reached:
    'Too many text messages were sent. Wait a while, or use another second factor.',
  last_sign_in_method: 'You cannot remove your only way to sign in. Add another one first.',
  invalid_code: 'The code is wrong. Check it and try again.',
  code_expired: 'The code has expired or was already used. Ask for a new one.',
  too_many_attempts: 'Too many wrong codes. Ask for a new one.',
  resend_cooldown: 'A code was sent recently. Wait a little before asking for another.',
  password_policy: 'Choose a stronger password.',
  password_already_set: 'You already have a password. Change it in your settings instead.',
  password_not_set: 'Your account has no password yet. Use “Forgot password” to set one.',
  email_taken: 'An account with this email already exists.',
  email_read_only: 'The email address cannot be changed here.',
  already_verified: 'This email address is already confirmed. You can sign in.',
  feature_disabled: 'This feature is turned off on this platform.',
  setup_done: 'The platform already has an administrator. Sign in instead.',
  invalid_setup_token:
    'This setup link is not valid. Use the link printed when the server started.',
  invitation_expired:
    'This invitation has expired. Ask the person who invited you to send a new one.',
  invitation_revoked: 'This invitation was withdrawn by the organization.',
  invitation_used: 'This invitation has already been answered.',
  invitation_no_longer_valid:
    'This invitation can no longer be accepted: what it offered is no longer available. Ask for a new one.',
  invitation_email_mismatch:
    'This invitation was sent to another email address. Sign in with that address to accept it.',
  login_required: 'An account exists for this address. Sign in to accept the invitation.',
  platform_admin_required: 'Only platform administrators can do this.',
  forbidden: 'You do not have permission to do this.',
  unsupported_image: 'The picture must be a PNG, JPEG or WebP image.',
};

/** The failed password rules, as the checklist words them. */
export const passwordRuleLabels: Record<string, string> = {
  min_length: 'At least 10 characters',
  lowercase: 'A lowercase letter',
  uppercase: 'An uppercase letter',
  digit: 'A number',
  special: 'A symbol (such as ! ? # -)',
  not_common: 'Not a commonly used password',
  not_email: 'Does not contain your email address',
};

/** One sentence for any error: a problem by its code, a network failure as such. */
export function messageOf(error: unknown): string {
  if (error instanceof GatehouseError) {
    const known = (problemMessages as Record<string, string | undefined>)[error.code];
    if (error.code === 'password_policy') {
      const failed = (error.problem?.failed_rules as string[] | undefined) ?? [];
      const words = failed.map((r) => passwordRuleLabels[r] ?? r);
      return words.length ? `The password needs: ${words.join(', ').toLowerCase()}.` : known!;
    }
    if (error.status >= 500) return problemMessages.internal_error;
    return known ?? error.problem?.title ?? 'Something went wrong. Please try again.';
  }
  if (
    error instanceof TypeError ||
    (error instanceof DOMException && error.name === 'TimeoutError')
  )
    return 'The server could not be reached. Check your connection; what you typed is kept.';
  return 'Something went wrong. Please try again.';
}

/** Field-level messages of a validation problem, keyed by the body field they belong to. */
export function fieldErrorsOf(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof GatehouseError) || !error.errors) return out;
  for (const issue of error.errors) {
    const field = issue.path.replace(/^body\.?/, '').split('.')[0];
    if (field && !out[field]) out[field] = issue.message;
  }
  return out;
}
