import { zodResolver } from '@hookform/resolvers/zod';
import { Button, Stack, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { AuthCard } from '../../components/AuthCard';
import { CodeInput } from '../../components/CodeInput';
import { FormError } from '../../components/FormError';
import { AnchorLink } from '../../components/links';
import { api } from '../../lib/api';
import { ForgotForm, type ForgotValues } from './auth.schemas';
import { NewPasswordFields } from './NewPasswordFields';

type Step =
  | { kind: 'email' }
  | { kind: 'code'; email: string }
  | { kind: 'password'; email: string; resetToken: string };

/** Forgot password: the address, then the mailed code, then a new password. */
export function ForgotPasswordPage() {
  const navigate = useNavigate();
  const [step, setStep] = useState<Step>({ kind: 'email' });
  const [code, setCode] = useState('');
  const form = useForm<ForgotValues>({
    resolver: zodResolver(ForgotForm),
    defaultValues: { email: '' },
  });

  const ask = useMutation({
    mutationFn: (values: ForgotValues) => api.auth.password.forgot(values),
    onSuccess: (_a, values) => setStep({ kind: 'code', email: values.email.trim().toLowerCase() }),
  });
  const check = useMutation({
    mutationFn: (input: { email: string; code: string }) => api.auth.password.verifyCode(input),
    onSuccess: (answer, input) =>
      setStep({ kind: 'password', email: input.email, resetToken: answer.reset_token }),
    onError: () => setCode(''),
  });
  const reset = useMutation({
    mutationFn: (input: { resetToken: string; password: string }) =>
      api.auth.password.reset({ reset_token: input.resetToken, password: input.password }),
    onSuccess: () =>
      navigate({
        to: '/sign-in',
        search: {
          email: step.kind === 'password' ? step.email : undefined,
          notice:
            'Your password was changed and every session signed out. Sign in with the new password.',
        },
      }),
  });

  const footer = <AnchorLink to="/sign-in">Back to sign in</AnchorLink>;
  if (step.kind === 'code')
    return (
      <AuthCard
        title="Enter the code"
        subtitle={
          <>
            If <strong>{step.email}</strong> has an account, we emailed it a 6-digit code.
          </>
        }
        footer={footer}
      >
        <form
          method="post"
          onSubmit={(event) => {
            event.preventDefault();
            check.mutate({ email: step.email, code });
          }}
        >
          <Stack gap="md">
            <CodeInput
              label="Reset code"
              value={code}
              onChange={setCode}
              onComplete={(value) => check.mutate({ email: step.email, code: value })}
            />
            <FormError error={check.error} title="The code was not accepted" />
            <Button type="submit" loading={check.isPending} disabled={code.length !== 6}>
              Continue
            </Button>
          </Stack>
        </form>
      </AuthCard>
    );
  if (step.kind === 'password')
    return (
      <AuthCard
        title="Choose a new password"
        subtitle="Every session of your account will be signed out."
        footer={footer}
      >
        <NewPasswordFields
          email={step.email}
          submitLabel="Change password"
          pending={reset.isPending}
          error={reset.error}
          errorTitle="The password was not changed"
          onSubmit={(password) => reset.mutate({ resetToken: step.resetToken, password })}
        />
      </AuthCard>
    );
  return (
    <AuthCard
      title="Forgot your password?"
      subtitle="Enter your email address and we will send you a code to choose a new one."
      footer={footer}
    >
      <form method="post" noValidate onSubmit={form.handleSubmit((values) => ask.mutate(values))}>
        <Stack gap="sm">
          <TextInput
            label="Email"
            type="email"
            autoComplete="email"
            required
            {...form.register('email')}
            error={form.formState.errors.email?.message}
          />
          <FormError error={ask.error} title="No code was sent" />
          <Button type="submit" loading={ask.isPending}>
            Send code
          </Button>
        </Stack>
      </form>
    </AuthCard>
  );
}
