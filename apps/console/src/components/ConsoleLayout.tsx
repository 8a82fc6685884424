import {
  AppShell,
  Avatar,
  Burger,
  Group,
  Menu,
  NavLink,
  Select,
  Text,
  UnstyledButton,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, Outlet, useNavigate, useRouterState } from '@tanstack/react-router';
import { useEffect } from 'react';
import { labelFor, NAVIGATION, SECTIONS, visible } from '../app/navigation';
import { api } from '../lib/api';
import { useCurrentMembership } from '../lib/membership';
import { organizationsQuery } from '../lib/organizations';
import { useMe } from '../lib/session';
import { FormError } from './FormError';

/** The signed-in frame: header with the organization switcher and the user menu, a side menu. */
export function ConsoleLayout() {
  const me = useMe();
  const [opened, { toggle, close }] = useDisclosure();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const path = useRouterState({ select: (s) => s.location.pathname });
  const organizations = useQuery(organizationsQuery);
  const current = organizations.data?.data.find((o) => o.current);

  const switchTo = useMutation({
    mutationFn: (orgId: string) => api.organizations.switch(orgId),
    onSuccess: () => queryClient.invalidateQueries(),
  });
  const signOut = useMutation({
    mutationFn: () => api.auth.logout(),
    onSettled: async () => {
      queryClient.clear();
      await navigate({ to: '/sign-in' });
    },
  });
  // A session that is in no organization yet enters the first one it may: the console's pages
  // work within an organization, and the switcher then shows where the user is.
  const first = organizations.data?.data.find((o) => o.membership_status === 'active');
  useEffect(() => {
    if (organizations.data && !current && first && switchTo.isIdle) switchTo.mutate(first.id);
  }, [organizations.data, current, first, switchTo]);
  const { membership, permissions } = useCurrentMembership();
  const user = me.data;
  const initials = user ? `${user.first_name[0] ?? ''}${user.last_name[0] ?? ''}` : '';

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 240, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Menu" />
            <Text fw={700} c="indigo.8">
              Gatehouse
            </Text>
          </Group>
          <Group gap="sm" wrap="nowrap">
            {organizations.data?.data.length ? (
              <Select
                aria-label="Current organization"
                placeholder="Choose an organization"
                data={organizations.data.data.map((o) => ({ value: o.id, label: o.name }))}
                value={current?.id ?? null}
                onChange={(value) => value && value !== current?.id && switchTo.mutate(value)}
                allowDeselect={false}
                w={{ base: 150, sm: 220 }}
                size="sm"
              />
            ) : null}
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <UnstyledButton>
                  <Avatar src={user?.avatar ?? undefined} radius="xl" size="md" color="indigo">
                    {initials}
                  </Avatar>
                  <span className="visually-hidden">Account menu</span>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>{user?.email}</Menu.Label>
                <Menu.Item component={Link} to="/settings">
                  Personal settings
                </Menu.Item>
                <Menu.Item onClick={() => signOut.mutate()}>Sign out</Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        {SECTIONS.map((section) => {
          const entries = NAVIGATION.filter(
            (entry) =>
              entry.section === section.key &&
              visible(entry, {
                permissions,
                platformAdmin: Boolean(user?.is_platform_admin),
                inOrganization: Boolean(current),
              }),
          );
          if (entries.length === 0) return null;
          const heading = labelFor(section, membership?.organization.template);
          return (
            <div key={section.key}>
              {heading ? (
                <Text size="xs" fw={700} c="dimmed" tt="uppercase" px="sm" pt="md" pb={4}>
                  {heading}
                </Text>
              ) : null}
              {entries.map((entry) => (
                <NavLink
                  key={entry.to}
                  component={Link}
                  to={entry.to}
                  label={labelFor(entry, membership?.organization.template)}
                  active={entry.to === '/' ? path === '/' : path.startsWith(entry.to)}
                  onClick={close}
                />
              ))}
            </div>
          );
        })}
      </AppShell.Navbar>
      <AppShell.Main>
        <FormError error={switchTo.error} title="The organization was not switched" />
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
