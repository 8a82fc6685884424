import { isGatehouseError } from '@gatehouse/sdk/browser';
import { zodResolver } from '@hookform/resolvers/zod';
import { Button, Divider, PasswordInput, Stack, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { AuthCard } from '../../components/AuthCard';
import { FormError } from '../../components/FormError';
import { AnchorLink } from '../../components/links';
import { api } from '../../lib/api';
import { safeRedirect } from '../../lib/navigation';
import { SignInForm, type SignInValues } from './auth.schemas';
import { type MfaChallenge, MfaStep } from './MfaStep';

/** Sign in with a password or a configured provider; a second factor when the account has one. */
export function SignInPage() {
  const search = useSearch({ strict: false }) as {
    redirect?: string;
    email?: string;
    notice?: string;
  };
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);
  const target = safeRedirect(search.redirect);

  const providers = useQuery({
    queryKey: ['oauth-providers'],
    queryFn: () => api.auth.oauth.providers(),
    staleTime: 5 * 60_000,
  });
  const form = useForm<SignInValues>({
    resolver: zodResolver(SignInForm),
    defaultValues: { email: search.email ?? '', password: '' },
  });

  const finish = async () => {
    await queryClient.invalidateQueries();
    await navigate({ to: target });
  };
  const signIn = useMutation({
    mutationFn: (values: SignInValues) => api.auth.login({ ...values, mode: 'cookie' }),
    onSuccess: finish,
    onError: (error) => {
      if (isGatehouseError(error, 'mfa_required') && error.problem) {
        setChallenge({
          mfaToken: String(error.problem.mfa_token),
          methods: (error.problem.methods as string[] | undefined) ?? ['totp'],
        });
      }
    },
  });

  if (challenge)
    return (
      <AuthCard title="Two-step verification" subtitle="Your account has a second factor.">
        <MfaStep
          challenge={challenge}
          onDone={finish}
          onRestart={() => {
            setChallenge(null);
            signIn.reset();
          }}
        />
      </AuthCard>
    );

  const returnTo = `/sign-in/callback?redirect=${encodeURIComponent(target)}`;
  const showError = signIn.error && !isGatehouseError(signIn.error, 'mfa_required');
  const notVerified = isGatehouseError(signIn.error, 'email_not_verified');
  return (
    <AuthCard
      title="Sign in"
      subtitle={search.notice}
      footer={
        <>
          New here? <AnchorLink to="/sign-up">Create an account</AnchorLink>
        </>
      }
    >
      <form
        method="post"
        noValidate
        onSubmit={form.handleSubmit((values) => signIn.mutate(values))}
      >
        <Stack gap="sm">
          <TextInput
            label="Email"
            type="email"
            autoComplete="username"
            required
            {...form.register('email')}
            error={form.formState.errors.email?.message}
          />
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            required
            {...form.register('password')}
            error={form.formState.errors.password?.message}
          />
          <AnchorLink to="/forgot-password" size="sm" w="fit-content">
            Forgot your password?
          </AnchorLink>
          {showError ? <FormError error={signIn.error} title="You are not signed in" /> : null}
          {notVerified ? (
            <AnchorLink to="/verify-email" search={{ email: form.getValues('email') }} size="sm">
              Enter the code from your email
            </AnchorLink>
          ) : null}
          <Button type="submit" loading={signIn.isPending}>
            Sign in
          </Button>
        </Stack>
      </form>
      {providers.data?.data.length ? (
        <>
          <Divider label="or" labelPosition="center" />
          <Stack gap="xs">
            {providers.data.data.map((provider) => (
              <Button
                key={provider.id}
                component="a"
                variant="default"
                href={`${provider.start_url}?mode=cookie&return_to=${encodeURIComponent(returnTo)}`}
              >
                Continue with {provider.name}
              </Button>
            ))}
          </Stack>
        </>
      ) : null}
    </AuthCard>
  );
}
