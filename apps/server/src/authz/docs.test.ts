import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCatalog } from './catalog';
import { renderAuthorizationReference } from './docs';

describe('docs/AUTHORIZATION.md', () => {
  it('is the rendering of the shipped catalog and templates (run `npm run docs:authz` after changing them)', () => {
    const file = path.resolve(__dirname, '../../../../docs/AUTHORIZATION.md');
    expect(fs.readFileSync(file, 'utf8')).toBe(renderAuthorizationReference(defaultCatalog));
  });
});
