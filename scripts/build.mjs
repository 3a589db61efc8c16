#!/usr/bin/env node
/**
 * `npm run build` (and `prepare`, so `npm install` and `npm ci` leave a working `npx hashdrop`):
 * bundles the CLI and the SDK's Node entry into plain JavaScript with esbuild, so running the
 * CLI needs no TypeScript loader.
 *
 *   dist/cli/hashdrop.js   the `hashdrop` command
 *   dist/node/index.js     the SDK: import { HashdropClient, putFile } from 'hashdrop'
 *
 * Packages stay imports (they are installed beside the bundle), and the build fails when a bundle
 * imports a package that is not among package.json's runtime `dependencies`. The hash worker
 * goes next to each bundle: sdk/hash-pool.ts starts it as `new URL('./hash-worker.js', import.meta.url)`.
 */
import { chmod, readFile, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';

const ROOT = dirname(import.meta.dirname);
const DIST = join(ROOT, 'dist');
const WORKER = join(ROOT, 'sdk', 'hash-worker.js');

/** @type {import('esbuild').BuildOptions} */
const NODE = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
};

const bundles = [
  {
    entryPoints: { hashdrop: join(ROOT, 'cli', 'cli.ts'), 'hash-worker': WORKER },
    outdir: join(DIST, 'cli'),
    // The dev-token code (and jose with it) in a chunk of its own, loaded only when a token is minted.
    splitting: true,
    banner: { js: '#!/usr/bin/env node' },
  },
  { entryPoints: { index: join(ROOT, 'sdk', 'index.ts'), 'hash-worker': WORKER }, outdir: join(DIST, 'node') },
];

await rm(DIST, { recursive: true, force: true });
const results = await Promise.all(bundles.map((bundle) => build({ ...NODE, ...bundle })));
await chmod(join(DIST, 'cli', 'hashdrop.js'), 0o755);

const { dependencies = {} } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
const builtins = new Set(builtinModules);
/** 'jose' of 'jose', '@aws-sdk/client-s3' of '@aws-sdk/client-s3/dist-es/x.js'. */
const packageOf = (path) => /^(@[^/]+\/)?[^/]+/.exec(path)?.[0] ?? path;
const missing = new Set();
for (const { metafile } of results) {
  for (const [file, output] of Object.entries(metafile?.outputs ?? {})) {
    if (file.endsWith('.map')) continue;
    const imports = output.imports.filter((i) => i.external && !i.path.startsWith('node:') && !builtins.has(i.path));
    for (const { path } of imports) if (!(packageOf(path) in dependencies)) missing.add(`${packageOf(path)} (${file})`);
    console.log(`${relative(ROOT, join(ROOT, file)).padEnd(24)} ${(output.bytes / 1024).toFixed(1).padStart(7)} KiB`);
  }
}
if (missing.size > 0) {
  console.error(`build: bundles import packages that are not runtime dependencies: ${[...missing].join(', ')}`);
  process.exitCode = 1;
}
