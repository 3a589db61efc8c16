/**
 * The layout's boundaries (docs/design.md §8), checked over the real import graph: every static
 * and dynamic import and every `new URL('…', import.meta.url)` of every source file, resolved
 * through package.json's `#` aliases and relative paths to the folder it lands in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SOURCE = /\.(ts|js|mjs)$/;
const FOLDERS = [
  'protocol',
  'domain',
  'adapters',
  'deploy',
  'lambdas',
  'lib',
  'bin',
  'local',
  'sdk',
  'cli',
  'openapi',
  'web',
] as const;
type Folder = (typeof FOLDERS)[number];

/** What each folder may import besides itself. `node` is Node's built-ins; `packages` is anything from node_modules. */
const ALLOWED: Record<Folder, readonly string[]> = {
  // The wire contract runs in browsers and React Native too: nothing platform-specific.
  protocol: [],
  // Use cases and their ports: no AWS SDK, no deployment facts, no HTTP.
  domain: ['protocol', 'node'],
  adapters: ['protocol', 'domain', 'deploy', 'node', 'packages'],
  deploy: ['protocol', 'domain'],
  lambdas: ['protocol', 'domain', 'adapters', 'deploy', 'node', 'packages'],
  lib: ['deploy', 'domain', 'protocol', 'node', 'packages'],
  bin: ['lib', 'deploy', 'node', 'packages'],
  // lib/: local runs the functions with the permissions the synthesized stack grants them.
  local: ['protocol', 'domain', 'adapters', 'deploy', 'lambdas', 'lib', 'node', 'packages'],
  // The client library: only the contract it shares with the server.
  sdk: ['protocol', 'node'],
  cli: ['sdk', 'protocol', 'node', 'packages'],
  // The OpenAPI contract's generator reads the server's own schemas and routes. No folder above
  // may import it, so no function bundles its response schemas (classic zod, 440 KB).
  openapi: ['protocol', 'domain', 'deploy', 'lambdas', 'node', 'packages'],
  // The web app is static files on any host: its own modules and the SDK bundle beside it
  // (`./hashdrop.js`, see WEB_SDK), nothing a static host could not serve.
  web: [],
};

/** The one module the web app imports from outside itself: the browser SDK bundle, copied beside it by the build. */
const WEB_SDK = './hashdrop.js';

/** The only modules outside local/ (and tests and benchmarks) that may import it: the CLI's dev tokens. */
const LOCAL_IMPORTERS = new Set(['cli/connection.ts']);

const aliases = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { imports: Record<string, string> }).imports;

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => SOURCE.test(file) && !file.endsWith('.d.ts'))
    .map((file) => join(folder, file));
}

function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) if (match[1]) found.push(match[1]);
  return found;
}

/** Where an import lands: a folder of ours, `node`, or `packages`. */
function target(file: string, specifier: string): string {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return 'node';
  let path: string | undefined;
  if (specifier.startsWith('#')) {
    const alias = Object.keys(aliases).find((key) => specifier.startsWith(key.replace('*', '')));
    if (!alias) throw new Error(`${file}: unknown alias ${specifier}`);
    path = (aliases[alias] ?? '').replace('*', specifier.slice(alias.length - 1));
  } else if (specifier.startsWith('.')) {
    path = relative(ROOT, resolve(ROOT, dirname(file), specifier));
  }
  if (path === undefined) return 'packages';
  return path.replace(/^\.\//, '').split('/')[0] ?? '';
}

function violations(): string[] {
  const found: string[] = [];
  for (const folder of FOLDERS) {
    for (const file of sourceFiles(folder)) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const specifier of specifiers(text)) {
        const lands = target(file, specifier);
        if (lands === folder) continue;
        if (lands === 'local' && LOCAL_IMPORTERS.has(file)) continue;
        if (!ALLOWED[folder].includes(lands)) found.push(`${file} imports ${specifier} (${lands})`);
      }
      // Globals that exist only in Node would break the contract in a browser.
      if (folder === 'protocol' && /\b(Buffer|process|require)\b/.test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''))) {
        found.push(`${file} uses a Node-only global`);
      }
    }
  }
  return found;
}

/** The browser SDK's entry: it and every module it reaches must run in a browser (no Node built-in, no package). */
const BROWSER_ENTRY = 'sdk/browser.ts';

/** The file an import of ours lands on, or undefined for Node built-ins and packages. */
function resolved(file: string, specifier: string): string | undefined {
  const lands = target(file, specifier);
  if (lands === 'node' || lands === 'packages') return undefined;
  if (!specifier.startsWith('#')) return relative(ROOT, resolve(ROOT, dirname(file), specifier));
  const alias = Object.keys(aliases).find((key) => specifier.startsWith(key.replace('*', '')));
  return (aliases[alias ?? ''] ?? '').replace('*', specifier.slice((alias ?? '').length - 1)).replace(/^\.\//, '');
}

/** Imports of Node built-ins or packages anywhere in the import graph below `entry`. */
function platformImports(entry: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of specifiers(readFileSync(join(ROOT, file), 'utf8'))) {
      const next = resolved(file, specifier);
      if (next === undefined) found.push(`${file} imports ${specifier}`);
      else visit(next);
    }
  };
  visit(entry);
  return found;
}

/** Imports in web/ that are neither the SDK bundle nor another module of the app itself. */
function webImports(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles('web')) {
    for (const specifier of specifiers(readFileSync(join(ROOT, file), 'utf8'))) {
      const ownModule = specifier.startsWith('./') && !specifier.slice(2).includes('/') && /\.(ts|js)$/.test(specifier);
      if (specifier !== WEB_SDK && !(ownModule && sourceFiles('web').includes(join('web', specifier.slice(2))))) {
        found.push(`${file} imports ${specifier}`);
      }
    }
  }
  return found;
}

describe('architecture', () => {
  it('every import stays inside the boundaries of docs/design.md §8', () => {
    expect(violations()).toEqual([]);
  });

  it('the browser SDK reaches no Node built-in and no package', () => {
    expect(platformImports(BROWSER_ENTRY)).toEqual([]);
    // The check follows the graph: the Node entry reaches node:fs through it.
    expect(platformImports('sdk/index.ts')).toContain('sdk/upload.ts imports node:fs/promises');
  });

  it('the web app imports only the SDK bundle beside it', () => {
    expect(webImports()).toEqual([]);
    expect(specifiers(readFileSync(join(ROOT, 'web', 'app.ts'), 'utf8'))).toContain(WEB_SDK);
    // Its types come from the SDK's sources, by a declaration file the build never bundles.
    expect(readFileSync(join(ROOT, 'web', 'hashdrop.d.ts'), 'utf8')).toMatch(/from '\.\.\/sdk\/browser\.ts'/);
  });

  it('the check sees what it must refuse', () => {
    expect(target('web/app.ts', '../sdk/browser.ts')).toBe('sdk');
    expect(target('web/app.ts', 'lit')).toBe('packages');
    expect(ALLOWED.web).toEqual([]);
    expect(target('sdk/api.ts', '#domain/uploads')).toBe('domain');
    expect(target('sdk/api.ts', '../local/auth.ts')).toBe('local');
    expect(target('domain/x.ts', '@aws-sdk/client-s3')).toBe('packages');
    expect(target('domain/x.ts', 'node:crypto')).toBe('node');
    expect(target('lambdas/x.ts', '../openapi/responses.ts')).toBe('openapi');
    expect(ALLOWED.lambdas).not.toContain('openapi');
    expect(specifiers("import type { A } from '#deploy/x';\nconst m = await import('../local/stack.ts');")).toEqual([
      '#deploy/x',
      '../local/stack.ts',
    ]);
  });
});
