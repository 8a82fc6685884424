// Writes docs/AUTHORIZATION.md from the permission catalog and templates.
import fs from 'node:fs';
import path from 'node:path';
import { defaultCatalog } from '../apps/server/src/authz/catalog';
import { renderAuthorizationReference } from '../apps/server/src/authz/docs';

const out = path.resolve(import.meta.dirname ?? '.', '../docs/AUTHORIZATION.md');
fs.writeFileSync(out, renderAuthorizationReference(defaultCatalog));
console.log(`wrote ${out}`);
