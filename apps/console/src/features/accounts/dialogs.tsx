import { Button, Group, Modal, Select, Stack, Text, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { FormError } from '../../components/FormError';

/** Rename an account or a resource: one field, the current name filled in. */
export function RenameDialog(props: {
  what: string;
  current: string;
  save: (name: string) => Promise<unknown>;
  onClose: () => void;
}) {
  const [name, setName] = useState(props.current);
  const run = useMutation({ mutationFn: () => props.save(name.trim()), onSuccess: props.onClose });
  return (
    <Modal
      closeButtonProps={{ 'aria-label': 'Close' }}
      opened
      onClose={props.onClose}
      title={`Rename ${props.what}`}
      centered
    >
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) run.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label="New name"
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            data-autofocus
          />
          <FormError error={run.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={run.isPending} disabled={!name.trim()}>
              Rename
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** Deleting asks for the name typed out: the button stays disabled until it matches. */
export function DeleteDialog(props: {
  what: string;
  name: string;
  consequence: string;
  remove: () => Promise<unknown>;
  onClose: () => void;
}) {
  const [typed, setTyped] = useState('');
  const run = useMutation({ mutationFn: props.remove, onSuccess: props.onClose });
  const matches = typed.trim() === props.name;
  return (
    <Modal
      closeButtonProps={{ 'aria-label': 'Close' }}
      opened
      onClose={props.onClose}
      title={`Delete ${props.what} ${props.name}?`}
      centered
    >
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          if (matches) run.mutate();
        }}
      >
        <Stack gap="sm">
          <Text size="sm">{props.consequence} This cannot be undone.</Text>
          <TextInput
            label={`Type ${props.name} to confirm`}
            value={typed}
            onChange={(e) => setTyped(e.currentTarget.value)}
            autoComplete="off"
            data-autofocus
          />
          <FormError error={run.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" color="red" loading={run.isPending} disabled={!matches}>
              Delete {props.what}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** Offer ownership to a member; the change happens when they accept. */
export function TransferDialog(props: {
  accountName: string;
  candidates: { value: string; label: string }[];
  offer: (userId: string) => Promise<unknown>;
  onClose: () => void;
}) {
  const [to, setTo] = useState<string | null>(null);
  const run = useMutation({ mutationFn: () => props.offer(to!), onSuccess: props.onClose });
  return (
    <Modal
      closeButtonProps={{ 'aria-label': 'Close' }}
      opened
      onClose={props.onClose}
      title={`Change the owner of ${props.accountName}`}
      centered
    >
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          if (to) run.mutate();
        }}
      >
        <Stack gap="sm">
          <Text size="sm">
            The member you choose is offered the ownership and becomes the owner when they accept
            it. Until then nothing changes, and you can withdraw the offer.
          </Text>
          <Select
            label="New owner"
            data={props.candidates}
            value={to}
            onChange={setTo}
            searchable
            nothingFoundMessage="No member matches"
            required
          />
          <FormError error={run.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={run.isPending} disabled={!to}>
              Offer ownership
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
