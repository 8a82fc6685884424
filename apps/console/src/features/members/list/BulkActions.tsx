import { Button, Card, CloseButton, Group, List, Modal, Text } from '@mantine/core';
import { useState } from 'react';
import type { BulkAction, BulkOutcome } from './members.list';
import { outcomeInWords } from './members.list';

/**
 * What can be done to the selected rows at once (each button only when the signed-in member may
 * do it somewhere), with a confirmation before removing.
 */
export function BulkActions({
  count,
  mayUpdate,
  mayRemove,
  pending,
  onRun,
  onClear,
}: {
  count: number;
  mayUpdate: boolean;
  mayRemove: boolean;
  pending: BulkAction | undefined;
  onRun: (action: BulkAction) => void;
  onClear: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  if (count === 0) return null;
  return (
    <Group gap="sm" wrap="wrap" aria-label="Selected members" role="group">
      <Text size="sm" fw={500}>
        {count === 1 ? '1 member selected' : `${count} members selected`}
      </Text>
      {mayUpdate ? (
        <>
          <Button
            size="xs"
            variant="default"
            loading={pending === 'suspend'}
            disabled={Boolean(pending)}
            onClick={() => onRun('suspend')}
          >
            Suspend
          </Button>
          <Button
            size="xs"
            variant="default"
            loading={pending === 'reactivate'}
            disabled={Boolean(pending)}
            onClick={() => onRun('reactivate')}
          >
            Reactivate
          </Button>
        </>
      ) : null}
      {mayRemove ? (
        <Button
          size="xs"
          color="red"
          variant="light"
          loading={pending === 'remove'}
          disabled={Boolean(pending)}
          onClick={() => setConfirming(true)}
        >
          Remove
        </Button>
      ) : null}
      <Button size="xs" variant="subtle" onClick={onClear} disabled={Boolean(pending)}>
        Clear selection
      </Button>
      <Modal
        opened={confirming}
        onClose={() => setConfirming(false)}
        title={count === 1 ? 'Remove 1 member?' : `Remove ${count} members?`}
      >
        <Text size="sm" mb="md">
          They lose every role and access in this organization. Their own user accounts stay; they
          can be invited again.
        </Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={() => setConfirming(false)}>
            Cancel
          </Button>
          <Button
            color="red"
            onClick={() => {
              setConfirming(false);
              onRun('remove');
            }}
          >
            Remove
          </Button>
        </Group>
      </Modal>
    </Group>
  );
}

const ACTION_TITLE: Record<BulkAction, string> = {
  suspend: 'Suspend',
  reactivate: 'Reactivate',
  remove: 'Remove',
};

/** Each selected row's result of the last bulk action, in words. */
export function BulkResults({
  action,
  results,
  nameOf,
  onClose,
}: {
  action: BulkAction;
  results: BulkOutcome[];
  nameOf: (userId: string) => string;
  onClose: () => void;
}) {
  const done = results.filter((r) => r.status === 'done').length;
  return (
    <Card withBorder padding="md" role="status" aria-label="Bulk results">
      <Group justify="space-between" wrap="nowrap" align="flex-start">
        <Text fw={700} size="sm">
          {ACTION_TITLE[action]}: {done} of {results.length} done
        </Text>
        <CloseButton size="sm" aria-label="Dismiss the results" onClick={onClose} />
      </Group>
      <List size="sm" aria-label="Result for each member" mt="xs">
        {results.map((r) => (
          <List.Item key={r.user_id}>
            {nameOf(r.user_id)}: {outcomeInWords(action, r)}
          </List.Item>
        ))}
      </List>
    </Card>
  );
}
