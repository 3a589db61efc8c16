/**
 * A completion answered `pending` because storage is still assembling the parts (S3 may take
 * minutes for a large object; domain/uploads.ts assemble), on the shared state machine
 * (sdk/upload-machine.ts) with a scripted API and storage: the client asks the same completion
 * again until it is done, and never POST /v1/uploads, which would meet a multipart upload S3 no
 * longer lists and hand out a new one for every byte to be sent again.
 */
import { describe, expect, it } from 'vitest';
import type { UploadView } from '#protocol/api';
import { MiB } from '#protocol/content-id';
import { HashdropClient } from '#sdk/api';
import { type UploadProgress, type UploadSource, upload } from '#sdk/upload-machine';

const UPLOAD_ID = 'YS5iaW4.0123456789abcdef0123456789abcdef';
const SIZE = 8 * MiB + 100;
const file = { name: 'a.bin', size: SIZE, contentId: 'c'.repeat(64), state: 'PENDING', createdAt: '', updatedAt: '' } as const;

const uploadView: UploadView = {
  status: 'upload',
  uploadId: UPLOAD_ID,
  file,
  permit: {
    mode: 'multipart',
    blockSize: 8 * MiB,
    partCount: 2,
    parts: [1, 2].map((partNumber) => ({ partNumber, method: 'PUT', url: `http://storage.test/${partNumber}`, headers: {} })),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
  },
};
// Hundredths of a second, so that the test does not sleep the server's 5 s.
const pending = (retryAfterSeconds: number): UploadView => ({ status: 'pending', uploadId: UPLOAD_ID, file, retryAfterSeconds });
const complete: UploadView = { status: 'complete', uploadId: UPLOAD_ID, file: { ...file, state: 'COMPLETE' } };

/** An API error answer, as the server sends one. */
interface ScriptedError {
  readonly status: number;
  readonly error: { readonly code: string; readonly message: string };
}

/** An API answering POST /v1/uploads from `asks` and the completion from `completions`, in turn. */
function scriptedApi(
  asks: UploadView[],
  completions: (UploadView | ScriptedError)[],
): { client: HashdropClient; calls: string[] } {
  const calls: string[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const method = init?.method ?? 'GET';
    const path = new URL(String(input)).pathname;
    calls.push(`${method} ${path}`);
    const next = path === '/v1/uploads' ? asks.shift() : path.endsWith('/complete') ? completions.shift() : undefined;
    if (next && 'error' in next) return Response.json({ error: next.error }, { status: next.status });
    return next ? Response.json(next, { status: 200 }) : Response.json({ message: 'Not Found' }, { status: 404 });
  };
  return { client: new HashdropClient({ endpoint: 'http://api.test', token: 't', fetch: fetchImpl }), calls };
}

/** A source recording its PUTs, each taking `sendMs` (a slow uplink). */
function source(puts: string[], sendMs = 0): UploadSource<Uint8Array> {
  return {
    size: SIZE,
    label: 'a.bin',
    hash: async () => ({ contentId: 'c'.repeat(64), size: SIZE, blockDigests: [new Uint8Array(32), new Uint8Array(32)] }),
    newLane: () => async () => new Uint8Array(0),
    answerChallenge: async () => '',
    put: async (url) => {
      if (sendMs > 0) await new Promise((done) => setTimeout(done, sendMs));
      puts.push(url);
      return { status: 200, etag: `"${url.slice(-1)}"`, detail: '' };
    },
  };
}

const COMPLETE = `POST /v1/uploads/${encodeURIComponent(UPLOAD_ID)}/complete`;

describe('a completion pending while storage assembles the object', () => {
  it('is asked again until it is done, sending no byte twice and asking for no other upload', async () => {
    const { client, calls } = scriptedApi([uploadView], [pending(0.01), pending(0.01), complete]);
    const puts: string[] = [];
    const phases: UploadProgress['phase'][] = [];

    const put = await upload(client, source(puts), 'a.bin', { onProgress: (progress) => phases.push(progress.phase) });

    expect(put).toMatchObject({ state: 'COMPLETE', uploadId: UPLOAD_ID, deduplicated: false });
    expect(calls).toEqual(['POST /v1/uploads', COMPLETE, COMPLETE, COMPLETE]);
    expect(puts.sort()).toEqual(['http://storage.test/1', 'http://storage.test/2']);
    expect(phases.filter((phase) => phase === 'waiting')).toHaveLength(2);
  });

  it('gives up once maxWaitMs has passed', async () => {
    const { client } = scriptedApi(
      [uploadView],
      Array.from({ length: 50 }, () => pending(0.01)),
    );
    await expect(upload(client, source([]), 'a.bin', { maxWaitMs: 30 })).rejects.toMatchObject({
      name: 'UploadFailedError',
      code: 'wait_timeout',
    });
  });

  it('asks POST /v1/uploads at once when the pending answer wants a proof (retry after 0 s)', async () => {
    const { client, calls } = scriptedApi([uploadView, complete], [pending(0)]);
    const put = await upload(client, source([]), 'a.bin');
    expect(put).toMatchObject({ state: 'COMPLETE' });
    expect(calls).toEqual(['POST /v1/uploads', COMPLETE, 'POST /v1/uploads']);
  });

  // The wait is timed from the first pending answer, not from the start of the upload: a 10 GiB
  // upload over a phone takes far longer than maxWaitMs to send, and S3 then takes minutes to
  // assemble it, which is exactly when the completion answers pending (attack review).
  it('waits for the assembly of an upload that took longer than maxWaitMs to send', async () => {
    const { client } = scriptedApi([uploadView], [pending(0.01), complete]);
    const put = await upload(client, source([], 150), 'a.bin', { maxWaitMs: 100 });
    expect(put).toMatchObject({ state: 'COMPLETE', uploadId: UPLOAD_ID });
  });

  it('still gives up once the assembly itself has taken maxWaitMs, after a slow send', async () => {
    const { client } = scriptedApi(
      [uploadView],
      Array.from({ length: 100 }, () => pending(0.01)),
    );
    await expect(upload(client, source([], 150), 'a.bin', { maxWaitMs: 100 })).rejects.toMatchObject({ code: 'wait_timeout' });
  });

  it('times a wait for another sender from its own start too, not from the upload’s (a long send, then upload_not_active)', async () => {
    // Another client took the upload over while ours was sending: the completion answers 409, and
    // asking again is told to wait for theirs. Timed from the upload's start, the wait gave up at once.
    const notActive: ScriptedError = { status: 409, error: { code: 'upload_not_active', message: 'taken over' } };
    const waiting: UploadView = { status: 'wait', retryAfterSeconds: 0.01 };
    const { client } = scriptedApi([uploadView, waiting, complete], [notActive]);
    const put = await upload(client, source([], 150), 'a.bin', { maxWaitMs: 100 });
    expect(put).toMatchObject({ state: 'COMPLETE' });
  });
});
