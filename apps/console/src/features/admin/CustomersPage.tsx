import { CreateCustomerBody } from '@gatehouse/contracts';
import type { Customer } from '@gatehouse/sdk/browser';
import {
  Alert,
  Badge,
  Button,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { FormError } from '../../components/FormError';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';
import { fieldErrorsOf } from '../../lib/problems';
import { adminKeys, useCustomers } from './admin.api';
import { PlatformAdminOnly } from './PlatformAdminOnly';

/**
 * Platform admin console, customers (seed 001: "Customers are the top-level entities… When an
 * admin creates a new customer, this also creates a new user based on the customer profile. This
 * becomes the customer owner"): search as you type, create a customer with its owner (who is
 * mailed a set-password link when new), suspend and reactivate.
 */
export function CustomersPage() {
  return (
    <PlatformAdminOnly>
      <Customers />
    </PlatformAdminOnly>
  );
}

function Customers() {
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ name: string; email: string } | null>(null);
  const customers = useCustomers(debounced);
  const setStatus = useMutation({
    mutationFn: ({ id, to }: { id: string; to: 'suspend' | 'reactivate' }) =>
      to === 'suspend' ? api.admin.customers.suspend(id) : api.admin.customers.reactivate(id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: adminKeys.customers }),
  });
  const rows = customers.data?.pages.flatMap((p) => p.data) ?? [];

  return (
    <Stack gap="md" maw={1100}>
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h2">
          Customers
        </Title>
        <Button onClick={() => setCreating(true)}>Create customer</Button>
      </Group>
      <Text size="sm" c="dimmed">
        Every organization on the platform. Creating a customer also creates its owner from the
        customer profile and mails them.
      </Text>
      {created ? (
        <Alert color="teal.9" variant="outline" title="Customer created" role="status">
          {created.name} was created; {created.email} is its owner and was sent a mail to sign in.
        </Alert>
      ) : null}
      <TextInput
        label="Search customers"
        description="By name or slug"
        value={search}
        onChange={(e) => setSearch(e.currentTarget.value)}
        maw={420}
      />
      <FormError error={customers.error ?? setStatus.error} />
      <Table.ScrollContainer minWidth={720} type="native" tabIndex={0}>
        <Table verticalSpacing="xs" aria-label="Customers">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Slug</Table.Th>
              <Table.Th>Template</Table.Th>
              <Table.Th>Members</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Created</Table.Th>
              <Table.Th>
                <span className="visually-hidden">Actions</span>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((c) => (
              <CustomerRow
                key={c.id}
                customer={c}
                busy={setStatus.isPending && setStatus.variables?.id === c.id}
                onStatus={(to) => setStatus.mutate({ id: c.id, to })}
              />
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {customers.isSuccess && rows.length === 0 ? (
        <Text role="status">
          {debounced
            ? `No customer matches “${debounced}”.`
            : 'No customers yet. Create the first one with “Create customer”.'}
        </Text>
      ) : null}
      {customers.hasNextPage ? (
        <Button
          variant="default"
          w="fit-content"
          onClick={() => customers.fetchNextPage()}
          loading={customers.isFetchingNextPage}
        >
          Show more customers
        </Button>
      ) : null}
      {creating ? (
        <CreateCustomerDialog
          onClose={() => setCreating(false)}
          onCreated={(name, email) => {
            setCreating(false);
            setCreated({ name, email });
          }}
        />
      ) : null}
    </Stack>
  );
}

function CustomerRow(props: {
  customer: Customer;
  busy: boolean;
  onStatus: (to: 'suspend' | 'reactivate') => void;
}) {
  const c = props.customer;
  const suspended = c.status === 'suspended';
  return (
    <Table.Tr>
      <Table.Td>{c.name}</Table.Td>
      <Table.Td>{c.slug}</Table.Td>
      <Table.Td>{c.template}</Table.Td>
      <Table.Td>{c.members}</Table.Td>
      <Table.Td>
        <Badge color={suspended ? 'red.9' : 'teal.9'}>{suspended ? 'Suspended' : 'Active'}</Badge>
      </Table.Td>
      <Table.Td>{formatDateTime(c.created_at)}</Table.Td>
      <Table.Td>
        <Button
          size="xs"
          variant="default"
          loading={props.busy}
          onClick={() => props.onStatus(suspended ? 'reactivate' : 'suspend')}
          aria-label={`${suspended ? 'Reactivate' : 'Suspend'} ${c.name}`}
        >
          {suspended ? 'Reactivate' : 'Suspend'}
        </Button>
      </Table.Td>
    </Table.Tr>
  );
}

function CreateCustomerDialog(props: {
  onClose: () => void;
  onCreated: (name: string, email: string) => void;
}) {
  const queryClient = useQueryClient();
  const templates = useQuery({ queryKey: ['templates'], queryFn: () => api.templates.list() });
  const [name, setName] = useState('');
  const [template, setTemplate] = useState<string | null>('reseller');
  const [first, setFirst] = useState('');
  const [last, setLast] = useState('');
  const [email, setEmail] = useState('');
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: (body: Parameters<typeof api.admin.customers.create>[0]) =>
      api.admin.customers.create(body),
    onSuccess: async (_, body) => {
      await queryClient.invalidateQueries({ queryKey: adminKeys.customers });
      await queryClient.invalidateQueries({ queryKey: adminKeys.users });
      props.onCreated(body.name, body.owner.email);
    },
  });
  const submit = () => {
    const parsed = CreateCustomerBody.safeParse({
      name,
      template: template ?? undefined,
      owner: { email, first_name: first, last_name: last },
    });
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const key = issue.path[0] === 'owner' ? String(issue.path[1]) : String(issue.path[0]);
        errors[key] ??= issue.message;
      }
      setClientErrors(errors);
      return;
    }
    setClientErrors({});
    create.mutate(parsed.data);
  };
  const server = fieldErrorsOf(create.error);
  const errorOf = (key: string) => clientErrors[key] ?? server[key];
  return (
    <Modal
      opened
      onClose={props.onClose}
      closeButtonProps={{ 'aria-label': 'Close' }}
      title="Create customer"
      centered
    >
      <form
        method="post"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label="Customer name"
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={errorOf('name')}
            data-autofocus
          />
          <Select
            label="Template"
            description="Decides the roles and the words of the customer's console"
            data={(templates.data?.data ?? []).map((t) => ({ value: t.key, label: t.name }))}
            value={template}
            onChange={setTemplate}
            allowDeselect={false}
            error={errorOf('template')}
          />
          <Text fw={600} size="sm" mt="xs">
            Owner
          </Text>
          <Text size="sm" c="dimmed">
            A new address becomes a user managed by this customer and gets a link to set a password;
            an existing user is mailed that they own it.
          </Text>
          <TextInput
            label="Owner's first name"
            required
            value={first}
            onChange={(e) => setFirst(e.currentTarget.value)}
            error={errorOf('first_name')}
          />
          <TextInput
            label="Owner's last name"
            required
            value={last}
            onChange={(e) => setLast(e.currentTarget.value)}
            error={errorOf('last_name')}
          />
          <TextInput
            label="Owner's email"
            type="email"
            required
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            error={errorOf('email')}
          />
          <FormError error={create.error} title="The customer was not created" />
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create customer
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
