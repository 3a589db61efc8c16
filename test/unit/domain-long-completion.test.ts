/**
 * Issue 14 point 4: S3's CompleteMultipartUpload may take minutes for a very large object, longer
 * than the API functions' 10 s timeout and the HTTP API's 30 s. A completion that outlives its
 * wait, and a retry of one that timed out, answer `pending`; the object-created event finishes
 * the upload. Never `409 upload_expired` for a completion that is still being assembled.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '#domain/errors';
import type { CompletedPart } from '#domain/ports';
import { completeUpload, MULTIPART_UPLOAD_LIFETIME_DAYS, requestUpload, signParts, uploadStatus } from '#domain/uploads';
import { MiB } from '#protocol/content-id';
import { expectStatus, localFile, memoryWorld, requestFor, sendBytes } from '../support/memory-deps.ts';

/**
 * Storage that assembles slowly, as S3 does a very large object: the first completion returns
 * only after `assemblyMs`; meanwhile S3 no longer lists the multipart upload while the object is
 * not visible yet, so a repeated completion meets NoSuchUpload with no object, which the store
 * reports as `upload_expired` (adapters/s3-blob-store.ts).
 */
function slowAssembly(assemblyMs: number) {
  const world = memoryWorld({ settings: { proofMode: 'off', completionWaitMs: 30 } });
  const complete = world.blobs.completeMultipartUpload.bind(world.blobs);
  let assembling: Promise<void> | undefined;
  world.blobs.completeMultipartUpload = (key: string, uploadId: string, parts: readonly CompletedPart[]) => {
    if (assembling)
      return Promise.reject(new ConflictError('upload_expired', 'the multipart upload no longer exists; ask again'));
    assembling = new Promise((done) => setTimeout(done, assemblyMs)).then(() => complete(key, uploadId, parts));
    return assembling;
  };
  return { world, assembled: () => assembling };
}

describe('a completion S3 takes long to assemble', () => {
  it('answers pending, a retry answers pending too, and the object-created event completes the file', async () => {
    const { world, assembled } = slowAssembly(300);
    const file = localFile(randomBytes(2 * 8 * MiB + 1000));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'big.bin')), 'upload');
    const parts = await sendBytes(world, view, file);

    const first = expectStatus(await completeUpload(world.deps, 'alice', view.uploadId, parts), 'pending');
    expect(first.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // The client's retry (its request timed out, or it was told to ask again) while S3 still assembles.
    expectStatus(await completeUpload(world.deps, 'alice', view.uploadId, parts), 'pending');
    expectStatus(await uploadStatus(world.deps, 'alice', view.uploadId), 'pending');

    await assembled();
    await world.blobs.eventsSettled();
    expectStatus(await uploadStatus(world.deps, 'alice', view.uploadId), 'complete');
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    // A retry after it landed answers complete.
    expectStatus(await completeUpload(world.deps, 'alice', view.uploadId, parts), 'complete');
  });

  it('an upload that is really gone (its attempt ended: the sweeper aborted it) still answers 409 upload_expired', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = localFile(randomBytes(2 * 8 * MiB + 1000));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'big.bin')), 'upload');
    const parts = await sendBytes(world, view, file);
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    if (!attempt) throw new Error('an attempt');
    world.blobs.completeMultipartUpload = async () => {
      // Swept while the completion was on its way: ended, then its multipart upload aborted.
      await world.catalog.endAttempt(file.contentId, attempt.id, world.deps.now());
      throw new ConflictError('upload_expired', 'the multipart upload no longer exists; ask again');
    };
    await expect(completeUpload(world.deps, 'alice', view.uploadId, parts)).rejects.toMatchObject({ code: 'upload_expired' });
  });

  it('a multipart upload the lifecycle rule aborted (as old as MULTIPART_UPLOAD_LIFETIME_DAYS) answers 409 upload_expired at once, and the next request replaces it', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = localFile(randomBytes(2 * 8 * MiB + 1000));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'big.bin')), 'upload');
    const parts = await sendBytes(world, view, file);
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    const layout = attempt?.multipartUploads?.[0];
    if (!attempt || !layout) throw new Error('an attempt with its layout');
    // Progress kept the upload from the sweeper, but S3 aborts every multipart upload this old.
    world.clock.advance(MULTIPART_UPLOAD_LIFETIME_DAYS * 24 * 60 * 60 * 1000);
    await world.blobs.abortMultipartUpload(attempt.objectKey, layout.uploadId);
    await expect(completeUpload(world.deps, 'alice', view.uploadId, parts)).rejects.toMatchObject({ code: 'upload_expired' });

    const again = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'big.bin')), 'upload');
    const replaced = (await world.catalog.getContent(file.contentId))?.attempt?.multipartUploads ?? [];
    expect(replaced.map((held) => held.uploadId)).not.toContain(layout.uploadId);
    expectStatus(await completeUpload(world.deps, 'alice', again.uploadId, await sendBytes(world, again, file)), 'complete');
  });

  it('a younger multipart upload S3 no longer knows is still taken for one being assembled: pending', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = localFile(randomBytes(2 * 8 * MiB + 1000));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'big.bin')), 'upload');
    const parts = await sendBytes(world, view, file);
    world.clock.advance(MULTIPART_UPLOAD_LIFETIME_DAYS * 24 * 60 * 60 * 1000 - 60_000);
    world.blobs.completeMultipartUpload = () =>
      Promise.reject(new ConflictError('upload_expired', 'the multipart upload no longer exists; ask again'));
    expectStatus(await completeUpload(world.deps, 'alice', view.uploadId, parts), 'pending');
  });

  it('asking POST /v1/uploads again while S3 assembles answers pending, and hands out no new multipart upload', async () => {
    // Before: ListParts met NoSuchUpload during assembly, the layout was taken for aborted and
    // replaced, and the client sent every byte again.
    const { world, assembled } = slowAssembly(300);
    const file = localFile(randomBytes(2 * 8 * MiB + 1000));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'big.bin')), 'upload');
    const parts = await sendBytes(world, view, file);
    const layouts = (await world.catalog.getContent(file.contentId))?.attempt?.multipartUploads;
    world.blobs.listParts = async () => undefined;
    expectStatus(await completeUpload(world.deps, 'alice', view.uploadId, parts), 'pending');

    const again = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'big.bin')), 'pending');
    expect(again.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // More URLs are refused as for any upload without a permit (the route's contract answers `upload` only).
    await expect(signParts(world.deps, 'alice', view.uploadId, [1])).rejects.toMatchObject({ code: 'upload_not_active' });
    expect((await world.catalog.getContent(file.contentId))?.attempt?.multipartUploads).toEqual(layouts);

    await assembled();
    await world.blobs.eventsSettled();
    expectStatus(await uploadStatus(world.deps, 'alice', view.uploadId), 'complete');
  });
});
