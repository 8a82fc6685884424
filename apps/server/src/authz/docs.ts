import type { Catalog } from './types';

/**
 * Renders the permission catalog and the templates as Markdown (docs/AUTHORIZATION.md), so the
 * reference is written from the data and cannot drift from it (a test compares the file).
 */
export function renderAuthorizationReference(catalog: Catalog): string {
  const lines: string[] = [
    '# Authorization reference',
    '',
    '<!-- Generated from apps/server/src/authz by `npm run docs:authz`; do not edit by hand. -->',
    '',
    '## Permissions',
    '',
    '| permission | product | meaning |',
    '|---|---|---|',
  ];
  for (const p of catalog.permissions.values())
    lines.push(`| \`${p.name}\` | ${p.product ?? '—'} | ${p.description} |`);
  lines.push(
    '',
    'Patterns in roles: `*` (everything), `video.*` (every permission of a product), `*:read` (every read), `members:*` (every action of an area).',
    '',
  );
  lines.push('## Products', '', '| product | meaning |', '|---|---|');
  for (const p of catalog.products.values()) lines.push(`| \`${p.key}\` | ${p.description} |`);
  lines.push('', '## Templates', '');
  for (const t of catalog.templates.values()) {
    lines.push(
      `### \`${t.key}\` — ${t.name}`,
      '',
      t.description,
      '',
      `**Who adds people**: ${t.invitePolicy.summary}`,
      '',
    );
    lines.push('| role | product | granted at | permissions |', '|---|---|---|---|');
    for (const r of t.roles) {
      const at =
        r.grantableAt.length > 0 ? r.grantableAt.join(', ') : 'never (comes from ownership)';
      lines.push(
        `| \`${r.key}\` | ${r.product ?? 'all'} | ${at} | ${r.permissions.map((p) => `\`${p}\``).join(' ')} |`,
      );
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
