import { isGatehouseError } from '@gatehouse/sdk/browser';
import { Anchor, Button, SegmentedControl, Stack, Text, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { CodeInput } from '../../components/CodeInput';
import { FormError } from '../../components/FormError';
import { api } from '../../lib/api';

export interface MfaChallenge {
  mfaToken: string;
  methods: string[];
}

const methodLabels: Record<string, string> = {
  totp: 'Authenticator app',
  sms: 'Text message',
  recovery_code: 'Recovery code',
};

/**
 * The second step of a sign-in: a code from the authenticator app, a code sent by SMS (sent only
 * when asked), or a recovery code. Finishing it opens the cookie session.
 */
export function MfaStep(props: {
  challenge: MfaChallenge;
  onDone: () => void;
  onRestart: () => void;
}) {
  const methods = props.challenge.methods.filter((m) => m in methodLabels);
  const [method, setMethod] = useState(methods[0] ?? 'totp');
  const [code, setCode] = useState('');
  const [smsSent, setSmsSent] = useState(false);

  const sendSms = useMutation({
    mutationFn: () => api.auth.mfa.sendSms(props.challenge.mfaToken),
    onSuccess: () => setSmsSent(true),
  });
  const verify = useMutation({
    mutationFn: (value: string) =>
      api.auth.mfa.verify({
        mfa_token: props.challenge.mfaToken,
        method: method as 'totp' | 'sms' | 'recovery_code',
        code: value,
      }),
    onSuccess: props.onDone,
    onError: () => setCode(''),
  });
  const expired = isGatehouseError(verify.error, 'mfa_challenge_invalid');

  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        verify.mutate(code);
      }}
      method="post"
    >
      <Stack gap="md">
        {methods.length > 1 ? (
          <SegmentedControl
            fullWidth
            value={method}
            onChange={(value) => {
              setMethod(value);
              setCode('');
              verify.reset();
            }}
            data={methods.map((m) => ({ value: m, label: methodLabels[m] ?? m }))}
            aria-label="Second factor"
          />
        ) : null}
        {method === 'recovery_code' ? (
          <TextInput
            label="Recovery code"
            description="One of the codes you saved when you set up two-step verification, like abcde-12345."
            autoComplete="off"
            value={code}
            onChange={(e) => setCode(e.currentTarget.value)}
            required
          />
        ) : (
          <>
            {method === 'sms' ? (
              <Stack gap={4}>
                <Text size="sm">
                  {smsSent
                    ? 'We sent a code to your confirmed mobile number.'
                    : 'We will text a code to your confirmed mobile number.'}
                </Text>
                <Button
                  variant="light"
                  onClick={() => sendSms.mutate()}
                  loading={sendSms.isPending}
                  w="fit-content"
                >
                  {smsSent ? 'Send another code' : 'Send code'}
                </Button>
                <FormError error={sendSms.error} title="The code was not sent" />
              </Stack>
            ) : (
              <Text size="sm">
                Open your authenticator app and enter the 6-digit code for Gatehouse.
              </Text>
            )}
            <CodeInput
              label="Verification code"
              value={code}
              onChange={setCode}
              onComplete={(value) => verify.mutate(value)}
            />
          </>
        )}
        <FormError error={verify.error} />
        {expired ? (
          <Anchor component="button" type="button" onClick={props.onRestart}>
            Start the sign-in again
          </Anchor>
        ) : null}
        <Button type="submit" loading={verify.isPending} disabled={!code}>
          Verify and sign in
        </Button>
      </Stack>
    </form>
  );
}
