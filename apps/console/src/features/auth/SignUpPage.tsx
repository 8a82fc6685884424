import { zodResolver } from '@hookform/resolvers/zod';
import { Button, Stack } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useForm } from 'react-hook-form';
import { AuthCard } from '../../components/AuthCard';
import { FormError } from '../../components/FormError';
import { AnchorLink } from '../../components/links';
import { api } from '../../lib/api';
import { SignUpForm, type SignUpValues } from './auth.schemas';
import { NewAccountFields } from './NewAccountFields';

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
          <NewAccountFields form={form} error={register.error} rulesId="password-rules" />
          <FormError error={register.error} title="Your account was not created" />
          <Button type="submit" loading={register.isPending}>
            Create account
          </Button>
        </Stack>
      </form>
    </AuthCard>
  );
}
