/**
 * The SDK's wait for storage to assemble its own upload (sdk/upload-machine.ts sendBytes) is timed
 * from when that wait begins, not from when the upload began: a 10 GiB upload over a phone takes
 * far longer than `maxWaitMs` to send, and S3 then takes minutes to assemble it, which is exactly
 * when the completion answers `pending`.
 */
import { describe, expect, it } from 'vitest';
import type { UploadView } from '#protocol/api';
import { MiB } from '#protocol/content-id';
import { HashdropClient } from '#sdk/api';
import { type UploadSource, upload } from '#sdk/upload-machine';

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
const pending: UploadView = { status: 'pending', uploadId: UPLOAD_ID, file, retryAfterSeconds: 0.01 };
const complete: UploadView = { status: 'complete', uploadId: UPLOAD_ID, file: { ...file, state: 'COMPLETE' } };

function client(asks: UploadView[], completions: UploadView[]): HashdropClient {
  const fetchImpl: typeof fetch = async (input) => {
    const path = new URL(String(input)).pathname;
    const next = path === '/v1/uploads' ? asks.shift() : path.endsWith('/complete') ? completions.shift() : undefined;
    return next ? Response.json(next, { status: 200 }) : Response.json({ message: 'Not Found' }, { status: 404 });
  };
  return new HashdropClient({ endpoint: 'http://api.test', token: 't', fetch: fetchImpl });
}

/** A source whose parts take `sendMs` each to send (a slow uplink). */
function slowSource(sendMs: number): UploadSource<Uint8Array> {
  return {
    size: SIZE,
    label: 'a.bin',
    hash: async () => ({ contentId: 'c'.repeat(64), size: SIZE, blockDigests: [new Uint8Array(32), new Uint8Array(32)] }),
    newLane: () => async () => new Uint8Array(0),
    answerChallenge: async () => '',
    put: async (url) => {
      await new Promise((done) => setTimeout(done, sendMs));
      return { status: 200, etag: `"${url.slice(-1)}"`, detail: '' };
    },
  };
}

describe('waiting for storage to assemble an upload that took longer to send than maxWaitMs', () => {
  it('waits for the assembly instead of giving up at its first pending answer', async () => {
    const api = client([uploadView], [pending, complete]);
    const put = await upload(api, slowSource(150), 'a.bin', { maxWaitMs: 100 });
    expect(put).toMatchObject({ state: 'COMPLETE', uploadId: UPLOAD_ID });
  });

  it('still gives up once the assembly itself has taken maxWaitMs', async () => {
    const api = client(
      [uploadView],
      Array.from({ length: 100 }, () => pending),
    );
    await expect(upload(api, slowSource(150), 'a.bin', { maxWaitMs: 100 })).rejects.toMatchObject({ code: 'wait_timeout' });
  });
});
