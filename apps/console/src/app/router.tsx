import type { QueryClient } from '@tanstack/react-query';
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  lazyRouteComponent,
  Outlet,
  redirect,
} from '@tanstack/react-router';
import { NotFoundPage } from '../components/NotFoundPage';
import { meQuery } from '../lib/session';

/**
 * Every page of the console. Public pages (sign-in, sign-up, the pages our emails link to) are
 * loaded on demand; signed-in pages sit under `console`, which sends anyone not signed in to
 * sign in and back.
 */
interface RouterContext {
  queryClient: QueryClient;
}

const root = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  notFoundComponent: NotFoundPage,
});

const page = <T extends Record<string, unknown>>(
  importer: () => Promise<T>,
  name: keyof T & string,
) => lazyRouteComponent(importer, name);

const stringSearch = (search: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(search).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string | undefined
  >;

const signIn = createRoute({
  getParentRoute: () => root,
  path: '/sign-in',
  validateSearch: stringSearch,
  component: page(() => import('../features/auth/SignInPage'), 'SignInPage'),
});
const signInCallback = createRoute({
  getParentRoute: () => root,
  path: '/sign-in/callback',
  validateSearch: stringSearch,
  component: page(() => import('../features/auth/ProviderCallbackPage'), 'ProviderCallbackPage'),
});
const signUp = createRoute({
  getParentRoute: () => root,
  path: '/sign-up',
  validateSearch: stringSearch,
  component: page(() => import('../features/auth/SignUpPage'), 'SignUpPage'),
});
const verifyEmail = createRoute({
  getParentRoute: () => root,
  path: '/verify-email',
  validateSearch: stringSearch,
  component: page(() => import('../features/auth/VerifyEmailPage'), 'VerifyEmailPage'),
});
const forgotPassword = createRoute({
  getParentRoute: () => root,
  path: '/forgot-password',
  component: page(() => import('../features/auth/ForgotPasswordPage'), 'ForgotPasswordPage'),
});
const setPassword = createRoute({
  getParentRoute: () => root,
  path: '/set-password',
  validateSearch: stringSearch,
  component: page(() => import('../features/auth/SetPasswordPage'), 'SetPasswordPage'),
});
const linkInvalid = createRoute({
  getParentRoute: () => root,
  path: '/link-invalid',
  component: page(() => import('../features/auth/LinkInvalidPage'), 'LinkInvalidPage'),
});
const invitation = createRoute({
  getParentRoute: () => root,
  path: '/invitations/$token',
  component: page(() => import('../features/invitations/InvitationPage'), 'InvitationPage'),
});
const setup = createRoute({
  getParentRoute: () => root,
  path: '/setup',
  validateSearch: stringSearch,
  component: page(() => import('../features/setup/SetupPage'), 'SetupPage'),
});

const signedIn = createRoute({
  getParentRoute: () => root,
  id: 'console',
  beforeLoad: async ({ context, location }) => {
    // fetchQuery, not ensureQueryData: after a sign-in the cached "nobody" is stale and refetched.
    const me = await context.queryClient.fetchQuery(meQuery);
    if (!me) throw redirect({ to: '/sign-in', search: { redirect: location.href } });
    return { me };
  },
  component: page(() => import('../components/ConsoleLayout'), 'ConsoleLayout'),
});
const home = createRoute({
  getParentRoute: () => signedIn,
  path: '/',
  validateSearch: stringSearch,
  component: page(() => import('../features/home/HomePage'), 'HomePage'),
});

const settings = createRoute({
  getParentRoute: () => signedIn,
  path: '/settings',
  component: page(() => import('../features/me/SettingsPage'), 'SettingsPage'),
});

const apiKeys = createRoute({
  getParentRoute: () => signedIn,
  path: '/api-keys',
  component: page(() => import('../features/api-keys/ApiKeysPage'), 'ApiKeysPage'),
});
const audit = createRoute({
  getParentRoute: () => signedIn,
  path: '/audit',
  component: page(() => import('../features/audit/AuditPage'), 'AuditPage'),
});
const organizationSettings = createRoute({
  getParentRoute: () => signedIn,
  path: '/organization',
  component: page(() => import('../features/organization/OrganizationPage'), 'OrganizationPage'),
});

const roles = createRoute({
  getParentRoute: () => signedIn,
  path: '/roles',
  component: page(() => import('../features/roles/RolesPage'), 'RolesPage'),
});
const accounts = createRoute({
  getParentRoute: () => signedIn,
  path: '/accounts',
  component: page(() => import('../features/accounts/AccountsPage'), 'AccountsPage'),
});

const members = createRoute({
  getParentRoute: () => signedIn,
  path: '/members',
  validateSearch: stringSearch,
  component: page(() => import('../features/members/MembersPage'), 'MembersPage'),
});

// The member detail ("User console") and the organization's sent invitations; `/members` is
// the list. A static segment wins over `$userId`, so `/members/invitations` is never a user id.
const memberInvitations = createRoute({
  getParentRoute: () => signedIn,
  path: '/members/invitations',
  validateSearch: stringSearch,
  component: page(
    () => import('../features/members/detail/SentInvitationsPage'),
    'SentInvitationsPage',
  ),
});
const memberDetail = createRoute({
  getParentRoute: () => signedIn,
  path: '/members/$userId',
  component: page(() => import('../features/members/detail/MemberDetailPage'), 'MemberDetailPage'),
});

// The platform admin console: its pages refuse in words anyone who is not a platform admin.
const adminCustomers = createRoute({
  getParentRoute: () => signedIn,
  path: '/admin/customers',
  component: page(() => import('../features/admin/CustomersPage'), 'CustomersPage'),
});
const adminUsers = createRoute({
  getParentRoute: () => signedIn,
  path: '/admin/users',
  component: page(() => import('../features/admin/UsersPage'), 'UsersPage'),
});

const routeTree = root.addChildren([
  signIn,
  signInCallback,
  signUp,
  verifyEmail,
  forgotPassword,
  setPassword,
  linkInvalid,
  invitation,
  setup,
  signedIn.addChildren([
    home,
    settings,
    adminCustomers,
    adminUsers,
    apiKeys,
    audit,
    organizationSettings,
    roles,
    accounts,
    members,
    memberInvitations,
    memberDetail,
  ]),
]);

export function createConsoleRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    context: { queryClient },
    defaultPreload: 'intent',
    scrollRestoration: true,
  });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof createConsoleRouter>;
  }
}
