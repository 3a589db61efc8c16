/**
 * Issue 14 point 4 against the real local stack: S3 may take minutes to assemble a large object,
 * longer than the API functions' 10 s timeout and the HTTP API's 30 s. Here the local S3 takes
 * ASSEMBLY_MS for every multipart object (s3AssemblyMs) and completions wait only COMPLETION_WAIT_MS
 * (settings.completionWaitMs, 6 s in AWS). A timed-out completion, and any retried one, must
 * answer `pending` (never `409 upload_expired`: during assembly S3 no longer knows the upload and
 * the object is not there yet), and the object-created event completes the file when it lands.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack';
import { blockRange, MiB } from '#protocol/content-id';
import { bytesToBase64, bytesToHex } from '#protocol/encoding';
import { HashdropClient, type UploadView } from '#sdk/api';
import { getFile } from '#sdk/download';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';
import type { UploadProgress } from '#sdk/upload-machine';
import { newUser, randomFile, scratchPath } from '../support/scratch.ts';

const BLOCK = 8 * MiB;
const COMPLETION_WAIT_MS = 500;
const ASSEMBLY_MS = 6_500;

let stack: LocalStack;
const dataDir = mkdtempSync(join(tmpdir(), 'hashdrop-long-completion-'));

beforeAll(async () => {
  stack = await startLocalStack({
    dataDir,
    persist: false,
    settings: { completionWaitMs: COMPLETION_WAIT_MS },
    s3AssemblyMs: () => ASSEMBLY_MS,
  });
  // A stack of its own (DynamoDB Local's JVM among it) starts slowly beside the other integration files.
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const clientFor = (userId: string) => new HashdropClient({ endpoint: stack.info.endpoint, token: () => stack.mintToken(userId) });

/** Asks GET /v1/uploads/{id} until the upload is no longer pending, for at most `ms`. */
async function settled(client: HashdropClient, uploadId: string, ms: number): Promise<UploadView> {
  const deadline = Date.now() + ms;
  for (;;) {
    const view = await client.uploadStatus(uploadId);
    if (view.status !== 'pending' || Date.now() > deadline) return view;
    await new Promise((done) => setTimeout(done, 200));
  }
}

describe('a completion that outlasts the wait for S3 to assemble the object', () => {
  it('answers pending, and pending again when retried, until the object-created event completes the file', async () => {
    const user = newUser('large');
    const client = clientFor(user);
    const { bytes } = randomFile(2 * BLOCK + 1); // three parts
    const tree = hashBuffer(bytes);
    const asked = await client.requestUpload({
      name: 'archive.tar',
      size: tree.size,
      contentId: tree.contentId,
      blockDigests: tree.blockDigests.map(bytesToHex),
    });
    if (asked.status !== 'upload') throw new Error(`expected an upload answer, got ${asked.status}`);
    expect(asked.permit).toMatchObject({ mode: 'multipart', partCount: 3 });
    const parts = await Promise.all(
      asked.permit.parts.map(async ({ partNumber, url, headers }) => {
        const { start, end } = blockRange(tree.size, partNumber);
        const response = await fetch(url, { method: 'PUT', headers, body: new Uint8Array(bytes.subarray(start, end)) });
        expect(response.status, `part ${partNumber}`).toBe(200);
        const digest = tree.blockDigests[partNumber - 1] ?? new Uint8Array();
        return { partNumber, etag: response.headers.get('etag') ?? '', sha256: bytesToBase64(digest) };
      }),
    );

    // S3 is still assembling when the completion stops waiting.
    const started = Date.now();
    const completed = await client.completeUpload(asked.uploadId, parts);
    expect(Date.now() - started).toBeLessThan(ASSEMBLY_MS);
    expect(completed).toMatchObject({ status: 'pending', uploadId: asked.uploadId, retryAfterSeconds: expect.any(Number) });
    expect(completed.status === 'pending' && completed.retryAfterSeconds).toBeGreaterThan(0);

    // A retry meets S3 still assembling (NoSuchUpload, no object): pending, never 409 upload_expired.
    expect(await client.completeUpload(asked.uploadId, parts)).toMatchObject({ status: 'pending' });
    expect(await client.uploadStatus(asked.uploadId)).toMatchObject({ status: 'pending', file: { state: 'PENDING' } });
    expect(Date.now() - started, 'all of that while S3 was assembling').toBeLessThan(ASSEMBLY_MS);

    // Once assembled, the object-created event verifies and publishes the object: nobody completes again.
    const done = await settled(client, asked.uploadId, ASSEMBLY_MS + 10_000);
    expect(done).toMatchObject({ status: 'complete', file: { name: 'archive.tar', state: 'COMPLETE' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(ASSEMBLY_MS);
    const { files } = await client.listFiles();
    expect(files).toMatchObject([{ name: 'archive.tar', size: bytes.length, state: 'COMPLETE' }]);

    const out = scratchPath('archive.tar');
    await getFile(client, 'archive.tar', out);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });

  it('putFile waits for the assembly instead of sending the bytes again', async () => {
    const user = newUser('large');
    const client = clientFor(user);
    const { path, bytes } = randomFile(2 * BLOCK); // two parts
    const phases: UploadProgress['phase'][] = [];
    const started = Date.now();

    const put = await putFile(client, path, { name: 'video.mp4', onProgress: (progress) => phases.push(progress.phase) });

    expect(put).toMatchObject({ name: 'video.mp4', state: 'COMPLETE', deduplicated: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(ASSEMBLY_MS);
    // Every byte once: the client asked about the upload while S3 assembled it, and sent nothing again.
    expect(put.bytesSent).toBe(bytes.length);
    expect(phases).toContain('waiting');
    const out = scratchPath('video.mp4');
    await getFile(client, 'video.mp4', out);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });
});
