import { Loader, Stack, Title } from '@mantine/core';
import { useMe } from '../../lib/session';
import { IdentitiesSection } from './IdentitiesSection';
import { InvitationsSection } from './InvitationsSection';
import { PasswordSection } from './PasswordSection';
import { ProfileSection } from './ProfileSection';
import { SessionsSection } from './SessionsSection';
import { TwoStepSection } from './TwoStepSection';

/** Personal Settings (seed 003): profile, password, time zone, and the account's security. */
export function SettingsPage() {
  const me = useMe();
  if (!me.data) return <Loader aria-label="Loading your settings" />;
  return (
    <Stack gap="lg" maw={820}>
      <Title order={1} size="h2">
        Personal settings
      </Title>
      <ProfileSection me={me.data} />
      <PasswordSection me={me.data} />
      <TwoStepSection />
      <SessionsSection />
      <IdentitiesSection />
      <InvitationsSection emptyText="No invitations are waiting for you." />
    </Stack>
  );
}
