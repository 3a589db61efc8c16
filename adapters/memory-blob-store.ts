/**
 * The BlobStore in memory, with S3's behaviour where hashdrop depends on it, and the storage side
 * that clients talk to (`send` a presigned request, as a client PUTs to S3) for tests.
 *
 * What it enforces, as S3 does for hashdrop:
 * - a presigned request is honoured only as issued: same method, every signed header sent with
 *   its signed value and a body of its signed Content-Length (else 403 SignatureDoesNotMatch),
 *   before it expires (else 403 AccessDenied);
 * - a PUT signed with `If-None-Match: *` is refused onto a key that holds an object (412
 *   PreconditionFailed), and CompleteMultipartUpload (always sent with it) leaves such a key as it is;
 * - a body whose SHA-256 differs from `x-amz-checksum-sha256` is refused (400 BadDigest), and a
 *   part of a multipart upload created with SHA-256 checksums must carry one (400 InvalidRequest);
 * - a part for an unknown upload is refused (404 NoSuchUpload);
 * - CompleteMultipartUpload checks that the listed parts exist with those ETags and checksums,
 *   in ascending order, and that every part but the last is at least 5 MiB;
 * - `head` reports ChecksumSHA256 as S3 does: the signed checksum of a single PUT (none for a PUT
 *   sent without one), and the composite `base64(SHA-256(part digests))-N` of a multipart upload.
 *
 * test/contract/blob-store-contract.ts holds it and S3BlobStore to one specification.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ConflictError, ValidationError } from '#domain/errors';
import type {
  BlobStore,
  BlockClaim,
  ByteRange,
  CompletedPart,
  DownloadOptions,
  PresignedRequest,
  StoredObject,
  StoredPart,
} from '#domain/ports';
import { contentDisposition } from './s3-blob-store.ts';

const CHECKSUM_HEADER = 'x-amz-checksum-sha256';
const IF_NONE_MATCH = 'if-none-match';
/** S3's smallest part, except the last of an upload. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Chunks `read` yields, so that readers meet a stream of several chunks as from S3. */
const READ_CHUNK = 1024 * 1024;

/** S3's answer to a refused request, named by its error code as the AWS SDK names its errors. */
export class StorageError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

/** What storage answers a client's request with. */
export interface StorageResponse {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
  /** S3's error code, for a refusal. */
  readonly code?: string;
}

interface StoredBlob {
  readonly bytes: Uint8Array;
  readonly etag: string;
  readonly checksumSha256?: string;
}

interface Part {
  readonly bytes: Uint8Array;
  readonly etag: string;
  readonly sha256: string;
}

interface Upload {
  readonly key: string;
  readonly parts: Map<number, Part>;
}

/** What a presigned URL allows: it stands for the signature S3 would check. */
type Grant = {
  readonly method: 'PUT' | 'GET';
  readonly key: string;
  readonly expiresAt: number;
  readonly signedHeaders: Record<string, string>;
  /** The signed Content-Length: the body must be exactly this long. */
  readonly contentLength?: number;
} & (
  | { readonly op: 'put' }
  | { readonly op: 'part'; readonly uploadId: string; readonly partNumber: number }
  | { readonly op: 'get'; readonly fileName: string; readonly inline: boolean; readonly contentType?: string | undefined }
);

export type ObjectCreatedListener = (key: string) => unknown;

export interface MemoryBlobStoreOptions {
  /** The clock presigned URLs expire by. */
  readonly clock?: () => number;
  /** Called for every object created (PUT or completed multipart upload), after the request that created it returned, as S3 events are. */
  readonly onObjectCreated?: ObjectCreatedListener;
}

const sha256Base64 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');
const md5Etag = (bytes: Uint8Array): string => `"${createHash('md5').update(bytes).digest('hex')}"`;
/** S3 compares ETags without their quotes. */
const bareEtag = (etag: string): string => etag.replace(/"/g, '');

export class MemoryBlobStore implements BlobStore {
  private readonly objects = new Map<string, StoredBlob>();
  private readonly uploads = new Map<string, Upload>();
  private readonly grants = new Map<string, Grant>();
  private readonly listeners: ObjectCreatedListener[] = [];
  private readonly deliveries = new Set<Promise<void>>();
  private readonly failedDeliveries: unknown[] = [];
  private readonly clock: () => number;

  constructor(options: MemoryBlobStoreOptions = {}) {
    this.clock = options.clock ?? Date.now;
    if (options.onObjectCreated) this.listeners.push(options.onObjectCreated);
  }

  // The BlobStore port.

  async presignPut(key: string, block: BlockClaim, expiresInSeconds: number): Promise<PresignedRequest> {
    const signing = this.signing(expiresInSeconds, block);
    return this.grant({
      op: 'put',
      method: 'PUT',
      key,
      ...signing,
      signedHeaders: { ...signing.signedHeaders, [IF_NONE_MATCH]: '*' },
    });
  }

  async createMultipartUpload(key: string): Promise<string> {
    const uploadId = randomBytes(16).toString('hex');
    this.uploads.set(uploadId, { key, parts: new Map() });
    return uploadId;
  }

  async presignUploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    block: BlockClaim,
    expiresInSeconds: number,
  ): Promise<PresignedRequest> {
    return this.grant({ op: 'part', method: 'PUT', key, uploadId, partNumber, ...this.signing(expiresInSeconds, block) });
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<void> {
    const upload = this.uploadOf(key, uploadId);
    if (!upload) {
      // As S3BlobStore reads NoSuchUpload: completed by an earlier call (a retry), or aborted.
      if (this.objects.has(key)) return;
      throw new ConflictError('upload_expired', 'the multipart upload no longer exists; ask again');
    }
    if (parts.length === 0) throw new StorageError('MalformedXML', 400, 'a completion lists at least one part');
    // Sent with If-None-Match: * (as S3BlobStore sends it): S3 answers 412 and keeps the upload,
    // which S3BlobStore reads as "the key holds an object already".
    if (this.objects.has(key)) return;
    const listed: Part[] = [];
    parts.forEach((part, index) => {
      const previous = parts[index - 1];
      if (previous && part.partNumber <= previous.partNumber) refuseParts('InvalidPartOrder');
      const stored = upload.parts.get(part.partNumber);
      if (!stored || bareEtag(stored.etag) !== bareEtag(part.etag)) refuseParts('InvalidPart');
      if (stored.sha256 !== part.sha256) refuseParts('BadDigest');
      if (index < parts.length - 1 && stored.bytes.length < MIN_PART_SIZE) refuseParts('EntityTooSmall');
      listed.push(stored);
    });
    const composite = createHash('sha256');
    for (const part of listed) composite.update(Buffer.from(part.sha256, 'base64'));
    const md5s = Buffer.concat(listed.map((part) => Buffer.from(bareEtag(part.etag), 'hex')));
    this.uploads.delete(uploadId);
    this.store(key, {
      bytes: Buffer.concat(listed.map((part) => part.bytes)),
      etag: `"${createHash('md5').update(md5s).digest('hex')}-${listed.length}"`,
      checksumSha256: `${composite.digest('base64')}-${listed.length}`,
    });
  }

  async listParts(key: string, uploadId: string): Promise<StoredPart[] | undefined> {
    const upload = this.uploadOf(key, uploadId);
    if (!upload) return undefined;
    return [...upload.parts.entries()]
      .sort(([a], [b]) => a - b)
      .map(([partNumber, part]) => ({ partNumber, etag: part.etag, size: part.bytes.length, sha256: part.sha256 }));
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    if (this.uploadOf(key, uploadId)) this.uploads.delete(uploadId);
  }

  async putDocument(key: string, body: Uint8Array, _contentType: string): Promise<void> {
    if (this.objects.has(key))
      throw new StorageError('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
    this.putObject(key, body);
  }

  async head(key: string): Promise<StoredObject | undefined> {
    const object = this.objects.get(key);
    if (!object) return undefined;
    return { size: object.bytes.length, ...(object.checksumSha256 ? { checksumSha256: object.checksumSha256 } : {}) };
  }

  async read(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    const object = this.objects.get(key);
    if (!object) return undefined;
    const bytes = Uint8Array.from(range ? rangeOf(object.bytes, range) : object.bytes);
    return (async function* () {
      for (let offset = 0; offset < bytes.length; offset += READ_CHUNK) yield bytes.subarray(offset, offset + READ_CHUNK);
    })();
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async presignGet(key: string, options: DownloadOptions): Promise<PresignedRequest> {
    return this.grant({
      op: 'get',
      method: 'GET',
      key,
      fileName: options.fileName,
      inline: options.inline === true,
      contentType: options.contentType,
      ...this.signing(options.expiresInSeconds),
    });
  }

  // The storage side, for tests.

  /**
   * Sends a presigned request as a client sends it to S3: to its URL, with `headers` (by default
   * the ones it came with) and `body`. Refusals are answered, not thrown, like HTTP.
   */
  async send(
    request: PresignedRequest,
    body: Uint8Array = new Uint8Array(),
    headers = request.headers,
  ): Promise<StorageResponse> {
    try {
      const grant = this.grants.get(request.url);
      const sent = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
      const signed = grant && Object.entries(grant.signedHeaders).every(([name, value]) => sent[name] === value);
      // An HTTP client sends its body's length as Content-Length: another length than the signed one breaks the signature.
      const length = grant?.contentLength === undefined || grant.contentLength === body.length;
      if (!grant || grant.method !== request.method || !signed || !length) {
        throw new StorageError('SignatureDoesNotMatch', 403, 'the request signature does not match');
      }
      if (this.clock() > grant.expiresAt) throw new StorageError('AccessDenied', 403, 'Request has expired');
      switch (grant.op) {
        case 'put':
          if (sent[IF_NONE_MATCH] === '*' && this.objects.has(grant.key)) {
            throw new StorageError('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
          }
          return ok({ etag: this.putObject(grant.key, body, { checksumSha256: sent[CHECKSUM_HEADER] }) });
        case 'part':
          return ok({
            etag: this.uploadPart(grant.key, grant.uploadId, grant.partNumber, body, { checksumSha256: sent[CHECKSUM_HEADER] }),
          });
        case 'get': {
          const object = this.objects.get(grant.key);
          if (!object) throw new StorageError('NoSuchKey', 404, 'The specified key does not exist.');
          const disposition = contentDisposition(grant.fileName, grant.inline);
          const type: Record<string, string> = grant.contentType ? { 'content-type': grant.contentType } : {};
          return ok({ etag: object.etag, 'content-disposition': disposition, ...type }, Uint8Array.from(object.bytes));
        }
      }
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      return { status: error.status, headers: {}, body: new TextEncoder().encode(error.message), code: error.code };
    }
  }

  /**
   * PutObject as storage receives it, unconditionally (as the account owner may, unlike a
   * presigned URL): tests use it to stand for a write that went around every guard. Returns the
   * ETag. Throws StorageError (BadDigest) as S3 refuses.
   */
  putObject(key: string, bytes: Uint8Array, options: { checksumSha256?: string | undefined } = {}): string {
    verifyChecksum(bytes, options.checksumSha256);
    const etag = md5Etag(bytes);
    this.store(key, {
      bytes: Uint8Array.from(bytes),
      etag,
      ...(options.checksumSha256 ? { checksumSha256: options.checksumSha256 } : {}),
    });
    return etag;
  }

  /** UploadPart as storage receives it; returns the part's ETag. Throws StorageError as S3 refuses. */
  uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    bytes: Uint8Array,
    options: { checksumSha256?: string | undefined } = {},
  ): string {
    const upload = this.uploadOf(key, uploadId);
    if (!upload) throw new StorageError('NoSuchUpload', 404, 'The specified upload does not exist.');
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      throw new StorageError('InvalidArgument', 400, 'Part number must be an integer between 1 and 10000, inclusive');
    }
    // The upload was created with SHA-256 checksums (S3BlobStore.createMultipartUpload): every part needs one.
    if (!options.checksumSha256)
      throw new StorageError('InvalidRequest', 400, 'this upload requires a SHA-256 checksum per part');
    verifyChecksum(bytes, options.checksumSha256);
    const etag = md5Etag(bytes);
    upload.parts.set(partNumber, { bytes: Uint8Array.from(bytes), etag, sha256: options.checksumSha256 });
    return etag;
  }

  /** Listens to ObjectCreated events; returns a function that stops listening. */
  onObjectCreated(listener: ObjectCreatedListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** Resolves once every event delivered so far has been handled; rejects if a listener failed. */
  async eventsSettled(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all([...this.deliveries]);
    const failed = this.failedDeliveries.splice(0);
    if (failed.length > 0) throw new AggregateError(failed, 'an ObjectCreated listener failed');
  }

  /** Every stored key, for assertions. */
  keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  /** Multipart uploads in progress under `key`, for assertions. */
  uploadsOf(key: string): string[] {
    return [...this.uploads.entries()].filter(([, upload]) => upload.key === key).map(([uploadId]) => uploadId);
  }

  private signing(
    expiresInSeconds: number,
    block?: BlockClaim,
  ): { expiresAt: number; signedHeaders: Record<string, string>; contentLength?: number } {
    return {
      expiresAt: this.clock() + expiresInSeconds * 1000,
      signedHeaders: block === undefined ? {} : { [CHECKSUM_HEADER]: block.sha256Base64 },
      ...(block === undefined ? {} : { contentLength: block.length }),
    };
  }

  private grant(grant: Grant): PresignedRequest {
    const query = new URLSearchParams({
      ...(grant.op === 'part' ? { partNumber: String(grant.partNumber), uploadId: grant.uploadId } : {}),
      ...(grant.op === 'get' ? { 'response-content-disposition': contentDisposition(grant.fileName, grant.inline) } : {}),
      ...(grant.op === 'get' && grant.contentType ? { 'response-content-type': grant.contentType } : {}),
      expires: String(grant.expiresAt),
      // Stands for the signature: a URL the store did not issue is refused.
      signature: randomBytes(16).toString('hex'),
    });
    const path = grant.key.split('/').map(encodeURIComponent).join('/');
    const url = `memory://hashdrop/${path}?${query}`;
    this.grants.set(url, grant);
    return { url, method: grant.method, headers: { ...grant.signedHeaders } };
  }

  /** S3 answers NoSuchUpload for an unknown upload id and for one of another key alike. */
  private uploadOf(key: string, uploadId: string): Upload | undefined {
    const upload = this.uploads.get(uploadId);
    return upload?.key === key ? upload : undefined;
  }

  private store(key: string, object: StoredBlob): void {
    this.objects.set(key, object);
    for (const listener of this.listeners) {
      const delivery = Promise.resolve()
        .then(() => listener(key))
        .then(
          () => undefined,
          (error: unknown) => {
            this.failedDeliveries.push(error);
          },
        )
        .finally(() => this.deliveries.delete(delivery));
      this.deliveries.add(delivery);
    }
  }
}

function ok(headers: Record<string, string>, body: Uint8Array = new Uint8Array()): StorageResponse {
  return { status: 200, headers, body };
}

function verifyChecksum(bytes: Uint8Array, checksumSha256: string | undefined): void {
  if (checksumSha256 !== undefined && checksumSha256 !== sha256Base64(bytes)) {
    throw new StorageError('BadDigest', 400, 'The SHA256 you specified did not match the calculated checksum.');
  }
}

/** S3BlobStore's translation of S3's refusal of a part list. */
function refuseParts(code: string): never {
  throw new ValidationError('invalid_parts', `storage refused the part list (${code})`);
}

/**
 * The bytes S3 returns for `Range: bytes=start-(start+length-1)`: clipped at the end of the
 * object; 416 InvalidRange from beyond it; a range with no bytes is not a valid range header,
 * which S3 ignores (the whole object).
 */
function rangeOf(bytes: Uint8Array, range: ByteRange): Uint8Array {
  if (range.length < 1) return bytes;
  if (range.start >= bytes.length) throw new StorageError('InvalidRange', 416, 'The requested range is not satisfiable');
  return bytes.subarray(range.start, range.start + range.length);
}
