/**
 * The Catalog port's specification, as tests every implementation must pass: DynamoCatalog on
 * DynamoDB Local (test/integration/contract-real.test.ts) and MemoryCatalog
 * (test/unit/contract-memory.test.ts). It uses the port alone, so a store passes by behaving
 * right, not by laying out its items some way.
 *
 * Each test makes its own users and contents (random ids): the real tables are shared by test
 * files running in parallel. Reads of the pending index are eventually consistent by contract,
 * so tests of them poll.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { StaleWriteError, ValidationError } from '#domain/errors';
import type { Catalog, ContentRecord, FileRecord, QuotaGuard, UploadAttempt } from '#domain/ports';
import { MAX_PARTS } from '#protocol/content-id';

export interface CatalogFixture {
  readonly catalog: Catalog;
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const newUserId = (): string => `contract-${hex(6)}`;
const newContentId = (): string => hex(32);

/** No quota in the way: for tests about something else. */
const unlimited: QuotaGuard = { maxBytes: Number.MAX_SAFE_INTEGER, override: undefined };

const SIZE = 1000;

function fileRecord(fields: Partial<FileRecord> & Pick<FileRecord, 'userId' | 'contentId' | 'updatedAt'>): FileRecord {
  return {
    name: `file-${hex(4)}`,
    size: SIZE,
    state: 'PENDING',
    uploadId: hex(16),
    createdAt: fields.updatedAt,
    ...fields,
  };
}

function attemptFor(file: FileRecord, leaseUntil: number): UploadAttempt {
  const id = hex(16);
  return {
    id,
    objectKey: `blobs/${file.contentId}/${id}`,
    blockDigests: new Uint8Array(randomBytes(32)),
    owner: { userId: file.userId, name: file.name, uploadId: file.uploadId },
    leaseUntil,
    partsSeen: 0,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** Reads until `accept` holds (eventually consistent reads), then returns the last value read. */
async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

const byKey = (a: FileRecord, b: FileRecord): number =>
  a.userId === b.userId ? (a.name < b.name ? -1 : 1) : a.userId < b.userId ? -1 : 1;

export function catalogContract(name: string, make: () => Promise<CatalogFixture>): void {
  describe(`Catalog contract: ${name}`, () => {
    let catalog: Catalog;
    /** "Now" for the test: records get timestamps around it. */
    let t: number;

    beforeEach(async () => {
      ({ catalog } = await make());
      t = Date.now();
    });

    /** A new content reserved by a new PENDING file: what a miss writes. */
    async function reserve(
      options: { userId?: string; name?: string; size?: number; leaseUntil?: number; at?: number; contentId?: string } = {},
    ) {
      const at = options.at ?? t;
      const file = fileRecord({
        userId: options.userId ?? newUserId(),
        contentId: options.contentId ?? newContentId(),
        updatedAt: at,
        ...(options.name ? { name: options.name } : {}),
        ...(options.size !== undefined ? { size: options.size } : {}),
      });
      const attempt = attemptFor(file, options.leaseUntil ?? at + 60_000);
      const content: ContentRecord = {
        contentId: file.contentId,
        size: file.size,
        state: 'PENDING',
        refCount: 1,
        attempt,
        createdAt: at,
        updatedAt: at,
      };
      await catalog.linkFile({ file, previous: undefined, content: { op: 'create', record: content }, quota: unlimited });
      return { file, attempt, content };
    }

    /** A READY content with one COMPLETE file: what a verified upload leaves. */
    async function stored(options: { userId?: string; name?: string; size?: number } = {}) {
      const { file, attempt } = await reserve(options);
      expect(await catalog.markReady(file.contentId, attempt.objectKey, t + 1, file.size)).toBe(true);
      expect(await catalog.completeFile(file, file.contentId, t + 2)).toBe(true);
      const complete: FileRecord = { ...file, state: 'COMPLETE', updatedAt: t + 2 };
      return { file: complete, objectKey: attempt.objectKey };
    }

    /** A new file of `userId` that references an existing content. */
    async function reference(
      userId: string,
      contentId: string,
      options: {
        state?: FileRecord['state'];
        requireState?: 'READY' | 'PENDING' | 'QUARANTINED';
        name?: string;
        size?: number;
        savedBytes?: number;
        /** When the file was last changed (the sweeper's staleness). @default t + 10 */
        at?: number;
      } = {},
    ): Promise<FileRecord> {
      const file = fileRecord({
        userId,
        contentId,
        state: options.state ?? 'COMPLETE',
        updatedAt: options.at ?? t + 10,
        ...(options.name ? { name: options.name } : {}),
        ...(options.size !== undefined ? { size: options.size } : {}),
      });
      await catalog.linkFile({
        file,
        previous: undefined,
        content: { op: 'reference', requireState: options.requireState ?? 'READY' },
        quota: unlimited,
        ...(options.savedBytes !== undefined ? { savedBytes: options.savedBytes } : {}),
      });
      return file;
    }

    const refCount = async (contentId: string) => (await catalog.getContent(contentId))?.refCount;

    describe('reads', () => {
      it('knows nothing of unknown contents, files and users', async () => {
        const userId = newUserId();
        expect(await catalog.getContent(newContentId())).toBeUndefined();
        expect(await catalog.getFile(userId, 'nothing')).toBeUndefined();
        expect(await catalog.getUsage(userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
        expect(await catalog.listFiles(userId, { limit: 10 })).toEqual({ files: [] });
        expect(await catalog.pendingFiles(newContentId())).toEqual([]);
      });

      it('returns copies: changing a record read or written does not change the store', async () => {
        const { file, content } = await reserve();
        (file as { size: number }).size = 1;
        (content as { refCount: number }).refCount = 42;
        const read = await catalog.getContent(content.contentId);
        expect(read?.refCount).toBe(1);
        if (read) (read as { refCount: number }).refCount = 7;
        expect(await refCount(content.contentId)).toBe(1);
        expect((await catalog.getFile(file.userId, file.name))?.size).toBe(SIZE);
      });
    });

    describe('linkFile', () => {
      it('a new content and its first file: both written as given, usage counts the file', async () => {
        const { file, content } = await reserve();
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
        expect(await catalog.getContent(content.contentId)).toEqual(content);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0 });
      });

      it('refuses to create a content that exists (StaleWriteError) and writes nothing', async () => {
        const { content } = await reserve();
        const other = fileRecord({ userId: newUserId(), contentId: content.contentId, updatedAt: t });
        const error = await rejection(
          catalog.linkFile({
            file: other,
            previous: undefined,
            content: { op: 'create', record: { ...content, attempt: attemptFor(other, t + 60_000) } },
            quota: unlimited,
          }),
        );
        expect(error).toBeInstanceOf(StaleWriteError);
        expect(await catalog.getFile(other.userId, other.name)).toBeUndefined();
        expect(await catalog.getContent(content.contentId)).toEqual(content);
        expect(await catalog.getUsage(other.userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
      });

      it('refuses a new file under a taken name when the caller saw none', async () => {
        const { file } = await stored();
        const again = await rejection(reference(file.userId, file.contentId, { name: file.name }));
        expect(again).toBeInstanceOf(StaleWriteError);
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
        expect(await refCount(file.contentId)).toBe(1);
      });

      it('refuses to replace a file that changed since it was read (other upload, other state)', async () => {
        const { file } = await stored();
        const target = await stored();
        const next = fileRecord({ userId: file.userId, name: file.name, contentId: target.file.contentId, updatedAt: t + 20 });
        const link = (previous: FileRecord) =>
          catalog.linkFile({ file: next, previous, content: { op: 'reference', requireState: 'READY' }, quota: unlimited });
        expect(await rejection(link({ ...file, uploadId: hex(16) }))).toBeInstanceOf(StaleWriteError);
        expect(await rejection(link({ ...file, state: 'PENDING' }))).toBeInstanceOf(StaleWriteError);
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
        expect(await refCount(file.contentId)).toBe(1);
        expect(await refCount(target.file.contentId)).toBe(1);
      });

      it('refuses to replace a file that is gone', async () => {
        const { file } = await stored();
        await catalog.deleteFile(file, t + 5);
        const next = fileRecord({ userId: file.userId, name: file.name, contentId: file.contentId, updatedAt: t + 20 });
        const error = await rejection(
          catalog.linkFile({ file: next, previous: file, content: { op: 'reference', requireState: 'READY' }, quota: unlimited }),
        );
        expect(error).toBeInstanceOf(StaleWriteError);
      });

      it('a reference adds one to refCount, stamps the content and counts saved bytes', async () => {
        const { file } = await stored();
        const userId = newUserId();
        const linked = await reference(userId, file.contentId, { savedBytes: SIZE });
        expect(await catalog.getFile(userId, linked.name)).toEqual(linked);
        expect(await catalog.getContent(file.contentId)).toMatchObject({
          refCount: 2,
          updatedAt: linked.updatedAt,
          state: 'READY',
        });
        expect(await catalog.getUsage(userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: SIZE });
      });

      it('a reference requires the content in the state the caller decided on, and to exist', async () => {
        const pending = await reserve();
        const userId = newUserId();
        expect(await rejection(reference(userId, pending.content.contentId, { requireState: 'READY' }))).toBeInstanceOf(
          StaleWriteError,
        );
        expect(await rejection(reference(userId, newContentId(), { requireState: 'PENDING' }))).toBeInstanceOf(StaleWriteError);
        expect(await refCount(pending.content.contentId)).toBe(1);
        expect(await catalog.getUsage(userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
        // The state it does have is accepted: joining an upload in progress.
        await reference(userId, pending.content.contentId, { requireState: 'PENDING', state: 'PENDING' });
        expect(await refCount(pending.content.contentId)).toBe(2);
      });

      it("replacing a counted file of another content releases that content's reference", async () => {
        const old = await stored();
        const target = await stored({ size: 300 });
        const next = fileRecord({
          userId: old.file.userId,
          name: old.file.name,
          contentId: target.file.contentId,
          size: 300,
          state: 'COMPLETE',
          updatedAt: t + 30,
        });
        await catalog.linkFile({
          file: next,
          previous: old.file,
          content: { op: 'reference', requireState: 'READY' },
          quota: unlimited,
        });
        expect(await catalog.getFile(next.userId, next.name)).toEqual(next);
        expect(await catalog.getContent(old.file.contentId)).toMatchObject({ refCount: 0, updatedAt: t + 30 });
        expect(await refCount(target.file.contentId)).toBe(2);
        expect(await catalog.getUsage(next.userId)).toEqual({ files: 1, bytes: 300, savedBytes: 0 });
      });

      it('re-linking a counted file to the same content keeps refCount, yet still requires the state', async () => {
        const { file } = await stored();
        const again: FileRecord = { ...file, uploadId: hex(16), updatedAt: t + 40 };
        const relink = (requireState: 'READY' | 'PENDING') =>
          catalog.linkFile({ file: again, previous: file, content: { op: 'reference', requireState }, quota: unlimited });
        expect(await rejection(relink('PENDING'))).toBeInstanceOf(StaleWriteError);
        await relink('READY');
        expect(await catalog.getFile(file.userId, file.name)).toEqual(again);
        expect(await refCount(file.contentId)).toBe(1);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0 });
      });

      it('replacing a FAILED file releases nothing (it held no reference) and counts the new one', async () => {
        const { file, attempt, content } = await reserve();
        await catalog.failAttempt(content.contentId, attempt, 'content_mismatch', t + 5);
        const failed = await catalog.getFile(file.userId, file.name);
        expect(failed?.state).toBe('FAILED');
        // The name is taken by the FAILED file: a new upload under it replaces it.
        const retry = fileRecord({ userId: file.userId, name: file.name, contentId: newContentId(), updatedAt: t + 6 });
        const record: ContentRecord = {
          contentId: retry.contentId,
          size: retry.size,
          state: 'PENDING',
          refCount: 1,
          attempt: attemptFor(retry, t + 60_000),
          createdAt: t + 6,
          updatedAt: t + 6,
        };
        await catalog.linkFile({ file: retry, previous: failed, content: { op: 'create', record }, quota: unlimited });
        expect(await catalog.getFile(file.userId, file.name)).toEqual(retry);
        expect(await refCount(file.contentId)).toBe(0);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0 });
      });
    });

    describe('the quota guard of linkFile', () => {
      async function userWithBytes(bytes: number) {
        const { file } = await stored({ size: bytes });
        return file.userId;
      }

      async function linkNew(userId: string, contentId: string, size: number, quota: QuotaGuard) {
        const file = fileRecord({ userId, contentId, size, state: 'COMPLETE', updatedAt: t + 50 });
        await catalog.linkFile({ file, previous: undefined, content: { op: 'reference', requireState: 'READY' }, quota });
        return file;
      }

      it('refuses growth beyond the quota and writes nothing; an exact fit passes', async () => {
        const userId = await userWithBytes(100);
        const target = await stored({ size: 50 });
        const before = await catalog.getUsage(userId);
        const over = await rejection(linkNew(userId, target.file.contentId, 50, { maxBytes: 149, override: undefined }));
        expect(over).toBeInstanceOf(StaleWriteError);
        expect(await catalog.getUsage(userId)).toEqual(before);
        expect(await refCount(target.file.contentId)).toBe(1);
        expect((await catalog.listFiles(userId, { limit: 10 })).files).toHaveLength(1);

        await linkNew(userId, target.file.contentId, 50, { maxBytes: 150, override: undefined });
        expect(await catalog.getUsage(userId)).toEqual({ files: 2, bytes: 150, savedBytes: 0 });
      });

      it("refuses when the user's own quota is not the one the decision read", async () => {
        const userId = await userWithBytes(100);
        const target = await stored({ size: 10 });
        await catalog.setQuota(userId, 1000);
        const roomy = Number.MAX_SAFE_INTEGER;
        expect(
          await rejection(linkNew(userId, target.file.contentId, 10, { maxBytes: roomy, override: undefined })),
        ).toBeInstanceOf(StaleWriteError);
        expect(await rejection(linkNew(userId, target.file.contentId, 10, { maxBytes: roomy, override: 999 }))).toBeInstanceOf(
          StaleWriteError,
        );
        await linkNew(userId, target.file.contentId, 10, { maxBytes: 1000, override: 1000 });
        await catalog.setQuota(userId, undefined);
        expect(await rejection(linkNew(userId, target.file.contentId, 10, { maxBytes: 1000, override: 1000 }))).toBeInstanceOf(
          StaleWriteError,
        );
        expect(await catalog.getUsage(userId)).toEqual({ files: 2, bytes: 110, savedBytes: 0 });
      });

      it('a change that does not grow usage passes whatever the quota', async () => {
        const { file } = await stored({ size: 100 });
        const smaller = await stored({ size: 10 });
        const next = fileRecord({
          userId: file.userId,
          name: file.name,
          contentId: smaller.file.contentId,
          size: 10,
          state: 'COMPLETE',
          updatedAt: t + 60,
        });
        await catalog.linkFile({
          file: next,
          previous: file,
          content: { op: 'reference', requireState: 'READY' },
          quota: { maxBytes: 0, override: 5 },
        });
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: 10, savedBytes: 0 });
      });
    });

    describe('renameFile', () => {
      it('moves a file in one write; references and usage do not change', async () => {
        const { file } = await stored();
        const moved: FileRecord = { ...file, name: `moved-${hex(4)}`, updatedAt: t + 100 };
        await catalog.renameFile({ from: file, to: moved, overwritten: undefined });
        expect(await catalog.getFile(file.userId, file.name)).toBeUndefined();
        expect(await catalog.getFile(file.userId, moved.name)).toEqual(moved);
        expect(await refCount(file.contentId)).toBe(1);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0 });
      });

      it('refuses a taken name unless told what it overwrites', async () => {
        const { file } = await stored();
        const taken = await reference(file.userId, file.contentId, { name: `taken-${hex(4)}` });
        const moved: FileRecord = { ...file, name: taken.name, updatedAt: t + 100 };
        expect(await rejection(catalog.renameFile({ from: file, to: moved, overwritten: undefined }))).toBeInstanceOf(
          StaleWriteError,
        );
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
        expect(await catalog.getFile(file.userId, taken.name)).toEqual(taken);
      });

      it("overwriting releases the overwritten file's reference and usage in the same write", async () => {
        const { file } = await stored({ size: 100 });
        const other = await stored({ size: 40 });
        const victim = await reference(file.userId, other.file.contentId, { name: `victim-${hex(4)}`, size: 40 });
        expect(await catalog.getUsage(file.userId)).toMatchObject({ files: 2, bytes: 140 });
        const moved: FileRecord = { ...file, name: victim.name, updatedAt: t + 100 };
        await catalog.renameFile({ from: file, to: moved, overwritten: victim });
        expect(await catalog.getFile(file.userId, victim.name)).toEqual(moved);
        expect(await catalog.getContent(other.file.contentId)).toMatchObject({ refCount: 1, updatedAt: t + 100 });
        expect(await refCount(file.contentId)).toBe(1);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: 100, savedBytes: 0 });
      });

      it('refuses when the file or the overwritten one changed since they were read', async () => {
        const { file } = await stored();
        const victim = await reference(file.userId, file.contentId, { name: `victim-${hex(4)}` });
        const moved: FileRecord = { ...file, name: victim.name, updatedAt: t + 100 };
        const staleVictim = { ...victim, uploadId: hex(16) };
        expect(await rejection(catalog.renameFile({ from: file, to: moved, overwritten: staleVictim }))).toBeInstanceOf(
          StaleWriteError,
        );
        const staleFrom = { ...file, state: 'PENDING' as const };
        expect(
          await rejection(catalog.renameFile({ from: staleFrom, to: { ...moved, state: 'PENDING' }, overwritten: victim })),
        ).toBeInstanceOf(StaleWriteError);
        expect(await refCount(file.contentId)).toBe(2);
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
        expect(await catalog.getFile(file.userId, victim.name)).toEqual(victim);
      });

      it('marks the source as renamed away (a delete does not), and the mark is no file, counted or listed', async () => {
        const { file } = await stored();
        const deleted = await reference(file.userId, file.contentId, { name: `deleted-${hex(4)}` });
        const moved: FileRecord = {
          ...file,
          name: `moved-${hex(4)}`,
          updatedAt: t + 100,
          renamed: { from: file.name, at: t + 100 },
          deduplicated: true,
        };
        await catalog.renameFile({ from: file, to: moved, overwritten: undefined });
        await catalog.deleteFile(deleted, t + 101);
        expect(await catalog.renamedAway(file)).toBe(true);
        expect(await catalog.renamedAway(deleted)).toBe(false);
        // The same upload at another time (moved on again since) is another version.
        expect(await catalog.renamedAway(moved)).toBe(false);
        expect(await catalog.renamedAway({ ...file, updatedAt: file.updatedAt + 1 })).toBe(false);
        // The moved file keeps its rename mark and dedup flag as written.
        expect(await catalog.getFile(file.userId, moved.name)).toEqual(moved);
        expect((await catalog.listFiles(file.userId, { limit: 10 })).files).toEqual([moved]);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0 });
      });

      it('refuses a source whose last change is not the one read (the mark names that version)', async () => {
        const { file } = await stored();
        const moved: FileRecord = { ...file, name: `moved-${hex(4)}`, updatedAt: t + 100 };
        expect(
          await rejection(
            catalog.renameFile({ from: { ...file, updatedAt: file.updatedAt - 1 }, to: moved, overwritten: undefined }),
          ),
        ).toBeInstanceOf(StaleWriteError);
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
      });
    });

    describe('deleteFile', () => {
      it('deletes a file and releases its reference and usage', async () => {
        const { file } = await stored();
        await catalog.deleteFile(file, t + 200);
        expect(await catalog.getFile(file.userId, file.name)).toBeUndefined();
        expect(await catalog.getContent(file.contentId)).toMatchObject({ refCount: 0, updatedAt: t + 200, state: 'READY' });
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
      });

      it('refuses a file that changed since it was read; a second delete of the same file loses', async () => {
        const { file } = await stored();
        expect(await rejection(catalog.deleteFile({ ...file, uploadId: hex(16) }, t + 200))).toBeInstanceOf(StaleWriteError);
        await catalog.deleteFile(file, t + 200);
        expect(await rejection(catalog.deleteFile(file, t + 201))).toBeInstanceOf(StaleWriteError);
        expect(await refCount(file.contentId)).toBe(0);
      });

      it('a FAILED file goes without touching any reference or usage', async () => {
        const { file, attempt, content } = await reserve();
        await catalog.failAttempt(content.contentId, attempt, 'size_mismatch', t + 5);
        const failed = await catalog.getFile(file.userId, file.name);
        if (!failed) throw new Error('the failed file is gone');
        await catalog.deleteFile(failed, t + 6);
        expect(await catalog.getFile(file.userId, file.name)).toBeUndefined();
        expect(await refCount(file.contentId)).toBe(0);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
      });
    });

    describe('usage and quota', () => {
      it("sets and removes a user's own quota without touching the counters", async () => {
        const { file } = await stored();
        await catalog.setQuota(file.userId, 5000);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0, quotaBytes: 5000 });
        await catalog.setQuota(file.userId, undefined);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0 });
        const newcomer = newUserId();
        await catalog.setQuota(newcomer, 10);
        expect(await catalog.getUsage(newcomer)).toEqual({ files: 0, bytes: 0, savedBytes: 0, quotaBytes: 10 });
        expect(await catalog.listFiles(newcomer, { limit: 10 })).toEqual({ files: [] });
      });
    });

    describe('deleteUserRecords (erasing a user)', () => {
      it('refuses while the user has any file, a FAILED one too, and erases nothing then', async () => {
        const { file } = await stored();
        await catalog.setQuota(file.userId, 5000);
        expect(await catalog.deleteUserRecords(file.userId)).toBe(false);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0, quotaBytes: 5000 });
        const { file: pending, attempt, content } = await reserve();
        await catalog.failAttempt(content.contentId, attempt, 'size_mismatch', t + 5);
        await catalog.setQuota(pending.userId, 7000);
        // FAILED counts in no usage, but it is still the user's file.
        expect(await catalog.deleteUserRecords(pending.userId)).toBe(false);
        expect(await catalog.getUsage(pending.userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0, quotaBytes: 7000 });
      });

      it('keeps rename marks (a nonce and a time, no name) until they expire: the stream may still ask about them', async () => {
        const { file } = await stored();
        const moved: FileRecord = {
          ...file,
          name: `moved-${hex(4)}`,
          updatedAt: t + 100,
          renamed: { from: file.name, at: t + 100 },
        };
        await catalog.renameFile({ from: file, to: moved, overwritten: undefined });
        await catalog.deleteFile(moved, t + 101);
        expect(await catalog.deleteUserRecords(file.userId)).toBe(true);
        expect(await catalog.renamedAway(file)).toBe(true);
      });

      it('once no file is left: usage, own quota and saved bytes go; a second run is a no-op; others untouched', async () => {
        const { file } = await stored();
        const sharer = await reference(newUserId(), file.contentId, { savedBytes: SIZE });
        await catalog.setQuota(sharer.userId, 5000);
        await catalog.deleteFile(sharer, t + 20);
        expect(await catalog.getUsage(sharer.userId)).toEqual({ files: 0, bytes: 0, savedBytes: SIZE, quotaBytes: 5000 });
        expect(await catalog.deleteUserRecords(sharer.userId)).toBe(true);
        expect(await catalog.getUsage(sharer.userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
        expect(await catalog.deleteUserRecords(sharer.userId)).toBe(true);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0 });
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
        expect(await refCount(file.contentId)).toBe(1);
      });

      it('forgets answered and open challenges, and their looks at contents; another user’s stay', async () => {
        const [erased, other] = [newUserId(), newUserId()];
        const contentId = newContentId();
        const nonce = hex(16);
        expect(await catalog.consumeChallenge(erased, nonce, t + 60_000)).toBe(true);
        expect(await catalog.consumeChallenge(other, nonce, t + 60_000)).toBe(true);
        const limits = { perUser: 1, inFlightPerContent: 2, failedPerContent: 2, staleBefore: t - 30_000 };
        const key = (userId: string) => ({ userId, contentId, size: SIZE, period: 1 });
        expect(await catalog.openChallenge(key(erased), limits, t, t + 60_000)).toBe('opened');
        expect(await catalog.openChallenge(key(other), limits, t, t + 60_000)).toBe('opened');
        expect(await catalog.openChallenge(key(newUserId()), limits, t, t + 60_000)).toBe('busy');

        expect(await catalog.deleteUserRecords(erased)).toBe(true);
        // The answered challenge is forgotten (the same nonce counts anew), the other user's is not.
        expect(await catalog.consumeChallenge(erased, nonce, t + 60_000)).toBe(true);
        expect(await catalog.consumeChallenge(other, nonce, t + 60_000)).toBe(false);
        expect(await catalog.countAnswer(key(erased), 5)).toBe('unopened');
        expect(await catalog.countAnswer(key(other), 5)).toBe('counted');
        // The erased user's look no longer counts against the content: one more may look.
        expect(await catalog.openChallenge(key(newUserId()), limits, t, t + 60_000)).toBe('opened');
        expect(await catalog.openChallenge(key(newUserId()), limits, t, t + 60_000)).toBe('busy');
        // Nor their open count (perUser 1): a user of the same id starts afresh.
        expect(await catalog.openChallenge({ ...key(erased), contentId: newContentId() }, limits, t, t + 60_000)).toBe('opened');
      });
    });

    describe('consumeChallenge', () => {
      it('answers true once per (user, nonce), false on a replay', async () => {
        const userId = newUserId();
        const nonce = hex(16);
        expect(await catalog.consumeChallenge(userId, nonce, t + 60_000)).toBe(true);
        expect(await catalog.consumeChallenge(userId, nonce, t + 60_000)).toBe(false);
        expect(await catalog.consumeChallenge(newUserId(), nonce, t + 60_000)).toBe(true);
        expect(await catalog.consumeChallenge(userId, hex(16), t + 60_000)).toBe(true);
        expect(await catalog.listFiles(userId, { limit: 10 })).toEqual({ files: [] });
        expect(await catalog.getUsage(userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
      });

      it('exactly one of concurrent answers to the same challenge wins', async () => {
        const userId = newUserId();
        const nonce = hex(16);
        const results = await Promise.all(Array.from({ length: 8 }, () => catalog.consumeChallenge(userId, nonce, t + 60_000)));
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('proof challenges (open, answer, close)', () => {
      // A challenge unmet for 30 s has failed (`t` is set before each test).
      const limits = { perUser: 3, inFlightPerContent: 2, failedPerContent: 2 };
      const key = (userId: string, contentId: string, period = 1) => ({ userId, contentId, size: SIZE, period });
      const open = (k: ReturnType<typeof key>, at = t, staleBefore = at - 30_000) =>
        catalog.openChallenge(k, { ...limits, staleBefore }, at, t + 60_000);

      it('opens a challenge once per user, content, size and period; a user may have so many open', async () => {
        const [alice, carol] = [newUserId(), newUserId()];
        const contentId = newContentId();
        expect(await open(key(alice, contentId))).toBe('opened');
        // Asked again: the same challenge, counted once.
        expect(await open(key(alice, contentId))).toBe('open');
        expect(await open(key(carol, newContentId()))).toBe('opened');
        expect(await open(key(carol, newContentId()))).toBe('opened');
        expect(await open(key(carol, newContentId()))).toBe('opened');
        // Three open for carol: refused, whatever the content; another period counts afresh.
        expect(await open(key(carol, newContentId()))).toBe('limited');
        expect(await open(key(carol, contentId, 2))).toBe('opened');
        expect(await catalog.listFiles(alice, { limit: 10 })).toEqual({ files: [] });
        expect(await catalog.getUsage(alice)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
      });

      it('a content has so many in flight (busy), then so many failed once unmet too long (limited)', async () => {
        const contentId = newContentId();
        const [a, b, c, d, e, f] = Array.from({ length: 6 }, newUserId);
        expect(await open(key(a ?? '', contentId), t - 60_000)).toBe('opened');
        expect(await open(key(b ?? '', contentId), t - 60_000)).toBe('opened');
        // Two in flight: a third must wait; another size of the same content too.
        expect(await open(key(c ?? '', contentId), t - 59_000)).toBe('busy');
        expect(await open({ ...key(c ?? '', contentId), size: SIZE + 1 }, t - 59_000)).toBe('busy');
        // Unmet for longer than the limit allows: both failed, and the content is refused.
        expect(await open(key(c ?? '', contentId))).toBe('limited');
        // One of them met late: no longer failed, so others may look again, two at a time.
        expect(await catalog.closeChallenge(key(a ?? '', contentId))).toBe(true);
        expect(await open(key(d ?? '', contentId))).toBe('opened');
        expect(await open(key(e ?? '', contentId))).toBe('opened');
        expect(await open(key(f ?? '', contentId))).toBe('busy');
        expect(await catalog.closeChallenge(key(d ?? '', contentId))).toBe(true);
        expect(await open(key(f ?? '', contentId))).toBe('opened');
      });

      it('a met challenge no longer counts, once', async () => {
        const [alice, bob] = [newUserId(), newUserId()];
        const contentId = newContentId();
        await open(key(alice, contentId));
        await open(key(bob, contentId));
        expect(await catalog.closeChallenge(key(alice, contentId))).toBe(true);
        expect(await catalog.closeChallenge(key(alice, contentId))).toBe(false);
        expect(await catalog.closeChallenge(key(newUserId(), contentId))).toBe(false);
        expect(await open(key(newUserId(), contentId))).toBe('opened');
        expect(await open(key(newUserId(), contentId))).toBe('busy');
        // A user's count: three open at most, met ones not counted.
        const carol = newUserId();
        const contents = [newContentId(), newContentId(), newContentId()];
        for (const each of contents) expect(await open(key(carol, each))).toBe('opened');
        expect(await open(key(carol, newContentId()))).toBe('limited');
        await catalog.closeChallenge(key(carol, contents[0] ?? ''));
        expect(await open(key(carol, newContentId()))).toBe('opened');
      });

      it('counts answers: a few while unmet, any number once met, none unopened', async () => {
        const userId = newUserId();
        const contentId = newContentId();
        expect(await catalog.countAnswer(key(userId, contentId), 2)).toBe('unopened');
        await open(key(userId, contentId));
        expect(await catalog.countAnswer(key(userId, contentId), 2)).toBe('counted');
        expect(await catalog.countAnswer(key(userId, contentId), 2)).toBe('counted');
        expect(await catalog.countAnswer(key(userId, contentId), 2)).toBe('limited');
        expect(await catalog.closeChallenge(key(userId, contentId))).toBe(true);
        expect(await catalog.countAnswer(key(userId, contentId), 2)).toBe('counted');
        expect(await catalog.countAnswer(key(userId, contentId, 2), 2)).toBe('unopened');
      });

      it('concurrent first issues stop at the limits', async () => {
        const contentId = newContentId();
        const users = Array.from({ length: 8 }, newUserId);
        const results = await Promise.all(users.map((userId) => open(key(userId, contentId))));
        expect(results.filter((result) => result === 'opened')).toHaveLength(limits.inFlightPerContent);
        expect(results.filter((result) => result === 'busy')).toHaveLength(users.length - limits.inFlightPerContent);
        const userId = newUserId();
        const ofOneUser = await Promise.all(Array.from({ length: 6 }, () => open(key(userId, newContentId()))));
        expect(ofOneUser.filter((result) => result === 'opened')).toHaveLength(limits.perUser);
        // The same challenge opened at once by two requests of its user: counted once.
        const twice = await Promise.all([open(key(userId, contentId, 3)), open(key(userId, contentId, 3))]);
        expect(twice.sort()).toEqual(['open', 'opened']);
      });

      it('a READY content takes a proof upload only when asked for one, then replaces it by id and ends it', async () => {
        const { file } = await stored();
        const waiting = await reference(newUserId(), file.contentId, { state: 'PENDING' });
        const prover = attemptFor(waiting, t + 60_000);
        expect(await rejection(catalog.setAttempt(file.contentId, prover, undefined))).toBeInstanceOf(StaleWriteError);
        await catalog.setAttempt(file.contentId, prover, undefined, { ready: true });
        expect(await catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', attempt: { id: prover.id } });
        // One at a time: another is installed only in place of the one expected.
        const next = attemptFor(file, t + 120_000);
        expect(await rejection(catalog.setAttempt(file.contentId, next, undefined, { ready: true }))).toBeInstanceOf(
          StaleWriteError,
        );
        await catalog.setAttempt(file.contentId, next, prover.id);
        expect(await catalog.endAttempt(file.contentId, next.id, t)).toBe(true);
        expect((await catalog.getContent(file.contentId))?.attempt).toBeUndefined();
        expect(await catalog.getContent(file.contentId)).toMatchObject({ state: 'READY' });
        // A PENDING content takes none as a proof upload.
        const { content } = await reserve();
        expect(await catalog.endAttempt(content.contentId, content.attempt?.id ?? '', t)).toBe(true);
        const other = attemptFor(file, t + 60_000);
        expect(await rejection(catalog.setAttempt(content.contentId, other, undefined, { ready: true }))).toBeInstanceOf(
          StaleWriteError,
        );
      });
    });

    describe('setAttempt', () => {
      it('installs an attempt where there is none, and replaces only the one expected', async () => {
        const { file, attempt, content } = await reserve({ at: t - 60_000 });
        expect(await catalog.endAttempt(content.contentId, attempt.id, t - 50_000)).toBe(true);
        const first = attemptFor(file, t + 1000);
        const second = attemptFor(file, t + 2000);
        await catalog.setAttempt(content.contentId, first, undefined);
        const installed = await catalog.getContent(content.contentId);
        expect(installed?.attempt).toEqual(first);
        // Stamped, so that the sweeper sees activity.
        expect(installed?.updatedAt).toBeGreaterThan(t - 50_000);
        expect(await rejection(catalog.setAttempt(content.contentId, second, undefined))).toBeInstanceOf(StaleWriteError);
        expect(await rejection(catalog.setAttempt(content.contentId, second, hex(16)))).toBeInstanceOf(StaleWriteError);
        await catalog.setAttempt(content.contentId, second, first.id);
        expect((await catalog.getContent(content.contentId))?.attempt).toEqual(second);
        // Renewing a lease (or sharing the attempt, or adding a layout) is replacing an attempt by
        // its next version.
        const renewed: UploadAttempt = {
          ...second,
          id: hex(16),
          leaseUntil: t + 3000,
          partsSeen: 2,
          shared: true,
          multipartUploads: [{ blockSize: 8 * 1024 * 1024, uploadId: 'upload-1' }],
        };
        await catalog.setAttempt(content.contentId, renewed, second.id);
        expect((await catalog.getContent(content.contentId))?.attempt).toEqual(renewed);
        expect(await refCount(content.contentId)).toBe(1);
      });

      it('keeps the binary digests of 10,000 blocks with the longest owner name: the item fits', async () => {
        const userId = `contract-${'u'.repeat(240)}`;
        const { file, attempt, content } = await reserve({ userId, name: `${'n'.repeat(1020)}.bin` });
        const digests = new Uint8Array(randomBytes(32 * MAX_PARTS));
        const big: UploadAttempt = {
          ...attempt,
          id: hex(16),
          blockDigests: digests,
          multipartUploads: Array.from({ length: 11 }, (_, index) => ({ blockSize: 2 ** (23 + index), uploadId: hex(64) })),
        };
        await catalog.setAttempt(content.contentId, big, attempt.id);
        const kept = (await catalog.getContent(content.contentId))?.attempt;
        expect(kept?.owner).toEqual(big.owner);
        expect(Buffer.from(kept?.blockDigests ?? []).equals(Buffer.from(digests))).toBe(true);
        expect(await catalog.getFile(file.userId, file.name)).toMatchObject({ state: 'PENDING' });
      });

      it('refuses a content that is not PENDING or does not exist', async () => {
        const { file } = await stored();
        const attempt = attemptFor(file, t + 1000);
        expect(await rejection(catalog.setAttempt(file.contentId, attempt, undefined))).toBeInstanceOf(StaleWriteError);
        expect(await rejection(catalog.setAttempt(newContentId(), attempt, undefined))).toBeInstanceOf(StaleWriteError);
        expect((await catalog.getContent(file.contentId))?.attempt).toBeUndefined();
      });

      it('of concurrent take-overs of the same attempt, exactly one wins', async () => {
        const { file, attempt, content } = await reserve();
        const rivals = Array.from({ length: 6 }, () => attemptFor(file, t + 5000));
        const results = await Promise.allSettled(rivals.map((rival) => catalog.setAttempt(content.contentId, rival, attempt.id)));
        const won = results.flatMap((result, index) => (result.status === 'fulfilled' ? [rivals[index]] : []));
        expect(won).toHaveLength(1);
        for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(StaleWriteError);
        expect((await catalog.getContent(content.contentId))?.attempt).toEqual(won[0]);
      });
    });

    describe('markReady', () => {
      it('PENDING → READY with the object, ending the attempt; files are left to complete', async () => {
        const { file, attempt, content } = await reserve();
        expect(await catalog.markReady(content.contentId, attempt.objectKey, t + 7, content.size)).toBe(true);
        const ready = await catalog.getContent(content.contentId);
        expect(ready).toMatchObject({ state: 'READY', objectKey: attempt.objectKey, updatedAt: t + 7, refCount: 1 });
        expect(ready?.attempt).toBeUndefined();
        expect((await catalog.getFile(file.userId, file.name))?.state).toBe('PENDING');
      });

      it('records the size the bytes proved, whatever size the reservation claimed', async () => {
        const { attempt, content } = await reserve({ size: 0 });
        expect(await catalog.markReady(content.contentId, attempt.objectKey, t + 7, 4321)).toBe(true);
        const ready = await catalog.getContent(content.contentId);
        expect(ready).toMatchObject({ state: 'READY', size: 4321 });
        expect(ready?.uploader).toBeUndefined();
      });

      it('records the upload whose own bytes stored it, by its nonce alone: no user id or name stays on the content', async () => {
        const { attempt, content } = await reserve();
        // Given more than the mark (an owner), it keeps the nonce only.
        expect(await catalog.markReady(content.contentId, attempt.objectKey, t + 7, SIZE, attempt.owner)).toBe(true);
        expect((await catalog.getContent(content.contentId))?.uploader).toEqual({ uploadId: attempt.owner.uploadId });
      });

      it('answers false for a content that is not PENDING (or is gone), changing nothing', async () => {
        const { file, objectKey } = await stored();
        const before = await catalog.getContent(file.contentId);
        expect(await catalog.markReady(file.contentId, `${objectKey}-other`, t + 9, SIZE)).toBe(false);
        expect(await catalog.getContent(file.contentId)).toEqual(before);
        const ghost = newContentId();
        expect(await catalog.markReady(ghost, objectKey, t + 9, SIZE)).toBe(false);
        expect(await catalog.getContent(ghost)).toBeUndefined();
      });
    });

    describe('quarantine', () => {
      it('READY → QUARANTINED only while the object named is its object; files keep their references', async () => {
        const { file, objectKey } = await stored();
        expect(await catalog.quarantine(file.contentId, `${objectKey}-other`, t + 20)).toBe(false);
        expect(await catalog.quarantine(file.contentId, objectKey, t + 20)).toBe(true);
        expect(await catalog.getContent(file.contentId)).toMatchObject({ state: 'QUARANTINED', objectKey, refCount: 1 });
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
        expect(await catalog.quarantine(file.contentId, objectKey, t + 21)).toBe(false);
      });

      it('answers false for a PENDING content or none, changing nothing', async () => {
        const { attempt, content } = await reserve();
        expect(await catalog.quarantine(content.contentId, attempt.objectKey, t + 20)).toBe(false);
        expect(await catalog.getContent(content.contentId)).toMatchObject({ state: 'PENDING' });
        expect(await catalog.quarantine(newContentId(), attempt.objectKey, t + 20)).toBe(false);
      });

      it('a repair: a file links to the QUARANTINED content, installs its upload, and the verified object makes it READY', async () => {
        const { file, objectKey } = await stored();
        expect(await catalog.quarantine(file.contentId, objectKey, t + 20)).toBe(true);
        const repairer = await reference(newUserId(), file.contentId, { state: 'PENDING', requireState: 'QUARANTINED' });
        expect(await refCount(file.contentId)).toBe(2);
        const attempt = attemptFor(repairer, t + 60_000);
        await catalog.setAttempt(file.contentId, attempt, undefined, { ready: true });
        // Off the sweep index, as the sweeper leaves a QUARANTINED content.
        const due = async () =>
          (await collect(catalog.sweepCandidates(t + 100))).find((c) => c.content.contentId === file.contentId);
        const mark = await due();
        if (mark) expect(await catalog.deferSweep(file.contentId, mark.due, undefined)).toBe(true);
        expect(await due()).toBeUndefined();
        // Only with the bad object and that attempt as read.
        expect(await catalog.repairQuarantined(file.contentId, `${objectKey}-other`, attempt.id, attempt.objectKey, t + 30)).toBe(
          false,
        );
        expect(await catalog.repairQuarantined(file.contentId, objectKey, hex(16), attempt.objectKey, t + 30)).toBe(false);
        expect(await catalog.repairQuarantined(file.contentId, objectKey, attempt.id, attempt.objectKey, t + 30)).toBe(true);
        const repaired = await catalog.getContent(file.contentId);
        expect(repaired).toMatchObject({ state: 'READY', objectKey: attempt.objectKey, refCount: 2, updatedAt: t + 30 });
        expect(repaired?.attempt).toBeUndefined();
        expect(await catalog.repairQuarantined(file.contentId, objectKey, attempt.id, attempt.objectKey, t + 31)).toBe(false);
        // Due again: its last reference may have gone while it was quarantined.
        expect(await due()).toMatchObject({ due: t + 30 });
      });

      it('a stale file waiting on a QUARANTINED content with no live upload may be dropped', async () => {
        const { file, objectKey } = await stored();
        expect(await catalog.quarantine(file.contentId, objectKey, t + 20)).toBe(true);
        const waiter = await reference(newUserId(), file.contentId, {
          state: 'PENDING',
          requireState: 'QUARANTINED',
          at: t - 10_000,
        });
        expect(await catalog.dropPendingFile(waiter, t, t - 5_000)).toBe(true);
        expect(await refCount(file.contentId)).toBe(1);
      });
    });

    describe('failPendingFile', () => {
      it('fails a waiting file as read, releasing its reference and usage in the same write, once', async () => {
        const { file, content } = await reserve();
        const joiner = await reference(newUserId(), content.contentId, { state: 'PENDING', requireState: 'PENDING', size: 77 });
        expect(await refCount(content.contentId)).toBe(2);
        expect(await catalog.failPendingFile({ ...joiner, uploadId: hex(16) }, 'size_mismatch', t + 20)).toBe(false);
        expect(await catalog.failPendingFile(joiner, 'size_mismatch', t + 20)).toBe(true);
        expect(await catalog.getFile(joiner.userId, joiner.name)).toMatchObject({
          state: 'FAILED',
          failure: 'size_mismatch',
          updatedAt: t + 20,
        });
        expect(await refCount(content.contentId)).toBe(1);
        expect(await catalog.getUsage(joiner.userId)).toMatchObject({ files: 0, bytes: 0 });
        expect(await catalog.failPendingFile(joiner, 'size_mismatch', t + 21)).toBe(false);
        expect(await refCount(content.contentId)).toBe(1);
        // The reserver's own file is untouched; a COMPLETE file is no waiting file.
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
        const { file: complete } = await stored();
        expect(await catalog.failPendingFile(complete, 'size_mismatch', t + 22)).toBe(false);
        expect(await catalog.getFile(complete.userId, complete.name)).toEqual(complete);
      });
    });

    describe('completeFile', () => {
      it('completes exactly the waiting upload named, once', async () => {
        const { file, attempt, content } = await reserve();
        await catalog.markReady(content.contentId, attempt.objectKey, t + 1, content.size);
        expect(await catalog.completeFile({ ...file, uploadId: hex(16) }, file.contentId, t + 3)).toBe(false);
        expect(await catalog.completeFile(file, newContentId(), t + 3)).toBe(false);
        expect(await catalog.completeFile({ ...file, name: 'no-such-file' }, file.contentId, t + 3)).toBe(false);
        expect(await catalog.completeFile(file, file.contentId, t + 3)).toBe(true);
        expect(await catalog.getFile(file.userId, file.name)).toEqual({ ...file, state: 'COMPLETE', updatedAt: t + 3 });
        expect(await catalog.completeFile(file, file.contentId, t + 4)).toBe(false);
        expect(await refCount(file.contentId)).toBe(1);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0 });
      });
    });

    describe('pendingFiles', () => {
      it("lists the files waiting for a content, not completed or failed ones, nor other contents'", async () => {
        const { file: owner, content } = await reserve();
        const waiting = await reference(newUserId(), content.contentId, { requireState: 'PENDING', state: 'PENDING' });
        const done = await reference(newUserId(), content.contentId, { requireState: 'PENDING', state: 'PENDING' });
        await catalog.completeFile(done, content.contentId, t + 20);
        await reserve();
        const expected = [owner, waiting].sort(byKey);
        const listed = await eventually(
          () => catalog.pendingFiles(content.contentId),
          (files) => files.length === expected.length && files.every((file) => file.state === 'PENDING'),
        );
        expect([...listed].sort(byKey)).toEqual(expected);
      });
    });

    describe('failAttempt', () => {
      it('ends the attempt and fails its waiting owner file, releasing its reference and usage together', async () => {
        const { file, attempt, content } = await reserve();
        await catalog.failAttempt(content.contentId, attempt, 'content_mismatch', t + 30);
        const after = await catalog.getContent(content.contentId);
        expect(after).toMatchObject({ state: 'PENDING', refCount: 0, updatedAt: t + 30 });
        expect(after?.attempt).toBeUndefined();
        expect(await catalog.getFile(file.userId, file.name)).toEqual({
          ...file,
          state: 'FAILED',
          failure: 'content_mismatch',
          updatedAt: t + 30,
        });
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
        const pending = await eventually(
          () => catalog.pendingFiles(content.contentId),
          (files) => files.length === 0,
        );
        expect(pending).toEqual([]);
      });

      it('only ends the attempt when its owner file was replaced meanwhile', async () => {
        const { file, attempt, content } = await reserve();
        const replacement: FileRecord = { ...file, uploadId: hex(16), updatedAt: t + 5 };
        await catalog.linkFile({
          file: replacement,
          previous: file,
          content: { op: 'reference', requireState: 'PENDING' },
          quota: unlimited,
        });
        await catalog.failAttempt(content.contentId, attempt, 'content_mismatch', t + 30);
        const after = await catalog.getContent(content.contentId);
        expect(after?.attempt).toBeUndefined();
        expect(after?.refCount).toBe(1);
        expect(await catalog.getFile(file.userId, file.name)).toEqual(replacement);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0 });
      });

      it("changes nothing for an attempt that is no longer the content's", async () => {
        const { file, content } = await reserve();
        const before = await catalog.getContent(content.contentId);
        await catalog.failAttempt(content.contentId, attemptFor(file, t + 10), 'content_mismatch', t + 30);
        expect(await catalog.getContent(content.contentId)).toEqual(before);
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
      });
    });

    describe('endAttempt', () => {
      it("ends only the content's current attempt; with onlyIfExpired, only once its lease ran out", async () => {
        const { attempt, content } = await reserve({ leaseUntil: t + 100 });
        expect(await catalog.endAttempt(content.contentId, hex(16), t)).toBe(false);
        expect(await catalog.endAttempt(content.contentId, attempt.id, t + 100, { onlyIfExpired: true })).toBe(false);
        expect((await catalog.getContent(content.contentId))?.attempt).toEqual(attempt);
        expect(await catalog.endAttempt(content.contentId, attempt.id, t + 101, { onlyIfExpired: true })).toBe(true);
        const after = await catalog.getContent(content.contentId);
        expect(after?.attempt).toBeUndefined();
        expect(after?.updatedAt).toBe(t + 101);
        expect(await catalog.endAttempt(content.contentId, attempt.id, t + 102)).toBe(false);
        expect(await catalog.endAttempt(newContentId(), attempt.id, t + 102)).toBe(false);
      });

      it('without onlyIfExpired, ends a live attempt', async () => {
        const { attempt, content } = await reserve({ leaseUntil: t + 100_000 });
        expect(await catalog.endAttempt(content.contentId, attempt.id, t)).toBe(true);
        expect((await catalog.getContent(content.contentId))?.attempt).toBeUndefined();
      });
    });

    describe('deleteUnreferencedPending', () => {
      it('deletes a PENDING content only once nothing references it', async () => {
        const { file, attempt, content } = await reserve();
        expect(await catalog.deleteUnreferencedPending(content.contentId)).toBe(false);
        await catalog.failAttempt(content.contentId, attempt, 'size_mismatch', t + 1);
        expect(await catalog.deleteUnreferencedPending(content.contentId)).toBe(true);
        expect(await catalog.getContent(content.contentId)).toBeUndefined();
        expect(await catalog.deleteUnreferencedPending(content.contentId)).toBe(false);
        expect((await catalog.getFile(file.userId, file.name))?.state).toBe('FAILED');
      });

      it('never deletes a READY content', async () => {
        const { file } = await stored();
        await catalog.deleteFile(file, t + 5);
        expect(await catalog.deleteUnreferencedPending(file.contentId)).toBe(false);
        expect((await catalog.getContent(file.contentId))?.state).toBe('READY');
      });
    });

    describe('the sweeper: candidates and stale files', () => {
      it('offers every content reserved or released since its mark was last moved, and only those', async () => {
        const pending = await reserve();
        const referenced = await stored();
        const unreferenced = await stored();
        await catalog.deleteFile(unreferenced.file, t + 5);
        const deleting = await stored();
        await catalog.deleteFile(deleting.file, t + 5);
        expect(await catalog.beginDelete(deleting.file.contentId, t + 5, t + 6)).toBe(true);
        const ours = new Set([
          pending.content.contentId,
          referenced.file.contentId,
          unreferenced.file.contentId,
          deleting.file.contentId,
        ]);
        const offered = async (now: number) =>
          (await collect(catalog.sweepCandidates(now))).filter((candidate) => ours.has(candidate.content.contentId));
        // Every reservation is marked when made (the referenced one too, until a sweep clears it).
        const first = await offered(t + 10);
        expect(first.map((candidate) => candidate.content.contentId).sort()).toEqual([...ours].sort());
        expect(first.find((candidate) => candidate.content.contentId === pending.content.contentId)?.content).toEqual(
          pending.content,
        );
        const dueOf = (contentId: string) => first.find((candidate) => candidate.content.contentId === contentId)?.due ?? -1;
        // A referenced READY content may leave the index; an unreferenced one may only be put off.
        expect(await catalog.deferSweep(referenced.file.contentId, dueOf(referenced.file.contentId), undefined)).toBe(true);
        expect(await catalog.deferSweep(unreferenced.file.contentId, dueOf(unreferenced.file.contentId), undefined)).toBe(false);
        expect(await catalog.deferSweep(unreferenced.file.contentId, dueOf(unreferenced.file.contentId), t + 1_000)).toBe(true);
        expect(await catalog.deferSweep(pending.content.contentId, dueOf(pending.content.contentId) + 1, t + 1_000)).toBe(false);
        const later = await offered(t + 10);
        expect(later.map((candidate) => candidate.content.contentId).sort()).toEqual(
          [pending.content.contentId, deleting.file.contentId].sort(),
        );
        // Put off until t + 1000; its next release (the referenced one's) marks it again at once.
        expect((await offered(t + 1_000)).map((candidate) => candidate.content.contentId)).toContain(unreferenced.file.contentId);
        await catalog.deleteFile(referenced.file, t + 20);
        expect((await offered(t + 20)).map((candidate) => candidate.content.contentId)).toContain(referenced.file.contentId);
      });

      it('lists waiting files whose last change is older than the bound', async () => {
        const userId = newUserId();
        const old = await reserve({ userId, at: t - 10_000 });
        const recent = await reserve({ userId, at: t });
        const done = await reserve({ userId, at: t - 10_000 });
        await catalog.markReady(done.content.contentId, done.attempt.objectKey, t - 9_000, done.content.size);
        await catalog.completeFile(done.file, done.content.contentId, t - 9_000);
        const ours = async () => (await collect(catalog.stalePendingFiles(t - 5_000))).filter((file) => file.userId === userId);
        const stale = await eventually(ours, (files) => files.length === 1);
        expect(stale).toEqual([old.file]);
        expect(stale.some((file) => file.name === recent.file.name)).toBe(false);
      });
    });

    describe('dropPendingFile', () => {
      it('drops a stale waiting file of an idle upload, releasing its reference and usage together', async () => {
        const { file, content } = await reserve({ at: t - 10_000, leaseUntil: t - 1 });
        expect(await catalog.dropPendingFile(file, t, t - 5_000)).toBe(true);
        expect(await catalog.getFile(file.userId, file.name)).toBeUndefined();
        expect(await catalog.getContent(content.contentId)).toMatchObject({ refCount: 0, updatedAt: t });
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
        expect(await catalog.dropPendingFile(file, t, t - 5_000)).toBe(false);
      });

      it('refuses a file whose content has a live attempt (someone resumed): a moving upload is never dropped', async () => {
        const { file, content } = await reserve({ at: t - 10_000, leaseUntil: t + 60_000 });
        expect(await catalog.dropPendingFile(file, t, t - 5_000)).toBe(false);
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
        expect(await refCount(content.contentId)).toBe(1);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 1, bytes: SIZE, savedBytes: 0 });
      });

      it('drops a stale file of a content with no attempt at all', async () => {
        const { file, attempt, content } = await reserve({ at: t - 10_000 });
        // Another waiting file joins, then the attempt is ended (by the sweeper, say).
        const joiner = await reference(newUserId(), content.contentId, {
          state: 'PENDING',
          requireState: 'PENDING',
          at: t - 9_000,
        });
        expect(await catalog.endAttempt(content.contentId, attempt.id, t - 8_000)).toBe(true);
        expect(await catalog.dropPendingFile(joiner, t, t - 5_000)).toBe(true);
        expect(await catalog.dropPendingFile(file, t, t - 5_000)).toBe(true);
        expect(await refCount(content.contentId)).toBe(0);
      });

      it('drops a stale waiting file of a READY content (a waiter that never proved), keeping the content', async () => {
        const { file, attempt, content } = await reserve({ at: t - 10_000, leaseUntil: t - 1 });
        const waiter = await reference(newUserId(), content.contentId, {
          state: 'PENDING',
          requireState: 'PENDING',
          at: t - 9_000,
        });
        expect(await catalog.markReady(content.contentId, attempt.objectKey, t - 8_000, content.size)).toBe(true);
        expect(await catalog.completeFile(file, content.contentId, t - 8_000)).toBe(true);
        expect(await catalog.dropPendingFile(waiter, t, t - 5_000)).toBe(true);
        expect(await catalog.getFile(waiter.userId, waiter.name)).toBeUndefined();
        expect(await catalog.getContent(content.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
        expect(await catalog.getUsage(waiter.userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
      });

      it('refuses a file changed since it was read or since the bound, and one not waiting', async () => {
        const { file } = await reserve({ at: t - 10_000, leaseUntil: t - 1 });
        expect(await catalog.dropPendingFile(file, t, t - 20_000)).toBe(false);
        expect(await catalog.dropPendingFile({ ...file, uploadId: hex(16) }, t, t - 5_000)).toBe(false);
        expect(await catalog.dropPendingFile({ ...file, contentId: newContentId() }, t, t - 5_000)).toBe(false);
        expect(await catalog.getFile(file.userId, file.name)).toEqual(file);
        const { file: done } = await stored();
        expect(await catalog.dropPendingFile(done, t + 100_000, t + 100_000)).toBe(false);
        expect(await catalog.dropPendingFile({ ...done, state: 'PENDING' }, t + 100_000, t + 100_000)).toBe(false);
        expect(await catalog.getFile(done.userId, done.name)).toEqual(done);
      });
    });

    describe('a replacement and the version it falls back to (file-versions.ts)', () => {
      /**
       * `v1` COMPLETE under a name, then a new PENDING upload of another content over it that
       * keeps v1 as `previous`: what a miss over an existing file writes.
       */
      async function replacing(options: { at?: number; leaseUntil?: number; size?: number } = {}) {
        const at = options.at ?? t;
        const { file: v1 } = await stored();
        const upload = fileRecord({
          userId: v1.userId,
          name: v1.name,
          contentId: newContentId(),
          updatedAt: at,
          size: options.size ?? 700,
          previous: {
            contentId: v1.contentId,
            size: v1.size,
            uploadId: v1.uploadId,
            createdAt: v1.createdAt,
            updatedAt: v1.updatedAt,
          },
        });
        const attempt = attemptFor(upload, options.leaseUntil ?? at + 60_000);
        const record: ContentRecord = {
          contentId: upload.contentId,
          size: upload.size,
          state: 'PENDING',
          refCount: 1,
          attempt,
          createdAt: at,
          updatedAt: at,
        };
        await catalog.linkFile({ file: upload, previous: v1, content: { op: 'create', record }, quota: unlimited });
        return { v1, upload, attempt };
      }

      it('linking keeps the previous version referenced and counts both', async () => {
        const { v1, upload } = await replacing();
        expect(await catalog.getFile(upload.userId, upload.name)).toEqual(upload);
        expect(await refCount(v1.contentId)).toBe(1);
        expect(await refCount(upload.contentId)).toBe(1);
        expect(await catalog.getUsage(v1.userId)).toMatchObject({ files: 1, bytes: SIZE + 700 });
      });

      it('the quota guard counts both versions', async () => {
        const { file: v1 } = await stored();
        const upload = fileRecord({
          userId: v1.userId,
          name: v1.name,
          contentId: newContentId(),
          updatedAt: t,
          size: 700,
          previous: {
            contentId: v1.contentId,
            size: v1.size,
            uploadId: v1.uploadId,
            createdAt: v1.createdAt,
            updatedAt: v1.updatedAt,
          },
        });
        const record: ContentRecord = {
          contentId: upload.contentId,
          size: 700,
          state: 'PENDING',
          refCount: 1,
          createdAt: t,
          updatedAt: t,
        };
        const tight: QuotaGuard = { maxBytes: SIZE + 699, override: undefined };
        const refused = catalog.linkFile({ file: upload, previous: v1, content: { op: 'create', record }, quota: tight });
        expect(await rejection(refused)).toBeInstanceOf(StaleWriteError);
        expect(await catalog.getFile(v1.userId, v1.name)).toEqual(v1);
        expect(await catalog.getContent(upload.contentId)).toBeUndefined();
      });

      it('completing releases the previous version in the same write', async () => {
        const { v1, upload } = await replacing();
        expect(await catalog.completeFile(upload, upload.contentId, t + 5)).toBe(true);
        const { previous: _released, ...rest } = upload;
        expect(await catalog.getFile(upload.userId, upload.name)).toEqual({ ...rest, state: 'COMPLETE', updatedAt: t + 5 });
        expect(await refCount(v1.contentId)).toBe(0);
        expect(await catalog.getUsage(v1.userId)).toMatchObject({ files: 1, bytes: 700 });
        expect(await catalog.completeFile(upload, upload.contentId, t + 6)).toBe(false);
      });

      it('a failed attempt puts the previous version back, exactly, and remembers the failed upload', async () => {
        const { v1, upload, attempt } = await replacing();
        await catalog.failAttempt(upload.contentId, attempt, 'content_mismatch', t + 5);
        expect(await catalog.getFile(v1.userId, v1.name)).toEqual({
          ...v1,
          failedUpload: {
            uploadId: upload.uploadId,
            contentId: upload.contentId,
            size: 700,
            failure: 'content_mismatch',
            failedAt: t + 5,
          },
        });
        expect(await catalog.getContent(upload.contentId)).toMatchObject({ refCount: 0 });
        expect((await catalog.getContent(upload.contentId))?.attempt).toBeUndefined();
        expect(await refCount(v1.contentId)).toBe(1);
        expect(await catalog.getUsage(v1.userId)).toMatchObject({ files: 1, bytes: SIZE });
      });

      it('a failed waiting file puts the previous version back too', async () => {
        const { v1, upload } = await replacing();
        expect(await catalog.failPendingFile(upload, 'size_mismatch', t + 5)).toBe(true);
        expect(await catalog.getFile(v1.userId, v1.name)).toMatchObject({ ...v1, failedUpload: { failure: 'size_mismatch' } });
        expect(await refCount(upload.contentId)).toBe(0);
        expect(await refCount(v1.contentId)).toBe(1);
        expect(await catalog.getUsage(v1.userId)).toMatchObject({ files: 1, bytes: SIZE });
        expect(await catalog.failPendingFile(upload, 'size_mismatch', t + 6)).toBe(false);
      });

      it('a dropped (abandoned) replacement puts the previous version back, with no failure to report', async () => {
        const { v1, upload } = await replacing({ at: t - 10_000, leaseUntil: t - 1 });
        expect(await catalog.dropPendingFile(upload, t, t - 5_000)).toBe(true);
        expect(await catalog.getFile(v1.userId, v1.name)).toEqual(v1);
        expect(await refCount(upload.contentId)).toBe(0);
        expect(await refCount(v1.contentId)).toBe(1);
        expect(await catalog.getUsage(v1.userId)).toMatchObject({ files: 1, bytes: SIZE });
        expect(await catalog.pendingFiles(upload.contentId)).toEqual([]);
      });

      it('a cancelled replacement puts the previous version back; a cancelled new file is deleted', async () => {
        const { v1, upload } = await replacing();
        expect(await catalog.cancelPendingFile(upload, t + 5)).toBe(true);
        expect(await catalog.getFile(v1.userId, v1.name)).toEqual(v1);
        expect(await refCount(upload.contentId)).toBe(0);
        expect(await catalog.getUsage(v1.userId)).toMatchObject({ files: 1, bytes: SIZE });
        expect(await catalog.cancelPendingFile(upload, t + 6)).toBe(false);

        const { file, content } = await reserve();
        expect(await catalog.cancelPendingFile(file, t + 5)).toBe(true);
        expect(await catalog.getFile(file.userId, file.name)).toBeUndefined();
        expect(await refCount(content.contentId)).toBe(0);
        expect(await catalog.getUsage(file.userId)).toMatchObject({ files: 0, bytes: 0 });
      });

      it('deleting it, or renaming a file over it, releases both versions', async () => {
        const first = await replacing();
        await catalog.deleteFile(first.upload, t + 5);
        expect(await refCount(first.v1.contentId)).toBe(0);
        expect(await refCount(first.upload.contentId)).toBe(0);
        expect(await catalog.getUsage(first.v1.userId)).toMatchObject({ files: 0, bytes: 0 });

        const second = await replacing();
        const other = await reference(second.v1.userId, second.v1.contentId, { name: `other-${hex(4)}`, size: SIZE });
        await catalog.renameFile({
          from: other,
          to: { ...other, name: second.v1.name, updatedAt: t + 5 },
          overwritten: second.upload,
        });
        expect(await refCount(second.upload.contentId)).toBe(0);
        // v1's content keeps one reference: the renamed file's own.
        expect(await refCount(second.v1.contentId)).toBe(1);
        expect(await catalog.getUsage(second.v1.userId)).toMatchObject({ files: 1, bytes: SIZE });
      });
    });

    describe('beginDelete and deleteDeleting', () => {
      async function unreferenced() {
        const { file, objectKey } = await stored();
        await catalog.deleteFile(file, t + 5);
        const content = await catalog.getContent(file.contentId);
        if (!content) throw new Error('the content is gone');
        return { content, objectKey };
      }

      it('READY → DELETING only while unreferenced and unchanged since seen; then the record goes', async () => {
        const { content } = await unreferenced();
        expect(await catalog.beginDelete(content.contentId, content.updatedAt - 1, t + 10)).toBe(false);
        expect(await catalog.deleteDeleting(content.contentId)).toBe(false);
        expect(await catalog.beginDelete(content.contentId, content.updatedAt, t + 10)).toBe(true);
        expect(await catalog.getContent(content.contentId)).toMatchObject({ state: 'DELETING', updatedAt: t + 10, refCount: 0 });
        expect(await catalog.beginDelete(content.contentId, t + 10, t + 11)).toBe(false);
        expect(await catalog.deleteDeleting(content.contentId)).toBe(true);
        expect(await catalog.getContent(content.contentId)).toBeUndefined();
        expect(await catalog.deleteDeleting(content.contentId)).toBe(false);
      });

      it('refuses a referenced or PENDING content, and one relinked since it was seen', async () => {
        const { file } = await stored();
        const seen = await catalog.getContent(file.contentId);
        expect(await catalog.beginDelete(file.contentId, seen?.updatedAt ?? 0, t + 10)).toBe(false);
        const pending = await reserve();
        await catalog.failAttempt(pending.content.contentId, pending.attempt, 'size_mismatch', t + 1);
        expect(await catalog.beginDelete(pending.content.contentId, t + 1, t + 10)).toBe(false);

        const { content } = await unreferenced();
        const relinked = await reference(newUserId(), content.contentId);
        await catalog.deleteFile(relinked, t + 20);
        expect(await catalog.getContent(content.contentId)).toMatchObject({ refCount: 0 });
        // Unreferenced again, but not the record the sweeper saw: the grace period restarts.
        expect(await catalog.beginDelete(content.contentId, content.updatedAt, t + 30)).toBe(false);
      });

      it('a DELETING content refuses new links', async () => {
        const { content } = await unreferenced();
        expect(await catalog.beginDelete(content.contentId, content.updatedAt, t + 10)).toBe(true);
        const userId = newUserId();
        expect(await rejection(reference(userId, content.contentId, { requireState: 'READY' }))).toBeInstanceOf(StaleWriteError);
        expect(await catalog.getUsage(userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
        expect(await refCount(content.contentId)).toBe(0);
      });
    });

    describe('listFiles', () => {
      /** Names out of order; their UTF-8 byte order (DynamoDB's) differs from JavaScript's `<` for the last two. */
      const names = ['z', '😀', 'b/d', 'é', 'B', 'a', '\uFF5E', 'b/c'];
      const inOrder = ['B', 'a', 'b/c', 'b/d', 'z', 'é', '\uFF5E', '😀'];

      async function userWithFiles(): Promise<string> {
        const { file } = await stored({ name: names[0] });
        for (const name of names.slice(1)) await reference(file.userId, file.contentId, { name });
        // Reserved items of the user: the usage item (written above) and an answered challenge.
        await catalog.consumeChallenge(file.userId, hex(16), t + 60_000);
        await catalog.setQuota(file.userId, 10 ** 12);
        return file.userId;
      }

      async function everyPage(userId: string, options: { prefix?: string; limit: number }) {
        const pages: string[][] = [];
        let cursor: string | undefined;
        do {
          const page = await catalog.listFiles(userId, { ...options, ...(cursor ? { cursor } : {}) });
          expect(page.files.length).toBeLessThanOrEqual(options.limit);
          pages.push(page.files.map((file) => file.name));
          cursor = page.cursor;
        } while (cursor && pages.length < 20);
        return pages;
      }

      it('lists files in UTF-8 byte order, page by page, never the reserved items', async () => {
        const userId = await userWithFiles();
        const all = await catalog.listFiles(userId, { limit: 100 });
        expect(all.files.map((file) => file.name)).toEqual(inOrder);
        expect(all.cursor).toBeUndefined();
        expect(all.files.every((file) => file.userId === userId && file.state === 'COMPLETE')).toBe(true);

        const pages = await everyPage(userId, { limit: 3 });
        expect(pages.slice(0, 3)).toEqual([inOrder.slice(0, 3), inOrder.slice(3, 6), inOrder.slice(6)]);
        expect(pages.flat()).toEqual(inOrder);
      });

      it('a page that fills its limit may carry a cursor; following it never repeats or loses a file', async () => {
        const userId = await userWithFiles();
        const pages = await everyPage(userId, { limit: 4 });
        expect(pages.flat()).toEqual(inOrder);
        // Either two pages, or two and an empty last one (DynamoDB stops at the limit before it looks further).
        expect(pages.slice(2).flat()).toEqual([]);
      });

      it('lists by prefix, with paging', async () => {
        const userId = await userWithFiles();
        expect((await catalog.listFiles(userId, { prefix: 'b/', limit: 10 })).files.map((file) => file.name)).toEqual([
          'b/c',
          'b/d',
        ]);
        const pages = await everyPage(userId, { prefix: 'b', limit: 1 });
        expect(pages.flat()).toEqual(['b/c', 'b/d']);
        expect(pages[0]).toEqual(['b/c']);
        expect((await catalog.listFiles(userId, { prefix: 'nothing', limit: 10 })).files).toEqual([]);
      });

      it("refuses a cursor it did not issue, or another user's", async () => {
        const userId = await userWithFiles();
        const first = await catalog.listFiles(userId, { limit: 2 });
        expect(first.cursor).toEqual(expect.any(String));
        for (const cursor of ['not-a-cursor', Buffer.from('{"userId":1}').toString('base64url')]) {
          const error = await rejection(catalog.listFiles(userId, { limit: 2, cursor }));
          expect(error).toBeInstanceOf(ValidationError);
          expect(error).toMatchObject({ code: 'invalid_cursor' });
        }
        const foreign = await rejection(catalog.listFiles(newUserId(), { limit: 2, cursor: first.cursor ?? '' }));
        expect(foreign).toMatchObject({ code: 'invalid_cursor' });
      });

      it('refuses a forged cursor of its own user that no listing could have issued, before any query', async () => {
        const userId = await userWithFiles();
        const forged = (name: unknown) => Buffer.from(JSON.stringify({ userId, name })).toString('base64url');
        for (const [cursor, prefix] of [
          [forged('x'.repeat(2000)), undefined],
          // 1,026 bytes in 342 characters: DynamoDB's sort key limit is in bytes.
          [forged('€'.repeat(342)), undefined],
          [forged('a\ud800'), undefined],
          [forged('\u0000usage'), undefined],
          // Outside the key condition: DynamoDB answers "the provided starting key does not match".
          [forged('a'), 'b/'],
          [forged('z'), 'b/'],
        ] as const) {
          const error = await rejection(catalog.listFiles(userId, { limit: 2, cursor, ...(prefix ? { prefix } : {}) }));
          expect(error, `${cursor} ${prefix}`).toMatchObject({ code: 'invalid_cursor' });
        }
        // A name of exactly 1,024 bytes under the prefix is a start key like any other.
        const longest = `b/${'€'.repeat(340)}ab`;
        expect(new TextEncoder().encode(longest)).toHaveLength(1024);
        expect((await catalog.listFiles(userId, { limit: 2, prefix: 'b/', cursor: forged(longest) })).files).toEqual([]);
        expect(
          (await catalog.listFiles(userId, { limit: 2, prefix: 'b/', cursor: forged('b/c') })).files.map((f) => f.name),
        ).toEqual(['b/d']);
      });
    });

    describe('races', () => {
      it('of concurrent reservations of one new content, exactly one wins; the others lose with StaleWriteError', async () => {
        const contentId = newContentId();
        const results = await Promise.allSettled(Array.from({ length: 8 }, () => reserve({ contentId })));
        const winners = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
        expect(winners).toHaveLength(1);
        for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(StaleWriteError);
        expect(await catalog.getContent(contentId)).toEqual(winners[0]?.content);
      });

      it('concurrent links to one content: refCount counts exactly the links that succeeded', async () => {
        const { file } = await stored();
        const users = Array.from({ length: 8 }, () => newUserId());
        const results = await Promise.allSettled(users.map((userId) => reference(userId, file.contentId)));
        for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(StaleWriteError);
        const linked = results.filter((result) => result.status === 'fulfilled').length;
        expect(linked).toBeGreaterThanOrEqual(1);
        expect(await refCount(file.contentId)).toBe(1 + linked);
        const usages = await Promise.all(users.map((userId) => catalog.getUsage(userId)));
        expect(usages.reduce((sum, usage) => sum + usage.files, 0)).toBe(linked);
      });

      it('of concurrent deletes of one file, one releases its reference', async () => {
        const { file } = await stored();
        await reference(newUserId(), file.contentId);
        const results = await Promise.allSettled(Array.from({ length: 4 }, () => catalog.deleteFile(file, t + 300)));
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        expect(await refCount(file.contentId)).toBe(1);
        expect(await catalog.getUsage(file.userId)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
      });
    });
  });
}
