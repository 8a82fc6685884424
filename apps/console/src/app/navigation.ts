/**
 * The console's menu as data. Each entry names the permission (held anywhere in the current
 * organization) that shows it; labels may differ per organization template (the source
 * documents' own words: "Manage Users" in media, "Users and Accounts" in accounts…), looked up in
 * `labels` by template key, else `label`. Pages are still refused by the server if reached anyway.
 */
export interface NavEntry {
  to: string;
  label: string;
  /** per template key, the template's own word for this page */
  labels?: Partial<Record<string, string>>;
  /** shown when the member holds this permission somewhere in the organization */
  permission?: string;
  /** shown only to platform administrators */
  platformAdmin?: boolean;
  /** shown only inside an organization */
  inOrganization?: boolean;
  /** the menu group it sits in (SECTIONS) */
  section: SectionKey;
}

export type SectionKey = 'main' | 'organization' | 'platform' | 'you';

/**
 * The menu's groups, in order, with each template's own heading where its source document names
 * one (media keeps "Manage Users" under Organization; accounts under Account Settings).
 */
export const SECTIONS: {
  key: SectionKey;
  label: string;
  labels?: Partial<Record<string, string>>;
}[] = [
  { key: 'main', label: '' },
  { key: 'organization', label: 'Organization', labels: { accounts: 'Account Settings' } },
  { key: 'platform', label: 'Platform' },
  { key: 'you', label: 'You' },
];

export const NAVIGATION: NavEntry[] = [
  { to: '/', label: 'Home', section: 'main' },
  {
    to: '/members',
    label: 'Members',
    // The source documents' words: media "Manage Users" (under Organization), accounts "Users
    // and Accounts" (under Account Settings), team "Users", permissions "Members", reseller
    // "User Management" (users associated with customers, accounts and rooms).
    labels: {
      media: 'Manage Users',
      accounts: 'Users and Accounts',
      team: 'Users',
      permissions: 'Members',
      reseller: 'User Management',
    },
    permission: 'members:read',
    inOrganization: true,
    section: 'organization',
  },
  {
    to: '/admin/customers',
    label: 'Customers (platform)',
    platformAdmin: true,
    section: 'platform',
  },
  { to: '/admin/users', label: 'Users (platform)', platformAdmin: true, section: 'platform' },
  {
    to: '/api-keys',
    label: 'API keys',
    permission: 'api_keys:read',
    inOrganization: true,
    section: 'organization',
  },
  {
    to: '/audit',
    label: 'Audit log',
    permission: 'audit:read',
    inOrganization: true,
    section: 'organization',
  },
  {
    to: '/roles',
    label: 'Roles',
    permission: 'roles:read',
    inOrganization: true,
    section: 'organization',
  },
  {
    to: '/accounts',
    label: 'Accounts',
    labels: { team: 'Projects', permissions: 'Projects' },
    permission: 'accounts:read',
    inOrganization: true,
    section: 'organization',
  },
  {
    to: '/organization',
    label: 'Organization settings',
    inOrganization: true,
    section: 'organization',
  },
  { to: '/settings', label: 'Personal settings', section: 'you' },
];

export function labelFor(
  entry: { label: string; labels?: Partial<Record<string, string>> },
  template: string | undefined,
): string {
  return (template && entry.labels?.[template]) || entry.label;
}

export function visible(
  entry: NavEntry,
  context: { permissions: ReadonlySet<string>; platformAdmin: boolean; inOrganization: boolean },
): boolean {
  if (entry.platformAdmin && !context.platformAdmin) return false;
  if (entry.inOrganization && !context.inOrganization) return false;
  if (entry.permission && !context.permissions.has(entry.permission)) return false;
  return true;
}
