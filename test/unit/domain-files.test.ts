/** A user's files after upload (list, download, rename, delete, usage), on the in-memory adapters. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '#domain/errors';
import { deleteFile, getFileDownload, listFiles, renameFile, usageOf } from '#domain/files';
import { requestUpload } from '#domain/uploads';
import { expectStatus, localFile, type MemoryWorld, memoryWorld, requestFor, upload } from '../support/memory-deps.ts';

async function world(): Promise<MemoryWorld & { contentOf: (name: string) => Promise<string> }> {
  const w = memoryWorld({ settings: { proofMode: 'off' } });
  const contentOf = async (name: string) => (await w.catalog.getFile('alice', name))?.contentId ?? '';
  return { ...w, contentOf };
}

const refCount = async (w: MemoryWorld, contentId: string) => (await w.catalog.getContent(contentId))?.refCount;

describe('renameFile', () => {
  it("moves a file; its content's refCount and the user's usage stay", async () => {
    const w = await world();
    await upload(w, 'alice', 'notes.txt', localFile(randomBytes(100)));
    const contentId = await w.contentOf('notes.txt');
    const moved = await renameFile(w.deps, 'alice', 'notes.txt', { to: 'archive/notes.txt', overwrite: false });
    expect(moved).toMatchObject({ name: 'archive/notes.txt', contentId, state: 'COMPLETE' });
    expect(await w.catalog.getFile('alice', 'notes.txt')).toBeUndefined();
    expect(await refCount(w, contentId)).toBe(1);
    expect(await usageOf(w.deps, 'alice')).toMatchObject({ files: 1, bytes: 100 });
  });

  it('refuses a taken name unless asked to overwrite; overwriting releases the replaced content', async () => {
    const w = await world();
    await upload(w, 'alice', 'a', localFile(randomBytes(100)));
    await upload(w, 'alice', 'b', localFile(randomBytes(40)));
    const [a, b] = [await w.contentOf('a'), await w.contentOf('b')];
    const refused = renameFile(w.deps, 'alice', 'a', { to: 'b', overwrite: false });
    await expect(refused).rejects.toBeInstanceOf(ConflictError);
    await expect(refused).rejects.toMatchObject({ code: 'file_exists' });
    await renameFile(w.deps, 'alice', 'a', { to: 'b', overwrite: true });
    expect(await w.contentOf('b')).toBe(a);
    expect(await refCount(w, a)).toBe(1);
    expect(await refCount(w, b)).toBe(0);
    expect(await usageOf(w.deps, 'alice')).toMatchObject({ files: 1, bytes: 100 });
  });

  it('overwriting a file of the same content leaves one reference per file', async () => {
    const w = await world();
    const file = localFile(randomBytes(100));
    await upload(w, 'alice', 'a', file);
    await upload(w, 'alice', 'b', file);
    expect(await refCount(w, file.contentId)).toBe(2);
    await renameFile(w.deps, 'alice', 'a', { to: 'b', overwrite: true });
    expect(await refCount(w, file.contentId)).toBe(1);
    expect(await usageOf(w.deps, 'alice')).toMatchObject({ files: 1, bytes: 100 });
  });

  it('refuses an upload in progress, a missing file and a rename onto itself', async () => {
    const w = await world();
    const file = localFile(randomBytes(100));
    expectStatus(await requestUpload(w.deps, 'alice', requestFor(file, 'moving')), 'upload');
    await expect(renameFile(w.deps, 'alice', 'moving', { to: 'x', overwrite: false })).rejects.toMatchObject({
      code: 'file_not_complete',
    });
    await expect(renameFile(w.deps, 'alice', 'nothing', { to: 'x', overwrite: false })).rejects.toBeInstanceOf(NotFoundError);
    expect(() => renameFile(w.deps, 'alice', 'moving', { to: 'moving', overwrite: true })).toThrow(ValidationError);
  });
});

describe('deleteFile', () => {
  it('removes the file and its reference in one step; the bytes stay for the sweeper', async () => {
    const w = await world();
    const file = localFile(randomBytes(100));
    await upload(w, 'alice', 'a', file);
    await upload(w, 'bob', 'b', file);
    await deleteFile(w.deps, 'alice', 'a');
    expect(await w.catalog.getFile('alice', 'a')).toBeUndefined();
    expect(await w.catalog.getContent(file.contentId)).toMatchObject({ refCount: 1, state: 'READY' });
    expect(await usageOf(w.deps, 'alice')).toMatchObject({ files: 0, bytes: 0 });
    await deleteFile(w.deps, 'bob', 'b');
    expect(await refCount(w, file.contentId)).toBe(0);
    expect(w.blobs.keys()).toHaveLength(1);
    await expect(deleteFile(w.deps, 'bob', 'b')).rejects.toMatchObject({ code: 'file_not_found' });
  });

  it('deleting an upload in progress releases its reservation', async () => {
    const w = await world();
    const file = localFile(randomBytes(100));
    expectStatus(await requestUpload(w.deps, 'alice', requestFor(file, 'moving')), 'upload');
    await deleteFile(w.deps, 'alice', 'moving');
    expect(await w.catalog.getContent(file.contentId)).toMatchObject({ state: 'PENDING', refCount: 0 });
    expect(await usageOf(w.deps, 'alice')).toMatchObject({ files: 0, bytes: 0 });
  });
});

describe('usage, listing and download', () => {
  it('reports files, logical bytes, bytes spared by deduplication and the quota that applies', async () => {
    const w = await world();
    const file = localFile(randomBytes(1000));
    await upload(w, 'alice', 'a', file);
    await upload(w, 'bob', 'b', file);
    expect(await usageOf(w.deps, 'bob')).toEqual({
      files: 1,
      bytes: 1000,
      savedBytes: 1000,
      quotaBytes: w.deps.settings.defaultQuotaBytes,
    });
    await w.catalog.setQuota('bob', 5000);
    expect(await usageOf(w.deps, 'bob')).toMatchObject({ quotaBytes: 5000 });
  });

  it('pages through files by name with an opaque cursor, filtered by prefix', async () => {
    const w = await world();
    for (const name of ['c', 'a', 'dir/x', 'b', 'dir/y']) await upload(w, 'alice', name, localFile(randomBytes(10)));
    const first = await listFiles(w.deps, 'alice', { limit: 2 });
    expect(first.files.map((file) => file.name)).toEqual(['a', 'b']);
    const second = await listFiles(w.deps, 'alice', { limit: 2, cursor: first.cursor ?? '' });
    expect(second.files.map((file) => file.name)).toEqual(['c', 'dir/x']);
    const dir = await listFiles(w.deps, 'alice', { limit: 10, prefix: 'dir/' });
    expect(dir.files.map((file) => file.name)).toEqual(['dir/x', 'dir/y']);
    expect(dir.cursor).toBeUndefined();
    await expect(listFiles(w.deps, 'bob', { limit: 2, cursor: first.cursor ?? '' })).rejects.toMatchObject({
      code: 'invalid_cursor',
    });
  });

  it('a COMPLETE file downloads with a presigned GET that storage serves; others are not ready', async () => {
    const w = await world();
    const file = localFile(randomBytes(1000));
    await upload(w, 'alice', 'docs/report.pdf', file);
    const { download } = await getFileDownload(w.deps, 'alice', 'docs/report.pdf');
    const response = await w.blobs.send({ url: download.url, method: 'GET', headers: {} });
    expect(response.status).toBe(200);
    expect(Buffer.from(response.body).equals(Buffer.from(file.bytes))).toBe(true);
    expect(response.headers['content-disposition']).toContain('filename="report.pdf"');

    expectStatus(await requestUpload(w.deps, 'alice', requestFor(localFile(randomBytes(10)), 'moving')), 'upload');
    await expect(getFileDownload(w.deps, 'alice', 'moving')).rejects.toMatchObject({ code: 'file_not_ready' });
    await expect(getFileDownload(w.deps, 'bob', 'docs/report.pdf')).rejects.toMatchObject({ code: 'file_not_found' });
  });
});
