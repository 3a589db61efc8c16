/**
 * The sweeper on the in-memory adapters, with the clock moved past TTLs and grace periods
 * instead of waiting for them.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deleteFile } from '#domain/files';
import { sweep } from '#domain/sweeper';
import { requestUpload } from '#domain/uploads';
import { MiB } from '#protocol/content-id';
import { expectStatus, localFile, memoryWorld, requestFor, SECOND, sendBytes, upload } from '../support/memory-deps.ts';

// What a run did; `deferred` and `itemsRead` (what it looked at) are asserted where they matter.
const NOTHING = { published: 0, expired: 0, multipartAborted: 0, pendingFilesDropped: 0, pendingFilesCompleted: 0, collected: 0 };

describe('abandoned uploads', () => {
  it('are left alone until the upload TTL has passed, then swept with their waiting files and multipart upload', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = localFile(randomBytes(8 * MiB + 10));
    expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.bin')), 'pending');
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    const ttl = world.deps.settings.uploadTtlSeconds * SECOND;

    world.clock.advance(ttl - SECOND);
    expect(await sweep(world.deps)).toMatchObject(NOTHING);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ refCount: 2 });

    world.clock.advance(2 * SECOND);
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, expired: 1, multipartAborted: 1, pendingFilesDropped: 2 });
    expect(await world.catalog.getContent(file.contentId)).toBeUndefined();
    expect(await world.catalog.getFile('alice', 'a.bin')).toBeUndefined();
    expect(await world.catalog.getFile('bob', 'b.bin')).toBeUndefined();
    expect(await world.catalog.getUsage('bob')).toMatchObject({ files: 0, bytes: 0 });
    expect(world.blobs.uploadsOf(attempt?.objectKey ?? '')).toEqual([]);
    // The same bytes asked for again are a new upload.
    expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
  });

  it('an upload whose bytes landed but whose event was lost is published, not dropped', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const file = localFile(randomBytes(5000));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    await sendBytes(world, view, file);
    world.clock.advance(world.deps.settings.uploadTtlSeconds * SECOND + world.deps.settings.attemptLeaseSeconds * SECOND);
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, published: 1 });
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    // Sending the bytes proved ownership: the uploader's file completes.
    expect(await world.catalog.getFile('alice', 'a.bin')).toMatchObject({ state: 'COMPLETE' });
  });

  it('a file that joined after the upload went idle is not abandoned: it stays and may take the upload over', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = localFile(randomBytes(5000));
    expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    world.clock.advance(world.deps.settings.uploadTtlSeconds * SECOND + SECOND);
    // Bob's request takes the expired attempt over, which renews the content.
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.bin')), 'upload');
    expect(await sweep(world.deps)).toMatchObject(NOTHING);
    expect(await world.catalog.getFile('bob', 'b.bin')).toMatchObject({ state: 'PENDING' });
    expectStatus(await upload(world, 'bob', 'b.bin', file), 'complete');
    expect(await world.catalog.getFile('alice', 'a.bin')).toMatchObject({ state: 'COMPLETE' });
  });
});

describe('unreferenced contents', () => {
  it('are deleted with their object once the grace period is over, not before', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(5000));
    await upload(world, 'alice', 'a.bin', file);
    const objectKey = (await world.catalog.getContent(file.contentId))?.objectKey ?? '';
    await deleteFile(world.deps, 'alice', 'a.bin');
    const grace = world.deps.settings.gcGraceSeconds * SECOND;

    world.clock.advance(grace - SECOND);
    expect(await sweep(world.deps)).toMatchObject(NOTHING);
    expect(await world.blobs.head(objectKey)).toBeDefined();

    world.clock.advance(2 * SECOND);
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, collected: 1 });
    expect(await world.catalog.getContent(file.contentId)).toBeUndefined();
    expect(await world.blobs.head(objectKey)).toBeUndefined();
    expect(world.blobs.keys()).toEqual([]);
  });

  it('a link and release within the grace period restarts it', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = localFile(randomBytes(5000));
    await upload(world, 'alice', 'a.bin', file);
    await deleteFile(world.deps, 'alice', 'a.bin');
    const grace = world.deps.settings.gcGraceSeconds * SECOND;
    world.clock.advance(grace / 2);
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.bin')), 'complete');
    await deleteFile(world.deps, 'bob', 'b.bin');
    world.clock.advance(grace / 2 + SECOND);
    expect(await sweep(world.deps)).toMatchObject(NOTHING);
    world.clock.advance(grace / 2);
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, collected: 1 });
  });

  it('a referenced content is never collected', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(5000));
    await upload(world, 'alice', 'a.bin', file);
    world.clock.advance(10 * world.deps.settings.gcGraceSeconds * SECOND);
    expect(await sweep(world.deps)).toMatchObject(NOTHING);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
  });
});

describe('completions that never ran', () => {
  it('files left PENDING on a READY content are completed', async () => {
    // The event's completion of the waiting files fails once (a DynamoDB outage, say).
    let failures = 1;
    const world = memoryWorld({
      settings: { proofMode: 'off' },
      beforeWrite: (method) => {
        if (method === 'completeFile' && failures-- > 0) throw new Error('injected outage');
      },
    });
    const file = localFile(randomBytes(5000));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.bin')), 'pending');
    await sendBytes(world, view, file);
    await expect(world.blobs.eventsSettled()).rejects.toThrow(AggregateError);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY' });
    const pending = await world.catalog.pendingFiles(file.contentId);
    expect(pending.length).toBeGreaterThan(0);

    world.clock.advance(world.deps.settings.attemptLeaseSeconds * SECOND + SECOND);
    const report = await sweep(world.deps);
    expect(report.pendingFilesCompleted).toBe(pending.length);
    expect(await world.catalog.pendingFiles(file.contentId)).toEqual([]);
    expect(await world.catalog.getFile('bob', 'b.bin')).toMatchObject({ state: 'COMPLETE' });
  });
});

describe('waiting files whose client died (proofs on)', () => {
  /** Alice reserves and vanishes; Bob takes the upload over and stores the bytes: Alice's file waits for a proof that never comes. */
  async function orphanedWaiter() {
    const world = memoryWorld({ settings: { proofMode: 'on-hit' } });
    const file = localFile(randomBytes(5000));
    expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    world.clock.advance(world.deps.settings.attemptLeaseSeconds * SECOND + SECOND);
    expectStatus(await upload(world, 'bob', 'b.bin', file), 'complete');
    expect(await world.catalog.getFile('alice', 'a.bin')).toMatchObject({ state: 'PENDING' });
    return { world, file };
  }

  it('are dropped with their reference and usage once the upload TTL has passed, not before', async () => {
    const { world, file } = await orphanedWaiter();
    expect(await sweep(world.deps)).toMatchObject(NOTHING);
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: 5000 });

    world.clock.advance(world.deps.settings.uploadTtlSeconds * SECOND);
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, pendingFilesDropped: 1 });
    expect(await world.catalog.getFile('alice', 'a.bin')).toBeUndefined();
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 0, bytes: 0 });
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    expect(await world.catalog.getFile('bob', 'b.bin')).toMatchObject({ state: 'COMPLETE' });
  });

  it('a waiter that comes back within the TTL proves and completes instead', async () => {
    const { world, file } = await orphanedWaiter();
    world.clock.advance(world.deps.settings.uploadTtlSeconds * SECOND - 60 * SECOND);
    expectStatus(await upload(world, 'alice', 'a.bin', file), 'complete');
    world.clock.advance(120 * SECOND);
    expect(await sweep(world.deps)).toMatchObject(NOTHING);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ refCount: 2 });
  });
});

describe('what a sweep reads (docs/design.md §5: its cost follows its candidates, not the table)', () => {
  it('reads each stored content once after it is stored, then only the contents a release marked', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const files = Array.from({ length: 30 }, () => localFile(randomBytes(100)));
    for (const [index, file] of files.entries()) expectStatus(await upload(world, 'alice', `f${index}`, file), 'complete');
    // Every reservation is marked: the first look clears the mark of each content still referenced.
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, itemsRead: 30, deferred: 30 });
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, itemsRead: 0 });
    // Two releases: only those two are read, put off until their grace period ends, then collected.
    await deleteFile(world.deps, 'alice', 'f3');
    await deleteFile(world.deps, 'alice', 'f7');
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, itemsRead: 2, deferred: 2 });
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, itemsRead: 0 });
    world.clock.advance(world.deps.settings.gcGraceSeconds * SECOND + SECOND);
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, itemsRead: 2, collected: 2 });
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, itemsRead: 0 });
    expect(world.telemetry.total('SweepItemsRead')).toBe(34);
    expect(world.telemetry.total('Sweeps')).toBe(6);
  });

  it('a run cut short leaves the rest due: the next run resumes with it', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off', gcGraceSeconds: 0 } });
    const files = Array.from({ length: 4 }, () => localFile(randomBytes(100)));
    for (const [index, file] of files.entries()) expectStatus(await upload(world, 'alice', `f${index}`, file), 'complete');
    for (const index of files.keys()) await deleteFile(world.deps, 'alice', `f${index}`);
    world.clock.advance(SECOND);
    const remove = world.blobs.delete.bind(world.blobs);
    let deletes = 0;
    world.blobs.delete = async (key) => {
      if (++deletes === 3) throw new Error('the run was cut short');
      return remove(key);
    };
    await expect(sweep(world.deps)).rejects.toThrow('cut short');
    world.blobs.delete = remove;
    // Two collected before the cut; the third (DELETING) and the fourth are still due.
    expect(await sweep(world.deps)).toMatchObject({ ...NOTHING, itemsRead: 2, collected: 2 });
    for (const file of files) expect(await world.catalog.getContent(file.contentId)).toBeUndefined();
  });
});
