/**
 * DELETE /v1/uploads/{id} (domain/uploads.ts cancelUpload): an upload given up ends at once, as
 * an abandoned one would after the sweeper's TTL, without touching what others still use.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { getFileDownload } from '#domain/files';
import { sweep } from '#domain/sweeper';
import { cancelUpload, requestUpload, uploadStatus } from '#domain/uploads';
import { MiB } from '#protocol/content-id';
import { expectStatus, type LocalFile, localFile, memoryWorld, requestFor, sendBytes, upload } from '../support/memory-deps.ts';

const multipartFile = (): LocalFile => localFile(randomBytes(8 * MiB + 1000));

describe('cancelUpload', () => {
  it('a new file: gone at once with its stored parts; the reservation, unreferenced, is left to the sweeper', async () => {
    const world = memoryWorld();
    const file = multipartFile();
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    await sendBytes(world, { ...view, permit: { ...view.permit, parts: view.permit.parts.slice(0, 1) } }, file);
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    expect(world.blobs.uploadsOf(attempt?.objectKey ?? '')).toHaveLength(1);

    await cancelUpload(world.deps, 'alice', view.uploadId);
    expect(await world.catalog.getFile('alice', 'a.bin')).toBeUndefined();
    const left = await world.catalog.getContent(file.contentId);
    expect(left).toMatchObject({ state: 'PENDING', refCount: 0 });
    expect(left?.attempt).toBeUndefined();
    expect(world.blobs.uploadsOf(attempt?.objectKey ?? '')).toEqual([]);
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 0, bytes: 0 });
    await expect(uploadStatus(world.deps, 'alice', view.uploadId)).rejects.toMatchObject({ code: 'upload_not_found' });
    // The same content uploads afresh.
    expectStatus(await upload(world, 'alice', 'a.bin', file), 'complete');
  });

  it('a replacement: the file goes back to the version it was replacing, exactly', async () => {
    const world = memoryWorld();
    const v1 = localFile(randomBytes(4000));
    expectStatus(await upload(world, 'alice', 'doc', v1), 'complete');
    const before = await world.catalog.getFile('alice', 'doc');
    const view = expectStatus(
      await requestUpload(world.deps, 'alice', requestFor(localFile(randomBytes(6000)), 'doc')),
      'upload',
    );
    await cancelUpload(world.deps, 'alice', view.uploadId);
    expect(await world.catalog.getFile('alice', 'doc')).toEqual(before);
    expect((await getFileDownload(world.deps, 'alice', 'doc')).file.contentId).toBe(v1.contentId);
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: 4000 });
  });

  it('an upload others joined goes on without the canceller: its parts and attempt stay', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = multipartFile();
    const alice = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    world.clock.advance(world.deps.settings.attemptLeaseSeconds * 1000);
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.bin')), 'upload');
    await cancelUpload(world.deps, 'alice', alice.uploadId);
    expect(await world.catalog.getFile('alice', 'a.bin')).toBeUndefined();
    const content = await world.catalog.getContent(file.contentId);
    expect(content).toMatchObject({ state: 'PENDING', refCount: 1 });
    expect(content?.attempt?.multipartUploads).toHaveLength(1);
    expectStatus(await upload(world, 'bob', 'b.bin', file), 'complete');
  });

  it('a complete upload is a file (409 upload_complete); a foreign one is not found; a failed one stays', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(3000));
    const done = expectStatus(await upload(world, 'alice', 'a.bin', file), 'complete');
    await expect(cancelUpload(world.deps, 'alice', done.uploadId)).rejects.toMatchObject({ code: 'upload_complete' });
    const pending = expectStatus(await requestUpload(world.deps, 'alice', requestFor(localFile(randomBytes(10)), 'b')), 'upload');
    await expect(cancelUpload(world.deps, 'mallory', pending.uploadId)).rejects.toMatchObject({ code: 'upload_not_found' });
    expect(await world.catalog.getFile('alice', 'b')).toMatchObject({ state: 'PENDING' });
    const stored = await world.catalog.getFile('alice', 'b');
    if (!stored) throw new Error('b is pending');
    await world.catalog.failPendingFile(stored, 'size_mismatch', world.clock.now());
    await cancelUpload(world.deps, 'alice', pending.uploadId);
    expect(await world.catalog.getFile('alice', 'b')).toMatchObject({ state: 'FAILED', failure: 'size_mismatch' });
  });

  it('cancelling and reserving again restarts no wait: an honest uploader is in one lease after the first reservation', async () => {
    // Before: the wait ran from the attempt's start and a cancel deleted the reservation, so a
    // squatter with the digest list cancelled and reserved again just before each lease ended,
    // and the honest uploader waited for ever.
    const world = memoryWorld();
    const file = multipartFile();
    const lease = world.deps.settings.attemptLeaseSeconds * 1000;
    let squatter = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm.bin')), 'upload');
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.bin')), 'wait');
    world.clock.advance(lease - 2000);
    await cancelUpload(world.deps, 'mallory', squatter.uploadId);
    squatter = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm.bin')), 'upload');
    world.clock.advance(2000);
    expectStatus(await upload(world, 'bob', 'b.bin', file), 'complete');
  });

  it('a shared upload whose every file cancelled ends with the last cancel, its multipart uploads aborted', async () => {
    // Before: a shared attempt outlived its files, its stored parts outside every quota, for as
    // long as someone kept asking for the content and cancelling (each touch kept the sweeper off).
    const world = memoryWorld();
    const file = localFile(randomBytes(3 * 8 * MiB));
    const a = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'a')), 'upload');
    await sendBytes(world, { ...a, permit: { ...a.permit, parts: a.permit.parts.slice(0, 2) } }, file);
    const key = (await world.catalog.getContent(file.contentId))?.attempt?.objectKey ?? '';
    // Another size joins at once, so the attempt is shared and a cancel ends nothing.
    const b = await requestUpload(world.deps, 'mallory', { ...requestFor(file, 'b'), size: file.size - 1 });
    if (b.status !== 'upload') throw new Error(`expected a permit, got ${b.status}`);
    await cancelUpload(world.deps, 'mallory', b.uploadId);
    expect(world.blobs.uploadsOf(key)).toHaveLength(1);
    await cancelUpload(world.deps, 'mallory', a.uploadId);
    expect(world.blobs.uploadsOf(key)).toEqual([]);
    expect((await world.catalog.getContent(file.contentId))?.attempt).toBeUndefined();
    // The unreferenced reservation goes with the sweeper.
    world.clock.advance((world.deps.settings.uploadTtlSeconds + world.deps.settings.attemptLeaseSeconds + 1) * 1000);
    await sweep(world.deps);
    expect(await world.catalog.getContent(file.contentId)).toBeUndefined();
  });
});
