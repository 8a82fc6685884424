/**
 * How each template adds people, in its source document's own words (data, not `if` chains in
 * components). The role catalog, the default role and who may invite come from the server
 * (`/v1/organizations/{org}/roles`, `/v1/templates` invite_policy); this is only the wording and
 * the shape of the dialog.
 *
 * - media (source 000): "click on 'Add User'. Provide Email-ID, and select role and login type":
 *   the owner adds the user directly; an invitation is the other way.
 * - accounts (source 003): "Add user … enter one or more email addresses, select the accounts,
 *   assign a role (Admin or Viewer), send the invitation".
 * - team (source 004): "Add User … email address, role, project(s) … Send Invitation"; the owner
 *   may also invite an owner (offer ownership), and a user the organization manages can be added
 *   directly.
 * - permissions (source 002): "Invite Member … the invitee's email … projects by checkbox …
 *   Billing Permissions … API Permissions … Send Invite".
 * - reseller (source 001): "Associate User … check the boxes for the desired permissions … check
 *   Send Invite to send an invitation email … Associate User".
 */
export type InviteMode = 'add' | 'invite';

export interface InviteSwitch {
  /** the role granted at the organization when the switch is on */
  role: string;
  label: string;
  description: string;
}

export interface InviteFlow {
  /** the button and the dialog's title */
  title: string;
  /** the ways offered, the first being the default */
  modes: InviteMode[];
  /** the submit button per way */
  submit: Record<InviteMode, string>;
  /** the template's words for its accounts and resources */
  accountWord: string;
  resourceWord: string;
  /** permissions template: projects are given with this role, the role picker is organization-wide */
  projectRole?: string;
  /** permissions template: switches that grant a role at the organization */
  switches?: InviteSwitch[];
  /**
   * reseller: each association carries "the desired permissions" checked one by one (an inline
   * grant at each chosen scope); the role picker is organization-wide.
   */
  checkedPermissions?: boolean;
}

const DEFAULT_FLOW: InviteFlow = {
  title: 'Add user',
  modes: ['invite', 'add'],
  submit: { invite: 'Send invitation', add: 'Add user' },
  accountWord: 'Accounts',
  resourceWord: 'Resources',
};

export const INVITE_FLOWS: Record<string, InviteFlow> = {
  media: {
    ...DEFAULT_FLOW,
    title: 'Add user',
    modes: ['add', 'invite'],
    accountWord: 'Video collections and image sources',
  },
  accounts: { ...DEFAULT_FLOW, title: 'Add user', modes: ['invite', 'add'] },
  team: {
    ...DEFAULT_FLOW,
    title: 'Add user',
    modes: ['invite', 'add'],
    accountWord: 'Projects',
  },
  permissions: {
    ...DEFAULT_FLOW,
    title: 'Invite member',
    modes: ['invite', 'add'],
    submit: { invite: 'Send invite', add: 'Add member' },
    accountWord: 'Projects',
    projectRole: 'project',
    switches: [
      {
        role: 'billing',
        label: 'Billing permissions',
        description: 'Subscription plans, payment methods, invoices and billing details.',
      },
      {
        role: 'api-access',
        label: 'API permissions',
        description: 'API keys, for programmatic access to the services.',
      },
    ],
  },
  reseller: {
    ...DEFAULT_FLOW,
    title: 'Associate user',
    modes: ['add', 'invite'],
    submit: { invite: 'Send invitation', add: 'Associate user' },
    resourceWord: 'Rooms',
    checkedPermissions: true,
  },
};

export const flowFor = (template: string | undefined): InviteFlow =>
  (template && INVITE_FLOWS[template]) || DEFAULT_FLOW;

/** The login types of the API's `login_method`, in words (media: "select … login type"). */
export function loginMethodLabel(method: string): string {
  if (method === 'password') return 'Password';
  if (method === 'google') return 'Google';
  if (method === 'github') return 'GitHub';
  if (method.startsWith('oidc:')) return `Single sign-on (${method.slice(5)})`;
  return method;
}

export const KNOWN_LOGIN_METHODS = ['password', 'google', 'github'];

/** Per-address results of `POST …/invitations`, in words. */
export const INVITE_RESULT_WORDS: Record<string, string> = {
  invited: 'Invitation sent',
  already_member: 'Already a member',
  already_invited: 'Already invited (a pending invitation exists)',
  invalid_email: 'Not a valid email address',
  duplicate: 'Listed twice: invited once',
};
