import { Button, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { AuthCard } from '../../components/AuthCard';
import { CodeInput } from '../../components/CodeInput';
import { FormError } from '../../components/FormError';
import { AnchorLink } from '../../components/links';
import { api } from '../../lib/api';
import { safeRedirect } from '../../lib/navigation';

/** How long the resend button waits, matching the server's resend cooldown. */
const RESEND_COOLDOWN_S = 60;

/** The 6-digit code mailed at sign-up; entering it confirms the address and signs in. */
export function VerifyEmailPage() {
  const search = useSearch({ strict: false }) as { email?: string; redirect?: string };
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState(search.email ?? '');
  const [code, setCode] = useState('');
  const [cooldown, setCooldown] = useState(RESEND_COOLDOWN_S);

  useEffect(() => {
    if (cooldown <= 0) return;
    const timer = setTimeout(() => setCooldown((s) => s - 1), 1000);
    return () => clearTimeout(timer);
  }, [cooldown]);

  const verify = useMutation({
    mutationFn: (value: string) => api.auth.verifyEmail({ email, code: value, mode: 'cookie' }),
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      // A code from "send a new code" proves the mailbox but carries no password (issue 10 #1):
      // such an account has none until its owner sets one.
      const me = await api.me.get();
      if (!me.has_password) await navigate({ to: '/settings' });
      else await navigate({ to: safeRedirect(search.redirect) });
    },
    onError: () => setCode(''),
  });
  const resend = useMutation({
    mutationFn: () => api.auth.resendOtp({ email, purpose: 'verify_email' }),
    onSuccess: () => setCooldown(RESEND_COOLDOWN_S),
  });

  return (
    <AuthCard
      title="Check your email"
      subtitle={
        search.email ? (
          <>
            We sent a 6-digit code to <strong>{search.email}</strong>. It is valid for 10 minutes.
          </>
        ) : (
          'Enter the 6-digit code we emailed you.'
        )
      }
      footer={<AnchorLink to="/sign-in">Back to sign in</AnchorLink>}
    >
      <form
        method="post"
        onSubmit={(event) => {
          event.preventDefault();
          verify.mutate(code);
        }}
      >
        <Stack gap="md">
          {search.email ? null : (
            <TextInput
              label="Email"
              type="email"
              autoComplete="email"
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              required
            />
          )}
          <CodeInput
            label="Verification code"
            value={code}
            onChange={setCode}
            onComplete={(value) => verify.mutate(value)}
          />
          <FormError error={verify.error} title="The email is not confirmed yet" />
          <Button type="submit" loading={verify.isPending} disabled={code.length !== 6 || !email}>
            Confirm and sign in
          </Button>
          <Stack gap={4}>
            <Text size="sm" c="dimmed">
              No email? Check your spam folder, or ask for a new code.
            </Text>
            <Button
              variant="subtle"
              onClick={() => resend.mutate()}
              disabled={cooldown > 0 || !email}
              loading={resend.isPending}
              w="fit-content"
              px={0}
            >
              {cooldown > 0 ? `Send a new code in ${cooldown} s` : 'Send a new code'}
            </Button>
            {resend.isSuccess ? (
              <Text size="sm" c="teal.8" role="status">
                If the address can receive it, a new code is on its way.
              </Text>
            ) : null}
            <FormError error={resend.error} title="No new code was sent" />
          </Stack>
        </Stack>
      </form>
    </AuthCard>
  );
}
