import { Stack, Text } from '@mantine/core';
import { AuthCard } from '../../components/AuthCard';
import { AnchorLink } from '../../components/links';

/** A plain answer for a link that is wrong, expired or already used. */
export function LinkInvalidCard() {
  return (
    <AuthCard title="This link is invalid or has expired">
      <Stack gap="sm">
        <Text>
          Links in our emails work once and only for a limited time. Ask for a new one, or sign in
          if you already have a password.
        </Text>
        <AnchorLink to="/forgot-password">Get a new password link</AnchorLink>
        <AnchorLink to="/sign-in">Go to sign in</AnchorLink>
      </Stack>
    </AuthCard>
  );
}

export function LinkInvalidPage() {
  return <LinkInvalidCard />;
}
