import { isGatehouseError } from '@gatehouse/sdk/browser';
import { Button, PasswordInput, Stack, Text } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { CodeInput } from '../../components/CodeInput';
import { FormError } from '../../components/FormError';
import { api } from '../../lib/api';
import type { MfaChallenge } from './MfaStep';

/**
 * A provider vouched for an address that already has an account, but its word alone does not
 * join them (a provider not trusted to link, or a platform admin's account): the person proves the
 * account with its password, or with the code mailed to it, before the provider is linked.
 */
export function LinkProofStep(props: {
  token: string;
  provider: string;
  proof: string;
  onDone: () => void;
  onMfa: (challenge: MfaChallenge) => void;
}) {
  const [secret, setSecret] = useState('');
  const confirm = useMutation({
    mutationFn: () =>
      api.auth.oauth.confirmLink({
        link_pending_token: props.token,
        ...(props.proof === 'password' ? { password: secret } : { code: secret }),
      }),
    onSuccess: props.onDone,
    onError: (error) => {
      if (isGatehouseError(error, 'mfa_required') && error.problem)
        props.onMfa({
          mfaToken: String(error.problem.mfa_token),
          methods: (error.problem.methods as string[] | undefined) ?? ['totp'],
        });
      else setSecret(props.proof === 'password' ? secret : '');
    },
  });
  return (
    <form
      method="post"
      onSubmit={(e) => {
        e.preventDefault();
        confirm.mutate();
      }}
    >
      <Stack gap="sm">
        <Text size="sm">
          An account with this email address already exists. Confirm it is yours to sign in with{' '}
          {props.provider} from now on.
        </Text>
        {props.proof === 'password' ? (
          <PasswordInput
            label="Your Gatehouse password"
            autoComplete="current-password"
            value={secret}
            onChange={(e) => setSecret(e.currentTarget.value)}
          />
        ) : (
          <>
            <Text size="sm">We emailed a 6-digit code to the account’s address.</Text>
            <CodeInput label="Code from the email" value={secret} onChange={setSecret} />
          </>
        )}
        <FormError
          error={isGatehouseError(confirm.error, 'mfa_required') ? null : confirm.error}
          title="The accounts were not linked"
        />
        <Button type="submit" loading={confirm.isPending} disabled={!secret}>
          Confirm and sign in
        </Button>
      </Stack>
    </form>
  );
}
