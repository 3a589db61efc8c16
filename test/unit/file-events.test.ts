/**
 * domain/file-events.ts: the events of each change a Files-table item goes through, built with the
 * same helpers the catalogs apply (domain/file-versions.ts), so a change here is one they make.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fileEvents, mayBeRenameSource } from '#domain/file-events';
import { completedUpload, endedUpload } from '#domain/file-versions';
import { renameFile } from '#domain/files';
import type { FileRecord } from '#domain/ports';
import type { FileEvent } from '#protocol/events';
import { complete, hex, moved, T0, upload } from '../support/file-records.ts';
import { localFile, memoryWorld, upload as uploadBytes } from '../support/memory-deps.ts';

const change = { changeId: 'rec-1', committedAt: T0 };

/** An instant upload's record (domain/uploads.ts: the hit path). */
const instant = (overrides: Partial<FileRecord> = {}): FileRecord => ({
  ...upload(undefined),
  state: 'COMPLETE',
  deduplicated: true,
  uploadId: 'u-hit',
  ...overrides,
});

const types = (events: FileEvent[]) => events.map((event) => event.type);

describe('fileEvents', () => {
  it('every event carries the schema version, an id derived from the change and its time', () => {
    const [event] = fileEvents(undefined, complete(), change);
    expect(event).toMatchObject({ version: '1', eventId: 'rec-1:file.completed', time: '2026-01-02T03:04:05.000Z' });
  });

  it('a miss: nothing while PENDING, then file.completed (not deduplicated)', () => {
    const pending = upload(undefined);
    expect(fileEvents(undefined, pending, change)).toEqual([]);
    const events = fileEvents(pending, completedUpload(pending, T0), change);
    expect(events).toEqual([
      {
        type: 'file.completed',
        version: '1',
        eventId: 'rec-1:file.completed',
        time: new Date(T0).toISOString(),
        userId: 'alice',
        name: 'a.bin',
        size: 20,
        contentId: hex('b'),
        uploadId: 'u-new',
        deduplicated: false,
      },
    ]);
  });

  it('an instant upload: file.completed, deduplicated, with its content type', () => {
    const [event] = fileEvents(undefined, instant({ contentType: 'image/png' }), change);
    expect(event).toMatchObject({ type: 'file.completed', deduplicated: true, contentType: 'image/png', uploadId: 'u-hit' });
    expect(event).not.toHaveProperty('replacedContentId');
  });

  it('an instant upload over a COMPLETE file names the content it replaced', () => {
    const events = fileEvents(complete(), instant(), change);
    expect(events).toEqual([
      expect.objectContaining({ type: 'file.completed', deduplicated: true, replacedContentId: hex('a') }),
    ]);
  });

  it('a replacement completing names the version it replaced', () => {
    const replacing = upload(complete());
    expect(fileEvents(complete(), replacing, change)).toEqual([]);
    const events = fileEvents(replacing, completedUpload(replacing, T0), change);
    expect(events).toEqual([
      expect.objectContaining({ type: 'file.completed', uploadId: 'u-new', contentId: hex('b'), replacedContentId: hex('a') }),
    ]);
  });

  it('a failed replacement: upload.failed with its reason, and no file.completed for the restored version', () => {
    const old = complete({ deduplicated: true });
    const replacing = upload(old);
    const restored = endedUpload(replacing, T0, 'content_mismatch');
    expect(restored).toMatchObject({ state: 'COMPLETE', uploadId: 'u-old', deduplicated: true });
    expect(fileEvents(replacing, restored, change)).toEqual([
      expect.objectContaining({ type: 'upload.failed', uploadId: 'u-new', failure: 'content_mismatch', contentId: hex('b') }),
    ]);
  });

  it('an abandoned replacement (cancelled, swept): upload.failed upload_abandoned', () => {
    const replacing = upload(complete());
    const restored = endedUpload(replacing, T0, undefined);
    expect(fileEvents(replacing, restored, change)).toEqual([
      expect.objectContaining({ type: 'upload.failed', uploadId: 'u-new', failure: 'upload_abandoned' }),
    ]);
  });

  it('a restored version still remembering an older failure reports this upload as abandoned', () => {
    const old = complete({
      failedUpload: { uploadId: 'u-older', contentId: hex('c'), size: 3, failure: 'size_mismatch', failedAt: 1 },
    });
    const replacing = upload(old);
    const restored = { ...endedUpload(replacing, T0, undefined), failedUpload: old.failedUpload } as FileRecord;
    expect(fileEvents(replacing, restored, change)).toEqual([
      expect.objectContaining({ type: 'upload.failed', uploadId: 'u-new', failure: 'upload_abandoned' }),
    ]);
  });

  it('a new name whose bytes were rejected: upload.failed with the FAILED record’s reason', () => {
    const pending = upload(undefined);
    const failed = endedUpload(pending, T0, 'size_mismatch');
    expect(fileEvents(pending, failed, change)).toEqual([
      expect.objectContaining({ type: 'upload.failed', uploadId: 'u-new', failure: 'size_mismatch', name: 'a.bin' }),
    ]);
    // Deleting the FAILED file afterwards reports nothing more.
    expect(fileEvents(failed, undefined, change)).toEqual([]);
  });

  it('a new name cancelled, swept or deleted before completing: upload.failed upload_abandoned only', () => {
    const pending = upload(undefined);
    expect(endedUpload(pending, T0, undefined)).toBeUndefined();
    expect(fileEvents(pending, undefined, change)).toEqual([
      expect.objectContaining({ type: 'upload.failed', failure: 'upload_abandoned', uploadId: 'u-new' }),
    ]);
  });

  it('a COMPLETE file deleted: file.deleted', () => {
    expect(fileEvents(complete(), undefined, change)).toEqual([
      {
        type: 'file.deleted',
        version: '1',
        eventId: 'rec-1:file.deleted',
        time: new Date(T0).toISOString(),
        userId: 'alice',
        name: 'a.bin',
        size: 10,
        contentId: hex('a'),
        uploadId: 'u-old',
      },
    ]);
  });

  it('a file deleted mid-replacement: the served version is deleted and the upload abandoned', () => {
    const replacing = upload(complete());
    const events = fileEvents(replacing, undefined, change);
    expect(types(events)).toEqual(['upload.failed', 'file.deleted']);
    expect(events[0]).toMatchObject({ uploadId: 'u-new', failure: 'upload_abandoned' });
    expect(events[1]).toMatchObject({ uploadId: 'u-old', contentId: hex('a'), size: 10 });
  });

  it('a rename: file.renamed at the new name, nothing for the source it moved away from', () => {
    const source = complete();
    const target = moved(source, 'b.bin');
    expect(fileEvents(undefined, target, change)).toEqual([
      {
        type: 'file.renamed',
        version: '1',
        eventId: 'rec-1:file.renamed',
        time: new Date(T0).toISOString(),
        userId: 'alice',
        from: 'a.bin',
        to: 'b.bin',
        size: 10,
        contentId: hex('a'),
        uploadId: 'u-old',
      },
    ]);
    expect(mayBeRenameSource(source, undefined)).toBe(true);
    expect(fileEvents(source, undefined, { ...change, renamedAway: true })).toEqual([]);
  });

  it('a rename with overwrite names the overwritten content; onto a replacement in flight, that upload is superseded', () => {
    const target = moved(complete(), 'b.bin');
    const overwritten = complete({ name: 'b.bin', contentId: hex('d'), uploadId: 'u-b' });
    expect(fileEvents(overwritten, target, change)).toEqual([
      expect.objectContaining({ type: 'file.renamed', replacedContentId: hex('d') }),
    ]);
    const inFlight = upload(overwritten, { name: 'b.bin' });
    const events = fileEvents(inFlight, target, change);
    expect(types(events)).toEqual(['upload.failed', 'file.renamed']);
    expect(events[0]).toMatchObject({ uploadId: 'u-new', failure: 'upload_superseded' });
    expect(events[1]).toMatchObject({ replacedContentId: hex('d') });
  });

  it('renaming a renamed file again reports the second rename', () => {
    const first = moved(complete(), 'b.bin');
    const second = moved(first, 'c.bin');
    expect(fileEvents(undefined, second, change)).toEqual([expect.objectContaining({ type: 'file.renamed', from: 'b.bin' })]);
    // Back onto its first name, with the same upload: still a rename of its own.
    const back = moved(second, 'a.bin');
    expect(types(fileEvents(undefined, back, change))).toEqual(['file.renamed']);
  });

  it('an upload over a renamed file does not report the rename again', () => {
    const renamed = moved(complete(), 'a.bin');
    const replacing = upload(renamed);
    expect(replacing.previous).not.toHaveProperty('renamed');
    expect(fileEvents(renamed, replacing, change)).toEqual([]);
    const done = completedUpload(replacing, T0);
    expect(done).not.toHaveProperty('renamed');
    expect(fileEvents(replacing, done, change)).toEqual([
      expect.objectContaining({ type: 'file.completed', replacedContentId: hex('a') }),
    ]);
    // A failed one returns the version without its mark: no second file.renamed.
    const restored = endedUpload(replacing, T0, 'content_mismatch');
    expect(types(fileEvents(replacing, restored, change))).toEqual(['upload.failed']);
    // An instant upload over it.
    expect(types(fileEvents(renamed, instant(), change))).toEqual(['file.completed']);
  });

  it('a rewrite of the same COMPLETE version, renamed or not, reports nothing', () => {
    expect(fileEvents(complete(), complete({ updatedAt: T0 }), change)).toEqual([]);
    const renamed = moved(complete(), 'b.bin');
    expect(fileEvents(renamed, { ...renamed }, change)).toEqual([]);
  });

  it('another upload over a pending one supersedes it; a PENDING file asking again changes nothing', () => {
    const first = upload(complete());
    const second = upload(first, { uploadId: 'u-newer', contentId: hex('e') });
    expect(second.previous?.uploadId).toBe('u-old');
    expect(fileEvents(first, second, change)).toEqual([
      expect.objectContaining({ type: 'upload.failed', uploadId: 'u-new', failure: 'upload_superseded' }),
    ]);
    expect(fileEvents(first, { ...first, updatedAt: T0 }, change)).toEqual([]);
  });

  it('an instant upload over a pending replacement: that upload superseded, the served version replaced', () => {
    const replacing = upload(complete());
    const events = fileEvents(replacing, instant(), change);
    expect(types(events)).toEqual(['upload.failed', 'file.completed']);
    expect(events[0]).toMatchObject({ failure: 'upload_superseded', uploadId: 'u-new' });
    expect(events[1]).toMatchObject({ deduplicated: true, replacedContentId: hex('a') });
  });

  it('only a removed COMPLETE file may be a rename source', () => {
    expect(mayBeRenameSource(upload(complete()), undefined)).toBe(false);
    expect(mayBeRenameSource(complete(), complete())).toBe(false);
    expect(mayBeRenameSource(undefined, undefined)).toBe(false);
  });
});

describe('what the domain writes for the stream to read', () => {
  it('an instant upload is marked deduplicated, a miss is not; a rename marks the moved file, strictly later', async () => {
    const w = memoryWorld({ settings: { proofMode: 'off' } });
    const bytes = localFile(randomBytes(100));
    await uploadBytes(w, 'alice', 'a.bin', bytes);
    await uploadBytes(w, 'bob', 'b.bin', bytes);
    const miss = await w.catalog.getFile('alice', 'a.bin');
    expect(miss).toMatchObject({ state: 'COMPLETE' });
    expect(miss).not.toHaveProperty('deduplicated');
    expect(await w.catalog.getFile('bob', 'b.bin')).toMatchObject({ state: 'COMPLETE', deduplicated: true });

    if (!miss) throw new Error('no file');
    await renameFile(w.deps, 'alice', 'a.bin', { to: 'c.bin', overwrite: false });
    const moved = await w.catalog.getFile('alice', 'c.bin');
    expect(moved?.updatedAt).toBeGreaterThan(miss.updatedAt);
    expect(moved).toMatchObject({ renamed: { from: 'a.bin', at: moved?.updatedAt }, uploadId: miss.uploadId });
    expect(await w.catalog.renamedAway(miss)).toBe(true);
  });
});
