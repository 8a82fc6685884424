import type { UserProfile } from '@gatehouse/sdk/browser';
import { Alert, Card, PasswordInput, Stack, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useStepUp } from '../../components/StepUp';
import { api } from '../../lib/api';
import { NewPasswordFields } from '../auth/NewPasswordFields';

/**
 * Change password (seed 003): current password, a new one meeting the rules (ticking live), its
 * confirmation, Save. Users who joined without a password (a provider, a code) set a first one.
 */
export function PasswordSection({ me }: { me: UserProfile }) {
  const queryClient = useQueryClient();
  const stepUp = useStepUp();
  const [current, setCurrent] = useState('');
  const [round, setRound] = useState(0);
  const change = useMutation({
    mutationFn: (password: string) =>
      stepUp(() =>
        me.has_password
          ? api.auth.password.update({ current_password: current, new_password: password })
          : api.auth.password.set({ password }),
      ),
    onSuccess: async () => {
      setCurrent('');
      setRound((r) => r + 1);
      await queryClient.invalidateQueries({ queryKey: ['me'] });
      await queryClient.invalidateQueries({ queryKey: ['sessions'] });
    },
  });
  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Title order={2} size="h3">
          {me.has_password ? 'Change password' : 'Set a password'}
        </Title>
        {me.has_password ? (
          <PasswordInput
            label="Current password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.currentTarget.value)}
          />
        ) : null}
        <NewPasswordFields
          key={round}
          email={me.email}
          submitLabel="Save"
          compact
          pending={change.isPending}
          error={change.error}
          errorTitle="Your password was not changed"
          onSubmit={(password) => change.mutate(password)}
        />
        {change.isSuccess ? (
          <Alert color="teal" variant="light" role="status">
            Your password was saved. Your other sessions were signed out.
          </Alert>
        ) : null}
      </Stack>
    </Card>
  );
}
