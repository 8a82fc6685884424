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
}

export const NAVIGATION: NavEntry[] = [
  { to: '/', label: 'Home' },
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
  },
  { to: '/settings', label: 'Personal settings' },
  { to: '/admin/customers', label: 'Customers (platform)', platformAdmin: true },
  { to: '/admin/users', label: 'Users (platform)', platformAdmin: true },
  { to: '/api-keys', label: 'API keys', permission: 'api_keys:read', inOrganization: true },
  { to: '/audit', label: 'Audit log', permission: 'audit:read', inOrganization: true },
  { to: '/roles', label: 'Roles', permission: 'roles:read', inOrganization: true },
  {
    to: '/accounts',
    label: 'Accounts',
    labels: { team: 'Projects', permissions: 'Projects' },
    permission: 'accounts:read',
    inOrganization: true,
  },
  { to: '/organization', label: 'Organization settings', inOrganization: true },
];

export function labelFor(entry: NavEntry, template: string | undefined): string {
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
