/**
 * The deployed artifact is what is tested: `cdk synth` bundles every function with esbuild as
 * `cdk deploy` ships it, and a local stack of its own runs those bundles (each in a worker
 * thread with the environment its Lambda function gets) instead of the TypeScript sources. The
 * whole loop runs through them: a miss of two blocks, an instant upload with its proof, the
 * object-created event, listing, download, rename, delete, usage and a sweep.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionId } from '#deploy/definitions';
import { synthesizeBundles } from '#local/bundled-functions';
import { type LocalStack, startLocalStack } from '#local/stack';
import { MiB } from '#protocol/content-id';
import { HashdropClient } from '#sdk/api';
import { getFile } from '#sdk/download';
import { putFile } from '#sdk/upload';
import { BUNDLING } from '../../lib/constructs/bundling.ts';
import { newUser, randomFile, scratchPath } from '../support/scratch.ts';

let stack: LocalStack;
let bundles: Record<FunctionId, string>;
const outDir = mkdtempSync(join(tmpdir(), 'hashdrop-assembly-'));
const dataDir = mkdtempSync(join(tmpdir(), 'hashdrop-bundles-'));

beforeAll(async () => {
  bundles = await synthesizeBundles(outDir);
  stack = await startLocalStack({ dataDir, persist: false, bundles });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(outDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

function clientFor(userId: string): HashdropClient {
  return new HashdropClient({ endpoint: stack.info.endpoint, token: () => stack.mintToken(userId) });
}

describe('the deployed bundles', () => {
  it('are self-contained ES modules, one per function', () => {
    expect(Object.keys(bundles).sort()).toEqual(FUNCTIONS.map(({ id }) => id).sort());
    const lazy = new Set<string>(BUNDLING.lazyCredentialProviders);
    for (const bundle of Object.values(bundles)) {
      const code = readFileSync(bundle, 'utf8');
      // Anything imported at run time must exist in the Lambda runtime: Node's built-ins, or the
      // credential providers left out on purpose (lib/constructs/bundling.ts), which Lambda never loads.
      const imported = [...code.matchAll(/\bfrom\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g)].map((match) => match[1] ?? match[2]);
      expect(
        imported.filter((name) => name && !name.startsWith('node:') && !lazy.has(name)),
        bundle,
      ).toEqual([]);
      // The S3 client's event-stream codec is replaced as BUNDLING.alias says: CDK passed it to esbuild.
      expect(code, bundle).toContain('S3 event streams (SelectObjectContent) are left out of hashdrop bundles');
    }
  });

  it('run the whole loop: miss, event, instant upload with proof, list, get, rename, delete, usage, sweep', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const file = randomFile(9 * MiB);

    const first = await putFile(clientFor(alice), file.path, { name: 'two-blocks.bin' });
    expect(first).toMatchObject({ state: 'COMPLETE', deduplicated: false, bytesSent: file.bytes.length });
    await stack.eventsSettled();

    const second = await putFile(clientFor(bob), file.path, { name: 'copy.bin' });
    expect(second).toMatchObject({ state: 'COMPLETE', deduplicated: true, bytesSent: 0, contentId: first.contentId });

    const listing = await clientFor(bob).listFiles();
    expect(listing.files.map((entry) => entry.name)).toEqual(['copy.bin']);

    const out = scratchPath('downloaded.bin');
    await getFile(clientFor(bob), 'copy.bin', out);
    expect(readFileSync(out).equals(file.bytes)).toBe(true);

    await clientFor(bob).renameFile('copy.bin', 'renamed.bin');
    await clientFor(bob).deleteFile('renamed.bin');
    expect((await clientFor(bob).listFiles()).files).toEqual([]);
    expect(await clientFor(alice).usage()).toMatchObject({ files: 1, bytes: file.bytes.length });

    const report = await stack.sweep();
    expect(report).toBeTypeOf('object');
  });
});
