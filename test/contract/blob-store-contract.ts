/**
 * The BlobStore port's specification, as tests every implementation must pass: S3BlobStore on
 * the local S3 (test/integration/contract-real.test.ts) and MemoryBlobStore
 * (test/unit/contract-memory.test.ts). Bytes reach storage as a client sends them: a presigned
 * request with its headers, through `storage`.
 *
 * What hashdrop needs of S3 beyond storing bytes is listed in `BlobCapabilities`. AWS S3, the
 * local S3 (local/s3/) and MemoryBlobStore have them all; a store that lacks one runs with that
 * flag off, and a test then pins the gap, so that a stricter store is never left untested.
 */
import { createHash, randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { contentDisposition } from '#adapters/s3-blob-store';
import { ConflictError, ValidationError } from '#domain/errors';
import type { BlobStore, BlockClaim, CompletedPart, PresignedRequest } from '#domain/ports';

/** S3's smallest part, except the last. */
const MIN_PART = 5 * 1024 * 1024;
const CHECKSUM_HEADER = 'x-amz-checksum-sha256';

export interface StorageResponse {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** The storage side: what a client's HTTP request to a presigned URL gets. */
export interface StorageClient {
  /** Sends `request` with `headers` (by default its own) and `body`. */
  send(request: PresignedRequest, body?: Uint8Array, headers?: Record<string, string>): Promise<StorageResponse>;
}

export interface BlobCapabilities {
  /** Refuses a body whose SHA-256 differs from the signed `x-amz-checksum-sha256` (400 BadDigest). */
  readonly enforcesChecksums: boolean;
  /** Refuses a request whose signed headers were not sent as signed (403 SignatureDoesNotMatch). */
  readonly enforcesSignatures: boolean;
  /** `head` reports ChecksumSHA256 (single PUT and composite multipart), and ListParts each part's. */
  readonly reportsChecksums: boolean;
  /**
   * CompleteMultipartUpload checks the listed parts (exist, ETag, checksum, ascending, 5 MiB but
   * the last) and knows which uploads exist (UploadPart and completion of an unknown one refused).
   */
  readonly validatesMultipart: boolean;
}

export interface BlobFixture {
  readonly blobs: BlobStore;
  readonly storage: StorageClient;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');
/** What a URL is signed for: exactly these bytes. */
const claim = (bytes: Uint8Array): BlockClaim => ({ sha256Base64: sha256(bytes), length: bytes.length });

/** A key no other test uses, outside `blobs/` so that no ObjectCreated handler acts on it. */
const newKey = (): string => `contract/${randomBytes(8).toString('hex')}/object`;

/**
 * What a test compares bytes by: their length and SHA-256 (a deep equality of megabytes costs
 * seconds, and its failure report would be unreadable anyway).
 */
function fingerprint(bytes: Uint8Array): string {
  return `${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}`;
}

async function readAll(stream: AsyncIterable<Uint8Array> | undefined): Promise<string | undefined> {
  if (!stream) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return fingerprint(Buffer.concat(chunks));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

export function blobStoreContract(name: string, caps: BlobCapabilities, make: () => Promise<BlobFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let blobs: BlobStore;
    let storage: StorageClient;

    beforeEach(async () => {
      ({ blobs, storage } = await make());
    });

    async function put(key: string, bytes: Uint8Array): Promise<void> {
      const response = await storage.send(await blobs.presignPut(key, claim(bytes), 60), bytes);
      expect(response.status).toBe(200);
    }

    /** A multipart upload with its parts sent; returns what completing it takes. */
    async function multipart(key: string, parts: readonly Uint8Array[]) {
      const uploadId = await blobs.createMultipartUpload(key);
      const completed: CompletedPart[] = [];
      for (const [index, bytes] of parts.entries()) {
        const partNumber = index + 1;
        const request = await blobs.presignUploadPart(key, uploadId, partNumber, claim(bytes), 60);
        const response = await storage.send(request, bytes);
        expect(response.status).toBe(200);
        completed.push({ partNumber, etag: response.headers.etag ?? '', sha256: sha256(bytes) });
      }
      return { uploadId, completed };
    }

    describe('single PUT', () => {
      it('presigns a write-once PUT whose SHA-256 is a header to send as given', async () => {
        const bytes = randomBytes(100);
        const request = await blobs.presignPut(newKey(), claim(bytes), 60);
        expect(request.method).toBe('PUT');
        expect(request.headers).toEqual({ [CHECKSUM_HEADER]: sha256(bytes), 'if-none-match': '*' });
        expect(request.url).toMatch(/^[a-z]+:\/\//);
      });

      it('stores the bytes sent with the signed headers; head and read report them', async () => {
        const key = newKey();
        const bytes = randomBytes(70_000);
        await put(key, bytes);
        const head = await blobs.head(key);
        expect(head?.size).toBe(bytes.length);
        if (caps.reportsChecksums) expect(head?.checksumSha256).toBe(sha256(bytes));
        else expect(head?.checksumSha256).toBeUndefined();
        expect(await readAll(await blobs.read(key))).toBe(fingerprint(bytes));
      });

      it('stores an empty object', async () => {
        const key = newKey();
        await put(key, new Uint8Array());
        expect((await blobs.head(key))?.size).toBe(0);
        expect(await readAll(await blobs.read(key))).toBe(fingerprint(new Uint8Array()));
      });
    });

    describe('reading', () => {
      it('reads a byte range, clipped at the end of the object', async () => {
        const key = newKey();
        const bytes = randomBytes(1000);
        await put(key, bytes);
        expect(await readAll(await blobs.read(key, { start: 10, length: 20 }))).toBe(fingerprint(bytes.subarray(10, 30)));
        expect(await readAll(await blobs.read(key, { start: 990, length: 64 }))).toBe(fingerprint(bytes.subarray(990)));
      });

      it('knows nothing of a missing object', async () => {
        const key = newKey();
        expect(await blobs.head(key)).toBeUndefined();
        expect(await blobs.read(key)).toBeUndefined();
        expect(await blobs.read(key, { start: 0, length: 10 })).toBeUndefined();
      });

      it('presigns a GET that returns the bytes under the file name given', async () => {
        const key = newKey();
        const bytes = randomBytes(500);
        await put(key, bytes);
        const request = await blobs.presignGet(key, { fileName: 'résumé "final".pdf', expiresInSeconds: 60 });
        expect(request.method).toBe('GET');
        expect(request.headers).toEqual({});
        const response = await storage.send(request);
        expect(response.status).toBe(200);
        expect(fingerprint(response.body)).toBe(fingerprint(bytes));
        expect(response.headers['content-disposition']).toBe(contentDisposition('résumé "final".pdf'));
        await blobs.delete(key);
        expect((await storage.send(request)).status).toBe(404);
      });
    });

    describe('putDocument', () => {
      it('stores a document of the service’s own, write-once, downloadable through a presigned GET', async () => {
        const key = newKey();
        const body = new TextEncoder().encode('{"files":[]}');
        await blobs.putDocument(key, body, 'application/json');
        expect((await blobs.head(key))?.size).toBe(body.length);
        const response = await storage.send(await blobs.presignGet(key, { fileName: 'export.json', expiresInSeconds: 60 }));
        expect(fingerprint(response.body)).toBe(fingerprint(body));
        expect(await rejection(blobs.putDocument(key, new TextEncoder().encode('{}'), 'application/json'))).toBeInstanceOf(Error);
        expect(await readAll(await blobs.read(key))).toBe(fingerprint(body));
      });
    });

    describe('delete', () => {
      it('deletes an object; deleting a missing one is no error', async () => {
        const key = newKey();
        await put(key, randomBytes(10));
        await blobs.delete(key);
        expect(await blobs.head(key)).toBeUndefined();
        await blobs.delete(key);
        await blobs.delete(newKey());
      });
    });

    describe('multipart upload', () => {
      it('assembles the parts in order; head reports the composite checksum; the upload is then gone', async () => {
        const key = newKey();
        const parts = [randomBytes(MIN_PART), randomBytes(1234)];
        const { uploadId, completed } = await multipart(key, parts);
        expect(uploadId).toEqual(expect.any(String));

        const listed = (await blobs.listParts(key, uploadId)) ?? [];
        expect(listed.map(({ partNumber, size, etag }) => ({ partNumber, size, etag }))).toEqual(
          completed.map((part, index) => ({ partNumber: part.partNumber, size: parts[index]?.length, etag: part.etag })),
        );
        if (caps.reportsChecksums) expect(listed.map((part) => part.sha256)).toEqual(parts.map(sha256));

        await blobs.completeMultipartUpload(key, uploadId, completed);
        const head = await blobs.head(key);
        expect(head?.size).toBe(MIN_PART + 1234);
        const composite = createHash('sha256');
        for (const part of parts) composite.update(createHash('sha256').update(part).digest());
        if (caps.reportsChecksums) expect(head?.checksumSha256).toBe(`${composite.digest('base64')}-2`);
        else expect(head?.checksumSha256).toBeUndefined();
        expect(await readAll(await blobs.read(key))).toBe(fingerprint(Buffer.concat(parts)));
        expect(await blobs.listParts(key, uploadId)).toBeUndefined();
      });

      it('a part sent again replaces the earlier one', async () => {
        const key = newKey();
        const { uploadId } = await multipart(key, [randomBytes(100)]);
        const again = randomBytes(200);
        const response = await storage.send(await blobs.presignUploadPart(key, uploadId, 1, claim(again), 60), again);
        expect(response.status).toBe(200);
        const listed = await blobs.listParts(key, uploadId);
        expect(listed).toHaveLength(1);
        expect(listed?.[0]).toMatchObject({ partNumber: 1, size: 200, etag: response.headers.etag });
        await blobs.completeMultipartUpload(key, uploadId, [
          { partNumber: 1, etag: response.headers.etag ?? '', sha256: sha256(again) },
        ]);
        expect(await readAll(await blobs.read(key))).toBe(fingerprint(again));
      });

      it('abort ends the upload; aborting or listing an unknown upload is no error (listing says it is gone)', async () => {
        const key = newKey();
        const { uploadId } = await multipart(key, [randomBytes(100)]);
        await blobs.abortMultipartUpload(key, uploadId);
        expect(await blobs.listParts(key, uploadId)).toBeUndefined();
        await blobs.abortMultipartUpload(key, uploadId);
        expect(await blobs.listParts(newKey(), randomBytes(16).toString('hex'))).toBeUndefined();
        await blobs.abortMultipartUpload(newKey(), randomBytes(16).toString('hex'));
        expect(await blobs.head(key)).toBeUndefined();
      });
    });

    describe('what storage enforces', () => {
      it('a PUT never replaces an object: the same URL again, or another for the key, gets 412', async () => {
        const key = newKey();
        const bytes = randomBytes(100);
        const first = await blobs.presignPut(key, claim(bytes), 60);
        expect((await storage.send(first, bytes)).status).toBe(200);
        expect((await storage.send(first, bytes)).status).toBe(412);
        const other = randomBytes(100);
        expect((await storage.send(await blobs.presignPut(key, claim(other), 60), other)).status).toBe(412);
        expect(await readAll(await blobs.read(key))).toBe(fingerprint(bytes));
      });

      it('a completion onto a key that holds an object leaves the object as it is, and is no error', async () => {
        const key = newKey();
        const bytes = randomBytes(100);
        await put(key, bytes);
        const { uploadId, completed } = await multipart(key, [randomBytes(10)]);
        await blobs.completeMultipartUpload(key, uploadId, completed);
        expect(await readAll(await blobs.read(key))).toBe(fingerprint(bytes));
      });

      it('a URL takes a body of its signed length only: longer or shorter is refused, nothing stored', async () => {
        const key = newKey();
        const bytes = randomBytes(1000);
        const request = await blobs.presignPut(key, claim(bytes), 60);
        // The same bytes plus one, and minus one: the checksum alone would refuse these too, so
        // the length is tested with a checksum that matches the body sent.
        for (const body of [Buffer.concat([bytes, randomBytes(1)]), bytes.subarray(0, 999)]) {
          const forged = await blobs.presignPut(key, { sha256Base64: sha256(body), length: bytes.length }, 60);
          expect((await storage.send(forged, body)).status).toBe(403);
        }
        expect(await blobs.head(key)).toBeUndefined();
        const uploadId = await blobs.createMultipartUpload(key);
        const longer = randomBytes(1001);
        const part = await blobs.presignUploadPart(key, uploadId, 1, { sha256Base64: sha256(longer), length: 1000 }, 60);
        expect((await storage.send(part, longer)).status).toBe(403);
        expect(await blobs.listParts(key, uploadId)).toEqual([]);
        expect((await storage.send(request, bytes)).status).toBe(200);
      });

      if (caps.enforcesChecksums) {
        it('refuses a PUT whose bytes do not match the signed checksum (BadDigest), storing nothing', async () => {
          const key = newKey();
          const response = await storage.send(await blobs.presignPut(key, claim(randomBytes(100)), 60), randomBytes(100));
          expect(response.status).toBe(400);
          expect(await blobs.head(key)).toBeUndefined();
        });

        it('refuses a part whose bytes do not match its signed checksum, keeping none of it', async () => {
          const key = newKey();
          const uploadId = await blobs.createMultipartUpload(key);
          const request = await blobs.presignUploadPart(key, uploadId, 1, claim(randomBytes(100)), 60);
          expect((await storage.send(request, randomBytes(100))).status).toBe(400);
          expect(await blobs.listParts(key, uploadId)).toEqual([]);
        });
      } else {
        // Gap: AWS refuses these bytes (400 BadDigest); the AWS-parity work makes the local S3 strict too.
        it('(gap) accepts bytes that do not match the signed checksum', async () => {
          const key = newKey();
          const response = await storage.send(await blobs.presignPut(key, claim(randomBytes(100)), 60), randomBytes(100));
          expect(response.status).toBe(200);
        });
      }

      if (caps.enforcesSignatures) {
        it('refuses a request whose signed checksum header was changed or left out', async () => {
          const key = newKey();
          const claimed = randomBytes(100);
          const other = randomBytes(100);
          const request = await blobs.presignPut(key, claim(claimed), 60);
          expect((await storage.send(request, other, { [CHECKSUM_HEADER]: sha256(other) })).status).toBe(403);
          expect((await storage.send(request, claimed, {})).status).toBe(403);
          expect(await blobs.head(key)).toBeUndefined();
        });
      } else {
        // Gap: AWS answers 403 SignatureDoesNotMatch; a store that checks no V4 signature accepts it.
        it('(gap) accepts a request whose signed checksum header was changed', async () => {
          const key = newKey();
          const other = randomBytes(100);
          const request = await blobs.presignPut(key, claim(randomBytes(100)), 60);
          expect((await storage.send(request, other, { [CHECKSUM_HEADER]: sha256(other) })).status).toBe(200);
        });
      }

      if (caps.validatesMultipart) {
        it('refuses to complete with a part list that does not fit the stored parts (invalid_parts)', async () => {
          const key = newKey();
          const { uploadId, completed } = await multipart(key, [randomBytes(MIN_PART), randomBytes(MIN_PART), randomBytes(10)]);
          const [one, two, three] = completed;
          if (!one || !two || !three) throw new Error('three parts were sent');
          const wrong: CompletedPart[][] = [
            [{ ...one, etag: '"00000000000000000000000000000000"' }, two, three],
            [one, two, { ...three, partNumber: 4 }],
            [two, one, three],
            [{ ...one, sha256: sha256(randomBytes(1)) }, two, three],
          ];
          for (const parts of wrong) {
            const error = await rejection(blobs.completeMultipartUpload(key, uploadId, parts));
            expect(error).toBeInstanceOf(ValidationError);
            expect(error).toMatchObject({ code: 'invalid_parts' });
          }
          expect(await blobs.head(key)).toBeUndefined();
          expect(await blobs.listParts(key, uploadId)).toHaveLength(3);
          await blobs.completeMultipartUpload(key, uploadId, completed);
          expect((await blobs.head(key))?.size).toBe(2 * MIN_PART + 10);
        });

        it('refuses a part under 5 MiB that is not the last', async () => {
          const key = newKey();
          const { uploadId, completed } = await multipart(key, [randomBytes(10), randomBytes(10)]);
          const error = await rejection(blobs.completeMultipartUpload(key, uploadId, completed));
          expect(error).toMatchObject({ code: 'invalid_parts' });
          expect(await blobs.head(key)).toBeUndefined();
        });

        it('a retried completion of an upload that did complete is no error', async () => {
          const key = newKey();
          const bytes = randomBytes(100);
          const { uploadId, completed } = await multipart(key, [bytes]);
          await blobs.completeMultipartUpload(key, uploadId, completed);
          await blobs.completeMultipartUpload(key, uploadId, completed);
          expect(await readAll(await blobs.read(key))).toBe(fingerprint(bytes));
        });

        it('refuses a part for an unknown upload; an upload that is gone with no object is upload_expired', async () => {
          const key = newKey();
          const bytes = randomBytes(10);
          const unknown = randomBytes(16).toString('hex');
          expect((await storage.send(await blobs.presignUploadPart(key, unknown, 1, claim(bytes), 60), bytes)).status).toBe(404);
          const { uploadId, completed } = await multipart(key, [bytes]);
          await blobs.abortMultipartUpload(key, uploadId);
          for (const id of [unknown, uploadId]) {
            const error = await rejection(blobs.completeMultipartUpload(key, id, completed));
            expect(error).toBeInstanceOf(ConflictError);
            expect(error).toMatchObject({ code: 'upload_expired' });
          }
        });
      } else {
        // Gap: AWS refuses this list (InvalidPart); a lenient store assembles whatever part numbers it is
        // given. (s3rver also answered a completion of an unknown upload with InternalError, not
        // NoSuchUpload, so S3BlobStore could not tell a retry of a completed upload from a failure.)
        it('(gap) completes with a part list whose ETags do not match', async () => {
          const key = newKey();
          const { uploadId, completed } = await multipart(key, [randomBytes(100)]);
          const forged = completed.map((part) => ({ ...part, etag: '"00000000000000000000000000000000"' }));
          await blobs.completeMultipartUpload(key, uploadId, forged);
          expect((await blobs.head(key))?.size).toBe(100);
        });
      }
    });
  });
}
