/** The whole instant-upload loop against the real local stack (DynamoDB Local + the strict local S3). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MiB } from '#protocol/content-id';
import { getFile } from '#sdk/download';
import { putFile, type UploadProgress } from '#sdk/upload';
import { clientFor, contentItem, fileItem, newUser, objectKeys, randomFile, scratchPath } from '../helpers.ts';

describe('instant upload', () => {
  it('stores new content once, then links it for another user without sending a byte', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const { path, bytes } = randomFile(3 * MiB + 17);

    const first = await putFile(clientFor(alice), path, { name: 'report.pdf' });
    expect(first).toMatchObject({ name: 'report.pdf', size: bytes.length, state: 'COMPLETE', deduplicated: false });
    expect(first.bytesSent).toBe(bytes.length);

    const second = await putFile(clientFor(bob), path, { name: 'inbox/copy.pdf' });
    expect(second).toMatchObject({ name: 'inbox/copy.pdf', state: 'COMPLETE', deduplicated: true, bytesSent: 0 });
    expect(second.contentId).toBe(first.contentId);

    expect(await objectKeys(`blobs/${first.contentId}/`)).toHaveLength(1);
    const content = await contentItem(first.contentId);
    expect(content).toMatchObject({ state: 'READY', refCount: 2, size: bytes.length });
    expect(content?.attempt).toBeUndefined();
    expect(await fileItem(bob, 'inbox/copy.pdf')).toMatchObject({ state: 'COMPLETE', contentId: first.contentId });
  });

  it('downloads exactly the bytes that were uploaded, for every owner', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const { path, bytes } = randomFile(1234567);
    await putFile(clientFor(alice), path, { name: 'a.bin' });
    await putFile(clientFor(bob), path, { name: 'b.bin' });
    for (const [user, name] of [
      [alice, 'a.bin'],
      [bob, 'b.bin'],
    ] as const) {
      const out = scratchPath(name);
      const result = await getFile(clientFor(user), name, out);
      expect(readFileSync(out).equals(bytes)).toBe(true);
      expect(result.size).toBe(bytes.length);
    }
  });

  it('serves byte ranges from the presigned download URL, under the file’s own name', async () => {
    const user = newUser();
    const { path, bytes } = randomFile(100_000);
    await putFile(clientFor(user), path, { name: 'docs/range.bin' });
    const { download } = await clientFor(user).getFile('docs/range.bin');
    const response = await fetch(download.url, { headers: { range: 'bytes=1000-1999' } });
    expect(response.status).toBe(206);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true);
    expect(new URL(download.url).searchParams.get('response-content-disposition')).toContain("filename*=UTF-8''range.bin");
  });

  it('reports an upload’s status by its id', async () => {
    const user = newUser();
    const { path } = randomFile(2048);
    const put = await putFile(clientFor(user), path, { name: 'status.txt' });
    const status = await clientFor(user).uploadStatus(put.uploadId);
    expect(status).toMatchObject({ status: 'complete', uploadId: put.uploadId, file: { name: 'status.txt', state: 'COMPLETE' } });
  });

  it('round-trips a multipart file whose parts are its blocks', async () => {
    const user = newUser();
    const { path, bytes } = randomFile(2 * 8 * MiB + 3 * MiB + 1);
    const events: UploadProgress[] = [];
    const put = await putFile(clientFor(user), path, { name: 'video.mp4', onProgress: (event) => events.push(event) });
    expect(put).toMatchObject({ state: 'COMPLETE', bytesSent: bytes.length, deduplicated: false });
    // Progress: hashing up to the whole file, then bytes and parts sent, never going backwards.
    const hashed = events.flatMap((event) => (event.phase === 'hashing' ? [event.bytesHashed] : []));
    const sent = events.flatMap((event) => (event.phase === 'uploading' ? [event] : []));
    expect(hashed.at(-1)).toBe(bytes.length);
    expect(hashed).toEqual([...hashed].sort((a, b) => a - b));
    expect(sent.at(-1)).toMatchObject({ bytesSent: bytes.length, partsDone: 3, partCount: 3 });
    expect(sent.map((event) => event.bytesSent)).toEqual(sent.map((event) => event.bytesSent).sort((a, b) => a - b));
    expect(events.findIndex((event) => event.phase === 'uploading')).toBeGreaterThan(
      events.findLastIndex((e) => e.phase === 'hashing'),
    );
    const out = scratchPath('video.mp4');
    await getFile(clientFor(user), 'video.mp4', out);
    expect(readFileSync(out).equals(bytes)).toBe(true);
    expect(await objectKeys(`blobs/${put.contentId}/`)).toHaveLength(1);
  });

  it('stores an empty file too', async () => {
    const user = newUser();
    const { path } = randomFile(0);
    const put = await putFile(clientFor(user), path, { name: 'empty' });
    expect(put).toMatchObject({ state: 'COMPLETE', size: 0 });
    const out = scratchPath('empty');
    await getFile(clientFor(user), 'empty', out);
    expect(readFileSync(out)).toHaveLength(0);
  });

  it('is idempotent: the same put again changes nothing', async () => {
    const user = newUser();
    const { path } = randomFile(4096);
    const first = await putFile(clientFor(user), path, { name: 'same' });
    const again = await putFile(clientFor(user), path, { name: 'same' });
    expect(again).toMatchObject({ state: 'COMPLETE', bytesSent: 0, contentId: first.contentId });
    expect((await contentItem(first.contentId))?.refCount).toBe(1);
  });

  it('replaces a file uploaded under an existing name and releases the old content', async () => {
    const user = newUser();
    const v1 = randomFile(1000);
    const v2 = randomFile(2000);
    const first = await putFile(clientFor(user), v1.path, { name: 'notes.txt' });
    const second = await putFile(clientFor(user), v2.path, { name: 'notes.txt' });
    expect((await fileItem(user, 'notes.txt'))?.contentId).toBe(second.contentId);
    expect((await contentItem(first.contentId))?.refCount).toBe(0);
    expect((await contentItem(second.contentId))?.refCount).toBe(1);
  });

  it('lists only the caller’s files, by name', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const { path } = randomFile(10);
    for (const name of ['b', 'a', 'c/d']) await putFile(clientFor(alice), path, { name });
    await putFile(clientFor(bob), path, { name: 'bob-only' });
    const listing = await clientFor(alice).listFiles();
    expect(listing.files.map((file) => file.name)).toEqual(['a', 'b', 'c/d']);
    expect(listing.files[0]).toMatchObject({ size: 10, state: 'COMPLETE' });
    expect((await clientFor(bob).listFiles()).files.map((file) => file.name)).toEqual(['bob-only']);
  });
});
