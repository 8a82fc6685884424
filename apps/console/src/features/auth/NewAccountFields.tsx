import { Group, PasswordInput, TextInput } from '@mantine/core';
import type { UseFormReturn } from 'react-hook-form';
import { PasswordChecklist } from '../../components/PasswordChecklist';
import { fieldErrorsOf } from '../../lib/problems';

/** The fields of a new account: what sign-up and the first-admin setup both ask for. */
export interface NewAccountValues {
  first_name: string;
  last_name: string;
  email: string;
  password: string;
  confirm: string;
}

/**
 * First and last name, email, a password whose rules tick as it is typed, and its confirmation;
 * each field shows its own error, from the form's schema or from the server's answer.
 */
export function NewAccountFields({
  form,
  error,
  rulesId,
}: {
  form: UseFormReturn<NewAccountValues>;
  /** the failed submit, whose field errors and failed password rules are shown in place */
  error: unknown;
  rulesId: string;
}) {
  const errors = form.formState.errors;
  const serverFields = fieldErrorsOf(error);
  const serverFailed = (error as { problem?: { failed_rules?: string[] } } | null)?.problem
    ?.failed_rules;
  return (
    <>
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
        aria-describedby={rulesId}
        {...form.register('password')}
        error={errors.password ? 'The password does not meet every rule below' : undefined}
      />
      <div id={rulesId}>
        <PasswordChecklist
          password={form.watch('password')}
          email={form.watch('email')}
          serverFailed={serverFailed}
        />
      </div>
      <PasswordInput
        label="Confirm password"
        autoComplete="new-password"
        required
        {...form.register('confirm')}
        error={errors.confirm?.message}
      />
    </>
  );
}
