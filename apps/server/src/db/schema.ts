import type { Generated } from 'kysely';

/**
 * Table types for Kysely. Conventions that hold on both engines:
 * - times are integer milliseconds since the epoch (`bigint` columns, read back as numbers);
 * - flags are nullable timestamps (`email_verified_at`, `revoked_at`) or integer 0/1;
 * - JSON is stored as text and parsed by the repo that owns the column.
 */
export interface UsersTable {
  id: string;
  /** lower-cased and trimmed; unique */
  email: string;
  /** argon2id PHC string; null for users who joined by invitation or OAuth and set none yet */
  password_hash: string | null;
  first_name: string;
  last_name: string;
  mobile: string | null;
  timezone: string | null;
  status: 'active' | 'suspended' | 'deactivated';
  email_verified_at: number | null;
  /** JSON object of the predefined settings keys only */
  user_settings: string;
  /** JSON object, free key–value, replaced whole on write */
  user_metadata: string;
  avatar_id: string | null;
  is_platform_admin: number;
  /** set when an organization created this user and is its only home (may edit name/email) */
  managed_by_org_id: string | null;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
}

export interface AvatarsTable {
  id: string;
  user_id: string;
  content_type: string;
  data: Buffer;
  size: number;
  created_at: number;
}

export interface OneTimeCodesTable {
  id: string;
  user_id: string;
  purpose:
    | 'verify_email'
    | 'password_reset'
    | 'mfa_sms'
    | 'step_up_sms'
    | 'sms_enrol'
    /** proves an account before a provider identity joins it (modules/oauth) */
    | 'oauth_link';
  /** HMAC of the code, bound to user and purpose */
  code_hash: string;
  attempts: number;
  max_attempts: number;
  expires_at: number;
  consumed_at: number | null;
  created_at: number;
  /**
   * verify_email codes issued by a registration: the credentials submitted with it, applied
   * when this code is verified (null for codes sent without a registration, e.g. resend)
   */
  password_hash?: string | null;
  first_name?: string | null;
  last_name?: string | null;
}

export interface PasswordResetsTable {
  token_hash: string;
  user_id: string;
  expires_at: number;
  consumed_at: number | null;
  created_at: number;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  ip: string | null;
  user_agent: string | null;
  /** JSON array of authentication methods: pwd, otp, totp, sms, oauth:google, ... */
  amr: string;
  current_org_id: string | null;
  revoked_at: number | null;
  revoke_reason: string | null;
  /** SHA-256 of the browser cookie's secret part; null for token (API) sessions */
  cookie_secret_hash: string | null;
  /** when the user last proved who they are here (sign-in or step-up); null reads as created_at */
  auth_time: number | null;
}

export interface MfaFactorsTable {
  id: string;
  user_id: string;
  type: 'totp' | 'sms';
  /** TOTP: the secret, sealed (AES-256-GCM) with a key derived from SECRET_KEY */
  secret_sealed: string | null;
  /** SMS: E.164 number */
  phone: string | null;
  confirmed_at: number | null;
  /** TOTP: last accepted time step (replay guard) */
  last_used_step: number | null;
  last_used_at: number | null;
  created_at: number;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: number | null;
  created_at: number;
}

export interface PendingSignInsTable {
  id: string;
  token_hash: string;
  user_id: string;
  /** link_proof: a provider sign-in waiting for proof of the existing account it would join */
  kind: 'mfa' | 'handoff' | 'link' | 'link_proof';
  /** JSON array of the methods already passed */
  amr: string;
  mode: 'token' | 'cookie';
  /** link: JSON {provider, subject, email}; link_proof: also {proof, first_name, last_name} */
  detail: string | null;
  attempts: number;
  expires_at: number;
  consumed_at: number | null;
  created_at: number;
}

export interface UserIdentitiesTable {
  id: string;
  user_id: string;
  provider: string;
  subject: string;
  email: string | null;
  created_at: number;
  last_used_at: number | null;
}

export interface OauthStatesTable {
  state_hash: string;
  provider: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  mode: 'token' | 'cookie';
  link_user_id: string | null;
  expires_at: number;
  consumed_at: number | null;
  created_at: number;
}

export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  created_at: number;
  /** set when exchanged; a second exchange is a reuse and revokes the session */
  used_at: number | null;
  /** the pair this rotation answered, sealed, kept only for the reuse grace window */
  successor_sealed?: string | null;
  /** end of that window: past it the sealed pair is erased and a reuse revokes the session */
  successor_until?: number | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_pem: string;
  created_at: number;
  /** when set, the key signs nothing new and leaves the JWKS after this time */
  retired_at: number | null;
  /** when the key starts signing: published in the JWKS before that (issue 10 #20) */
  signs_from: number | null;
}

export interface SystemSettingsTable {
  key: string;
  value: string;
}

export interface OutboxTable {
  id: string;
  channel: 'email' | 'sms';
  recipient: string;
  subject: string | null;
  /** the message; purged after delivery because it may carry a one-time code */
  body: string | null;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  next_attempt_at: number;
  locked_until: number | null;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
  /** the subject once delivered or given up: without the one-time code it may carry */
  subject_at_rest?: string | null;
}

export interface AuditEventsTable {
  id: string;
  organization_id: string | null;
  actor_type: 'user' | 'api_key' | 'platform_admin' | 'system' | 'anonymous';
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  /** JSON: { before?, after?, ...details } */
  changes: string | null;
  created_at: number;
  seq: Generated<number>;
  prev_hash: string | null;
  hash: string | null;
}

export interface AuditCheckpointsTable {
  chain: string;
  seq: number;
  hash: string;
  removed: number;
  created_at: number;
  /** HMAC under the audit key of chain, seq, hash and removed (issue 10 #19) */
  mac: string | null;
}

export interface ApiKeysTable {
  id: string;
  organization_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  grants: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface DB extends OrganizationTables {
  users: UsersTable;
  avatars: AvatarsTable;
  one_time_codes: OneTimeCodesTable;
  password_resets: PasswordResetsTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  system_settings: SystemSettingsTable;
  outbox: OutboxTable;
  audit_events: AuditEventsTable;
  mfa_factors: MfaFactorsTable;
  recovery_codes: RecoveryCodesTable;
  pending_sign_ins: PendingSignInsTable;
  user_identities: UserIdentitiesTable;
  oauth_states: OauthStatesTable;
}

export interface OrganizationsTable {
  id: string;
  name: string;
  slug: string;
  template: string;
  owner_user_id: string;
  status: 'active' | 'suspended';
  /** JSON object */
  settings: string;
  /** JSON object: require_mfa, allowed_login_methods, invitation_expiry_days, ... */
  policies: string;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface AccountsTable {
  id: string;
  organization_id: string;
  name: string;
  product: string;
  owner_user_id: string;
  created_at: number;
  updated_at: number;
}

export interface ResourcesTable {
  id: string;
  organization_id: string;
  account_id: string;
  parent_id: string | null;
  type: string;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface RolesTable {
  id: string;
  organization_id: string;
  key: string;
  name: string;
  description: string;
  /** JSON array of permission patterns */
  permissions: string;
  product: string | null;
  /** JSON array of scope levels */
  grantable_at: string;
  created_at: number;
  updated_at: number;
}

export interface MembershipsTable {
  seq: Generated<number>;
  organization_id: string;
  user_id: string;
  status: 'active' | 'suspended';
  invited_by: string | null;
  login_methods: string | null;
  sort_name: string;
  email: string;
  joined_at: number;
  updated_at: number;
}

export interface GrantsTable {
  id: string;
  organization_id: string;
  user_id: string;
  role: string | null;
  permissions: string | null;
  scope_id: string;
  created_by: string | null;
  created_at: number;
}

export interface OwnershipOffersTable {
  id: string;
  organization_id: string;
  subject_id: string;
  from_user_id: string;
  to_user_id: string;
  status: 'pending' | 'accepted' | 'declined' | 'withdrawn';
  created_at: number;
  resolved_at: number | null;
}

export interface InvitationsTable {
  id: string;
  organization_id: string;
  email: string;
  grants: string;
  message: string | null;
  offers_ownership: number;
  token_hash: string;
  status: 'pending' | 'accepted' | 'rejected' | 'revoked' | 'expired';
  invited_by: string;
  expires_at: number;
  accepted_by: string | null;
  resolved_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface OrganizationTables {
  invitations: InvitationsTable;
  api_keys: ApiKeysTable;
  audit_checkpoints: AuditCheckpointsTable;
  organizations: OrganizationsTable;
  accounts: AccountsTable;
  resources: ResourcesTable;
  roles: RolesTable;
  memberships: MembershipsTable;
  grants: GrantsTable;
  ownership_offers: OwnershipOffersTable;
}
