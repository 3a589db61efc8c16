/**
 * Uploading a file the hashdrop way: hash it on every core, ask, and send bytes only when
 * storage lacks them; parts go up in parallel with retries, fresh URLs when they expire, and a
 * resumed upload sends only the parts storage does not hold yet.
 */

import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { MAX_PARTS_PER_REQUEST, type PartPermit, type UploadPermit } from '#protocol/api';
import { blockRange, MAX_OBJECT_SIZE, SizeOutOfRangeError } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import { ApiError, type HashdropClient, type UploadView } from './api.ts';
import { answerChallenge, readBlock } from './files.ts';
import { hashFileParallel } from './hash-pool.ts';
import { sha256 } from './hashing.ts';
import { DEFAULT_RETRY, type RetryPolicy, sleep, TransientError, withBackoff } from './retry.ts';
import { fetchPut, nodePut, type StoragePut } from './storage-put.ts';

export type UploadProgress =
  | { readonly phase: 'hashing'; readonly bytesHashed: number; readonly size: number }
  | { readonly phase: 'waiting'; readonly size: number }
  | {
      readonly phase: 'uploading';
      readonly bytesSent: number;
      /** Bytes storage held already when a resumed upload started. */
      readonly bytesResumed: number;
      readonly partsDone: number;
      readonly partCount: number;
      readonly size: number;
    };

export interface PutOptions {
  /** Name to store the file under; defaults to the file's base name. */
  readonly name?: string;
  /** Parts sent at once. @default 4: enough to fill a mobile uplink without starving it */
  readonly concurrency?: number;
  /** Hash threads. @default all cores */
  readonly hashWorkers?: number;
  /** Longest wait for another client's upload of the same content. @default 30 minutes */
  readonly maxWaitMs?: number;
  readonly retry?: RetryPolicy;
  /** How part bytes reach storage. @default node:http(s), or the client's fetch if it was given one */
  readonly storagePut?: StoragePut;
  /** Part URLs asked for per request (at most the server's 100). @default 100 */
  readonly partsPerBatch?: number;
  readonly onProgress?: (progress: UploadProgress) => void;
}

export interface PutResult {
  readonly name: string;
  readonly size: number;
  readonly contentId: string;
  readonly state: string;
  readonly uploadId: string;
  /** No bytes of this file had to be sent: storage held (or another client sent) the content. */
  readonly deduplicated: boolean;
  /** Bytes of file content this client sent to storage (retries included). */
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

/** A presigned URL that S3 refused as expired or no longer valid: sign again, then retry. */
class StalePermitError extends TransientError {}

const STALE_CHALLENGE = new Set(['challenge_used', 'challenge_expired']);

const isTransient = (error: unknown): boolean =>
  error instanceof TransientError || (error instanceof ApiError && error.retryable) || error instanceof TypeError; // fetch's network errors

interface Session {
  /** Bytes of file content sent so far, across attempts (what `PutResult.bytesSent` reports). */
  readonly sent: { bytes: number };
  readonly client: HashdropClient;
  readonly path: string;
  readonly size: number;
  readonly digests: readonly Uint8Array[];
  readonly options: PutOptions;
}

const digestOf = (session: Session, partNumber: number): Buffer => {
  const digest = session.digests[partNumber - 1];
  return digest ? Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength) : Buffer.alloc(0);
};

const batchSizeOf = (options: PutOptions): number =>
  Math.min(Math.max(1, options.partsPerBatch ?? MAX_PARTS_PER_REQUEST), MAX_PARTS_PER_REQUEST);

type UploadAnswer = Extract<UploadView, { status: 'upload' }>;

const partSizeOf = (session: Session, partNumber: number): number => {
  const { start, end } = blockRange(session.size, partNumber);
  return end - start;
};

/** The parts a resumed upload finds in storage that hold the right bytes: their ETags by part number. */
function storedParts(session: Session, permit: UploadPermit): Map<number, string> {
  const etags = new Map<number, string>();
  for (const part of permit.uploadedParts ?? []) {
    const sameBytes = part.sha256 === undefined || part.sha256 === digestOf(session, part.partNumber).toString('base64');
    if (part.size === partSizeOf(session, part.partNumber) && sameBytes) etags.set(part.partNumber, part.etag);
  }
  return etags;
}

/**
 * A URL is replaced before use once most of its life is gone (at most 30 s before it expires),
 * not after S3 refuses it; relative, because a deployment may sign short-lived URLs.
 */
function renewalTime(expiresAt: string): number {
  const expires = Date.parse(expiresAt);
  return expires - Math.min(30_000, Math.max(0, expires - Date.now()) / 4);
}

/**
 * The presigned URLs of an upload's parts. They are signed a batch at a time (one request per
 * batch, however many senders ask for it), only for parts storage does not hold yet, and
 * signed again before they expire or after storage refused them.
 */
class PartPermits {
  private readonly permits: Map<number, PartPermit & { readonly renewAt: number }>;
  /** Signing requests in flight, by the first part number of their batch. */
  private readonly signing = new Map<number, Promise<void>>();
  private readonly batchSize: number;

  constructor(
    private readonly session: Session,
    private readonly answer: UploadAnswer,
    private readonly isStored: (partNumber: number) => boolean,
    private readonly retry: RetryPolicy,
  ) {
    const renewAt = renewalTime(answer.permit.expiresAt);
    this.permits = new Map(answer.permit.parts.map((part) => [part.partNumber, { ...part, renewAt }]));
    this.batchSize = batchSizeOf(session.options);
  }

  /** A URL for the part with some life left in it. */
  async get(partNumber: number): Promise<PartPermit> {
    let part = this.permits.get(partNumber);
    if (!part || Date.now() >= part.renewAt) {
      await this.signBatchOf(partNumber);
      part = this.permits.get(partNumber);
    }
    if (!part) throw new UploadFailedError('no_permit', `no upload URL for part ${partNumber}`);
    return part;
  }

  /** Storage refused the part's URL: the next `get` signs it again. */
  discard(partNumber: number): void {
    this.permits.delete(partNumber);
  }

  private signBatchOf(partNumber: number): Promise<void> {
    const { batchSize, session, answer } = this;
    const first = Math.floor((partNumber - 1) / batchSize) * batchSize + 1;
    let pending = this.signing.get(first);
    if (!pending) {
      const partNumbers: number[] = [];
      for (let n = first; n < first + batchSize && n <= answer.permit.partCount; n++) {
        if (!this.isStored(n)) partNumbers.push(n);
      }
      pending = withBackoff(() => session.client.signParts(answer.uploadId, partNumbers), isTransient, this.retry)
        .then((signed) => {
          if (signed.status !== 'upload') throw new UploadFailedError('upload_not_active', `the upload is ${signed.status}`);
          const renewAt = renewalTime(signed.permit.expiresAt);
          for (const part of signed.permit.parts) this.permits.set(part.partNumber, { ...part, renewAt });
        })
        .finally(() => this.signing.delete(first));
      this.signing.set(first, pending);
    }
    return pending;
  }
}

/**
 * Sends parts to storage: reads a part from disk, checks it is still the block that was hashed,
 * and puts it to its URL, retrying network errors, 5xx, throttling and stale URLs.
 */
class PartSender {
  /** Bytes sent by this sender (retries included), for progress. */
  bytesSent = 0;

  constructor(
    private readonly session: Session,
    private readonly permits: PartPermits,
    private readonly put: StoragePut,
    private readonly retry: RetryPolicy,
  ) {}

  /** Sends the part, read into `slot`; returns the ETag storage gave it. */
  async send(partNumber: number, slot: Buffer): Promise<string> {
    const { session } = this;
    const block = await readBlock(session.path, session.size, partNumber, slot);
    if (!digestOf(session, partNumber).equals(sha256(block))) {
      throw new UploadFailedError('file_changed', `${session.path} changed while it was being uploaded`);
    }
    return withBackoff(() => this.attempt(partNumber, block), isTransient, this.retry);
  }

  private async attempt(partNumber: number, block: Buffer): Promise<string> {
    const part = await this.permits.get(partNumber);
    const response = await this.put(part.url, part.headers, block);
    this.bytesSent += block.length;
    this.session.sent.bytes += block.length;
    if (response.status >= 200 && response.status < 300) return response.etag ?? '';
    // 412: the write-once PUT found the object stored already (this very PUT, sent before a
    // retry whose answer was lost, or another uploader's): its bytes are the block, as any
    // object under this key can only be; the completion verifies it.
    if (response.status === 412) return response.etag ?? '';
    const { detail } = response;
    // 403: the URL expired or no longer holds; 400 ExpiredToken: the signer's session did.
    if (response.status === 403 || (response.status === 400 && /ExpiredToken|expired/i.test(detail))) {
      this.permits.discard(partNumber);
      throw new StalePermitError(`storage refused part ${partNumber} (403): ${detail}`);
    }
    if (response.status >= 500 || response.status === 429) {
      throw new TransientError(`storage answered ${response.status} for part ${partNumber}`);
    }
    throw new UploadFailedError('storage_rejected', `storage refused part ${partNumber}: HTTP ${response.status} ${detail}`);
  }
}

/**
 * Runs `send` over the part numbers, `concurrency` at a time. Each lane reuses one block buffer:
 * a part's bytes are sent before the next part is read into it.
 */
async function inLanes(
  partNumbers: number[],
  concurrency: number,
  blockSize: number,
  send: (partNumber: number, slot: Buffer) => Promise<void>,
): Promise<void> {
  const queue = [...partNumbers];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      const slot = Buffer.allocUnsafe(blockSize);
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) await send(next, slot);
    }),
  );
}

/** Sends what an `upload` answer asks for and completes the upload. */
async function sendBytes(session: Session, answer: UploadAnswer): Promise<UploadView> {
  const { permit, uploadId } = answer;
  const { client, options } = session;
  const retry = options.retry ?? DEFAULT_RETRY;

  // Parts storage already holds (a resumed upload) are kept if they are the right ones.
  const etags = storedParts(session, permit);
  const bytesResumed = [...etags.keys()].reduce((sum, n) => sum + partSizeOf(session, n), 0);
  const permits = new PartPermits(session, answer, (n) => etags.has(n), retry);
  const put = options.storagePut ?? (client.customFetch ? fetchPut(client.fetchImpl) : nodePut);
  const sender = new PartSender(session, permits, put, retry);
  const report = () =>
    options.onProgress?.({
      phase: 'uploading',
      bytesSent: sender.bytesSent,
      bytesResumed,
      partsDone: etags.size,
      partCount: permit.partCount,
      size: session.size,
    });

  const missing = Array.from({ length: permit.partCount }, (_, index) => index + 1).filter((n) => !etags.has(n));
  report();
  await inLanes(missing, Math.max(1, options.concurrency ?? 4), permit.blockSize, async (partNumber, slot) => {
    etags.set(partNumber, await sender.send(partNumber, slot));
    report();
  });

  const parts =
    permit.mode === 'multipart'
      ? Array.from({ length: permit.partCount }, (_, index) => ({
          partNumber: index + 1,
          etag: etags.get(index + 1) ?? '',
          sha256: digestOf(session, index + 1).toString('base64'),
        }))
      : undefined;
  return withBackoff(() => client.completeUpload(uploadId, parts), isTransient, retry);
}

export async function putFile(client: HashdropClient, path: string, options: PutOptions = {}): Promise<PutResult> {
  const onProgress = options.onProgress;
  const { size } = await stat(path);
  // Refused before any hashing: S3 could not store it.
  if (size > MAX_OBJECT_SIZE) throw new UploadFailedError('file_too_large', new SizeOutOfRangeError(size).message);
  const tree = await hashFileParallel(path, {
    ...(options.hashWorkers ? { workers: options.hashWorkers } : {}),
    ...(onProgress ? { onProgress: (bytesHashed: number) => onProgress({ phase: 'hashing', bytesHashed, size }) } : {}),
  });
  const name = options.name ?? basename(path);
  // Every block's digest: the server signs each part URL for its own block from this list.
  const request = { name, size: tree.size, contentId: tree.contentId, blockDigests: tree.blockDigests.map(bytesToHex) };
  const session: Session = { sent: { bytes: 0 }, client, path, size: tree.size, digests: tree.blockDigests, options };
  const retry = options.retry ?? DEFAULT_RETRY;
  const ask = (proof?: { token: string; sha256: string }) =>
    withBackoff(() => client.requestUpload(proof ? { ...request, proof } : request), isTransient, retry);
  const deadline = Date.now() + (options.maxWaitMs ?? 30 * 60_000);

  let staleChallenges = 0;
  let lostUploads = 0;
  let view = await ask();
  for (;;) {
    switch (view.status) {
      case 'complete':
        return {
          name: view.file.name,
          size: view.file.size,
          contentId: view.file.contentId,
          state: view.file.state,
          uploadId: view.uploadId,
          deduplicated: session.sent.bytes === 0,
          bytesSent: session.sent.bytes,
        };
      case 'failed':
        throw new UploadFailedError(view.failure, `upload of ${name} failed: ${view.failure}`);
      case 'upload': {
        try {
          view = await sendBytes(session, view);
        } catch (error) {
          // Another client took the upload over (ours had stalled past its lease): ask again,
          // which waits for theirs or takes it back.
          const code = error instanceof ApiError || error instanceof UploadFailedError ? error.code : undefined;
          if (code !== 'upload_not_active' || ++lostUploads > 3) throw error;
          view = await ask();
        }
        break;
      }
      case 'challenge': {
        // Prove we hold the bytes: hash the ranges the server picked, and ask again with the answer.
        const sha256 = await answerChallenge(path, view.challenge.ranges);
        try {
          view = await ask({ token: view.challenge.token, sha256 });
        } catch (error) {
          // A challenge that went stale meanwhile (answered by a retry, expired): ask for a new one.
          if (!(error instanceof ApiError && STALE_CHALLENGE.has(error.code)) || ++staleChallenges > 3) throw error;
          view = await ask();
          break;
        }
        if (view.status === 'challenge') throw new UploadFailedError('proof_failed', 'the server challenged the answer again');
        break;
      }
      case 'wait':
      case 'pending':
        // Another client is sending this content. Asking again completes the file once it is
        // stored, or takes the upload over if that client gave up.
        if (Date.now() > deadline) throw new UploadFailedError('wait_timeout', 'gave up waiting for the content to be stored');
        onProgress?.({ phase: 'waiting', size: tree.size });
        await sleep(view.retryAfterSeconds * 1000);
        view = await ask();
        break;
    }
  }
}
