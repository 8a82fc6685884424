import { isGatehouseError, type Organization } from '@gatehouse/sdk/browser';
import {
  Alert,
  Button,
  Card,
  Checkbox,
  Group,
  Loader,
  Modal,
  NumberInput,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { FormError } from '../../components/FormError';
import { useStepUp } from '../../components/StepUp';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';
import { useCurrentMembership } from '../../lib/membership';
import { useMe } from '../../lib/session';

const LOGIN_METHODS = [
  { value: 'password', label: 'Email and password' },
  { value: 'google', label: 'Google' },
  { value: 'github', label: 'GitHub' },
];
const methodLabel = (m: string) =>
  LOGIN_METHODS.find((x) => x.value === m)?.label ??
  (m.startsWith('oidc:') ? `Single sign-on (${m.slice(5)})` : m);

/** A cancelled step-up is the person's choice, not an error to show. */
const shown = (error: unknown) =>
  error instanceof Error && error.message === 'cancelled' ? null : error;

/** Everything that shows the organization's name or the signed-in member's part in it. */
function useRefreshOrganization() {
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: ['organizations'] }),
      queryClient.invalidateQueries({ queryKey: ['organization'] }),
      queryClient.invalidateQueries({ queryKey: ['my-membership'] }),
      queryClient.invalidateQueries({ queryKey: ['ownership-offers'] }),
    ]);
}

/**
 * Organization settings (issue 12 #8): name and details, sign-in policies (a policy that would
 * shut out the session setting it is refused and explained), ownership transfer on both sides,
 * and deleting the organization by typing its name. Every member sees the page; what they may
 * not change is shown read-only, and an ownership offer made to them appears here.
 */
export function OrganizationPage() {
  const { organization: current, permissions, isPending } = useCurrentMembership();
  const orgId = current?.id;
  const organization = useQuery({
    queryKey: ['organization', orgId],
    queryFn: () => api.organizations.get(orgId!),
    enabled: Boolean(orgId),
  });
  if (isPending || !current || !organization.data)
    return (
      <Stack>
        <Loader aria-label="Loading the organization" />
        <FormError error={organization.error} />
      </Stack>
    );
  const org = organization.data;
  return (
    <Stack gap="lg" maw={860}>
      <Title order={1} size="h2">
        Organization settings
      </Title>
      <OwnershipOffersToMe org={org} />
      <DetailsSection key={org.id} org={org} canEdit={permissions.has('organization:update')} />
      <PoliciesSection key={org.id} org={org} canEdit={permissions.has('organization:update')} />
      <OwnershipSection key={org.id} org={org} isOwner={current.is_owner} />
      {permissions.has('organization:delete') ? <DeleteSection key={org.id} org={org} /> : null}
    </Stack>
  );
}

function DetailsSection({ org, canEdit }: { org: Organization; canEdit: boolean }) {
  const refresh = useRefreshOrganization();
  const [name, setName] = useState(org.name);
  const save = useMutation({
    mutationFn: () => api.organizations.update(org.id, { name: name.trim() }),
    onSuccess: refresh,
  });
  return (
    <Card withBorder padding="lg">
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) save.mutate();
        }}
      >
        <Stack gap="sm">
          <Title order={2} size="h3">
            Details
          </Title>
          <TextInput
            label="Organization name"
            value={name}
            maxLength={120}
            onChange={(e) => {
              setName(e.currentTarget.value);
              save.reset();
            }}
            readOnly={!canEdit}
            error={!name.trim() ? 'The organization needs a name' : undefined}
            required
          />
          <Table aria-label="Organization details" layout="fixed" maw={560}>
            <Table.Tbody>
              <Table.Tr>
                <Table.Th w={160}>Address name</Table.Th>
                <Table.Td>{org.slug}</Table.Td>
              </Table.Tr>
              <Table.Tr>
                <Table.Th>Template</Table.Th>
                <Table.Td style={{ textTransform: 'capitalize' }}>{org.template}</Table.Td>
              </Table.Tr>
              <Table.Tr>
                <Table.Th>Status</Table.Th>
                <Table.Td>{org.status === 'active' ? 'Active' : 'Suspended'}</Table.Td>
              </Table.Tr>
              <Table.Tr>
                <Table.Th>Created</Table.Th>
                <Table.Td>{formatDateTime(org.created_at)}</Table.Td>
              </Table.Tr>
              <Table.Tr>
                <Table.Th>Id</Table.Th>
                <Table.Td style={{ wordBreak: 'break-all' }}>{org.id}</Table.Td>
              </Table.Tr>
            </Table.Tbody>
          </Table>
          {save.isSuccess ? (
            <Text size="sm" c="teal.9" role="status">
              The name was saved.
            </Text>
          ) : null}
          <FormError error={save.error} title="The name was not saved" />
          {canEdit ? (
            <Button
              type="submit"
              w="fit-content"
              loading={save.isPending}
              disabled={name.trim() === org.name}
            >
              Save name
            </Button>
          ) : null}
        </Stack>
      </form>
    </Card>
  );
}

/** The refusal of a policy that would shut out the very session asking for it, in words. */
function lockoutWords(error: unknown): string | null {
  if (!isGatehouseError(error, 'policy_lockout')) return null;
  const policy = error.problem?.policy;
  if (policy === 'require_mfa')
    return 'You signed in to this session without a second factor, so requiring one of everyone would shut you out at once. Set up a second factor in Personal settings, sign in again using it, then turn this on.';
  if (policy === 'allowed_login_methods') {
    const method = String(error.problem?.login_method ?? 'another method');
    return `You signed in to this session with ${methodLabel(method)}. Keep ${methodLabel(method)} among the allowed methods, or sign in with one you keep before saving.`;
  }
  return null;
}

function PoliciesSection({ org, canEdit }: { org: Organization; canEdit: boolean }) {
  const refresh = useRefreshOrganization();
  const p = org.policies;
  const [requireMfa, setRequireMfa] = useState(p.require_mfa);
  const [anyMethod, setAnyMethod] = useState(p.allowed_login_methods === null);
  const [methods, setMethods] = useState<string[]>(p.allowed_login_methods ?? ['password']);
  const [maxAge, setMaxAge] = useState<number | string>(p.session_max_age_hours ?? '');
  const [idle, setIdle] = useState<number | string>(p.session_idle_timeout_minutes ?? '');
  const extraMethods = (p.allowed_login_methods ?? []).filter(
    (m) => !LOGIN_METHODS.some((x) => x.value === m),
  );
  const save = useMutation({
    mutationFn: () =>
      api.organizations.update(org.id, {
        policies: {
          require_mfa: requireMfa,
          allowed_login_methods: anyMethod ? null : methods,
          session_max_age_hours: maxAge === '' ? null : Number(maxAge),
          session_idle_timeout_minutes: idle === '' ? null : Number(idle),
        },
      }),
    onSuccess: refresh,
  });
  const lockout = lockoutWords(save.error);
  const touch = () => save.reset();
  return (
    <Card withBorder padding="lg">
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack gap="md">
          <Title order={2} size="h3">
            Sign-in policies
          </Title>
          <Text size="sm" c="dimmed">
            They apply to every member of {org.name}, at their next request.
          </Text>
          <Switch
            label="Require two-step verification"
            description="Members without a second factor are asked to set one up before they continue."
            checked={requireMfa}
            onChange={(e) => {
              setRequireMfa(e.currentTarget.checked);
              touch();
            }}
            disabled={!canEdit}
          />
          <Stack gap={6}>
            <Switch
              label="Accept any sign-in method"
              checked={anyMethod}
              onChange={(e) => {
                setAnyMethod(e.currentTarget.checked);
                touch();
              }}
              disabled={!canEdit}
            />
            {anyMethod ? null : (
              <Checkbox.Group
                label="Allowed sign-in methods"
                value={methods}
                onChange={(v) => {
                  setMethods(v);
                  touch();
                }}
                error={methods.length === 0 ? 'Allow at least one method' : undefined}
              >
                <Group gap="md" mt={6}>
                  {[
                    ...LOGIN_METHODS,
                    ...extraMethods.map((m) => ({ value: m, label: methodLabel(m) })),
                  ].map((m) => (
                    <Checkbox key={m.value} value={m.value} label={m.label} disabled={!canEdit} />
                  ))}
                </Group>
              </Checkbox.Group>
            )}
          </Stack>
          <Group grow align="flex-start" wrap="wrap">
            <NumberInput
              label="Session maximum age (hours)"
              description="Sign in again after this long. Empty: no limit."
              value={maxAge}
              onChange={(v) => {
                setMaxAge(v);
                touch();
              }}
              min={1}
              max={24 * 365}
              allowDecimal={false}
              allowNegative={false}
              readOnly={!canEdit}
              miw={220}
            />
            <NumberInput
              label="Idle timeout (minutes)"
              description="Signed out after this long without activity (at least 5). Empty: none."
              value={idle}
              onChange={(v) => {
                setIdle(v);
                touch();
              }}
              min={5}
              max={60 * 24 * 30}
              allowDecimal={false}
              allowNegative={false}
              readOnly={!canEdit}
              miw={220}
            />
          </Group>
          {save.isSuccess ? (
            <Text size="sm" c="teal.9" role="status">
              The sign-in policies were saved.
            </Text>
          ) : null}
          {lockout ? (
            <Alert color="orange" variant="light" role="alert">
              <Text fw={700} c="orange.9">
                This would lock you out
              </Text>
              <Text size="sm">{lockout}</Text>
            </Alert>
          ) : (
            <FormError error={save.error} title="The policies were not saved" />
          )}
          {canEdit ? (
            <Button
              type="submit"
              w="fit-content"
              loading={save.isPending}
              disabled={!anyMethod && methods.length === 0}
            >
              Save policies
            </Button>
          ) : null}
        </Stack>
      </form>
    </Card>
  );
}

function useOffers(orgId: string) {
  return useQuery({
    queryKey: ['ownership-offers', orgId],
    queryFn: () => api.organizations.ownershipOffers.list(orgId),
  });
}

/** The receiving side: an offer to me, with accept and decline. */
function OwnershipOffersToMe({ org }: { org: Organization }) {
  const me = useMe();
  const offers = useOffers(org.id);
  const refresh = useRefreshOrganization();
  const answer = useMutation({
    mutationFn: ({ id, accept }: { id: string; accept: boolean }) =>
      accept
        ? api.organizations.ownershipOffers.accept(org.id, id)
        : api.organizations.ownershipOffers.decline(org.id, id),
    onSuccess: refresh,
  });
  const mine = (offers.data?.data ?? []).filter(
    (o) => o.to_user_id === me.data?.id && o.subject_id === org.id && o.status === 'pending',
  );
  if (answer.isSuccess && mine.length === 0)
    return (
      <Text c="teal.9" role="status">
        {answer.variables?.accept
          ? `You are now the owner of ${org.name}.`
          : 'You declined the ownership offer.'}
      </Text>
    );
  if (mine.length === 0) return null;
  return (
    <Alert color="blue" variant="light">
      <Stack gap="xs">
        <Text fw={700} c="blue.9">
          You are offered ownership
        </Text>
        {mine.map((o) => (
          <Stack gap="xs" key={o.id}>
            <Text size="sm">
              The owner offered you ownership of {org.name} on {formatDateTime(o.created_at)}. As
              the owner you hold every permission here, and only you can delete the organization;
              the current owner stays a member.
            </Text>
            <Group gap="xs">
              <Button
                size="xs"
                onClick={() => answer.mutate({ id: o.id, accept: true })}
                loading={answer.isPending && answer.variables?.accept === true}
              >
                Accept ownership
              </Button>
              <Button
                size="xs"
                variant="default"
                onClick={() => answer.mutate({ id: o.id, accept: false })}
                loading={answer.isPending && answer.variables?.accept === false}
              >
                Decline
              </Button>
            </Group>
          </Stack>
        ))}
        <FormError error={answer.error} title="The offer was not answered" />
      </Stack>
    </Alert>
  );
}

/** The owner's side: offer ownership to a member, see the pending offer, withdraw it. */
function OwnershipSection({ org, isOwner }: { org: Organization; isOwner: boolean }) {
  const me = useMe();
  const stepUp = useStepUp();
  const refresh = useRefreshOrganization();
  const offers = useOffers(org.id);
  const [to, setTo] = useState<string | null>(null);
  const members = useQuery({
    queryKey: ['members', org.id, 'names'],
    queryFn: () => api.members.list(org.id, { limit: 100 }),
    enabled: isOwner,
  });
  const offer = useMutation({
    mutationFn: (userId: string) =>
      stepUp(() => api.organizations.transferOwnership(org.id, userId)),
    onSuccess: () => {
      setTo(null);
      return refresh();
    },
  });
  const withdraw = useMutation({
    mutationFn: (id: string) => api.organizations.ownershipOffers.withdraw(org.id, id),
    onSuccess: refresh,
  });
  const nameOf = (id: string) => {
    const m = members.data?.data.find((x) => x.user_id === id);
    return m ? `${m.first_name} ${m.last_name} (${m.email})` : id;
  };
  const pending = (offers.data?.data ?? []).filter(
    (o) => o.from_user_id === me.data?.id && o.subject_id === org.id && o.status === 'pending',
  );
  const candidates = (members.data?.data ?? [])
    .filter((m) => !m.is_owner && m.status === 'active' && m.user_status === 'active')
    .map((m) => ({ value: m.user_id, label: `${m.first_name} ${m.last_name} (${m.email})` }));
  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Title order={2} size="h3">
          Ownership
        </Title>
        {!isOwner ? (
          <Text size="sm">Only the owner can hand the organization to someone else.</Text>
        ) : (
          <>
            <Text size="sm" c="dimmed">
              Offer ownership to an active member. They become the owner when they accept; until
              then you can withdraw the offer.
            </Text>
            {pending.length ? (
              <Stack gap="xs">
                {pending.map((o) => (
                  <Group key={o.id} gap="sm" wrap="wrap">
                    <Text size="sm" fw={700} c="blue.9">
                      Pending
                    </Text>
                    <Text size="sm">
                      Offered to {nameOf(o.to_user_id)} on {formatDateTime(o.created_at)}
                    </Text>
                    <Button
                      size="xs"
                      variant="subtle"
                      color="red"
                      onClick={() => withdraw.mutate(o.id)}
                      loading={withdraw.isPending}
                    >
                      Withdraw offer
                    </Button>
                  </Group>
                ))}
              </Stack>
            ) : (
              <form
                method="post"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (to) offer.mutate(to);
                }}
              >
                <Group align="flex-end" wrap="wrap">
                  <Select
                    label="New owner"
                    placeholder={candidates.length ? 'Choose a member' : 'No other active member'}
                    data={candidates}
                    value={to}
                    onChange={setTo}
                    searchable
                    miw={300}
                  />
                  <Button type="submit" disabled={!to} loading={offer.isPending}>
                    Offer ownership
                  </Button>
                </Group>
              </form>
            )}
            {offer.isSuccess ? (
              <Text size="sm" c="teal.9" role="status">
                The offer was sent. It waits for their answer.
              </Text>
            ) : null}
            <FormError error={shown(offer.error) ?? withdraw.error} />
          </>
        )}
      </Stack>
    </Card>
  );
}

function DeleteSection({ org }: { org: Organization }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const stepUp = useStepUp();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const remove = useMutation({
    mutationFn: () => stepUp(() => api.organizations.delete(org.id, { confirm_name: typed })),
    onSuccess: async () => {
      setOpen(false);
      queryClient.removeQueries({ queryKey: ['organization', org.id] });
      await queryClient.invalidateQueries({ queryKey: ['organizations'] });
      await navigate({ to: '/' });
    },
  });
  return (
    <Card withBorder padding="lg" style={{ borderColor: 'var(--mantine-color-red-4)' }}>
      <Stack gap="sm">
        <Title order={2} size="h3">
          Delete organization
        </Title>
        <Text size="sm">
          Deleting {org.name} removes its members' access, its accounts, roles, API keys and
          invitations. The people themselves keep their Gatehouse accounts.
        </Text>
        <Button
          color="red"
          variant="outline"
          w="fit-content"
          onClick={() => {
            setTyped('');
            remove.reset();
            setOpen(true);
          }}
        >
          Delete organization…
        </Button>
      </Stack>
      <Modal
        closeButtonProps={{ 'aria-label': 'Close' }}
        opened={open}
        onClose={() => setOpen(false)}
        title={`Delete ${org.name}?`}
        centered
      >
        <form
          method="post"
          onSubmit={(e) => {
            e.preventDefault();
            if (typed === org.name) remove.mutate();
          }}
        >
          <Stack gap="sm">
            <Text size="sm">
              This cannot be undone. To confirm, type the organization's name:{' '}
              <strong>{org.name}</strong>
            </Text>
            <TextInput
              label="Organization name"
              value={typed}
              onChange={(e) => setTyped(e.currentTarget.value)}
              autoComplete="off"
              data-autofocus
            />
            <FormError error={shown(remove.error)} title="The organization was not deleted" />
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setOpen(false)}>
                Cancel
              </Button>
              <Button
                type="submit"
                color="red"
                disabled={typed !== org.name}
                loading={remove.isPending}
              >
                Delete {org.name}
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </Card>
  );
}
