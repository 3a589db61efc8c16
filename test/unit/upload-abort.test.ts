/**
 * Aborting an upload through its signal, on the shared state machine (sdk/upload-machine.ts) with
 * a scripted API and storage: the call rejects with the abort, nothing is retried, and an upload
 * already begun is cancelled on the server, best effort (the route answers 404 until it exists).
 */
import { describe, expect, it } from 'vitest';
import type { UploadView } from '#protocol/api';
import { MiB } from '#protocol/content-id';
import { HashdropClient } from '#sdk/api';
import type { StorageResponse } from '#sdk/fetch-put';
import { type UploadSource, upload } from '#sdk/upload-machine';

const UPLOAD_ID = 'YS5iaW4.0123456789abcdef0123456789abcdef';
const SIZE = 8 * MiB + 100;

const uploadView: UploadView = {
  status: 'upload',
  uploadId: UPLOAD_ID,
  file: { name: 'a.bin', size: SIZE, contentId: 'c'.repeat(64), state: 'PENDING', createdAt: '', updatedAt: '' },
  permit: {
    mode: 'multipart',
    blockSize: 8 * MiB,
    partCount: 2,
    parts: [1, 2].map((partNumber) => ({ partNumber, method: 'PUT', url: `http://storage.test/${partNumber}`, headers: {} })),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
  },
};

/** An API that answers every upload request with `uploadView` and has no cancel route yet (404). */
function scriptedApi(): { client: HashdropClient; calls: string[] } {
  const calls: string[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const method = init?.method ?? 'GET';
    const path = new URL(String(input)).pathname;
    calls.push(`${method} ${path}`);
    if (method === 'POST' && path === '/v1/uploads') return Response.json(uploadView, { status: 202 });
    return Response.json({ message: 'Not Found' }, { status: 404 });
  };
  return { client: new HashdropClient({ endpoint: 'http://api.test', token: 't', fetch: fetchImpl }), calls };
}

/** A file of two blocks whose part 2 is answered by `second` (part 1 is stored at once). */
function source(second: (signal: AbortSignal | undefined) => Promise<StorageResponse>): UploadSource<Uint8Array> {
  return {
    size: SIZE,
    label: 'a.bin',
    hash: async () => ({ contentId: 'c'.repeat(64), size: SIZE, blockDigests: [new Uint8Array(32), new Uint8Array(32)] }),
    newLane: () => async () => new Uint8Array(0),
    answerChallenge: async () => '',
    put: (url, _headers, _body, signal) =>
      url.endsWith('/2') ? second(signal) : Promise.resolve({ status: 200, etag: '"1"', detail: '' }),
  };
}

const untilAborted = (signal: AbortSignal | undefined) =>
  new Promise<StorageResponse>((_, fail) => signal?.addEventListener('abort', () => fail(signal.reason)));

describe('aborting an upload', () => {
  it('rejects with the abort and cancels the upload it had begun, tolerating 404', async () => {
    const { client, calls } = scriptedApi();
    const abort = new AbortController();
    const put = upload(client, source(untilAborted), 'a.bin', {
      signal: abort.signal,
      onProgress: (progress) => {
        if (progress.phase === 'uploading' && progress.partsDone === 1) abort.abort();
      },
    });
    await expect(put).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toEqual(['POST /v1/uploads', `DELETE /v1/uploads/${UPLOAD_ID}`]);
  });

  it('asks nothing when aborted before it starts', async () => {
    const { client, calls } = scriptedApi();
    const abort = new AbortController();
    abort.abort();
    await expect(upload(client, source(untilAborted), 'a.bin', { signal: abort.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(calls).toEqual([]);
  });

  it('stops retrying a failing part at once when aborted', async () => {
    const { client, calls } = scriptedApi();
    const abort = new AbortController();
    let tries = 0;
    const failing = async () => {
      if (++tries === 2) abort.abort();
      throw new TypeError('network down');
    };
    const put = upload(client, source(failing), 'a.bin', {
      signal: abort.signal,
      retry: { attempts: 6, baseDelayMs: 1, maxDelayMs: 1 },
    });
    await expect(put).rejects.toMatchObject({ name: 'AbortError' });
    expect(tries).toBe(2);
    expect(calls.filter((call) => call.startsWith('DELETE'))).toHaveLength(1);
  });

  it('does not cancel an upload that failed without an abort', async () => {
    const { client, calls } = scriptedApi();
    const refused = async () => ({ status: 400, etag: undefined, detail: 'BadDigest' });
    await expect(upload(client, source(refused), 'a.bin')).rejects.toMatchObject({ code: 'storage_rejected' });
    expect(calls).toEqual(['POST /v1/uploads']);
  });
});
