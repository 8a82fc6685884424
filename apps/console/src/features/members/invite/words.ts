import { GatehouseError } from '@gatehouse/sdk/browser';
import { messageOf } from '../../../lib/problems';

/**
 * A refusal in words: the catalogue's sentence, plus the server's own reason when it gives one
 * for a refusal (no escalation, owner-only roles, already a member), which says what to change.
 */
export function refusalOf(error: unknown): string {
  const base = messageOf(error);
  if (
    error instanceof GatehouseError &&
    error.detail &&
    (error.code === 'forbidden' || error.code === 'conflict' || error.code === 'not_found')
  )
    return `${base} ${error.detail.replace(/\.?$/, '.')}`;
  return base;
}
