/**
 * Races on the in-memory adapters. Each store write is atomic on the event loop, and a
 * `beforeWrite` hook that yields a pseudo-random number of macrotasks lets the competing calls
 * interleave between their reads and their writes, as requests to DynamoDB do. The invariants
 * are checked on the stores afterwards: refCount equals the counted files (invariant 2), and no
 * COMPLETE file points at a content without its verified object (invariants 1 and 3).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deleteFile } from '#domain/files';
import type { FileRecord } from '#domain/ports';
import { sweep } from '#domain/sweeper';
import { requestUpload } from '#domain/uploads';
import {
  ask,
  type LocalFile,
  localFile,
  type MemoryWorld,
  memoryWorld,
  requestFor,
  sendBytes,
  upload,
} from '../support/memory-deps.ts';
import { seededRandom } from '../support/seeded-random.ts';

/** Yields up to three macrotasks before each write, so that concurrent decisions interleave. */
function shuffling(seed: number) {
  const next = seededRandom(seed);
  return async () => {
    for (let turns = Math.floor(next() * 4); turns > 0; turns--) await new Promise((resolve) => setImmediate(resolve));
  };
}

async function filesOf(world: MemoryWorld, userId: string): Promise<FileRecord[]> {
  const files: FileRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await world.catalog.listFiles(userId, { limit: 100, ...(cursor ? { cursor } : {}) });
    files.push(...page.files);
    cursor = page.cursor;
  } while (cursor);
  return files;
}

/** Invariants 1–3 over everything `users` hold of `contentId`. */
async function checkInvariants(world: MemoryWorld, users: readonly string[], contentId: string): Promise<void> {
  const files = (await Promise.all(users.map((user) => filesOf(world, user)))).flat().filter((f) => f.contentId === contentId);
  const counted = files.filter((file) => file.state !== 'FAILED');
  const content = await world.catalog.getContent(contentId);
  expect(content?.refCount ?? 0).toBe(counted.length);
  if (files.some((file) => file.state === 'COMPLETE')) {
    expect(content?.state).toBe('READY');
    expect(await world.blobs.head(content?.objectKey ?? '')).toBeDefined();
  }
  for (const user of users) {
    const own = (await filesOf(world, user)).filter((file) => file.state !== 'FAILED');
    const usage = await world.catalog.getUsage(user);
    expect({ files: usage.files, bytes: usage.bytes }).toEqual({
      files: own.length,
      bytes: own.reduce((sum, file) => sum + file.size, 0),
    });
  }
}

const users = (count: number) => Array.from({ length: count }, (_, index) => `user-${index}`);

describe('concurrent requests for one new content', () => {
  it('with proofs: exactly one attempt; the others wait and write nothing, then all complete', async () => {
    const world = memoryWorld({ beforeWrite: shuffling(1) });
    const file = localFile(randomBytes(100_000));
    const racers = users(25);
    const views = await Promise.all(racers.map((user) => requestUpload(world.deps, user, requestFor(file, 'same.bin'))));
    const uploaders = views.filter((view) => view.status === 'upload');
    expect(uploaders).toHaveLength(1);
    expect(views.filter((view) => view.status === 'wait')).toHaveLength(24);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'PENDING', refCount: 1 });
    await checkInvariants(world, racers, file.contentId);

    const [uploader] = uploaders;
    if (uploader?.status !== 'upload') throw new Error('one upload');
    await sendBytes(world, uploader, file);
    await world.blobs.eventsSettled();
    const later = await Promise.all(racers.map((user) => ask(world, user, 'same.bin', file)));
    expect(later.every((view) => view.status === 'complete')).toBe(true);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 25 });
    expect(world.blobs.keys()).toHaveLength(1);
    await checkInvariants(world, racers, file.contentId);
  });

  it('without proofs: exactly one attempt, every other file joins it; refCount counts them all', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' }, beforeWrite: shuffling(2) });
    const file = localFile(randomBytes(100_000));
    const racers = users(25);
    const views = await Promise.all(racers.map((user) => requestUpload(world.deps, user, requestFor(file, 'same.bin'))));
    expect(views.filter((view) => view.status === 'upload')).toHaveLength(1);
    expect(views.filter((view) => view.status === 'pending')).toHaveLength(24);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ refCount: 25 });
    expect(await world.catalog.pendingFiles(file.contentId)).toHaveLength(25);
    await checkInvariants(world, racers, file.contentId);

    const uploader = views.find((view) => view.status === 'upload');
    if (uploader?.status !== 'upload') throw new Error('one upload');
    await sendBytes(world, uploader, file);
    await world.blobs.eventsSettled();
    expect(await world.catalog.pendingFiles(file.contentId)).toEqual([]);
    await checkInvariants(world, racers, file.contentId);
  });

  it('the same user asking twice at once still gets one file and one reference', async () => {
    const world = memoryWorld({ beforeWrite: shuffling(3) });
    const file = localFile(randomBytes(5000));
    const [a, b] = await Promise.all([upload(world, 'alice', 'twice', file), upload(world, 'alice', 'twice', file)]);
    expect([a?.status, b?.status]).toEqual(['complete', 'complete']);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    await checkInvariants(world, ['alice'], file.contentId);
  });
});

describe('a decision that loses a race decides again on fresh reads', () => {
  it("a reservation beaten by another user's becomes a wait", async () => {
    const file = localFile(randomBytes(5000));
    let rival: Promise<unknown> | undefined;
    const world: MemoryWorld = memoryWorld({
      beforeWrite: async (method) => {
        if (method !== 'linkFile' || rival) return;
        // Between Alice's reads and her write, Bob reserves the same content.
        rival = requestUpload(world.deps, 'bob', requestFor(file, 'b.bin'));
        await rival;
      },
    });
    const view = await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin'));
    expect(view.status).toBe('wait');
    expect(await rival).toMatchObject({ status: 'upload' });
    expect((await world.catalog.getContent(file.contentId))?.attempt?.owner.userId).toBe('bob');
    expect(await world.catalog.getFile('alice', 'a.bin')).toBeUndefined();
  });
});

describe('last-reference deletes, instant uploads and sweeps', () => {
  it('200 rounds with no grace period: no COMPLETE file ever points at deleted bytes', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off', gcGraceSeconds: 0 }, beforeWrite: shuffling(4) });
    const file: LocalFile = localFile(randomBytes(2000));
    const racers = ['alice', 'bob'];
    await upload(world, 'alice', 'doc', file);
    for (let round = 0; round < 200; round++) {
      world.clock.advance(1);
      const present = await world.catalog.getFile('alice', 'doc');
      // Alice drops her last reference while Bob re-uploads the same bytes and the sweeper runs.
      const results = await Promise.allSettled([
        present ? deleteFile(world.deps, 'alice', 'doc') : upload(world, 'alice', 'doc', file),
        upload(world, 'bob', `copy-${round}`, file),
        sweep(world.deps),
      ]);
      for (const result of results) {
        // A link that meets the content being deleted is a retryable 503; nothing else may fail.
        if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'content_deleting' });
      }
      await world.blobs.eventsSettled();
      await checkInvariants(world, racers, file.contentId);
      // Bob lets go of his copy, so that the next round starts from Alice's file alone.
      const copy = await world.catalog.getFile('bob', `copy-${round}`);
      if (copy) await deleteFile(world.deps, 'bob', copy.name);
    }
  });
});
