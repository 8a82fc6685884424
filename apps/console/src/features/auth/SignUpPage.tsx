import { zodResolver } from '@hookform/resolvers/zod';
import { Button, Group, PasswordInput, Stack, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useForm } from 'react-hook-form';
import { AuthCard } from '../../components/AuthCard';
import { FormError } from '../../components/FormError';
import { AnchorLink } from '../../components/links';
import { PasswordChecklist } from '../../components/PasswordChecklist';
import { api } from '../../lib/api';
import { fieldErrorsOf } from '../../lib/problems';
import { SignUpForm, type SignUpValues } from './auth.schemas';

/** Name, email and a password under the policy's rules (ticking live); then the emailed code. */
export function SignUpPage() {
  const search = useSearch({ strict: false }) as { email?: string; redirect?: string };
  const navigate = useNavigate();
  const form = useForm<SignUpValues>({
    resolver: zodResolver(SignUpForm),
    defaultValues: {
      first_name: '',
      last_name: '',
      email: search.email ?? '',
      password: '',
      confirm: '',
    },
  });
  const register = useMutation({
    mutationFn: ({ confirm: _confirm, ...values }: SignUpValues) => api.auth.register(values),
    onSuccess: (_answer, values) =>
      navigate({
        to: '/verify-email',
        search: { email: values.email.trim().toLowerCase(), redirect: search.redirect },
      }),
  });
  const password = form.watch('password');
  const email = form.watch('email');
  const serverFields = fieldErrorsOf(register.error);
  const serverFailed = (register.error as { problem?: { failed_rules?: string[] } } | null)?.problem
    ?.failed_rules;
  const errors = form.formState.errors;

  return (
    <AuthCard
      title="Create your account"
      footer={
        <>
          Already have an account?{' '}
          <AnchorLink to="/sign-in" search={{ redirect: search.redirect }}>
            Sign in
          </AnchorLink>
        </>
      }
    >
      <form
        method="post"
        noValidate
        onSubmit={form.handleSubmit((values) => register.mutate(values))}
      >
        <Stack gap="sm">
          <Group grow align="flex-start" wrap="wrap">
            <TextInput
              label="First name"
              autoComplete="given-name"
              required
              miw={140}
              {...form.register('first_name')}
              error={errors.first_name?.message ?? serverFields.first_name}
            />
            <TextInput
              label="Last name"
              autoComplete="family-name"
              required
              miw={140}
              {...form.register('last_name')}
              error={errors.last_name?.message ?? serverFields.last_name}
            />
          </Group>
          <TextInput
            label="Email"
            type="email"
            autoComplete="email"
            required
            {...form.register('email')}
            error={errors.email?.message ?? serverFields.email}
          />
          <PasswordInput
            label="Password"
            autoComplete="new-password"
            required
            aria-describedby="password-rules"
            {...form.register('password')}
            error={errors.password ? 'The password does not meet every rule below' : undefined}
          />
          <div id="password-rules">
            <PasswordChecklist password={password} email={email} serverFailed={serverFailed} />
          </div>
          <PasswordInput
            label="Confirm password"
            autoComplete="new-password"
            required
            {...form.register('confirm')}
            error={errors.confirm?.message}
          />
          <FormError error={register.error} title="Your account was not created" />
          <Button type="submit" loading={register.isPending}>
            Create account
          </Button>
        </Stack>
      </form>
    </AuthCard>
  );
}
