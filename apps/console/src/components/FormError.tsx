import { Alert } from '@mantine/core';
import { messageOf } from '../lib/problems';

/** A failed submit in words, above the form's button; nothing when there is no error. */
export function FormError({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <Alert color="red" variant="light" title={title ?? 'That did not work'} role="alert">
      {messageOf(error)}
    </Alert>
  );
}
