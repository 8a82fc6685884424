/**
 * The shapes the client sends and receives, derived from the shared contracts (the same zod
 * schemas the server validates and presents with), so a change there is a type error here.
 *
 * Bodies are the schemas' *input* types (fields with a default may be left out); answers are
 * their *output* types; query strings are the output types made partial (the coerced numbers
 * read as numbers, every field optional).
 */
import type * as C from '@gatehouse/contracts';
import type { z } from 'zod';

type In<T extends z.ZodType> = z.input<T>;
type Out<T extends z.ZodType> = z.output<T>;
type Query<T extends z.ZodType> = Partial<z.output<T>>;

/** A cursor-paginated list: `{ data, next_cursor }` (pass `next_cursor` back as `cursor`). */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

// auth
export type RegisterInput = In<typeof C.RegisterBody>;
export type VerifyEmailInput = In<typeof C.VerifyEmailBody>;
export type ResendOtpInput = In<typeof C.ResendOtpBody>;
export type LoginInput = In<typeof C.LoginBody>;
export type Accepted = Out<typeof C.AcceptedResponse>;
export type SessionTokens = Out<typeof C.SessionTokens>;
export type CookieSession = Out<typeof C.CookieSession>;
export type ForgotPasswordInput = In<typeof C.ForgotPasswordBody>;
export type ForgotPasswordVerifyInput = In<typeof C.ForgotPasswordVerifyBody>;
export type ResetToken = Out<typeof C.ResetTokenResponse>;
export type ResetPasswordInput = In<typeof C.ResetPasswordBody>;
export type SetPasswordInput = In<typeof C.SetPasswordBody>;
export type UpdatePasswordInput = In<typeof C.UpdatePasswordBody>;
export type AccountExistsInput = In<typeof C.AccountExistsBody>;
export type AccountExists = Out<typeof C.AccountExistsResponse>;
export type Session = Out<typeof C.SessionView>;
export type RevokedCount = Out<typeof C.RevokedCount>;
export type PageQuery = Query<typeof C.PageQuery>;
export type Jwks = Out<typeof C.Jwks>;
export type SetupInput = In<typeof C.SetupBody>;

// me
export type UserProfile = Out<typeof C.UserProfile>;
export type UpdateMeInput = In<typeof C.UpdateMeBody>;
export type UserMetadata = In<typeof C.UserMetadata>;

// organizations
export type Organization = Out<typeof C.Organization>;
export type MyOrganization = Out<typeof C.MyOrganization>;
export type CreateOrganizationInput = In<typeof C.CreateOrganizationBody>;
export type UpdateOrganizationInput = In<typeof C.UpdateOrganizationBody>;
export type DeleteOrganizationInput = In<typeof C.DeleteOrganizationBody>;
export type SwitchResult = Out<typeof C.SwitchResponse>;
export type OwnershipOffer = Out<typeof C.OwnershipOffer>;

// accounts and resources
export type Account = Out<typeof C.Account>;
export type CreateAccountInput = In<typeof C.CreateAccountBody>;
export type UpdateAccountInput = In<typeof C.UpdateAccountBody>;
export type Resource = Out<typeof C.Resource>;
export type CreateResourceInput = In<typeof C.CreateResourceBody>;
export type UpdateResourceInput = In<typeof C.UpdateResourceBody>;

// roles, grants, members
export type Role = Out<typeof C.Role>;
export type CreateRoleInput = In<typeof C.CreateRoleBody>;
export type UpdateRoleInput = In<typeof C.UpdateRoleBody>;
export type DeleteRoleQuery = Query<typeof C.DeleteRoleQuery>;
export type GrantInput = In<typeof C.GrantInput>;
export type Grant = Out<typeof C.GrantView>;
export type Member = Out<typeof C.Member>;
export type MemberDetail = Out<typeof C.MemberDetail>;
export type MyMembership = Out<typeof C.MyMembership>;
export type MembersQuery = Query<typeof C.MembersQuery>;
export type AddMemberInput = In<typeof C.AddMemberBody>;
export type UpdateMemberInput = In<typeof C.UpdateMemberBody>;
export type BulkMembersInput = In<typeof C.BulkMembersBody>;
export type BulkMembersResult = Out<typeof C.BulkMembersResult>;
export type MemberPermissionsQuery = Query<typeof C.MemberPermissionsQuery>;
export type MemberPermissions = Out<typeof C.MemberPermissions>;

// authorization API and catalog
export type CheckInput = In<typeof C.CheckBody>;
export type CheckResult = Out<typeof C.CheckResult>;
export type CheckBatchInput = In<typeof C.CheckBatchBody>;
export type CheckBatchResult = Out<typeof C.CheckBatchResult>;
export type ListScopesInput = In<typeof C.ListScopesBody>;
export type ListScopesResult = Out<typeof C.ListScopesResult>;
export type Permission = Out<typeof C.PermissionView>;
export type Template = Out<typeof C.TemplateView>;

// invitations
export type SendInvitationsInput = In<typeof C.SendInvitationsBody>;
export type SendInvitationsResult = Out<typeof C.SendInvitationsResult>;
export type Invitation = Out<typeof C.Invitation>;
export type InvitationsQuery = Query<typeof C.InvitationsQuery>;
export type InvitationPreview = Out<typeof C.InvitationPreview>;
export type AcceptInvitationInput = NonNullable<In<typeof C.AcceptInvitationBody>>;
export type AcceptInvitationResult = Out<typeof C.AcceptInvitationResult>;
export type MyInvitation = Out<typeof C.MyInvitation>;

// platform administration
export type CreateCustomerInput = In<typeof C.CreateCustomerBody>;
export type AdminListQuery = Query<typeof C.AdminListQuery>;
export type AdminUser = Out<typeof C.AdminUser>;
export type AdminMfaReset = Out<typeof C.AdminMfaReset>;
/**
 * An organization as platform admins see it. The server declares this one inline
 * (`Organization.extend({ members })` in admin.routes.ts), not in the contracts.
 */
export type Customer = Organization & { members: number };

// API keys, api-access-check, audit log
export type CreateApiKeyInput = In<typeof C.CreateApiKeyBody>;
export type ApiKey = Out<typeof C.ApiKey>;
/** The answer to creating a key: the only time its `secret` is shown. */
export type CreatedApiKey = Out<typeof C.CreatedApiKey>;
export type ApiAccessCheckInput = In<typeof C.ApiAccessCheckBody>;
export type ApiAccessCheckResult = Out<typeof C.ApiAccessCheckResult>;
export type AuditEvent = Out<typeof C.AuditEvent>;
export type AuditQuery = Query<typeof C.AuditQuery>;
export type AuditVerifyResult = Out<typeof C.AuditVerifyResult>;
export type AuditHead = Out<typeof C.AuditHead>;

// second factors, step-up, provider sign-in
export type MfaStatus = Out<typeof C.MfaStatus>;
export type MfaFactor = Out<typeof C.MfaFactorView>;
export type TotpEnrolment = Out<typeof C.TotpEnrolment>;
export type SmsEnrolment = Out<typeof C.SmsEnrolment>;
export type FactorConfirmed = Out<typeof C.FactorConfirmed>;
export type RecoveryCodes = Out<typeof C.RecoveryCodes>;
export type MfaVerifyInput = In<typeof C.MfaVerifyBody>;
export type CodeSent = Out<typeof C.CodeSent>;
export type StepUpInput = In<typeof C.StepUpBody>;
export type StepUpResult = Out<typeof C.StepUpResponse>;
export type OAuthProvider = Out<typeof C.OAuthProviderView>;
export type Identity = Out<typeof C.IdentityView>;
export type LinkStart = Out<typeof C.LinkStart>;
export type OAuthLinkConfirmInput = In<typeof C.OAuthLinkConfirmBody>;
/** The extension fields of an `mfa_required` problem from a sign-in. */
export interface MfaChallenge {
  mfa_token: string;
  methods: ('totp' | 'sms' | 'recovery_code')[];
  expires_in: number;
}
