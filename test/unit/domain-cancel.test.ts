/**
 * DELETE /v1/uploads/{id} (domain/uploads.ts cancelUpload): an upload given up ends at once, as
 * an abandoned one would after the sweeper's TTL, without touching what others still use.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { getFileDownload } from '#domain/files';
import { cancelUpload, requestUpload, uploadStatus } from '#domain/uploads';
import { MiB } from '#protocol/content-id';
import { expectStatus, type LocalFile, localFile, memoryWorld, requestFor, sendBytes, upload } from '../support/memory-deps.ts';

const multipartFile = (): LocalFile => localFile(randomBytes(8 * MiB + 1000));

describe('cancelUpload', () => {
  it('a new file: gone at once with its reservation and its stored parts', async () => {
    const world = memoryWorld();
    const file = multipartFile();
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    await sendBytes(world, { ...view, permit: { ...view.permit, parts: view.permit.parts.slice(0, 1) } }, file);
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    expect(world.blobs.uploadsOf(attempt?.objectKey ?? '')).toHaveLength(1);

    await cancelUpload(world.deps, 'alice', view.uploadId);
    expect(await world.catalog.getFile('alice', 'a.bin')).toBeUndefined();
    expect(await world.catalog.getContent(file.contentId)).toBeUndefined();
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
});
