import { Email } from '@gatehouse/contracts';
import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Group,
  Modal,
  ScrollArea,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { api } from '../../../lib/api';
import {
  flowFor,
  INVITE_RESULT_WORDS,
  type InviteMode,
  KNOWN_LOGIN_METHODS,
  loginMethodLabel,
} from './flows';
import { roleFitsScope, scopeLevel, useGrantable } from './grantable';
import { ScopePicker } from './ScopePicker';
import { refusalOf } from './words';

interface AddressResult {
  email: string;
  ok: boolean;
  text: string;
}

/** Splits a pasted list (commas, semicolons, spaces, new lines) into addresses, each once. */
export function splitAddresses(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,;]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/**
 * The Invite / Add user dialog, shaped by the organization's template (flows.ts): one or more
 * addresses (each validated with the server's Email schema and reported on its own), where and
 * as what (role, scopes from the organization's tree; the permissions template's projects and
 * switches), the login type when adding directly, and offering ownership where the template lets
 * the owner. Only what the signed-in person may give is offered; the server still judges.
 */
export function InviteDialog({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const g = useGrantable();
  const flow = flowFor(g.organization?.template);
  const mobile = useMediaQuery('(max-width: 40em)');
  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title={flow.title}
      size="lg"
      fullScreen={Boolean(mobile)}
      closeButtonProps={{ 'aria-label': 'Close' }}
    >
      {opened ? (
        g.isPending ? (
          <Text size="sm">Loading…</Text>
        ) : !g.mayInvite ? (
          <Alert color="gray" variant="light">
            You cannot add people to this organization.{' '}
            {String((g.policy as { summary?: string }).summary ?? '')}
          </Alert>
        ) : (
          <InviteForm onClose={onClose} />
        )
      ) : null}
    </Modal>
  );
}

function InviteForm({ onClose }: { onClose: () => void }) {
  const g = useGrantable();
  const queryClient = useQueryClient();
  const flow = flowFor(g.organization?.template);
  const orgId = g.orgId!;
  const org = g.organization!;
  const switchRoles = new Set((flow.switches ?? []).map((s) => s.role));
  // Roles for the main picker: in the permissions template, the organization-wide ones that are
  // not switches or the project role.
  const pickable = g.offeredRoles.filter(
    (r) => !switchRoles.has(r.key) && r.key !== flow.projectRole,
  );
  const defaultRole =
    pickable.find((r) => r.key === g.policy.default_role)?.key ??
    (pickable.length === 1 ? pickable[0]!.key : null);

  const [mode, setMode] = useState<InviteMode>(flow.modes[0]!);
  const [emailsText, setEmailsText] = useState('');
  const [roleKey, setRoleKey] = useState<string | null>(defaultRole);
  const [scopes, setScopes] = useState<Set<string>>(() => new Set());
  const [switches, setSwitches] = useState<Set<string>>(() => new Set());
  const [loginMethod, setLoginMethod] = useState<string>('any');
  const [firstName, setFirstName] = useState('');
  const [lastName, setLastName] = useState('');
  const [sendInvite, setSendInvite] = useState(true);
  const [offerOwnership, setOfferOwnership] = useState(false);
  const [errors, setErrors] = useState<{ emails?: string; scopes?: string; role?: string }>({});
  const [invalid, setInvalid] = useState<AddressResult[]>([]);
  const [results, setResults] = useState<AddressResult[] | null>(null);

  const role = roleKey ? g.roleByKey.get(roleKey) : undefined;
  const projectRole = flow.projectRole ? g.roleByKey.get(flow.projectRole) : undefined;
  // The role picker is organization-wide, and the tree gives something else: the permissions
  // template's project role, or the reseller's checked permissions.
  const orgWide = Boolean(flow.projectRole || flow.checkedPermissions);
  const [checked, setChecked] = useState<string[]>([]);
  const holdable = g.isOwner ? g.catalog : g.catalog.filter((p) => g.permissions.has(p));
  const projectRoleOffered = flow.projectRole
    ? g.offeredRoles.some((r) => r.key === flow.projectRole)
    : false;
  // The role the tree picker gives: the chosen one, or (permissions) the project role.
  const treeRole = flow.projectRole ? projectRole : role;

  const refusal = (scope: string): string | null => {
    if (!g.mayInviteAt(scope)) return 'You cannot add people here.';
    if (flow.checkedPermissions) return null;
    if (!treeRole) return flow.projectRole ? 'Not offered to you.' : 'Choose a role first.';
    if (!roleFitsScope(treeRole, scope, g.tree.tree)) {
      const level = scopeLevel(scope);
      if (!treeRole.grantable_at.includes(level))
        return `${treeRole.name} is given at ${treeRole.grantable_at.join(' or ')} level, not here.`;
      return `${treeRole.name} is for ${treeRole.product} only.`;
    }
    return null;
  };
  const chooseRole = (key: string | null) => {
    setRoleKey(key);
    if (orgWide) return;
    const next = g.roleByKey.get(key ?? '');
    // Keep only the scopes the new role can be given at; an organization-only role is given there.
    const kept = new Set(
      [...scopes].filter((s) => next && roleFitsScope(next, s, g.tree.tree) && g.mayInviteAt(s)),
    );
    if (
      next &&
      next.grantable_at.length === 1 &&
      next.grantable_at[0] === 'organization' &&
      g.mayInviteAt(orgId)
    )
      kept.add(orgId);
    setScopes(kept);
  };

  const grants = useMemo(() => {
    if (orgWide) {
      const out: ({ role: string; scope: string } | { permissions: string[]; scope: string })[] =
        [];
      if (roleKey) out.push({ role: roleKey, scope: orgId });
      for (const s of scopes)
        if (flow.projectRole) out.push({ role: flow.projectRole, scope: s });
        else if (checked.length > 0) out.push({ permissions: checked, scope: s });
      for (const r of switches) out.push({ role: r, scope: orgId });
      return out;
    }
    return roleKey ? [...scopes].map((scope) => ({ role: roleKey, scope })) : [];
  }, [orgWide, flow.projectRole, roleKey, scopes, switches, orgId, checked]);

  const send = useMutation({
    mutationFn: async (emails: string[]): Promise<AddressResult[]> => {
      if (mode === 'invite') {
        const answer = await api.invitations.send(orgId, {
          emails,
          grants,
          offer_ownership: offerOwnership,
        });
        return answer.results.map((r) => ({
          email: r.email,
          ok: r.status === 'invited' || r.status === 'duplicate',
          text: INVITE_RESULT_WORDS[r.status] ?? r.status,
        }));
      }
      const out: AddressResult[] = [];
      for (const email of emails) {
        try {
          await api.members.add(orgId, {
            email,
            grants,
            // A name typed in is for one person: with a list, each is named after their address.
            ...(emails.length === 1 && firstName.trim() ? { first_name: firstName.trim() } : {}),
            ...(emails.length === 1 && lastName.trim() ? { last_name: lastName.trim() } : {}),
            send_invite: sendInvite,
            ...(loginMethod !== 'any' ? { login_method: loginMethod } : {}),
          });
          out.push({
            email,
            ok: true,
            text: sendInvite ? 'Added; an email with a link was sent' : 'Added',
          });
        } catch (error) {
          // A refusal of the whole request (no escalation) is the same for every address.
          if (out.length === 0 && emails.length > 0 && isWholeRefusal(error)) throw error;
          out.push({ email, ok: false, text: refusalOf(error) });
        }
      }
      return out;
    },
    onSuccess: (answer) => {
      setResults(answer);
      void queryClient.invalidateQueries({ queryKey: ['members'] });
      void queryClient.invalidateQueries({ queryKey: ['member'] });
      void queryClient.invalidateQueries({ queryKey: ['invitations'] });
    },
  });

  const submit = () => {
    const addresses = splitAddresses(emailsText);
    const next: typeof errors = {};
    const bad: AddressResult[] = [];
    const good: string[] = [];
    for (const a of addresses) {
      const parsed = Email.safeParse(a);
      if (parsed.success) good.push(parsed.data);
      else bad.push({ email: a, ok: false, text: 'Not a valid email address' });
    }
    if (addresses.length === 0) next.emails = 'Enter at least one email address.';
    else if (addresses.length > 100) next.emails = 'At most 100 addresses at a time.';
    else if (bad.length > 0)
      next.emails = `${bad.length} of ${addresses.length} addresses ${bad.length === 1 ? 'is' : 'are'} not valid; correct or remove ${bad.length === 1 ? 'it' : 'them'}.`;
    if (!offerOwnership) {
      if (!roleKey && !orgWide) next.role = 'Choose a role.';
      else if (!orgWide && scopes.size === 0)
        next.scopes = `Choose where ${role?.name ?? 'the role'} applies.`;
      else if (flow.checkedPermissions && scopes.size > 0 && checked.length === 0)
        next.scopes = 'Check the permissions to give at the chosen places.';
      else if (flow.checkedPermissions && checked.length > 0 && scopes.size === 0)
        next.scopes = 'Choose where the checked permissions apply.';
      else if (orgWide && grants.length === 0)
        next.role = flow.projectRole
          ? 'Choose a role or a project.'
          : 'Choose a role or permissions.';
    }
    setInvalid(bad);
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    send.mutate(good);
  };

  if (results) {
    const failed = results.filter((r) => !r.ok).length;
    return (
      <Stack gap="sm">
        <Text size="sm" role="status">
          {failed === 0
            ? `Done for ${results.length} ${results.length === 1 ? 'address' : 'addresses'}.`
            : `${results.length - failed} done, ${failed} not.`}
        </Text>
        <ResultsTable results={results} label="Result per address" />
        <Group justify="flex-end">
          <Button
            variant="default"
            onClick={() => {
              setResults(null);
              setEmailsText('');
            }}
          >
            Add more
          </Button>
          <Button onClick={onClose}>Done</Button>
        </Group>
      </Stack>
    );
  }

  const methods = org.policies.allowed_login_methods ?? KNOWN_LOGIN_METHODS;
  const mayOfferOwnership = g.isOwner && g.policy.owner_may_offer_ownership && mode === 'invite';
  return (
    <form
      method="post"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <Stack gap="md">
        {flow.modes.length > 1 ? (
          <SegmentedControl
            aria-label="How to add"
            value={mode}
            onChange={(v) => setMode(v as InviteMode)}
            data={flow.modes.map((m) => ({
              value: m,
              label: m === 'invite' ? 'Send an invitation' : 'Add directly',
            }))}
          />
        ) : null}
        <Text size="sm" c="dimmed">
          {mode === 'invite'
            ? 'Each address gets an email with a link; they join when they accept it.'
            : 'Each address becomes a member now. A new person gets a user this organization manages.'}
        </Text>
        <Textarea
          label="Email addresses"
          description="One or more: paste a list separated by commas, spaces or new lines."
          autosize
          minRows={2}
          maxRows={8}
          value={emailsText}
          onChange={(e) => setEmailsText(e.currentTarget.value)}
          error={errors.emails}
          data-autofocus
        />
        {invalid.length > 0 ? <ResultsTable results={invalid} label="Addresses not valid" /> : null}
        {offerOwnership ? null : (
          <>
            <Select
              label={orgWide ? 'Organization role' : 'Role'}
              description={role?.description}
              data={pickable.map((r) => ({ value: r.key, label: r.name }))}
              value={roleKey}
              onChange={chooseRole}
              placeholder="Choose a role"
              error={errors.role}
              clearable={orgWide}
              allowDeselect={orgWide}
              nothingFoundMessage="No role you may give"
            />
            {flow.projectRole && !projectRoleOffered ? null : (
              <ScopePicker
                legend={
                  flow.projectRole
                    ? `${flow.accountWord}`
                    : `${flow.checkedPermissions ? 'Associate with' : 'Where'}: the organization, ${flow.accountWord.toLowerCase()}, ${flow.resourceWord.toLowerCase()}`
                }
                description={
                  flow.projectRole
                    ? 'Check the projects the member should have access to.'
                    : undefined
                }
                organization={flow.projectRole ? undefined : { id: orgId, name: org.name }}
                tree={g.tree.tree}
                accountWord={flow.accountWord}
                resourceWord={flow.resourceWord}
                selected={scopes}
                onChange={setScopes}
                refusal={refusal}
                error={errors.scopes}
              />
            )}
            {flow.checkedPermissions ? (
              <PermissionChecklist permissions={holdable} value={checked} onChange={setChecked} />
            ) : null}
            {(flow.switches ?? [])
              .filter((s) => g.offeredRoles.some((r) => r.key === s.role))
              .map((s) => (
                <Switch
                  key={s.role}
                  label={s.label}
                  description={s.description}
                  checked={switches.has(s.role)}
                  onChange={(e) => {
                    const next = new Set(switches);
                    if (e.currentTarget.checked) next.add(s.role);
                    else next.delete(s.role);
                    setSwitches(next);
                  }}
                />
              ))}
          </>
        )}
        {mode === 'add' ? (
          <>
            {splitAddresses(emailsText).length <= 1 ? (
              <Group grow align="flex-start" wrap="wrap">
                <TextInput
                  label="First name"
                  description="Optional: a new user is otherwise named after the address."
                  value={firstName}
                  onChange={(e) => setFirstName(e.currentTarget.value)}
                  maxLength={100}
                  miw={160}
                />
                <TextInput
                  label="Last name"
                  value={lastName}
                  onChange={(e) => setLastName(e.currentTarget.value)}
                  maxLength={100}
                  miw={160}
                />
              </Group>
            ) : null}
            <Select
              label="Login type"
              description="How this person signs in to this organization."
              data={[
                { value: 'any', label: 'Any method the organization allows' },
                ...methods.map((m) => ({ value: m, label: loginMethodLabel(m) })),
              ]}
              value={loginMethod}
              onChange={(v) => setLoginMethod(v ?? 'any')}
              allowDeselect={false}
            />
            <Checkbox
              label="Send invite"
              description="Email them that they were added, with a link to set a password."
              checked={sendInvite}
              onChange={(e) => setSendInvite(e.currentTarget.checked)}
            />
          </>
        ) : null}
        {mayOfferOwnership ? (
          <Checkbox
            label="Offer ownership"
            description="Accepting makes them the owner of the organization; you stay a member."
            checked={offerOwnership}
            onChange={(e) => setOfferOwnership(e.currentTarget.checked)}
          />
        ) : null}
        {send.error ? (
          <Alert
            color="red"
            variant="light"
            role="alert"
            title={mode === 'invite' ? 'Nothing was sent' : 'Nobody was added'}
          >
            {refusalOf(send.error)}
          </Alert>
        ) : null}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={send.isPending}>
            {flow.submit[mode]}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** A refusal that is about the grants, not the address: every address would meet it. */
function isWholeRefusal(error: unknown) {
  const code = (error as { code?: string } | null)?.code;
  return code === 'forbidden' || code === 'validation_failed';
}

function ResultsTable({ results, label }: { results: AddressResult[]; label: string }) {
  return (
    <Table.ScrollContainer minWidth={320}>
      <Table aria-label={label} verticalSpacing={4}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Address</Table.Th>
            <Table.Th>Result</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {results.map((r) => (
            <Table.Tr key={r.email}>
              <Table.Td style={{ wordBreak: 'break-all' }}>{r.email}</Table.Td>
              <Table.Td>
                <Badge color={r.ok ? 'teal.9' : 'red.9'} variant="filled" mr={6}>
                  {r.ok ? 'Done' : 'Not done'}
                </Badge>
                <Text span size="sm">
                  {r.text}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** "Check the boxes for the desired Permissions" (reseller): those the inviter holds, by area. */
function PermissionChecklist(props: {
  permissions: string[];
  value: string[];
  onChange: (next: string[]) => void;
}) {
  const areas = new Map<string, string[]>();
  for (const p of props.permissions) {
    const area = p.split(':')[0] ?? p;
    areas.set(area, [...(areas.get(area) ?? []), p]);
  }
  return (
    <Checkbox.Group
      label="Permissions"
      description="Given at each place checked above."
      value={props.value}
      onChange={props.onChange}
    >
      <ScrollArea.Autosize mah={260} type="auto" mt={6}>
        <Stack gap={6}>
          {[...areas].map(([area, names]) => (
            <Group key={area} gap="sm" wrap="wrap" align="flex-start">
              <Text size="sm" fw={600} miw={130}>
                {area}
              </Text>
              {names.map((n) => (
                <Checkbox key={n} value={n} label={n.slice(area.length + 1)} aria-label={n} />
              ))}
            </Group>
          ))}
        </Stack>
      </ScrollArea.Autosize>
    </Checkbox.Group>
  );
}
