/**
 * A file's life after upload, against the real local stack: listing in pages, resumable
 * downloads, rename, delete, usage and quota, each keeping refCounts and usage exact.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ListPartsCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { MiB } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import { encodeFileRef } from '#protocol/file-ref';
import { ApiError } from '#sdk/api';
import { getFile } from '#sdk/download';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';
import {
  clientFor,
  contentItem,
  fileItem,
  filesOf,
  newUser,
  objectKeys,
  randomFile,
  rawRequest,
  s3,
  scratchPath,
  stack,
  testDeps,
  usageItem,
} from '../helpers.ts';

async function apiError(call: Promise<unknown>): Promise<ApiError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an API error, got ${String(error)}`);
  return error;
}

describe('listing', () => {
  it('pages through the caller’s files by name with an opaque cursor, and filters by prefix', async () => {
    const user = newUser();
    const { path } = randomFile(100);
    const names = ['b.txt', 'a.txt', 'docs/2.md', 'docs/1.md', 'e.bin', 'c.txt', 'docs/3.md'];
    for (const name of names) await putFile(clientFor(user), path, { name });
    await putFile(clientFor(newUser('other')), path, { name: 'a0-not-yours' });

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await clientFor(user).listFiles({ limit: 3, ...(cursor ? { cursor } : {}) });
      expect(page.files.length).toBeLessThanOrEqual(3);
      seen.push(...page.files.map((file) => file.name));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual([...names].sort());
    expect(pages).toBeGreaterThanOrEqual(3);

    const docs = await clientFor(user).listFiles({ prefix: 'docs/' });
    expect(docs.files.map((file) => file.name)).toEqual(['docs/1.md', 'docs/2.md', 'docs/3.md']);
    expect(docs.files[0]).toEqual({
      name: 'docs/1.md',
      size: 100,
      contentId: expect.stringMatching(/^[0-9a-f]{64}$/),
      state: 'COMPLETE',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it('refuses a cursor from another user’s listing, and control characters in a prefix', async () => {
    const alice = newUser('alice');
    const { path } = randomFile(10);
    for (const name of ['x', 'y']) await putFile(clientFor(alice), path, { name });
    const page = await clientFor(alice).listFiles({ limit: 1 });
    expect(page.cursor).toBeDefined();
    const stolen = await rawRequest('GET', `/v1/files?cursor=${page.cursor}`, { userId: newUser('mallory') });
    expect(stolen).toMatchObject({ status: 400, body: { error: { code: 'invalid_cursor' } } });
    const sneaky = await rawRequest('GET', `/v1/files?prefixRef=${encodeFileRef('\u0000')}`, { userId: alice });
    expect(sneaky).toMatchObject({ status: 400, body: { error: { code: 'invalid_prefix' } } });
  });
});

describe('resumable download', () => {
  it('fetches only the missing bytes of an interrupted download and verifies the whole', async () => {
    const user = newUser();
    const { path, bytes } = randomFile(2 * 8 * MiB + 777);
    const put = await putFile(clientFor(user), path, { name: 'film.mkv' });
    const out = scratchPath('film.mkv');
    const partial = `${out}.${put.contentId.slice(0, 16)}.partial`;
    const kept = 11 * MiB + 5;
    writeFileSync(partial, bytes.subarray(0, kept));

    const result = await getFile(clientFor(user), 'film.mkv', out);
    expect(result.bytesReceived).toBe(bytes.length - kept);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });

  it('throws away a partial file whose bytes are wrong, then downloads afresh', async () => {
    const user = newUser();
    const { path, bytes } = randomFile(3 * MiB);
    const put = await putFile(clientFor(user), path, { name: 'doc.pdf' });
    const out = scratchPath('doc.pdf');
    const partial = `${out}.${put.contentId.slice(0, 16)}.partial`;
    writeFileSync(partial, Buffer.alloc(MiB, 7));

    await expect(getFile(clientFor(user), 'doc.pdf', out)).rejects.toMatchObject({ code: 'content_mismatch' });
    const retried = await getFile(clientFor(user), 'doc.pdf', out);
    expect(retried.bytesReceived).toBe(bytes.length);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });
});

describe('rename', () => {
  it('moves a file atomically, keeping its content’s refCount', async () => {
    const user = newUser();
    const { path, bytes } = randomFile(5000);
    const put = await putFile(clientFor(user), path, { name: 'draft.txt' });
    const renamed = await clientFor(user).renameFile('draft.txt', 'final/report.txt');
    expect(renamed).toMatchObject({ name: 'final/report.txt', contentId: put.contentId, state: 'COMPLETE' });
    expect(await fileItem(user, 'draft.txt')).toBeUndefined();
    expect(await contentItem(put.contentId)).toMatchObject({ refCount: 1 });
    expect(await usageItem(user)).toMatchObject({ files: 1, bytes: 5000 });
    const out = scratchPath('report.txt');
    await getFile(clientFor(user), 'final/report.txt', out);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });

  it('refuses to overwrite unless asked; when asked, releases the replaced file’s content', async () => {
    const user = newUser();
    const a = await putFile(clientFor(user), randomFile(100).path, { name: 'a' });
    const b = await putFile(clientFor(user), randomFile(200).path, { name: 'b' });

    const refused = await apiError(clientFor(user).renameFile('a', 'b'));
    expect(refused).toMatchObject({ status: 409, code: 'file_exists' });
    expect(await fileItem(user, 'a')).toMatchObject({ contentId: a.contentId });
    expect(await fileItem(user, 'b')).toMatchObject({ contentId: b.contentId });

    await clientFor(user).renameFile('a', 'b', { overwrite: true });
    expect(await fileItem(user, 'a')).toBeUndefined();
    expect(await fileItem(user, 'b')).toMatchObject({ contentId: a.contentId });
    expect(await contentItem(a.contentId)).toMatchObject({ refCount: 1 });
    expect(await contentItem(b.contentId)).toMatchObject({ refCount: 0 });
    expect(await usageItem(user)).toMatchObject({ files: 1, bytes: 100 });
  });

  it('overwriting a file of the same content leaves one reference', async () => {
    const user = newUser();
    const { path } = randomFile(300);
    const put = await putFile(clientFor(user), path, { name: 'one' });
    await putFile(clientFor(user), path, { name: 'two' });
    expect(await contentItem(put.contentId)).toMatchObject({ refCount: 2 });
    await clientFor(user).renameFile('one', 'two', { overwrite: true });
    expect(await contentItem(put.contentId)).toMatchObject({ refCount: 1 });
    expect((await filesOf(user)).map((file) => file.name)).toEqual(['two']);
  });

  it('answers missing files, bad names, renames onto itself and other users’ files with clear errors', async () => {
    const alice = newUser('alice');
    await putFile(clientFor(alice), randomFile(10).path, { name: 'mine' });
    expect(await apiError(clientFor(alice).renameFile('nope', 'x'))).toMatchObject({ status: 404, code: 'file_not_found' });
    expect(await apiError(clientFor(alice).renameFile('mine', '../etc'))).toMatchObject({ status: 400, code: 'invalid_name' });
    expect(await apiError(clientFor(alice).renameFile('mine', 'mine'))).toMatchObject({ status: 400, code: 'same_name' });
    const bob = newUser('bob');
    expect(await apiError(clientFor(bob).renameFile('mine', 'stolen'))).toMatchObject({ status: 404, code: 'file_not_found' });
    expect(await filesOf(bob)).toEqual([]);
    expect(await fileItem(alice, 'mine')).toMatchObject({ state: 'COMPLETE' });
  });
});

describe('delete', () => {
  it('removes the file and its reference in one step; the bytes stay for other owners', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const { path, bytes } = randomFile(4000);
    const put = await putFile(clientFor(alice), path, { name: 'shared.bin' });
    await putFile(clientFor(bob), path, { name: 'mine.bin' });
    expect(await contentItem(put.contentId)).toMatchObject({ refCount: 2 });

    await clientFor(alice).deleteFile('shared.bin');
    expect(await fileItem(alice, 'shared.bin')).toBeUndefined();
    expect(await contentItem(put.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    expect(await usageItem(alice)).toMatchObject({ files: 0, bytes: 0 });
    expect(await apiError(clientFor(alice).getFile('shared.bin'))).toMatchObject({ status: 404 });

    const out = scratchPath('mine.bin');
    await getFile(clientFor(bob), 'mine.bin', out);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });

  it('keeps an unreferenced content until the sweeper’s grace period is over', async () => {
    const user = newUser();
    const { path } = randomFile(700);
    const put = await putFile(clientFor(user), path, { name: 'temp' });
    await clientFor(user).deleteFile('temp');
    expect(await contentItem(put.contentId)).toMatchObject({ state: 'READY', refCount: 0 });
    expect(await objectKeys(`blobs/${put.contentId}/`)).toHaveLength(1);
    // Within the grace period, the same bytes come back instantly (an undo costs nothing).
    const again = await putFile(clientFor(user), path, { name: 'temp' });
    expect(again).toMatchObject({ state: 'COMPLETE', deduplicated: true, bytesSent: 0 });
    expect(await contentItem(put.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
  });

  it('answers 404 for a file that is not there, or is someone else’s', async () => {
    const alice = newUser('alice');
    await putFile(clientFor(alice), randomFile(10).path, { name: 'keep' });
    expect(await apiError(clientFor(alice).deleteFile('gone'))).toMatchObject({ status: 404, code: 'file_not_found' });
    expect(await apiError(clientFor(newUser('bob')).deleteFile('keep'))).toMatchObject({ status: 404 });
    expect(await fileItem(alice, 'keep')).toMatchObject({ state: 'COMPLETE' });
  });
});

describe('content types and inline display', () => {
  it('stores the declared type; a download carries it, and media display inline when asked', async () => {
    const user = newUser();
    const client = clientFor(user);
    const { path } = randomFile(3000);
    await putFile(client, path, { name: 'photo.png', contentType: 'image/png' });
    await putFile(client, randomFile(2000).path, { name: 'page.html', contentType: 'Text/HTML; charset=utf-8' });
    expect((await client.listFiles()).files.map((file) => [file.name, file.contentType])).toEqual([
      ['page.html', 'text/html'],
      ['photo.png', 'image/png'],
    ]);
    // What the local S3 answers for each URL: its headers are the ones the URL asked for.
    const served = async (name: string, disposition?: 'inline' | 'attachment') => {
      const { download } = await client.getFile(name, disposition ? { disposition } : {});
      const response = await fetch(download.url);
      await response.arrayBuffer();
      return {
        disposition: download.disposition,
        type: response.headers.get('content-type'),
        shown: response.headers.get('content-disposition'),
      };
    };
    expect(await served('photo.png', 'inline')).toMatchObject({
      disposition: 'inline',
      type: 'image/png',
      shown: expect.stringMatching(/^inline;/),
    });
    expect(await served('photo.png')).toMatchObject({
      disposition: 'attachment',
      type: 'image/png',
      shown: expect.stringMatching(/^attachment;/),
    });
    // HTML never renders from the bucket's origin: asked inline, it stays an attachment.
    expect(await served('page.html', 'inline')).toMatchObject({
      disposition: 'attachment',
      type: 'text/html',
      shown: expect.stringMatching(/^attachment;/),
    });
  });
});

describe('cancel an upload', () => {
  it('DELETE /v1/uploads/{id} gives it up at once: file, attempt and stored parts gone', async () => {
    const user = newUser();
    const { bytes } = randomFile(8 * MiB + 10);
    const tree = hashBuffer(bytes);
    const request = {
      name: 'cancelled.bin',
      size: bytes.length,
      contentId: tree.contentId,
      blockDigests: tree.blockDigests.map(bytesToHex),
    };
    const view = await clientFor(user).requestUpload(request);
    if (view.status !== 'upload') throw new Error(`expected a permit, got ${view.status}`);
    const [first] = view.permit.parts;
    if (!first) throw new Error('no part permit');
    const sent = await fetch(first.url, {
      method: 'PUT',
      headers: first.headers,
      body: new Uint8Array(bytes.subarray(0, 8 * MiB)),
    });
    expect(sent.status).toBe(200);
    const attempt = (await contentItem(tree.contentId))?.attempt;
    const multipart = attempt?.multipartUploads?.[0]?.uploadId;
    if (!attempt || !multipart) throw new Error('a multipart attempt');

    const cancelled = await rawRequest('DELETE', `/v1/uploads/${view.uploadId}`, { userId: user });
    expect(cancelled).toMatchObject({ status: 200, body: { cancelled: view.uploadId } });
    expect(await fileItem(user, 'cancelled.bin')).toBeUndefined();
    // The reservation, unreferenced and with no attempt, is left to the sweeper (a squatter that
    // cancels and reserves again must not restart the others' wait).
    const left = await contentItem(tree.contentId);
    expect(left).toMatchObject({ state: 'PENDING', refCount: 0 });
    expect(left?.attempt).toBeUndefined();
    expect(await usageItem(user)).toMatchObject({ files: 0, bytes: 0 });
    // The function's own role aborted the multipart upload (IAM checked locally).
    await expect(
      s3.send(new ListPartsCommand({ Bucket: stack.bucket, Key: attempt.objectKey, UploadId: multipart })),
    ).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });
    expect(await rawRequest('DELETE', `/v1/uploads/${view.uploadId}`, { userId: user })).toMatchObject({
      status: 404,
      body: { error: { code: 'upload_not_found' } },
    });
  });
});

describe('cancel a shared upload', () => {
  it('the last cancel of an upload several files shared ends it and aborts its multipart upload, with the function’s own role', async () => {
    const user = newUser();
    const { bytes } = randomFile(8 * MiB + 10);
    const tree = hashBuffer(bytes);
    const request = {
      name: 'one.bin',
      size: bytes.length,
      contentId: tree.contentId,
      blockDigests: tree.blockDigests.map(bytesToHex),
    };
    const first = await clientFor(user).requestUpload(request);
    // A claim of another size joins at once: the attempt is shared.
    const second = await clientFor(user).requestUpload({ ...request, name: 'two.bin', size: bytes.length - 1 });
    if (first.status !== 'upload' || second.status !== 'upload') throw new Error('expected two permits');
    const attempt = (await contentItem(tree.contentId))?.attempt;
    const multipart = attempt?.multipartUploads?.[0]?.uploadId;
    if (!attempt?.shared || !multipart) throw new Error('a shared multipart attempt');
    expect((await rawRequest('DELETE', `/v1/uploads/${first.uploadId}`, { userId: user })).status).toBe(200);
    await s3.send(new ListPartsCommand({ Bucket: stack.bucket, Key: attempt.objectKey, UploadId: multipart }));
    expect((await rawRequest('DELETE', `/v1/uploads/${second.uploadId}`, { userId: user })).status).toBe(200);
    await expect(
      s3.send(new ListPartsCommand({ Bucket: stack.bucket, Key: attempt.objectKey, UploadId: multipart })),
    ).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });
    expect((await contentItem(tree.contentId))?.attempt).toBeUndefined();
  });
});

describe('usage and quota', () => {
  it('reports files, logical bytes and the bytes deduplication spared', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const { path } = randomFile(10_000);
    await putFile(clientFor(alice), path, { name: 'original' });
    await putFile(clientFor(bob), path, { name: 'copy-1' });
    await putFile(clientFor(bob), path, { name: 'copy-2' });
    await putFile(clientFor(bob), randomFile(500).path, { name: 'own' });

    expect(await clientFor(alice).usage()).toMatchObject({ files: 1, bytes: 10_000, savedBytes: 0 });
    expect(await clientFor(bob).usage()).toEqual({
      files: 3,
      bytes: 20_500,
      savedBytes: 20_000,
      quotaBytes: expect.any(Number),
    });
  });

  it('refuses an upload beyond the quota with 413 before writing anything', async () => {
    const user = newUser();
    await testDeps().catalog.setQuota(user, 10_000);
    await putFile(clientFor(user), randomFile(6000).path, { name: 'fits' });
    const big = randomFile(5000);
    const refused = await apiError(putFile(clientFor(user), big.path, { name: 'too-much' }));
    expect(refused).toMatchObject({ status: 413, code: 'quota_exceeded' });
    expect(await fileItem(user, 'too-much')).toBeUndefined();
    expect(await usageItem(user)).toMatchObject({ files: 1, bytes: 6000, quotaBytes: 10_000 });
    // A replacement keeps the current version until it is COMPLETE: the quota must hold both.
    const tooBig = await apiError(putFile(clientFor(user), randomFile(4001).path, { name: 'fits' }));
    expect(tooBig).toMatchObject({ status: 413, code: 'quota_exceeded' });
    expect(await fileItem(user, 'fits')).toMatchObject({ size: 6000, state: 'COMPLETE' });
    const replacement = await putFile(clientFor(user), randomFile(4000).path, { name: 'fits' });
    expect(replacement.state).toBe('COMPLETE');
    expect(await clientFor(user).usage()).toMatchObject({ files: 1, bytes: 4000, quotaBytes: 10_000 });
  });

  it('stays exact under concurrent uploads: never beyond the quota', async () => {
    const user = newUser();
    await testDeps().catalog.setQuota(user, 5 * 1000);
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, index) => putFile(clientFor(user), randomFile(1000).path, { name: `f${index}` })),
    );
    const done = results.filter((result) => result.status === 'fulfilled');
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    expect(done).toHaveLength(5);
    expect(refused.every((error) => error instanceof ApiError && error.code === 'quota_exceeded')).toBe(true);
    expect(await usageItem(user)).toMatchObject({ files: 5, bytes: 5000 });
    expect(await filesOf(user)).toHaveLength(5);
  });
});
