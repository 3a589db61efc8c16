/**
 * Uploading a file the hashdrop way: hash it, ask, and send bytes only when storage lacks them.
 */
import { basename } from 'node:path';
import { DEFAULTS } from '#core/definitions';
import { sha256 } from '#core/tree-hash';
import type { HashdropClient, PartDigest, UploadView } from './api.ts';
import { hashFile, readBlock } from './files.ts';

export interface PutOptions {
  /** Name to store the file under; defaults to the file's base name. */
  readonly name?: string;
  /** Parts sent at once. */
  readonly concurrency?: number;
  /** Longest wait for another client's upload of the same content. */
  readonly maxWaitMs?: number;
}

export interface PutResult {
  readonly name: string;
  readonly size: number;
  readonly contentId: string;
  readonly state: string;
  readonly uploadId: string;
  /** No bytes of this file had to be sent: storage held (or another client sent) the content. */
  readonly deduplicated: boolean;
  /** Bytes of file content this client sent to storage. */
  readonly bytesSent: number;
}

export class UploadFailedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UploadFailedError';
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface SendContext {
  readonly client: HashdropClient;
  readonly path: string;
  readonly size: number;
  readonly digests: readonly Buffer[];
  readonly concurrency: number;
}

/** PUTs one block to a presigned URL, after checking it is still the block that was hashed. */
async function putBlock(ctx: SendContext, partNumber: number, url: string, headers: Record<string, string>): Promise<string> {
  const block = await readBlock(ctx.path, ctx.size, partNumber);
  if (!sha256(block).equals(ctx.digests[partNumber - 1] ?? Buffer.alloc(0))) {
    throw new UploadFailedError('file_changed', `${ctx.path} changed while it was being uploaded`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'PUT',
        headers,
        body: new Uint8Array(block.buffer as ArrayBuffer, block.byteOffset, block.length),
      });
      if (response.ok) return response.headers.get('etag') ?? '';
      const text = await response.text();
      if (response.status < 500 || attempt >= 3) {
        throw new UploadFailedError(
          'storage_rejected',
          `storage refused part ${partNumber}: HTTP ${response.status} ${text.slice(0, 200)}`,
        );
      }
    } catch (error) {
      if (error instanceof UploadFailedError || attempt >= 3) throw error;
    }
    await sleep(200 * 2 ** attempt);
  }
}

const partDigest = (ctx: SendContext, partNumber: number): PartDigest => ({
  partNumber,
  sha256: (ctx.digests[partNumber - 1] ?? Buffer.alloc(0)).toString('hex'),
});

/** Sends what an `upload` answer asks for and completes the upload; returns bytes sent. */
async function sendBytes(
  ctx: SendContext,
  view: Extract<UploadView, { status: 'upload' }>,
): Promise<{ view: UploadView; bytesSent: number }> {
  const { permit } = view;
  const permits = new Map(permit.parts.map((part) => [part.partNumber, part]));
  const batches = new Map<number, Promise<void>>();
  const batchSize = DEFAULTS.maxPartsPerBatch;
  const permitFor = async (partNumber: number) => {
    const batch = Math.floor((partNumber - 1) / batchSize);
    if (!permits.has(partNumber)) {
      if (!batches.has(batch)) {
        const numbers = Array.from(
          { length: Math.min(batchSize, permit.partCount - batch * batchSize) },
          (_, i) => batch * batchSize + i + 1,
        );
        batches.set(
          batch,
          ctx.client
            .signParts(
              view.uploadId,
              numbers.map((n) => partDigest(ctx, n)),
            )
            .then((signed) => {
              if (signed.status !== 'upload') throw new UploadFailedError('upload_not_active', `upload is ${signed.status}`);
              for (const part of signed.permit.parts) permits.set(part.partNumber, part);
            }),
        );
      }
      await batches.get(batch);
    }
    const found = permits.get(partNumber);
    if (!found) throw new UploadFailedError('no_permit', `no permit for part ${partNumber}`);
    return found;
  };

  let bytesSent = 0;
  const etags: string[] = [];
  let next = 1;
  const worker = async () => {
    while (next <= permit.partCount) {
      const partNumber = next++;
      const part = await permitFor(partNumber);
      etags[partNumber - 1] = await putBlock(ctx, partNumber, part.url, part.headers);
      bytesSent += partNumber < permit.partCount ? permit.blockSize : ctx.size - (permit.partCount - 1) * permit.blockSize;
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.concurrency, permit.partCount) }, worker));

  const parts =
    permit.mode === 'multipart'
      ? etags.map((etag, index) => ({
          partNumber: index + 1,
          etag,
          sha256: (ctx.digests[index] ?? Buffer.alloc(0)).toString('base64'),
        }))
      : undefined;
  return { view: await ctx.client.completeUpload(view.uploadId, parts), bytesSent };
}

export async function putFile(client: HashdropClient, path: string, options: PutOptions = {}): Promise<PutResult> {
  const tree = await hashFile(path);
  const name = options.name ?? basename(path);
  const request = {
    name,
    size: tree.size,
    contentId: tree.contentId,
    blockDigests: tree.blockDigests.slice(0, DEFAULTS.maxPartsPerBatch).map((digest) => digest.toString('hex')),
  };
  const ctx: SendContext = { client, path, size: tree.size, digests: tree.blockDigests, concurrency: options.concurrency ?? 4 };
  const deadline = Date.now() + (options.maxWaitMs ?? 30 * 60_000);

  let bytesSent = 0;
  let view = await client.requestUpload(request);
  for (;;) {
    switch (view.status) {
      case 'complete':
        return {
          name: view.file.name,
          size: view.file.size,
          contentId: view.file.contentId,
          state: view.file.state,
          uploadId: view.uploadId,
          deduplicated: bytesSent === 0,
          bytesSent,
        };
      case 'failed':
        throw new UploadFailedError(view.failure, `upload of ${name} failed: ${view.failure}`);
      case 'upload': {
        const sent = await sendBytes(ctx, view);
        bytesSent += sent.bytesSent;
        view = sent.view;
        break;
      }
      case 'pending':
        // Another client is sending this content. Asking again completes the file once it is
        // stored, or takes the upload over if that client gave up.
        if (Date.now() > deadline) throw new UploadFailedError('wait_timeout', 'gave up waiting for the content to be stored');
        await sleep(view.retryAfterSeconds * 1000);
        view = await client.requestUpload(request);
        break;
    }
  }
}
