/**
 * The upload state machine, one for every platform: hash, ask, and send bytes only when storage
 * lacks them; answer a proof-of-ownership challenge; send parts in parallel with retries, fresh
 * URLs when they expire, and only the parts storage does not hold yet when an upload resumes.
 *
 * What differs between platforms is injected as an `UploadSource`: how the file is hashed (Node's
 * worker threads, browsers' Web Workers), how a part's body is read (a reused buffer checked
 * against its digest, a Blob slice), how a challenge is answered and how a part travels
 * (node:http, fetch). The Node entry is sdk/upload.ts (`putFile`), the browser's sdk/browser.ts.
 * This module imports no platform: only the protocol and the fetch-based API client.
 */
import { type ByteRange, MAX_PARTS_PER_REQUEST, type PartPermit, type UploadPermit } from '#protocol/api';
import { blockRange, MAX_OBJECT_SIZE, SizeOutOfRangeError } from '#protocol/content-id';
import { normalizeContentType } from '#protocol/content-type';
import { bytesToBase64, bytesToHex } from '#protocol/encoding';
import type { TreeHash } from '#protocol/tree-hash';
import { ApiError, type HashdropClient, type UploadView } from './api.ts';
import type { StoragePut } from './fetch-put.ts';
import { DEFAULT_RETRY, type RetryPolicy, sleep, TransientError, withBackoff } from './retry.ts';

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

/** What every platform's put takes. */
export interface UploadOptions {
  /** Parts sent at once. @default 4: enough to fill a mobile uplink without starving it */
  readonly concurrency?: number;
  /** Longest wait for another client's upload of the same content, or for storage to assemble ours. @default 30 minutes */
  readonly maxWaitMs?: number;
  readonly retry?: RetryPolicy;
  /** Part URLs asked for per request (at most the server's 100). @default 100 */
  readonly partsPerBatch?: number;
  readonly onProgress?: (progress: UploadProgress) => void;
  /**
   * Stops the upload: requests in flight are aborted, the call rejects with the signal's reason,
   * and an upload already begun is cancelled on the server (best effort).
   */
  readonly signal?: AbortSignal;
  /**
   * The file's MIME type (`image/png`, or a browser's `File.type`), stored with it; sent in the
   * form the API takes (protocol/content-type.ts), and left out if it has none.
   */
  readonly contentType?: string;
}

/** What `hashdrop put --json` prints, and what every platform's put resolves to. */
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

/** An upload or download that cannot go on; `code` is stable (the API's own, or the SDK's). */
export class UploadFailedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UploadFailedError';
  }
}

/** A platform's side of an upload: the file's bytes and how they reach storage. */
export interface UploadSource<Body> {
  readonly size: number;
  /** Names the file in error messages (a path, a file name). */
  readonly label: string;
  hash(onProgress: ((bytesHashed: number) => void) | undefined, signal: AbortSignal | undefined): Promise<TreeHash>;
  /**
   * A reader for one lane of senders (lanes send one part at a time, so a lane may reuse its
   * memory from part to part): the body of part `partNumber`, which must still be the block
   * whose SHA-256 is `digest` (else `UploadFailedError('file_changed')`, where the platform can tell).
   */
  newLane(blockSize: number): (partNumber: number, digest: Uint8Array) => Promise<Body>;
  /** Hex SHA-256 of these ranges of the file, concatenated in order (docs/design.md §4). */
  answerChallenge(ranges: readonly ByteRange[]): Promise<string>;
  readonly put: StoragePut<Body>;
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
  readonly size: number;
  readonly digests: readonly Uint8Array[];
  readonly options: UploadOptions;
  readonly retry: RetryPolicy;
  readonly signal: AbortSignal | undefined;
}

const digestOf = (session: Session, partNumber: number): Uint8Array => session.digests[partNumber - 1] ?? new Uint8Array(0);

const batchSizeOf = (options: UploadOptions): number =>
  Math.min(Math.max(1, options.partsPerBatch ?? MAX_PARTS_PER_REQUEST), MAX_PARTS_PER_REQUEST);

type UploadAnswer = Extract<UploadView, { status: 'upload' }>;

const partSizeOf = (session: Session, partNumber: number): number => {
  const { start, end } = blockRange(session.size, partNumber);
  return end - start;
};

/** Retries what is worth retrying, and stops at once when the caller aborts. */
const retried = <T>(session: Session, attempt: () => Promise<T>): Promise<T> =>
  withBackoff(attempt, isTransient, session.retry, session.signal);

/** The parts a resumed upload finds in storage that hold the right bytes: their ETags by part number. */
function storedParts(session: Session, permit: UploadPermit): Map<number, string> {
  const etags = new Map<number, string>();
  for (const part of permit.uploadedParts ?? []) {
    const sameBytes = part.sha256 === undefined || part.sha256 === bytesToBase64(digestOf(session, part.partNumber));
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
      const signal = session.signal;
      pending = retried(session, () => session.client.signParts(answer.uploadId, partNumbers, signal ? { signal } : {}))
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

/** Sends parts to storage, retrying network errors, 5xx, throttling and stale URLs. */
class PartSender<Body> {
  /** Bytes sent by this sender (retries included), for progress. */
  bytesSent = 0;

  constructor(
    private readonly session: Session,
    private readonly permits: PartPermits,
    private readonly put: StoragePut<Body>,
  ) {}

  /** Sends the part's body; returns the ETag storage gave it. */
  send(partNumber: number, body: Body): Promise<string> {
    return retried(this.session, () => this.attempt(partNumber, body));
  }

  private async attempt(partNumber: number, body: Body): Promise<string> {
    const part = await this.permits.get(partNumber);
    const length = partSizeOf(this.session, partNumber);
    const response = await this.put(part.url, part.headers, body, this.session.signal);
    this.bytesSent += length;
    this.session.sent.bytes += length;
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
 * Sends the parts, `concurrency` at a time. Each lane reads through its own reader (which may
 * reuse one buffer): a part's bytes are sent before the next part is read.
 */
async function inLanes<Body>(
  session: Session,
  source: UploadSource<Body>,
  partNumbers: number[],
  blockSize: number,
  send: (partNumber: number, body: Body) => Promise<void>,
): Promise<void> {
  const queue = [...partNumbers];
  const concurrency = Math.max(1, session.options.concurrency ?? 4);
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      const read = source.newLane(blockSize);
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        session.signal?.throwIfAborted();
        await send(next, await read(next, digestOf(session, next)));
      }
    }),
  );
}

/** Sends what an `upload` answer asks for and completes the upload. */
async function sendBytes<Body>(session: Session, source: UploadSource<Body>, answer: UploadAnswer): Promise<UploadView> {
  const { permit, uploadId } = answer;
  const { client, options } = session;

  // Parts storage already holds (a resumed upload) are kept if they are the right ones.
  const etags = storedParts(session, permit);
  const bytesResumed = [...etags.keys()].reduce((sum, n) => sum + partSizeOf(session, n), 0);
  const permits = new PartPermits(session, answer, (n) => etags.has(n));
  const sender = new PartSender(session, permits, source.put);
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
  await inLanes(session, source, missing, permit.blockSize, async (partNumber, body) => {
    etags.set(partNumber, await sender.send(partNumber, body));
    report();
  });

  const parts =
    permit.mode === 'multipart'
      ? Array.from({ length: permit.partCount }, (_, index) => ({
          partNumber: index + 1,
          etag: etags.get(index + 1) ?? '',
          sha256: bytesToBase64(digestOf(session, index + 1)),
        }))
      : undefined;
  const signal = session.signal;
  const complete = () => retried(session, () => client.completeUpload(uploadId, parts, signal ? { signal } : {}));
  let view = await complete();
  // Timed from here, not from the upload's start: sending a large file takes far longer than any
  // wait, and its assembly only begins once every byte is sent.
  const waitUntil = Date.now() + (options.maxWaitMs ?? 30 * 60_000);
  // Storage is still assembling the parts (S3 may take minutes for a large object): the same
  // completion is asked again, which answers pending until the object is there. Asking POST
  // /v1/uploads instead would meet a multipart upload S3 no longer lists during assembly, and be
  // handed a new one to send every byte to again. (0 s: the server wants a proof, asked at once.)
  while (view.status === 'pending' && view.retryAfterSeconds > 0) {
    if (Date.now() > waitUntil) throw new UploadFailedError('wait_timeout', 'gave up waiting for storage to assemble the upload');
    options.onProgress?.({ phase: 'waiting', size: session.size });
    await sleep(view.retryAfterSeconds * 1000, signal);
    view = await complete();
  }
  return view;
}

/** Cancels an upload the caller aborted; best effort, as the caller has already given up on it. */
async function cancelQuietly(client: HashdropClient, uploadId: string): Promise<void> {
  try {
    await client.cancelUpload(uploadId);
  } catch {
    // 404 until the server has the cancel route (or once the upload is gone); any other failure
    // leaves the upload to the sweeper, which ends it after its TTL.
  }
}

/** Uploads `source` under `name`: the protocol of docs/design.md §1, whatever the platform. */
export async function upload<Body>(
  client: HashdropClient,
  source: UploadSource<Body>,
  name: string,
  options: UploadOptions = {},
): Promise<PutResult> {
  const { onProgress, signal } = options;
  const { size } = source;
  signal?.throwIfAborted();
  // Refused before any hashing: S3 could not store it.
  if (size > MAX_OBJECT_SIZE) throw new UploadFailedError('file_too_large', new SizeOutOfRangeError(size).message);
  const tree = await source.hash(
    onProgress ? (bytesHashed: number) => onProgress({ phase: 'hashing', bytesHashed, size }) : undefined,
    signal,
  );
  // Every block's digest: the server signs each part URL for its own block from this list.
  const contentType = normalizeContentType(options.contentType);
  const request = {
    name,
    size: tree.size,
    contentId: tree.contentId,
    blockDigests: tree.blockDigests.map(bytesToHex),
    ...(contentType ? { contentType } : {}),
  };
  const maxWaitMs = options.maxWaitMs ?? 30 * 60_000;
  /** When this run of waits for another sender began: a wait is timed from its start, not the upload's. */
  let waitingSince: number | undefined;
  const session: Session = {
    sent: { bytes: 0 },
    client,
    size: tree.size,
    digests: tree.blockDigests,
    options,
    retry: options.retry ?? DEFAULT_RETRY,
    signal,
  };
  const ask = (proof?: { token: string; sha256: string }) =>
    retried(session, () => client.requestUpload(proof ? { ...request, proof } : request, signal ? { signal } : {}));

  /** The upload this client was sending when it stopped, for a cancel on abort. */
  let underway: string | undefined;
  let staleChallenges = 0;
  let lostUploads = 0;
  try {
    let view = await ask();
    for (;;) {
      if (view.status !== 'wait' && view.status !== 'pending') waitingSince = undefined;
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
          underway = view.uploadId;
          try {
            view = await sendBytes(session, source, view);
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
          const sha256 = await source.answerChallenge(view.challenge.ranges);
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
          if (view.status === 'pending') underway = view.uploadId;
          waitingSince ??= Date.now();
          if (Date.now() - waitingSince > maxWaitMs) {
            throw new UploadFailedError('wait_timeout', 'gave up waiting for the content to be stored');
          }
          onProgress?.({ phase: 'waiting', size: tree.size });
          await sleep(view.retryAfterSeconds * 1000, signal);
          view = await ask();
          break;
      }
    }
  } catch (error) {
    if (signal?.aborted && underway !== undefined) await cancelQuietly(client, underway);
    throw error;
  }
}
