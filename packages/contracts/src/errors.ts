/**
 * The stable machine codes of every problem Gatehouse answers with (RFC 9457
 * `application/problem+json`, field `code`). Clients branch on these, so a code once shipped
 * keeps its meaning; add new ones, never repurpose old ones.
 */
export const ErrorCodes = {
  // generic request problems
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request content type is not supported' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  // transport: answered before a request reaches a route (issue 10 #16, #17)
  malformed_request: { status: 400, title: 'The request is not valid HTTP/1.1' },
  request_timeout: { status: 408, title: 'The request was not received in time' },
  expectation_failed: { status: 417, title: 'The Expect header cannot be met' },
  request_headers_too_large: { status: 431, title: 'The request headers are too large' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal error' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  // authentication
  unauthenticated: { status: 401, title: 'Authentication is required' },
  invalid_token: { status: 401, title: 'The token is invalid or expired' },
  session_revoked: { status: 401, title: 'The session has been revoked' },
  refresh_token_reused: { status: 401, title: 'The refresh token was already used' },
  invalid_credentials: { status: 401, title: 'Email or password is incorrect' },
  email_not_verified: { status: 403, title: 'The email address is not verified yet' },
  user_inactive: { status: 403, title: 'The user is suspended or deactivated' },
  csrf_failed: { status: 403, title: 'The CSRF token is missing or wrong' },
  mfa_required: { status: 401, title: 'A second factor is required' },
  mfa_enrollment_required: {
    status: 403,
    title: 'This organization requires a second factor: enrol one first',
  },
  mfa_challenge_invalid: {
    status: 401,
    title: 'The sign-in challenge is invalid, expired or used up: sign in again',
  },
  mfa_method_unavailable: { status: 400, title: 'That second factor is not set up for this user' },
  factor_exists: { status: 409, title: 'A factor of this type is already set up' },
  mobile_is_sms_factor: {
    status: 409,
    title: 'This mobile number receives your sign-in codes: change it by enrolling the new number',
  },
  step_up_required: {
    status: 401,
    title: 'This needs a recent sign-in or a fresh second factor',
  },
  login_method_not_allowed: {
    status: 403,
    title: 'This organization does not accept the way this session signed in',
  },
  session_max_age_exceeded: {
    status: 401,
    title: 'The session is older than this organization allows: sign in again',
  },
  session_idle_timeout: {
    status: 401,
    title: 'The session was idle longer than this organization allows: sign in again',
  },
  // OAuth / OpenID Connect sign-in
  oauth_provider_unknown: { status: 404, title: 'No such sign-in provider is configured' },
  oauth_state_invalid: {
    status: 400,
    title: 'The sign-in response does not match a sign-in we started',
  },
  oauth_failed: { status: 400, title: 'The sign-in provider did not complete the sign-in' },
  oauth_email_unverified: {
    status: 403,
    title: 'The provider does not vouch for this email address',
  },
  oauth_email_invalid: {
    status: 400,
    title: 'The provider sent an email that is not a valid address',
  },
  identity_linked_elsewhere: {
    status: 409,
    title: 'This provider identity belongs to another user',
  },
  last_sign_in_method: {
    status: 409,
    title: 'This is the last way to sign in to the account: add another first',
  },
  policy_lockout: {
    status: 409,
    title: 'That sign-in policy would refuse your own session: satisfy it first',
  },
  redirect_not_allowed: { status: 400, title: 'The return address is not on the allow-list' },
  // one-time codes and passwords
  invalid_code: { status: 400, title: 'The code is wrong' },
  code_expired: { status: 400, title: 'The code has expired or was already used' },
  too_many_attempts: { status: 400, title: 'Too many wrong codes; request a new one' },
  resend_cooldown: { status: 429, title: 'A code was sent recently; wait before asking again' },
  sms_limit_reached: {
    status: 429,
    title: 'Too many text messages to this number, organization or platform; try again later',
  },
  password_policy: { status: 400, title: 'The password does not meet the policy' },
  password_already_set: { status: 409, title: 'The user already has a password' },
  password_not_set: { status: 409, title: 'The user has no password yet' },
  email_taken: { status: 409, title: 'An account with this email exists' },
  email_read_only: { status: 400, title: 'The email cannot be changed here' },
  already_verified: { status: 409, title: 'The email address is already verified' },
  feature_disabled: { status: 404, title: 'This feature is disabled on this platform' },
  // setup and platform administration
  setup_done: { status: 409, title: 'The platform already has an administrator' },
  invalid_setup_token: { status: 403, title: 'The setup token is wrong' },
  // invitations
  invitation_expired: { status: 410, title: 'The invitation has expired' },
  invitation_revoked: { status: 410, title: 'The invitation was revoked' },
  invitation_used: { status: 409, title: 'The invitation is no longer pending' },
  invitation_no_longer_valid: {
    status: 409,
    title: 'The invitation offers grants its sender can no longer give',
  },
  invitation_email_mismatch: { status: 403, title: 'The invitation is for another email address' },
  login_required: { status: 409, title: 'An account exists for this address: sign in to continue' },
  // authorization
  platform_admin_required: { status: 403, title: 'Only platform administrators may do this' },
  forbidden: { status: 403, title: 'You do not have permission for this' },
  // files
  unsupported_image: { status: 415, title: 'The image must be PNG, JPEG or WebP' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

/** The body of every error response. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  request_id?: string;
  errors?: { path: string; message: string; code?: string }[];
  [extension: string]: unknown;
}
