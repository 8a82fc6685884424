#!/usr/bin/env node
// Runs the TypeScript sources through tsx (esbuild): no build step between a clone and a
// running server. See ARCHITECTURE.md, "Why no build step".
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
