import type { TreeAccount } from '../invite/grantable';

/** Every scope of the organization as choices: the organization, its accounts, their resources. */
export function scopeChoices(org: { id: string; name: string }, tree: TreeAccount[]) {
  return [
    { value: org.id, label: `${org.name} (organization)` },
    ...tree.flatMap((a) => [
      { value: a.id, label: `${a.name} (${a.product})` },
      ...a.resources.map((r) => ({ value: r.id, label: `${a.name} › ${r.name} (${r.type})` })),
    ]),
  ];
}

export function scopeName(
  scope: string,
  org: { id: string; name: string } | undefined,
  names: Map<string, string>,
) {
  if (org && scope === org.id) return `${org.name} (organization)`;
  return names.get(scope) ?? scope;
}
