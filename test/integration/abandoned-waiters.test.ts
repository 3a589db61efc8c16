/**
 * With proofs of ownership on, a waiting file completes only by proving; one whose client died
 * must not stay PENDING for ever, counted against its user's quota and holding a reference that
 * blocks garbage collection. A stack of its own, with a lease and an upload TTL of seconds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack';
import { bytesToHex } from '#protocol/encoding';
import { HashdropClient } from '#sdk/api';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';
import { newUser, randomFile } from '../support/scratch.ts';

const LEASE_SECONDS = 2;
const UPLOAD_TTL_SECONDS = 3;

let stack: LocalStack;
const dataDir = mkdtempSync(join(tmpdir(), 'hashdrop-waiters-'));

beforeAll(async () => {
  stack = await startLocalStack({
    dataDir,
    persist: false,
    settings: {
      proofMode: 'on-hit',
      attemptLeaseSeconds: LEASE_SECONDS,
      uploadUrlTtlSeconds: LEASE_SECONDS - 1,
      uploadTtlSeconds: UPLOAD_TTL_SECONDS,
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const clientFor = (userId: string) => new HashdropClient({ endpoint: stack.info.endpoint, token: () => stack.mintToken(userId) });
const sleep = (seconds: number) => new Promise((done) => setTimeout(done, seconds * 1000));

describe('a waiting file whose client died', () => {
  it('is dropped by the sweeper with its reference and usage once the upload TTL has passed', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const file = randomFile(5000);
    const tree = hashBuffer(file.bytes);
    // Alice reserves the content, then her client dies before sending a byte.
    const reserved = await clientFor(alice).requestUpload({
      name: 'a.bin',
      size: tree.size,
      contentId: tree.contentId,
      blockDigests: tree.blockDigests.map(bytesToHex),
    });
    expect(reserved.status).toBe('upload');
    await sleep(LEASE_SECONDS + 0.5);
    // Bob takes the idle upload over and stores the bytes: Alice's file now waits for a proof.
    expect(await putFile(clientFor(bob), file.path, { name: 'b.bin' })).toMatchObject({ state: 'COMPLETE' });
    expect((await clientFor(alice).listFiles()).files).toMatchObject([{ name: 'a.bin', state: 'PENDING' }]);

    await sleep(UPLOAD_TTL_SECONDS + 0.5);
    const report = await stack.sweep();
    expect(report.pendingFilesDropped).toBe(1);
    expect((await clientFor(alice).listFiles()).files).toEqual([]);
    expect(await clientFor(alice).usage()).toMatchObject({ files: 0, bytes: 0 });
    expect((await clientFor(bob).listFiles()).files).toMatchObject([{ name: 'b.bin', state: 'COMPLETE' }]);
  });
});
