/**
 * An upload over an existing name (invariant 15, docs/design.md §2): the file keeps serving and
 * counting its previous version until the new one is COMPLETE; an abandoned, failed or swept
 * replacement leaves the file exactly as it was, and garbage collection keeps what a file falls
 * back to. On the in-memory adapters with a clock the test moves; test/integration/data-safety
 * runs the abandoned overwrite against the real local stack.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConflictError, QuotaExceededError } from '#domain/errors';
import { deleteFile, getFileDownload, listFiles, renameFile } from '#domain/files';
import { sweep } from '#domain/sweeper';
import { completeUpload, requestUpload, uploadStatus } from '#domain/uploads';
import {
  ask,
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

const smallFile = (size = 5000): LocalFile => localFile(randomBytes(size));

/** alice's `doc` is COMPLETE as `v1`, and a miss over it (`v2`) has its permit but no bytes yet. */
async function replacementInFlight(world: MemoryWorld, sizes = { v1: 6000, v2: 9000 }) {
  const v1 = smallFile(sizes.v1);
  const v2 = smallFile(sizes.v2);
  expectStatus(await upload(world, 'alice', 'doc', v1), 'complete');
  const before = await world.catalog.getFile('alice', 'doc');
  if (!before) throw new Error('v1 was stored');
  const replacing = expectStatus(await requestUpload(world.deps, 'alice', requestFor(v2, 'doc')), 'upload');
  return { v1, v2, before, replacing };
}

/** The content id a download of alice's `doc` serves. */
async function served(world: MemoryWorld): Promise<string> {
  return (await getFileDownload(world.deps, 'alice', 'doc')).file.contentId;
}

/** Past the upload TTL and the lease, so the sweeper finds the replacement abandoned. */
function abandon(world: MemoryWorld): void {
  const { uploadTtlSeconds, attemptLeaseSeconds } = world.deps.settings;
  world.clock.advance((Math.max(uploadTtlSeconds, attemptLeaseSeconds) + 1) * SECOND);
}

describe('a replacement in flight', () => {
  it('serves, lists and counts the previous version, and counts the new one too', async () => {
    const world = memoryWorld();
    const { v1, v2, replacing } = await replacementInFlight(world);
    expect(await served(world)).toBe(v1.contentId);
    const listing = await listFiles(world.deps, 'alice', { limit: 10 });
    expect(listing.files).toEqual([
      expect.objectContaining({
        name: 'doc',
        state: 'COMPLETE',
        contentId: v1.contentId,
        size: v1.size,
        replacement: { contentId: v2.contentId, size: v2.size, uploadId: replacing.uploadId },
      }),
    ]);
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: v1.size + v2.size });
    expect(await world.catalog.getContent(v1.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    expect(await world.catalog.getContent(v2.contentId)).toMatchObject({ state: 'PENDING', refCount: 1 });
  });

  it('once complete, replaces the previous version and releases it', async () => {
    const world = memoryWorld();
    const { v1, v2, replacing } = await replacementInFlight(world);
    const parts = await sendBytes(world, replacing, v2);
    expect(parts).toHaveLength(1);
    expectStatus(await completeUpload(world.deps, 'alice', replacing.uploadId, undefined), 'complete');
    await world.blobs.eventsSettled();
    expect(await served(world)).toBe(v2.contentId);
    const file = await world.catalog.getFile('alice', 'doc');
    expect(file?.previous).toBeUndefined();
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: v2.size });
    expect(await world.catalog.getContent(v1.contentId)).toMatchObject({ refCount: 0 });
    expect(await world.catalog.getContent(v2.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
  });

  it('abandoned and swept: the file is exactly as it was, and GC keeps its bytes', async () => {
    const world = memoryWorld();
    const { v1, v2, before, replacing } = await replacementInFlight(world);
    abandon(world);
    const report = await sweep(world.deps);
    expect(report.pendingFilesDropped).toBe(1);
    expect(await world.catalog.getFile('alice', 'doc')).toEqual(before);
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: v1.size });
    expect(await world.catalog.getContent(v2.contentId)).toBeUndefined();
    // Long after the GC grace period, the version the file went back to is still stored.
    world.clock.advance((world.deps.settings.gcGraceSeconds + 1) * SECOND);
    expect((await sweep(world.deps)).collected).toBe(0);
    expect(await world.catalog.getContent(v1.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    expect(await served(world)).toBe(v1.contentId);
    // The abandoned upload's id is gone with it, as a new name's would be.
    await expect(uploadStatus(world.deps, 'alice', replacing.uploadId)).rejects.toMatchObject({ code: 'upload_not_found' });
  });

  it('while in flight, a sweep after the GC grace period does not collect the previous version', async () => {
    const world = memoryWorld();
    const { v1 } = await replacementInFlight(world);
    world.clock.advance((world.deps.settings.gcGraceSeconds + 1) * SECOND);
    await sweep(world.deps);
    expect(await world.catalog.getContent(v1.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    expect(world.blobs.keys()).toContain((await world.catalog.getContent(v1.contentId))?.objectKey);
  });

  it('failed (its bytes are not the content): the file goes back to the previous version; the upload id says why', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const { v1, v2, before, replacing } = await replacementInFlight(world);
    const attempt = (await world.catalog.getContent(v2.contentId))?.attempt;
    if (!attempt) throw new Error('v2 was reserved');
    // Other bytes under the attempt's key, written around every URL guard: verification's job.
    const other = randomBytes(v2.size);
    world.blobs.putObject(attempt.objectKey, other, { checksumSha256: createHash('sha256').update(other).digest('base64') });
    const done = expectStatus(await completeUpload(world.deps, 'alice', replacing.uploadId, undefined), 'failed');
    expect(done.failure).toBe('content_mismatch');
    const { failedUpload, ...restored } = (await world.catalog.getFile('alice', 'doc')) ?? before;
    expect(restored).toEqual(before);
    expect(failedUpload).toMatchObject({ uploadId: expect.any(String), contentId: v2.contentId, failure: 'content_mismatch' });
    expect(expectStatus(await uploadStatus(world.deps, 'alice', replacing.uploadId), 'failed').failure).toBe('content_mismatch');
    expect(await served(world)).toBe(v1.contentId);
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: v1.size });
    expect(await world.catalog.getContent(v1.contentId)).toMatchObject({ refCount: 1 });
  });

  it('failed by its size (the bytes proved another): the file goes back too', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const v1 = smallFile(6000);
    const v2 = smallFile(9000);
    expectStatus(await upload(world, 'alice', 'doc', v1), 'complete');
    const before = await world.catalog.getFile('alice', 'doc');
    // bob reserves v2 under its true size; alice claims it with another and waits.
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(v2, 'b')), 'upload');
    const wrong = { ...requestFor(v2, 'doc'), size: 9001, blockDigests: v2.blockDigests };
    await requestUpload(world.deps, 'alice', wrong).catch(() => undefined);
    const waiting = await world.catalog.getFile('alice', 'doc');
    if (waiting?.state !== 'PENDING') {
      // The digest list of one block fixes nothing about its length: the claim is accepted as a wait.
      throw new Error(`alice's claim should be pending, got ${JSON.stringify(waiting)}`);
    }
    expectStatus(await upload(world, 'bob', 'b', v2), 'complete');
    const { failedUpload, ...restored } = (await world.catalog.getFile('alice', 'doc')) ?? {};
    expect(restored).toEqual(before);
    expect(failedUpload).toMatchObject({ failure: 'size_mismatch', size: 9001 });
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: v1.size });
  });

  it('a replacement of a replacement falls back to the same COMPLETE version and releases the first', async () => {
    const world = memoryWorld();
    const { v1, v2, before } = await replacementInFlight(world);
    const v3 = smallFile(7000);
    expectStatus(await requestUpload(world.deps, 'alice', requestFor(v3, 'doc')), 'upload');
    expect((await world.catalog.getFile('alice', 'doc'))?.previous).toMatchObject({
      contentId: v1.contentId,
      uploadId: before.uploadId,
    });
    expect(await world.catalog.getContent(v2.contentId)).toMatchObject({ refCount: 0 });
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: v1.size + v3.size });
    abandon(world);
    await sweep(world.deps);
    expect(await world.catalog.getFile('alice', 'doc')).toEqual(before);
  });

  it('an instant replacement (a stored content) replaces the file at once', async () => {
    const world = memoryWorld();
    const { v1 } = await replacementInFlight(world);
    const stored = smallFile(4000);
    expectStatus(await upload(world, 'bob', 'b', stored), 'complete');
    expectStatus(await ask(world, 'alice', 'doc', stored), 'complete');
    expect(await served(world)).toBe(stored.contentId);
    expect((await world.catalog.getFile('alice', 'doc'))?.previous).toBeUndefined();
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: stored.size });
    expect(await world.catalog.getContent(v1.contentId)).toMatchObject({ refCount: 0 });
  });

  it('deleting the file releases both versions', async () => {
    const world = memoryWorld();
    const { v1, v2 } = await replacementInFlight(world);
    await deleteFile(world.deps, 'alice', 'doc');
    expect(await world.catalog.getContent(v1.contentId)).toMatchObject({ refCount: 0 });
    expect(await world.catalog.getContent(v2.contentId)).toMatchObject({ refCount: 0 });
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 0, bytes: 0 });
  });

  it('renaming it is refused until the upload ends (409 replacement_in_progress)', async () => {
    const world = memoryWorld();
    await replacementInFlight(world);
    const rename = renameFile(world.deps, 'alice', 'doc', { to: 'other', overwrite: false });
    await expect(rename).rejects.toBeInstanceOf(ConflictError);
    await expect(rename).rejects.toMatchObject({ code: 'replacement_in_progress' });
  });

  it('a rename over it supersedes the upload: both versions released, and the upload cannot complete it later', async () => {
    const world = memoryWorld();
    const { v1, v2, replacing } = await replacementInFlight(world);
    const x = smallFile(3000);
    expectStatus(await upload(world, 'alice', 'x', x), 'complete');
    await renameFile(world.deps, 'alice', 'x', { to: 'doc', overwrite: true });
    await sendBytes(world, replacing, v2);
    await world.blobs.eventsSettled();
    await expect(completeUpload(world.deps, 'alice', replacing.uploadId, undefined)).rejects.toMatchObject({
      code: 'upload_not_found',
    });
    expect(await served(world)).toBe(x.contentId);
    expect(await world.catalog.getContent(v1.contentId)).toMatchObject({ refCount: 0 });
    expect(await world.catalog.getContent(v2.contentId)).toMatchObject({ refCount: 0 });
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: x.size });
  });
});

describe('content types of versions', () => {
  it('a version keeps its own type: served while a replacement uploads, and restored with it', async () => {
    const world = memoryWorld();
    const v1 = smallFile(3000);
    expectStatus(await requestUpload(world.deps, 'alice', { ...requestFor(v1, 'doc'), contentType: 'image/png' }), 'upload');
    const first = await world.catalog.getFile('alice', 'doc');
    const firstView = expectStatus(await ask(world, 'alice', 'doc', v1), 'upload');
    await sendBytes(world, firstView, v1);
    expectStatus(await completeUpload(world.deps, 'alice', firstView.uploadId, undefined), 'complete');
    expect(first?.contentType).toBe('image/png');
    const before = await world.catalog.getFile('alice', 'doc');
    expectStatus(
      await requestUpload(world.deps, 'alice', { ...requestFor(smallFile(4000), 'doc'), contentType: 'text/plain' }),
      'upload',
    );
    const listed = (await listFiles(world.deps, 'alice', { limit: 10 })).files[0];
    expect(listed).toMatchObject({ contentType: 'image/png', contentId: v1.contentId });
    const inline = await getFileDownload(world.deps, 'alice', 'doc', { disposition: 'inline' });
    expect(inline.download.disposition).toBe('inline');
    abandon(world);
    await sweep(world.deps);
    expect(await world.catalog.getFile('alice', 'doc')).toEqual(before);
  });
});

describe('quota while replacing', () => {
  it('a miss over a file needs room for both versions', async () => {
    const world = memoryWorld({ settings: { defaultQuotaBytes: 10_000 } });
    expectStatus(await upload(world, 'alice', 'doc', smallFile(6000)), 'complete');
    const over = requestUpload(world.deps, 'alice', requestFor(smallFile(9000), 'doc'));
    await expect(over).rejects.toBeInstanceOf(QuotaExceededError);
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: 6000 });
  });

  it('an instant replacement counts only the growth', async () => {
    const world = memoryWorld({ settings: { defaultQuotaBytes: 10_000 } });
    const stored = smallFile(9000);
    expectStatus(await upload(world, 'bob', 'b', stored), 'complete');
    expectStatus(await upload(world, 'alice', 'doc', smallFile(6000)), 'complete');
    expectStatus(await ask(world, 'alice', 'doc', stored), 'complete');
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: 9000 });
  });
});
