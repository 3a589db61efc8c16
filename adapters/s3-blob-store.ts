/**
 * The BlobStore on S3 (or any S3-compatible server).
 *
 * Presigned PUT and UploadPart URLs carry the block's SHA-256 as a *signed header*. Left to the
 * presigner's default, `x-amz-checksum-sha256` is hoisted into the query string, where S3 does
 * not check it (aws-sdk-js-v3 #3906): the client could then send any bytes. As a signed header it
 * must be sent verbatim, and S3 refuses a body whose SHA-256 differs. They also sign the body's
 * Content-Length, so no URL stores more (or fewer) bytes than its block; and a single PUT signs
 * `If-None-Match: *`, as CompleteMultipartUpload sends it, so no write replaces an object: the
 * bucket policy refuses any PutObject or completion under `blobs/` without it
 * (lib/constructs/blob-bucket.ts).
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
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

const CHECKSUM_HEADER = 'x-amz-checksum-sha256';
const SIGNED_CHECKSUM = { unhoistableHeaders: new Set([CHECKSUM_HEADER]) };
/** S3's conditional write: only if the key holds no object (412 PreconditionFailed otherwise). */
const WRITE_ONCE = '*';

/** S3's answers to a CompleteMultipartUpload whose part list does not fit the stored parts. */
const REJECTED_PARTS = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'BadDigest', 'InvalidDigest']);

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  if (name === 'NotFound' || name === 'NoSuchKey') return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status === 404;
}

/** RFC 6266 / 5987: an ASCII fallback plus the exact UTF-8 name. */
export function contentDisposition(fileName: string, inline = false): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${inline ? 'inline' : 'attachment'}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

export class S3BlobStore implements BlobStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async presignPut(key: string, block: BlockClaim, expiresInSeconds: number): Promise<PresignedRequest> {
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ChecksumSHA256: block.sha256Base64,
      ContentLength: block.length,
      IfNoneMatch: WRITE_ONCE,
    });
    const url = await getSignedUrl(this.s3, command, { expiresIn: expiresInSeconds, ...SIGNED_CHECKSUM });
    return { url, method: 'PUT', headers: { [CHECKSUM_HEADER]: block.sha256Base64, 'if-none-match': WRITE_ONCE } };
  }

  async createMultipartUpload(key: string): Promise<string> {
    const { UploadId } = await this.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        // Parts carry SHA-256 checksums and S3 keeps their composite: our content id.
        ChecksumAlgorithm: 'SHA256',
        ChecksumType: 'COMPOSITE',
      }),
    );
    if (!UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    return UploadId;
  }

  async presignUploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    block: BlockClaim,
    expiresInSeconds: number,
  ): Promise<PresignedRequest> {
    const command = new UploadPartCommand({
      Bucket: this.bucket,
      Key: key,
      UploadId: uploadId,
      PartNumber: partNumber,
      ChecksumSHA256: block.sha256Base64,
      ContentLength: block.length,
    });
    const url = await getSignedUrl(this.s3, command, { expiresIn: expiresInSeconds, ...SIGNED_CHECKSUM });
    return { url, method: 'PUT', headers: { [CHECKSUM_HEADER]: block.sha256Base64 } };
  }

  async putDocument(key: string, body: Uint8Array, contentType: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
        IfNoneMatch: WRITE_ONCE,
      }),
    );
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<void> {
    try {
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag, ChecksumSHA256: part.sha256 })),
          },
          IfNoneMatch: WRITE_ONCE,
        }),
      );
    } catch (error) {
      const name = errorName(error);
      if (name && REJECTED_PARTS.has(name)) {
        throw new ValidationError('invalid_parts', `storage refused the part list (${name})`);
      }
      // The key holds an object already (S3 leaves this upload as it was): the caller verifies it.
      if (name === 'PreconditionFailed') return;
      // Another completion of this key (a request that timed out on our side) is still being
      // assembled: its object is verified when it appears (the caller answers pending meanwhile).
      if (name === 'ConditionalRequestConflict') return;
      if (name === 'NoSuchUpload') {
        // Completed by an earlier call (a retry), or aborted.
        if (await this.head(key)) return;
        throw new ConflictError('upload_expired', 'the multipart upload no longer exists; ask again');
      }
      throw error;
    }
  }

  async listParts(key: string, uploadId: string): Promise<StoredPart[] | undefined> {
    const parts: StoredPart[] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await this.s3.send(
          new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
        );
        for (const part of page.Parts ?? []) {
          if (part.PartNumber === undefined || !part.ETag) continue;
          parts.push({
            partNumber: part.PartNumber,
            etag: part.ETag,
            size: part.Size ?? 0,
            ...(part.ChecksumSHA256 ? { sha256: part.ChecksumSHA256 } : {}),
          });
        }
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker);
    } catch (error) {
      if (errorName(error) === 'NoSuchUpload') return undefined;
      throw error;
    }
    return parts;
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (error) {
      // Already completed or aborted: nothing is left to remove.
      if (errorName(error) === 'NoSuchUpload') return;
      // Anything else: the lifecycle rule and the sweeper remove what is left.
      console.warn(JSON.stringify({ message: 'abort multipart upload failed', key, error: errorName(error) }));
    }
  }

  async head(key: string): Promise<StoredObject | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED' }));
      return {
        size: head.ContentLength ?? 0,
        ...(head.ChecksumSHA256 ? { checksumSha256: head.ChecksumSHA256 } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async read(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    try {
      const { Body } = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.start + range.length - 1}` } : {}),
        }),
      );
      if (!Body || !(Symbol.asyncIterator in Body)) throw new Error(`GetObject ${key} returned no stream`);
      return Body as AsyncIterable<Uint8Array>;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async presignGet(key: string, options: DownloadOptions): Promise<PresignedRequest> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: contentDisposition(options.fileName, options.inline),
      // Objects are stored without a type (one object serves every owner, whatever each declared):
      // each download names its file's own.
      ...(options.contentType ? { ResponseContentType: options.contentType } : {}),
    });
    const url = await getSignedUrl(this.s3, command, { expiresIn: options.expiresInSeconds });
    return { url, method: 'GET', headers: {} };
  }
}
