#!/usr/bin/env node
// Runs the TypeScript sources with no build step between a clone and a running server. See
// ARCHITECTURE.md, "Why no build step".
//
// Startup (issue 10 #23): loading src/ through tsx's loader took 4–10 s — its hooks run on
// another thread and every import of the ~100 files and their packages makes a round trip
// there. So the first start bundles src/ (with esbuild, the compiler tsx itself ships) into one
// file cached in node_modules/.cache/gatehouse, which later starts load directly (~1 s). The
// cache is keyed by every bundled source's size and mtime and by esbuild's version, so an edit
// rebuilds it (~0.3 s); packages stay external, loaded from node_modules as before. Anything
// going wrong here falls back to tsx; GATEHOUSE_BUNDLE=off always uses tsx.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(serverDir, 'src', 'cli.ts');
const cacheDir = path.join(serverDir, 'node_modules', '.cache', 'gatehouse');
const bundleFile = path.join(cacheDir, 'cli.mjs');
const manifestFile = path.join(cacheDir, 'manifest.json');

/** The bundle's manifest matches the sources on disk: same esbuild, same files, same sizes and mtimes. */
function isFresh(esbuildVersion) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    if (manifest.esbuild !== esbuildVersion || !fs.existsSync(bundleFile)) return false;
    for (const [file, [size, mtime]] of Object.entries(manifest.inputs)) {
      const stat = fs.statSync(file);
      if (stat.size !== size || stat.mtimeMs !== mtime) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** `import.meta.url` (and friends) of a bundled file would name the bundle: keep each file's own. */
const ownImportMeta = {
  name: 'own-import-meta',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      if (!source.includes('import.meta')) return undefined;
      return {
        loader: 'ts',
        contents: source
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)))
          .replaceAll('import.meta.filename', JSON.stringify(args.path)),
      };
    });
  },
};

/** Packages load from node_modules at run time; only our own TypeScript (workspace packages included) is bundled. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@gatehouse/') ? undefined : { path: args.path, external: true },
    );
  },
};

async function bundle() {
  if (process.env.GATEHOUSE_BUNDLE === 'off') return null;
  // The esbuild that tsx depends on: no dependency of our own, and its version is tsx's.
  const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
  const esbuild = await import(pathToFileURL(fromTsx.resolve('esbuild')).href);
  const version = esbuild.version;
  if (isFresh(version)) return bundleFile;
  fs.mkdirSync(cacheDir, { recursive: true });
  const tag = `${process.pid}-${Date.now()}`;
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: serverDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    outfile: `${bundleFile}.${tag}`,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    plugins: [ownImportMeta, externalPackages],
  });
  const inputs = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = path.resolve(serverDir, input);
    const stat = fs.statSync(file);
    inputs[file] = [stat.size, stat.mtimeMs];
  }
  // Renames are atomic: two processes starting at once each install a complete bundle. The
  // source map keeps its name (the bundle's last line points at it).
  fs.renameSync(`${bundleFile}.${tag}.map`, `${bundleFile}.map`);
  const code = fs.readFileSync(`${bundleFile}.${tag}`, 'utf8');
  fs.writeFileSync(
    `${bundleFile}.${tag}`,
    code.replace(/\/\/# sourceMappingURL=\S+\s*$/, '//# sourceMappingURL=cli.mjs.map\n'),
  );
  fs.renameSync(`${bundleFile}.${tag}`, bundleFile);
  fs.writeFileSync(`${manifestFile}.${tag}`, JSON.stringify({ esbuild: version, inputs }));
  fs.renameSync(`${manifestFile}.${tag}`, manifestFile);
  return bundleFile;
}

let file = null;
try {
  file = await bundle();
} catch {
  file = null;
}
if (file) {
  // Stack traces name the TypeScript files and lines, as they did under tsx.
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(file).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
