import { Badge, Checkbox, Fieldset, Group, Stack, Text } from '@mantine/core';
import type { TreeAccount } from './grantable';

/**
 * A picker over the organization's tree: the organization, its accounts, their resources. A
 * scope the chosen role cannot be given at, or where the signed-in person may not add people,
 * is not offered (shown disabled with the reason, so the tree keeps its shape).
 */
export function ScopePicker(props: {
  legend: string;
  description?: string;
  organization?: { id: string; name: string };
  tree: TreeAccount[];
  accountWord: string;
  resourceWord: string;
  selected: ReadonlySet<string>;
  onChange: (next: Set<string>) => void;
  /** null: offered; a string: why not */
  refusal: (scope: string) => string | null;
  error?: string;
}) {
  const { selected } = props;
  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    props.onChange(next);
  };
  const box = (id: string, label: React.ReactNode, extra?: React.ReactNode) => {
    const why = props.refusal(id);
    return (
      <Checkbox
        key={id}
        checked={selected.has(id)}
        disabled={why !== null}
        onChange={(e) => toggle(id, e.currentTarget.checked)}
        label={
          <Group gap={6} wrap="wrap">
            <span>{label}</span>
            {extra}
          </Group>
        }
        description={why ?? undefined}
      />
    );
  };
  const offeredAccounts = props.tree;
  return (
    <Fieldset legend={props.legend} variant="unstyled">
      <Stack gap={8}>
        {props.description ? (
          <Text size="sm" c="dimmed">
            {props.description}
          </Text>
        ) : null}
        {props.organization
          ? box(props.organization.id, `${props.organization.name} (the whole organization)`)
          : null}
        {offeredAccounts.length === 0 ? (
          <Text size="sm" c="dimmed">
            No {props.accountWord.toLowerCase()} yet.
          </Text>
        ) : (
          <Stack gap={8} pl={props.organization ? 'lg' : 0}>
            {offeredAccounts.map((a) => (
              <Stack key={a.id} gap={6}>
                {box(
                  a.id,
                  a.name,
                  <Badge size="xs" variant="default">
                    {a.product}
                  </Badge>,
                )}
                {a.resources.length > 0 ? (
                  <Stack gap={6} pl="lg" aria-label={`${props.resourceWord} of ${a.name}`}>
                    {a.resources.map((r) =>
                      box(
                        r.id,
                        r.name,
                        <Badge size="xs" variant="default">
                          {r.type}
                        </Badge>,
                      ),
                    )}
                  </Stack>
                ) : null}
              </Stack>
            ))}
          </Stack>
        )}
        {props.error ? (
          <Text size="sm" c="red.9" role="alert">
            {props.error}
          </Text>
        ) : null}
      </Stack>
    </Fieldset>
  );
}
