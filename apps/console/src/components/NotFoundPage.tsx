import { Text } from '@mantine/core';
import { AuthCard } from './AuthCard';
import { AnchorLink } from './links';

export function NotFoundPage() {
  return (
    <AuthCard title="Page not found">
      <Text>
        There is no page at this address. It may have moved, or the link may be incomplete.
      </Text>
      <AnchorLink to="/">Go to Gatehouse</AnchorLink>
    </AuthCard>
  );
}
