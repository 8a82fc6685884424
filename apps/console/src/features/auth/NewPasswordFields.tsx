import { zodResolver } from '@hookform/resolvers/zod';
import { Button, PasswordInput, Stack } from '@mantine/core';
import { useForm } from 'react-hook-form';
import { FormError } from '../../components/FormError';
import { PasswordChecklist } from '../../components/PasswordChecklist';
import { NewPasswordForm, type NewPasswordValues } from './auth.schemas';

/** A new password with the policy's rules ticking live and a confirmation field. */
export function NewPasswordFields(props: {
  email?: string | null;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  errorTitle: string;
  onSubmit: (password: string) => void;
  /** in a settings card the button keeps its own width, as the other Save buttons do */
  compact?: boolean;
}) {
  const form = useForm<NewPasswordValues>({
    resolver: zodResolver(NewPasswordForm),
    defaultValues: { password: '', confirm: '' },
  });
  const serverFailed = (props.error as { problem?: { failed_rules?: string[] } } | null)?.problem
    ?.failed_rules;
  return (
    <form
      method="post"
      noValidate
      onSubmit={form.handleSubmit((values) => props.onSubmit(values.password))}
    >
      <Stack gap="sm">
        <PasswordInput
          label="New password"
          autoComplete="new-password"
          required
          aria-describedby="new-password-rules"
          {...form.register('password')}
          error={
            form.formState.errors.password
              ? 'The password does not meet every rule below'
              : undefined
          }
        />
        <div id="new-password-rules">
          <PasswordChecklist
            password={form.watch('password')}
            email={props.email}
            serverFailed={serverFailed}
          />
        </div>
        <PasswordInput
          label="Confirm new password"
          autoComplete="new-password"
          required
          {...form.register('confirm')}
          error={form.formState.errors.confirm?.message}
        />
        <FormError error={props.error} title={props.errorTitle} />
        <Button type="submit" loading={props.pending} w={props.compact ? 'fit-content' : undefined}>
          {props.submitLabel}
        </Button>
      </Stack>
    </form>
  );
}
