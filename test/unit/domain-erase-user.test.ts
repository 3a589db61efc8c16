/**
 * Erasing a user (domain/erase-user.ts) on the in-memory stores: every file, upload and per-user
 * record goes through the transactions the owner's own requests use, others' files stay, and the
 * contents only the erased user owned are collected by the sweeper after the grace period.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eraseUser, exportUserFiles } from '#domain/erase-user';
import { getFileDownload } from '#domain/files';
import { sweep } from '#domain/sweeper';
import { requestUpload } from '#domain/uploads';
import { MiB } from '#protocol/content-id';
import {
  expectStatus,
  type LocalFile,
  localFile,
  type MemoryWorld,
  memoryWorld,
  requestFor,
  SECOND,
  sendBytes,
  upload,
} from '../support/memory-deps.ts';

const file = (size: number): LocalFile => localFile(randomBytes(size));

async function objectKeyOf(world: MemoryWorld, contentId: string): Promise<string> {
  const key = (await world.catalog.getContent(contentId))?.objectKey;
  if (!key) throw new Error(`content ${contentId} has no object`);
  return key;
}

/**
 * Alice owns: a content she shares with Bob (his upload first, hers an instant upload after a
 * proof), one only she owns, a file being replaced (its kept version only hers), a multipart
 * upload in flight with one part stored, a FAILED file, and a quota of her own.
 */
async function aliceAndBob() {
  const world = memoryWorld();
  const shared = file(5000);
  const only = file(3000);
  const v1 = file(2000);
  const v2 = file(2500);
  const big = file(8 * MiB + 100);
  expectStatus(await upload(world, 'bob', 'bob.bin', shared), 'complete');
  expect(expectStatus(await upload(world, 'alice', 'shared.bin', shared), 'complete').deduplicated).toBe(true);
  expectStatus(await upload(world, 'alice', 'only.bin', only), 'complete');
  expectStatus(await upload(world, 'alice', 'doc', v1), 'complete');
  expectStatus(await requestUpload(world.deps, 'alice', requestFor(v2, 'doc')), 'upload');
  const inFlight = expectStatus(await requestUpload(world.deps, 'alice', requestFor(big, 'big.bin')), 'upload');
  await sendBytes(world, { ...inFlight, permit: { ...inFlight.permit, parts: inFlight.permit.parts.slice(0, 1) } }, big);
  const failing = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file(100), 'failed.bin')), 'upload');
  const pending = await world.catalog.getFile('alice', 'failed.bin');
  if (!pending) throw new Error(`no file for ${failing.uploadId}`);
  await world.catalog.failPendingFile(pending, 'size_mismatch', world.clock.now());
  await world.catalog.setQuota('alice', 10 * MiB);
  const bigKey = (await world.catalog.getContent(big.contentId))?.attempt?.objectKey ?? '';
  expect(world.blobs.uploadsOf(bigKey)).toHaveLength(1);
  return { world, shared, only, v1, v2, big, bigKey };
}

describe('exportUserFiles', () => {
  it('lists every file of the user in every state, with a replacement’s kept version, and nobody else’s', async () => {
    const { world, shared, only, v1, v2, big } = await aliceAndBob();
    const exported = await exportUserFiles(world.deps, 'alice');
    expect(exported.map(({ name, state, contentId }) => ({ name, state, contentId }))).toEqual([
      { name: 'big.bin', state: 'PENDING', contentId: big.contentId },
      { name: 'doc', state: 'PENDING', contentId: v2.contentId },
      { name: 'failed.bin', state: 'FAILED', contentId: expect.any(String) },
      { name: 'only.bin', state: 'COMPLETE', contentId: only.contentId },
      { name: 'shared.bin', state: 'COMPLETE', contentId: shared.contentId },
    ]);
    expect(exported[1]).toMatchObject({ size: v2.size, previous: { contentId: v1.contentId, size: v1.size } });
    expect(exported[2]).toMatchObject({ failure: 'size_mismatch' });
    expect(exported[3]).toEqual({
      name: 'only.bin',
      size: only.size,
      contentId: only.contentId,
      state: 'COMPLETE',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await exportUserFiles(world.deps, 'bob')).map((each) => each.name)).toEqual(['bob.bin']);
  });
});

describe('eraseUser', () => {
  it('ends every upload, deletes every file and the usage; the sweeper collects only what nobody else owns', async () => {
    const { world, shared, only, v1, bigKey } = await aliceAndBob();
    const sharedKey = await objectKeyOf(world, shared.contentId);
    const onlyKey = await objectKeyOf(world, only.contentId);
    const v1Key = await objectKeyOf(world, v1.contentId);

    const report = await eraseUser(world.deps, 'alice');
    // Cancelled: big.bin's upload and doc's replacement; deleted: doc's kept version, failed.bin, only.bin, shared.bin.
    expect(report).toEqual({ userId: 'alice', deleted: 4, cancelled: 2, remaining: 0, done: true });
    expect(await world.catalog.listFiles('alice', { limit: 10 })).toEqual({ files: [] });
    expect(await world.catalog.getUsage('alice')).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
    // The multipart upload nobody else waited for is aborted at once.
    expect(world.blobs.uploadsOf(bigKey)).toEqual([]);
    expect(await world.catalog.getContent(only.contentId)).toMatchObject({ refCount: 0 });
    expect(await world.catalog.getContent(v1.contentId)).toMatchObject({ refCount: 0 });
    expect(await world.catalog.getContent(shared.contentId)).toMatchObject({ refCount: 1, state: 'READY' });

    // Within the grace period nothing is collected; after it, what only Alice owned is.
    expect(await sweep(world.deps)).toMatchObject({ collected: 0 });
    expect(await world.blobs.head(onlyKey)).toBeDefined();
    world.clock.advance(world.deps.settings.gcGraceSeconds * SECOND + SECOND);
    await sweep(world.deps);
    expect(await world.blobs.head(onlyKey)).toBeUndefined();
    expect(await world.blobs.head(v1Key)).toBeUndefined();
    expect(await world.catalog.getContent(only.contentId)).toBeUndefined();
    // Bob's file is untouched and still downloads.
    expect(await world.blobs.head(sharedKey)).toBeDefined();
    expect((await getFileDownload(world.deps, 'bob', 'bob.bin')).file).toMatchObject({ state: 'COMPLETE' });
    expect(await world.catalog.getUsage('bob')).toMatchObject({ files: 1, bytes: shared.size });

    // A second run finds nothing to do.
    expect(await eraseUser(world.deps, 'alice')).toEqual({ userId: 'alice', deleted: 0, cancelled: 0, remaining: 0, done: true });
  });

  it('leaves an upload another user joined going: only the erased user’s file leaves it', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const big = file(8 * MiB + 100);
    expectStatus(await requestUpload(world.deps, 'alice', requestFor(big, 'a.bin')), 'upload');
    world.clock.advance(world.deps.settings.attemptLeaseSeconds * SECOND);
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(big, 'b.bin')), 'upload');
    expect(await eraseUser(world.deps, 'alice')).toMatchObject({ cancelled: 1, done: true });
    expect(await world.catalog.getContent(big.contentId)).toMatchObject({ state: 'PENDING', refCount: 1 });
    expectStatus(await upload(world, 'bob', 'b.bin', big), 'complete');
  });

  it('stops when time runs out and reports what remains; the next run finishes', async () => {
    const world = memoryWorld();
    for (const name of ['a', 'b', 'c', 'd']) expectStatus(await upload(world, 'alice', name, file(100)), 'complete');
    let budget = 2;
    const first = await eraseUser(world.deps, 'alice', { haveTime: () => budget-- > 0 });
    expect(first).toEqual({ userId: 'alice', deleted: 2, cancelled: 0, remaining: 2, done: false });
    // Usage still counts what is left: it goes only with the last file.
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 2, bytes: 200 });
    expect(await eraseUser(world.deps, 'alice')).toEqual({ userId: 'alice', deleted: 2, cancelled: 0, remaining: 0, done: true });
    expect(await world.catalog.getUsage('alice')).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
  });

  it('an upload started during the erasure is found by the next pass; past the passes it remains, counted', async () => {
    let started = 0;
    const world: MemoryWorld = memoryWorld({
      beforeWrite: async (method) => {
        // The user uploads just before the per-user records would go, once per pass.
        if (method === 'deleteUserRecords' && started < 2) {
          started++;
          await requestUpload(world.deps, 'alice', requestFor(file(100 + started), `late-${started}`));
        }
      },
    });
    expectStatus(await upload(world, 'alice', 'a', file(100)), 'complete');
    const cut = await eraseUser(world.deps, 'alice', { maxPasses: 1 });
    expect(cut).toMatchObject({ deleted: 1, remaining: 1, done: false });
    // Never undercounted: the upload that came late is still in usage.
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: 101 });
    expect(await eraseUser(world.deps, 'alice')).toMatchObject({ cancelled: 2, remaining: 0, done: true });
    expect(await world.catalog.listFiles('alice', { limit: 10 })).toEqual({ files: [] });
    expect(await world.catalog.getUsage('alice')).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
  });

  it('leaves nothing of the user on a content others still own: its uploader mark is the upload nonce alone', async () => {
    // Attack review: the content kept `uploader: {userId, name, uploadId}` of the upload that
    // stored it, and Bob's file keeps the content (and the record) alive for as long as he likes.
    const world = memoryWorld();
    const diagnosis = file(5000);
    expectStatus(await upload(world, 'alice', 'private-diagnosis.pdf', diagnosis), 'complete');
    expectStatus(await upload(world, 'bob', 'b.bin', diagnosis), 'complete');
    await eraseUser(world.deps, 'alice');
    const content = JSON.stringify(await world.catalog.getContent(diagnosis.contentId));
    expect(content).not.toContain('alice');
    expect(content).not.toContain('private-diagnosis');
  });
});
