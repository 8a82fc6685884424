import { Alert, Loader } from '@mantine/core';
import type { ReactNode } from 'react';
import { useMe } from '../../lib/session';

/**
 * The platform admin console is not offered to anyone else (its menu entries are
 * `platformAdmin: true`); reaching `/admin/*` anyway shows the refusal in words, and the server
 * refuses every `/v1/admin/*` call with platform_admin_required.
 */
export function PlatformAdminOnly({ children }: { children: ReactNode }) {
  const me = useMe();
  if (me.isPending) return <Loader size="sm" aria-label="Loading" />;
  if (!me.data?.is_platform_admin)
    return (
      <Alert color="red" variant="light" title="Platform administrators only" role="alert">
        This page is for the administrators of the Gatehouse platform. Your account is not one, so
        there is nothing here for you; ask a platform administrator if you need a customer or a user
        changed.
      </Alert>
    );
  return <>{children}</>;
}
