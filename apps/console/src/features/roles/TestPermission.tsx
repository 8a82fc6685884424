import type { CheckResult, Role } from '@gatehouse/sdk/browser';
import { Button, Card, Group, Paper, Select, Stack, Text, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { FormError } from '../../components/FormError';
import { api } from '../../lib/api';
import { memberName, useMemberOptions, usePermissionCatalog } from './roles.api';

interface Asked {
  who: string;
  permission: string;
  where: string;
}

/**
 * "Test permission" (seed 002, Members → test permission): may this member do this at this
 * scope? Asks POST /v1/authz/check and says the decision and its reason in words. Asking about
 * someone else needs members:read (the server refuses it otherwise); without it only "me" is
 * offered.
 */
export function TestPermission(props: {
  orgId: string;
  orgName: string;
  myUserId: string;
  mayAskAboutOthers: boolean;
  roles: Role[];
}) {
  const { orgId } = props;
  const catalog = usePermissionCatalog();
  const [memberSearch, setMemberSearch] = useState('');
  const [debouncedSearch] = useDebouncedValue(memberSearch, 250);
  // Members seen so far keep their labels: once one is picked, the box shows its label, which
  // is no search the server would match.
  const seen = useRef(new Map<string, string>());
  const searching = [...seen.current.values()].includes(debouncedSearch) ? '' : debouncedSearch;
  const members = useMemberOptions(orgId, props.mayAskAboutOthers, searching);
  const accounts = useQuery({
    queryKey: ['accounts', orgId, 'picker'],
    queryFn: () => api.accounts.list(orgId, { limit: 100 }),
  });
  const [subject, setSubject] = useState<string | null>(props.myUserId);
  const [permission, setPermission] = useState<string | null>(null);
  const [account, setAccount] = useState<string | null>(null);
  const [resource, setResource] = useState<string | null>(null);
  const resources = useQuery({
    queryKey: ['resources', orgId, account, 'picker'],
    queryFn: () => api.resources.list(orgId, account!, { limit: 100 }),
    enabled: Boolean(account),
  });
  const [asked, setAsked] = useState<Asked | null>(null);

  for (const m of members.data?.data ?? [])
    if (m.user_id !== props.myUserId) seen.current.set(m.user_id, `${memberName(m)} (${m.email})`);
  const memberData = [{ value: props.myUserId, label: 'Me' }];
  for (const [value, label] of seen.current) memberData.push({ value, label });
  const accountData = [
    { value: '', label: `The whole organization (${props.orgName})` },
    ...(accounts.data?.data ?? []).map((a) => ({
      value: a.id,
      label: `Account ${a.name} (${a.product})`,
    })),
  ];
  const resourceData = [
    { value: '', label: 'The whole account' },
    ...(resources.data?.data ?? []).map((r) => ({ value: r.id, label: `${r.type} ${r.name}` })),
  ];
  const permissionData = (catalog.data?.data ?? []).map((p) => ({
    value: p.name,
    label: p.name,
  }));

  const check = useMutation({
    mutationFn: (input: { subject: string; permission: string; scope: string }) =>
      api.authz.check({
        subject: input.subject === props.myUserId ? undefined : input.subject,
        permission: input.permission,
        scope: input.scope,
      }),
  });

  const scopeName = (scope: string | undefined) => {
    if (!scope || scope === orgId) return `the whole organization (${props.orgName})`;
    const a = accounts.data?.data.find((x) => x.id === scope);
    if (a) return `account ${a.name}`;
    const r = resources.data?.data.find((x) => x.id === scope);
    if (r) return `${r.type} ${r.name}`;
    return scope;
  };
  const roleName = (key: string | undefined) =>
    props.roles.find((r) => r.key === key)?.name ?? key ?? '';

  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Title order={2} size="h3">
          Test a permission
        </Title>
        <Text size="sm" c="dimmed">
          Ask whether a member may do something, where, and why.
        </Text>
        <form
          method="post"
          onSubmit={(e) => {
            e.preventDefault();
            if (!subject || !permission) return;
            const scope = resource || account || orgId;
            const who =
              subject === props.myUserId
                ? 'You'
                : (memberData.find((m) => m.value === subject)?.label ?? subject);
            setAsked({ who, permission, where: scopeName(scope) });
            check.mutate({ subject, permission, scope });
          }}
        >
          <Stack gap="sm">
            <Group grow align="flex-start" wrap="wrap">
              <Select
                label="Member"
                data={memberData}
                value={subject}
                onChange={setSubject}
                searchable={props.mayAskAboutOthers}
                searchValue={props.mayAskAboutOthers ? memberSearch : undefined}
                onSearchChange={props.mayAskAboutOthers ? setMemberSearch : undefined}
                allowDeselect={false}
                required
                miw={220}
                nothingFoundMessage="No member matches"
              />
              <Select
                label="Permission"
                data={permissionData}
                value={permission}
                onChange={setPermission}
                searchable
                required
                miw={220}
                nothingFoundMessage="No permission matches"
              />
            </Group>
            <Group grow align="flex-start" wrap="wrap">
              <Select
                label="Where"
                data={accountData}
                value={account ?? ''}
                onChange={(v) => {
                  setAccount(v || null);
                  setResource(null);
                }}
                allowDeselect={false}
                miw={220}
              />
              {account ? (
                <Select
                  label="Resource"
                  data={resourceData}
                  value={resource ?? ''}
                  onChange={(v) => setResource(v || null)}
                  allowDeselect={false}
                  miw={220}
                />
              ) : null}
            </Group>
            <Group>
              <Button type="submit" loading={check.isPending} disabled={!subject || !permission}>
                Test permission
              </Button>
            </Group>
          </Stack>
        </form>
        {check.data && asked ? (
          <Decision result={check.data} asked={asked} scopeName={scopeName} roleName={roleName} />
        ) : null}
        <FormError error={check.error ?? members.error ?? accounts.error} />
      </Stack>
    </Card>
  );
}

/** The decision in a sentence, then the reason the engine gave, in words. */
function Decision(props: {
  result: CheckResult;
  asked: Asked;
  scopeName: (scope: string | undefined) => string;
  roleName: (key: string | undefined) => string;
}) {
  const { result, asked } = props;
  const reason = result.reason;
  const headline = `${asked.who} ${result.allowed ? 'may' : 'may not'} use ${asked.permission} on ${asked.where}.`;
  let why: string;
  switch (reason.kind) {
    case 'owner':
      why = `Allowed because they own ${props.scopeName(reason.scope)}: an owner may do everything there.`;
      break;
    case 'grant':
      why = reason.role
        ? `Allowed by the role ${props.roleName(reason.role)}, granted on ${props.scopeName(reason.scope)}.`
        : `Allowed by the permissions granted on ${props.scopeName(reason.scope)}: ${(reason.permissions ?? []).join(', ')}.`;
      break;
    case 'no_grant':
      why = `Denied: no role or permission granted to them on ${asked.where}, or above it, includes ${asked.permission}.`;
      break;
    case 'product_mismatch':
      why = `Denied: a role they hold includes ${asked.permission} but only for another product than this account's. (${reason.message ?? ''})`;
      break;
    case 'membership_suspended':
      why = 'Denied: their membership of this organization is suspended.';
      break;
    case 'user_inactive':
      why = 'Denied: their user account is suspended or deactivated.';
      break;
    case 'no_access':
    case 'not_member':
      why = 'Denied: they are not a member of this organization, or the place does not exist.';
      break;
    case 'sign_in_policy':
      why = `Denied: this session does not meet the organization's sign-in policy. ${reason.message ?? ''}`;
      break;
    case 'unknown_permission':
      why = `Denied: ${asked.permission} is not a known permission.`;
      break;
    default:
      why = `${result.allowed ? 'Allowed' : 'Denied'}: ${reason.message ?? reason.kind}.`;
  }
  return (
    <Paper
      withBorder
      p="sm"
      bg={result.allowed ? 'teal.0' : 'red.0'}
      role="status"
      data-testid="permission-decision"
    >
      <Text fw={700} c={result.allowed ? 'teal.9' : 'red.9'}>
        {result.allowed ? 'Allowed' : 'Denied'}
      </Text>
      <Text size="sm" fw={600}>
        {headline}
      </Text>
      <Text size="sm">{why}</Text>
    </Paper>
  );
}
