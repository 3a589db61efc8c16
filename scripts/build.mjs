#!/usr/bin/env node
/**
 * `npm run build` (and `prepare`, so `npm install` and `npm ci` leave a working `npx hashdrop`):
 * bundles the CLI and the SDK's Node entry into plain JavaScript with esbuild, so running the
 * CLI needs no TypeScript loader.
 *
 *   dist/cli/hashdrop.js       the `hashdrop` command
 *   dist/node/index.js         the SDK: import { HashdropClient, putFile } from 'hashdrop'
 *   dist/browser/hashdrop.js   the browser SDK: import { createClient } from 'hashdrop/browser'
 *   dist/web/                  the web app (web/): static files to host anywhere, the SDK bundle beside them
 *   dist/types/                their type declarations (tsc, tsconfig.types.json)
 *
 * Packages stay imports (they are installed beside the bundle), and the build fails when a bundle
 * imports a package that is not among package.json's runtime `dependencies`. The hash worker
 * goes next to each bundle: sdk/hash-pool.ts starts it as `new URL('./hash-worker.js', import.meta.url)`.
 *
 * The browser bundle is one self-contained ES module: no Node built-in, no import at all (the
 * build fails otherwise), and its Web Worker's code inside it as a string
 * (`__HASHDROP_HASH_WORKER__`, started from a blob: URL by sdk/web-hash-pool.ts), so that a page
 * needs to serve one file.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
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

/** @type {import('esbuild').BuildOptions} */
const BROWSER = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'browser',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  metafile: true,
  logLevel: 'warning',
};

/** The hash worker as one classic script, to be inlined into the browser bundle. */
async function browserWorkerSource() {
  const worker = await build({
    ...BROWSER,
    entryPoints: [join(ROOT, 'sdk', 'web-hash-worker.ts')],
    format: 'iife',
    minify: true,
    write: false,
  });
  const [output] = worker.outputFiles ?? [];
  if (!output) throw new Error('build: the browser hash worker produced no output');
  return output.text;
}

async function browserBundle() {
  return build({
    ...BROWSER,
    entryPoints: { hashdrop: join(ROOT, 'sdk', 'browser.ts') },
    outdir: join(DIST, 'browser'),
    format: 'esm',
    sourcemap: 'linked',
    define: { __HASHDROP_HASH_WORKER__: JSON.stringify(await browserWorkerSource()) },
  });
}

/**
 * The web app (web/): app.ts bundled with its own modules but not the SDK, which stays an import
 * of `./hashdrop.js` (the bundle copied beside it), so the page loads the SDK as any app would;
 * index.html and style.css as they are. `config.json` is the host's (README, "Web app").
 */
async function webApp() {
  const WEB = join(DIST, 'web');
  const sdkBeside = {
    name: 'sdk-beside',
    setup(plugin) {
      plugin.onResolve({ filter: /^\.\/hashdrop\.js$/ }, () => ({ path: './hashdrop.js', external: true }));
    },
  };
  const result = await build({
    ...BROWSER,
    entryPoints: { app: join(ROOT, 'web', 'app.ts') },
    outdir: WEB,
    format: 'esm',
    sourcemap: 'linked',
    plugins: [sdkBeside],
  });
  await mkdir(WEB, { recursive: true });
  for (const file of ['index.html', 'style.css']) await copyFile(join(ROOT, 'web', file), join(WEB, file));
  return result;
}

/** The SDK bundle beside the web app, once both are built. */
async function copySdkToWeb() {
  for (const file of ['hashdrop.js', 'hashdrop.js.map']) await copyFile(join(DIST, 'browser', file), join(DIST, 'web', file));
}

/**
 * The SDK's declarations, by tsc. Its output keeps the sources' specifiers (`#protocol/api`,
 * `./api.ts`), which a consumer cannot resolve: they become relative `.js` paths of dist/types.
 */
async function declarations() {
  const TYPES = join(DIST, 'types');
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.types.json'],
    {
      cwd: ROOT,
    },
  );
  const files = (await readdir(TYPES, { recursive: true })).filter((file) => file.endsWith('.d.ts'));
  for (const file of files) {
    const path = join(TYPES, file);
    const text = await readFile(path, 'utf8');
    const specifier = /(\bfrom\s*|\bimport\(\s*)(['"])(#[\w-]+\/[\w-]+|\.\.?\/[^'"]+\.ts)\2/g;
    const rewritten = text.replace(specifier, (_whole, before, quote, source) => {
      if (!source.startsWith('#')) return `${before}${quote}${source.replace(/\.ts$/, '.js')}${quote}`;
      const [folder, name] = source.slice(1).split('/');
      let target = relative(dirname(path), join(TYPES, folder, `${name}.js`));
      if (!target.startsWith('.')) target = `./${target}`;
      return `${before}${quote}${target}${quote}`;
    });
    if (rewritten !== text) await writeFile(path, rewritten);
  }
}

await rm(DIST, { recursive: true, force: true });
const [browserResult, webResult, ...results] = await Promise.all([
  browserBundle(),
  webApp(),
  ...bundles.map((bundle) => build({ ...NODE, ...bundle })),
  declarations(),
]);
results.pop(); // declarations() has no metafile
await chmod(join(DIST, 'cli', 'hashdrop.js'), 0o755);
await copySdkToWeb();

for (const [file, output] of Object.entries(webResult.metafile?.outputs ?? {})) {
  if (file.endsWith('.map')) continue;
  console.log(`${relative(ROOT, join(ROOT, file)).padEnd(24)} ${(output.bytes / 1024).toFixed(1).padStart(7)} KiB`);
  // The app's one import is the SDK beside it: anything else would be a path no static host serves.
  const others = output.imports.filter((i) => i.path !== './hashdrop.js');
  if (others.length > 0) {
    console.error(`build: ${file} imports ${others.map((i) => i.path).join(', ')}; the web app may import only ./hashdrop.js`);
    process.exitCode = 1;
  }
}

for (const [file, output] of Object.entries(browserResult.metafile?.outputs ?? {})) {
  if (file.endsWith('.map')) continue;
  console.log(`${relative(ROOT, join(ROOT, file)).padEnd(24)} ${(output.bytes / 1024).toFixed(1).padStart(7)} KiB`);
  // Self-contained: a browser cannot resolve a bare specifier, and has no Node built-ins.
  if (output.imports.length > 0) {
    console.error(
      `build: ${file} imports ${output.imports.map((i) => i.path).join(', ')}; the browser bundle must import nothing`,
    );
    process.exitCode = 1;
  }
}

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
