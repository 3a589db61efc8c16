/**
 * What `npm run build` publishes: the browser bundle is one self-contained module (nothing to
 * resolve, no Node), and the exports map's entries and type declarations serve a consumer: a
 * Node program through `hashdrop`, a web app through `hashdrop/browser` with the DOM's types alone.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BUNDLE = readFileSync(join(ROOT, 'dist', 'browser', 'hashdrop.js'), 'utf8');

let consumer: string;
beforeAll(() => {
  consumer = mkdtempSync(join(tmpdir(), 'hashdrop-consumer-'));
  mkdirSync(join(consumer, 'node_modules'));
  // As `npm install hashdrop` would place it: resolved through its package.json exports map.
  symlinkSync(ROOT, join(consumer, 'node_modules', 'hashdrop'), 'dir');
});
afterAll(() => {
  rmSync(consumer, { recursive: true, force: true });
});

/** Type-checks `source` as a consumer's module; resolves with tsc's complaints (empty: none). */
async function typeCheck(source: string, options: { lib: string[]; types: string[] }): Promise<string> {
  writeFileSync(join(consumer, 'main.ts'), source);
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      lib: options.lib,
      types: options.types,
      typeRoots: [join(ROOT, 'node_modules', '@types')],
    },
    files: ['main.ts'],
  };
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(config));
  try {
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer]);
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

describe('the published package', () => {
  it('the browser bundle imports nothing and uses no Node built-in', () => {
    expect(BUNDLE).not.toMatch(/^\s*import\s|^\s*export\s[^;]*\sfrom\s|\bimport\(|\brequire\(|['"]node:/m);
    expect(BUNDLE).toMatch(/^export\s*\{[^}]*\bcreateClient\b/m);
  });

  it('a web app type-checks against hashdrop/browser with the DOM types alone', async () => {
    const source = `
      import { ApiError, createClient, type PutResult, UploadFailedError } from 'hashdrop/browser';
      const client = createClient({ endpoint: 'https://api.example.com', token: async () => 'jwt' });
      const put: Promise<PutResult> = client.put(new Blob(['x']), { name: 'a.txt', signal: new AbortController().signal });
      const blob: Promise<Blob> = client.get('a.txt');
      const code: string = new ApiError(409, 'file_exists', 'taken').code + new UploadFailedError('x', 'y').code;
      // @ts-expect-error a put needs a name
      void client.put(new Blob(['x']), {});
      void [put, blob, code];
    `;
    expect(await typeCheck(source, { lib: ['ES2022', 'DOM'], types: [] })).toBe('');
  });

  it('a Node program type-checks against hashdrop', async () => {
    const source = `
      import { HashdropClient, putFile, type PutResult } from 'hashdrop';
      const client = new HashdropClient({ endpoint: 'https://api.example.com', token: 'jwt' });
      const put: Promise<PutResult> = putFile(client, 'video.mp4', { concurrency: 2 });
      // @ts-expect-error the Node entry has no browser client
      import { createClient } from 'hashdrop';
      void [put, createClient];
    `;
    expect(await typeCheck(source, { lib: ['ES2022', 'DOM'], types: ['node'] })).toBe('');
  });
});
