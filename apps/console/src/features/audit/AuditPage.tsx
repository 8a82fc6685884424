import type { AuditEvent, AuditHead, AuditVerifyResult } from '@gatehouse/sdk/browser';
import {
  Autocomplete,
  Button,
  Card,
  Code,
  CopyButton,
  Drawer,
  Group,
  Loader,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { FormError } from '../../components/FormError';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';
import { useCurrentMembership } from '../../lib/membership';
import { useMe } from '../../lib/session';

/** Actions people filter by most; any other action (or a prefix such as `member.*`) may be typed. */
const COMMON_ACTIONS = [
  'api_key.*',
  'api_key.created',
  'api_key.revoked',
  'member.*',
  'invitation.*',
  'organization.*',
  'organization.updated',
  'role.*',
  'account.*',
];

const PAGE_SIZE = 25;

/** `datetime-local` value (the browser's local time) to ISO 8601, or undefined. */
const toIso = (local: string) => {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
};

/** A JSON value as rows of "path → value" a person can read, nested objects flattened. */
function flatten(value: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.push([prefix, '(empty)']);
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix} › ${k}` : k, out);
    return out;
  }
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object'))
      out.push([prefix, value.length ? value.map(String).join(', ') : '(none)']);
    else for (const [i, v] of value.entries()) flatten(v, `${prefix} › ${i + 1}`, out);
    return out;
  }
  out.push([prefix || 'value', value === null ? '(none)' : String(value)]);
  return out;
}

const humanAction = (action: string) => action.replace(/[._]/g, ' ');

/**
 * The audit log (issue 12 #7): every recorded act in the organization, newest first, filtered
 * by actor, action, target and time, paged by keyset; each event's details; the hash chain
 * verified in words; the signed head to keep elsewhere; the matching events as NDJSON.
 */
export function AuditPage() {
  const { organization, permissions, isPending } = useCurrentMembership();
  const orgId = organization?.id;
  const me = useMe();
  const [actor, setActor] = useState<string | null>(null);
  const [action, setAction] = useState('');
  const [target, setTarget] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [debouncedAction] = useDebouncedValue(action.trim(), 300);
  const [debouncedTarget] = useDebouncedValue(target.trim(), 300);
  // Keyset paging: the cursors of the pages before this one.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [open, setOpen] = useState<AuditEvent | null>(null);

  const filters = {
    ...(actor ? { actor } : {}),
    ...(debouncedAction ? { action: debouncedAction } : {}),
    ...(debouncedTarget ? { target: debouncedTarget } : {}),
    ...(toIso(from) ? { from: toIso(from) } : {}),
    ...(toIso(to) ? { to: toIso(to) } : {}),
  };
  const cursor = cursors.at(-1);
  const events = useQuery({
    queryKey: ['audit', orgId, filters, cursor],
    queryFn: () => api.auditLogs.list(orgId!, { ...filters, limit: PAGE_SIZE, cursor }),
    enabled: Boolean(orgId),
    placeholderData: keepPreviousData,
  });
  const members = useQuery({
    queryKey: ['members', orgId, 'names'],
    queryFn: () => api.members.list(orgId!, { limit: 100 }),
    enabled: Boolean(orgId) && permissions.has('members:read'),
  });
  const names = new Map<string, string>();
  for (const m of members.data?.data ?? [])
    names.set(m.user_id, `${m.first_name} ${m.last_name}`.trim() || m.email);
  if (me.data) names.set(me.data.id, `${me.data.first_name} ${me.data.last_name} (you)`);

  const actorName = (e: AuditEvent) =>
    e.actor.type === 'user' && e.actor.id
      ? (names.get(e.actor.id) ?? e.actor.id)
      : e.actor.type === 'api_key'
        ? `API key ${e.actor.id ?? ''}`
        : e.actor.type === 'system'
          ? 'Gatehouse'
          : `${e.actor.type} ${e.actor.id ?? ''}`.trim();
  const targetName = (e: AuditEvent) =>
    e.target
      ? e.target.id
        ? `${e.target.type.replace(/_/g, ' ')} ${names.get(e.target.id) ?? e.target.id}`
        : e.target.type
      : '—';

  const resetPaging = () => setCursors([undefined]);
  const exportQuery = new URLSearchParams(filters as Record<string, string>).toString();
  const exportHref = orgId
    ? `/v1/organizations/${encodeURIComponent(orgId)}/audit-logs/export${exportQuery ? `?${exportQuery}` : ''}`
    : '#';

  if (isPending || !organization) return <Loader aria-label="Loading the audit log" />;
  const rows = events.data?.data ?? [];
  const actorOptions = [...names.entries()].map(([value, label]) => ({ value, label }));
  return (
    <Stack gap="lg" maw={1200}>
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h2">
          Audit log
        </Title>
        <Button component="a" href={exportHref} download variant="default">
          Export NDJSON
        </Button>
      </Group>
      <ChainCard orgId={organization.id} />
      <Card withBorder padding="lg">
        <Stack gap="md">
          <Title order={2} size="h4">
            Events
          </Title>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 5 }}>
            <Select
              label="Actor"
              placeholder="Anyone"
              data={actorOptions}
              value={actor}
              onChange={(v) => {
                setActor(v);
                resetPaging();
              }}
              searchable
              clearable
            />
            <Autocomplete
              label="Action"
              placeholder="Any action"
              description="Exact, or a prefix such as member.*"
              data={COMMON_ACTIONS}
              value={action}
              onChange={(v) => {
                setAction(v);
                resetPaging();
              }}
            />
            <TextInput
              label="Target"
              description="The id of a member, key, account…"
              value={target}
              onChange={(e) => {
                setTarget(e.currentTarget.value);
                resetPaging();
              }}
            />
            <TextInput
              type="datetime-local"
              label="From"
              description="Inclusive, your local time"
              value={from}
              onChange={(e) => {
                setFrom(e.currentTarget.value);
                resetPaging();
              }}
            />
            <TextInput
              type="datetime-local"
              label="Until"
              description="Exclusive, your local time"
              value={to}
              onChange={(e) => {
                setTo(e.currentTarget.value);
                resetPaging();
              }}
            />
          </SimpleGrid>
          {events.isPending ? (
            <Loader aria-label="Loading events" />
          ) : rows.length === 0 ? (
            <Text>
              {Object.keys(filters).length
                ? 'No event matches these filters.'
                : 'Nothing has been recorded yet.'}
            </Text>
          ) : (
            <Table.ScrollContainer minWidth={760}>
              <Table verticalSpacing="xs" highlightOnHover aria-label="Audit events">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>When</Table.Th>
                    <Table.Th>Actor</Table.Th>
                    <Table.Th>Action</Table.Th>
                    <Table.Th>Target</Table.Th>
                    <Table.Th>
                      <span className="visually-hidden">Details</span>
                    </Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {rows.map((e) => (
                    <Table.Tr key={e.id}>
                      <Table.Td>{formatDateTime(e.created_at)}</Table.Td>
                      <Table.Td>{actorName(e)}</Table.Td>
                      <Table.Td>
                        <Code>{e.action}</Code>
                      </Table.Td>
                      <Table.Td>{targetName(e)}</Table.Td>
                      <Table.Td>
                        <Button
                          size="xs"
                          variant="subtle"
                          onClick={() => setOpen(e)}
                          aria-label={`Details of ${e.action} at ${formatDateTime(e.created_at)}`}
                        >
                          Details
                        </Button>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
          <Group justify="space-between">
            <Text size="sm" c="dimmed">
              Page {cursors.length}
            </Text>
            <Group gap="xs">
              <Button
                variant="default"
                size="xs"
                disabled={cursors.length <= 1}
                onClick={() => setCursors((c) => c.slice(0, -1))}
              >
                Newer
              </Button>
              <Button
                variant="default"
                size="xs"
                disabled={!events.data?.next_cursor}
                onClick={() => {
                  const next = events.data?.next_cursor;
                  if (next) setCursors((c) => [...c, next]);
                }}
              >
                Older
              </Button>
            </Group>
          </Group>
          <FormError error={events.error} title="The events could not be loaded" />
        </Stack>
      </Card>
      <Drawer
        closeButtonProps={{ 'aria-label': 'Close' }}
        opened={open !== null}
        onClose={() => setOpen(null)}
        position="right"
        size="lg"
        title={open ? `Event: ${humanAction(open.action)}` : 'Event'}
      >
        {open ? (
          <EventDetails event={open} actor={actorName(open)} target={targetName(open)} />
        ) : null}
      </Drawer>
    </Stack>
  );
}

function EventDetails({
  event,
  actor,
  target,
}: {
  event: AuditEvent;
  actor: string;
  target: string;
}) {
  const changes = event.changes == null ? [] : flatten(event.changes);
  const facts: [string, string][] = [
    ['When', formatDateTime(event.created_at)],
    ['Action', event.action],
    ['Actor', actor],
    ['Target', target],
    ['From address', event.ip ?? '—'],
    ['Browser or program', event.user_agent ?? '—'],
    ['Request id', event.request_id ?? '—'],
    ['Sequence', String(event.seq)],
    ['Event id', event.id],
    ['Chain hash', event.hash ?? '—'],
  ];
  return (
    <Stack gap="md">
      <Table aria-label="Event" layout="fixed">
        <Table.Tbody>
          {facts.map(([k, v]) => (
            <Table.Tr key={k}>
              <Table.Th w={170}>{k}</Table.Th>
              <Table.Td style={{ wordBreak: 'break-all' }}>{v}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Title order={3} size="h5">
        What changed
      </Title>
      {changes.length === 0 ? (
        <Text size="sm">No details were recorded for this event.</Text>
      ) : (
        <Table aria-label="What changed" layout="fixed">
          <Table.Tbody>
            {changes.map(([k, v]) => (
              <Table.Tr key={k}>
                <Table.Th w={170}>{k}</Table.Th>
                <Table.Td style={{ wordBreak: 'break-word' }}>{v}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function verifyWords(result: AuditVerifyResult): string {
  if (result.valid)
    return `The chain is intact: all ${result.checked} event${result.checked === 1 ? '' : 's'} checked link up, none was altered or removed${
      result.checkpoint?.removed
        ? ` (${result.checkpoint.removed} older event${result.checkpoint.removed === 1 ? ' was' : 's were'} pruned under the retention policy, recorded by a checkpoint)`
        : ''
    }.`;
  const broken = result.first_broken;
  return `The chain is broken${
    broken ? ` at event ${broken.seq} (${broken.id}): ${broken.reason}` : ''
  }. Events from there on may have been altered or removed; keep the export and investigate.`;
}

/** "Verify chain" in words, and the signed head an operator keeps elsewhere. */
function ChainCard({ orgId }: { orgId: string }) {
  const verify = useMutation({ mutationFn: () => api.auditLogs.verify(orgId) });
  const head = useMutation<AuditHead>({ mutationFn: () => api.auditLogs.head(orgId) });
  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Title order={2} size="h4">
          Integrity
        </Title>
        <Text size="sm" c="dimmed" maw={760}>
          Every event is chained to the one before it by a hash. Verifying recomputes the chain; the
          signed head is a checkpoint to keep outside Gatehouse, so that removed events can be
          noticed later.
        </Text>
        <Group gap="xs">
          <Button onClick={() => verify.mutate()} loading={verify.isPending}>
            Verify chain
          </Button>
          <Button variant="default" onClick={() => head.mutate()} loading={head.isPending}>
            Show signed head
          </Button>
        </Group>
        {verify.data ? (
          <Card
            withBorder
            padding="sm"
            role="status"
            style={{ borderColor: `var(--mantine-color-${verify.data.valid ? 'teal' : 'red'}-7)` }}
          >
            <Text fw={700} c={verify.data.valid ? 'teal.9' : 'red.9'}>
              {verify.data.valid ? 'Chain verified' : 'Chain broken'}
            </Text>
            <Text size="sm">{verifyWords(verify.data)}</Text>
          </Card>
        ) : null}
        {head.data ? (
          <Stack gap={4}>
            <Text size="sm">
              Newest event: number {head.data.sequence}, recorded {formatDateTime(head.data.at)}.
            </Text>
            <Group gap="xs" wrap="nowrap" align="flex-start">
              <Code
                block
                data-testid="audit-checkpoint"
                style={{ wordBreak: 'break-all', whiteSpace: 'pre-wrap', flex: 1 }}
              >
                {head.data.checkpoint}
              </Code>
              <CopyButton value={head.data.checkpoint}>
                {({ copied, copy }) => (
                  <Button size="xs" variant="light" onClick={copy}>
                    {copied ? 'Copied' : 'Copy checkpoint'}
                  </Button>
                )}
              </CopyButton>
            </Group>
            <Text size="xs" c="dimmed">
              Later, verifying with this checkpoint as <Code>anchor</Code> proves that no event up
              to it was removed.
            </Text>
          </Stack>
        ) : null}
        <FormError error={verify.error ?? head.error} />
      </Stack>
    </Card>
  );
}
