import type { MemberDetail } from '@gatehouse/sdk/browser';
import { Alert, Badge, Card, Group, Select, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../../lib/api';
import { useGrantable } from '../invite/grantable';
import { refusalOf } from '../invite/words';
import { scopeChoices } from './scopes';

/**
 * "What can this person do on account X": the member's effective permissions at a chosen scope
 * (grants there and above it, ownership included), grouped by area.
 */
export function PermissionsSection({ member, orgId }: { member: MemberDetail; orgId: string }) {
  const g = useGrantable();
  const [scope, setScope] = useState<string>(orgId);
  const answer = useQuery({
    queryKey: ['member', orgId, member.user_id, 'permissions', scope],
    queryFn: () => api.members.permissions(orgId, member.user_id, { scope }),
  });
  const groups = new Map<string, string[]>();
  for (const p of answer.data?.permissions ?? []) {
    const area = p.split(':')[0] ?? p;
    groups.set(area, [...(groups.get(area) ?? []), p.slice(area.length + 1)]);
  }
  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Title order={2} size="h3">
          What they can do
        </Title>
        <Select
          label="Permissions at"
          description="The organization, one account or one resource: what they may do there."
          data={g.organization ? scopeChoices(g.organization, g.tree.tree) : []}
          value={scope}
          onChange={(v) => setScope(v ?? orgId)}
          allowDeselect={false}
          searchable
          maw={420}
        />
        {answer.error ? (
          <Alert color="red" variant="light" role="alert" title="Not shown">
            {refusalOf(answer.error)}
          </Alert>
        ) : answer.isPending ? (
          <Text size="sm">Loading…</Text>
        ) : groups.size === 0 ? (
          <Text size="sm" c="dimmed" role="status">
            Nothing here: no grant of theirs reaches this scope.
          </Text>
        ) : (
          <Stack gap={6} aria-label="Effective permissions" role="list">
            {[...groups].map(([area, actions]) => (
              <Group key={area} gap={6} role="listitem" wrap="wrap">
                <Text size="sm" fw={600} miw={140}>
                  {area}
                </Text>
                {actions.map((a) => (
                  <Badge key={a} variant="default" tt="none">
                    {a}
                  </Badge>
                ))}
              </Group>
            ))}
          </Stack>
        )}
      </Stack>
    </Card>
  );
}
