/**
 * The port contracts against the in-memory adapters, plus what only the memory store offers
 * tests: a clock that expires presigned URLs and ObjectCreated events to listen to.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryBlobStore, StorageError } from '#adapters/memory-blob-store';
import { MemoryCatalog } from '#adapters/memory-catalog';
import { MemoryRateLimiter } from '#adapters/memory-rate-limiter';
import { blobStoreContract } from '../contract/blob-store-contract.ts';
import { catalogContract } from '../contract/catalog-contract.ts';
import { rateLimiterContract } from '../contract/rate-limiter-contract.ts';
import { ManualClock } from '../support/memory-deps.ts';

catalogContract('MemoryCatalog', async () => ({ catalog: new MemoryCatalog() }));

rateLimiterContract('MemoryRateLimiter', async () => ({ limiter: new MemoryRateLimiter() }));

blobStoreContract(
  'MemoryBlobStore',
  { enforcesChecksums: true, enforcesSignatures: true, reportsChecksums: true, validatesMultipart: true },
  async () => {
    const blobs = new MemoryBlobStore();
    return { blobs, storage: blobs };
  },
);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');
const claim = (bytes: Uint8Array) => ({ sha256Base64: sha256(bytes), length: bytes.length });

describe('MemoryBlobStore as storage', () => {
  it('refuses a presigned request once it expired, by its own clock', async () => {
    const clock = new ManualClock();
    const blobs = new MemoryBlobStore({ clock: clock.now });
    const bytes = randomBytes(10);
    const request = await blobs.presignPut('a/b', claim(bytes), 60);
    clock.advance(60_001);
    expect(await blobs.send(request, bytes)).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await blobs.head('a/b')).toBeUndefined();
  });

  it('refuses a URL it did not issue', async () => {
    const blobs = new MemoryBlobStore();
    const request = await blobs.presignPut('a/b', claim(new Uint8Array()), 60);
    const forged = { ...request, url: request.url.replace('a/b', 'a/c') };
    expect(await blobs.send(forged)).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
  });

  it('tells listeners of each object created, after the request that created it', async () => {
    const blobs = new MemoryBlobStore();
    const created: string[] = [];
    const stop = blobs.onObjectCreated((key) => {
      created.push(key);
    });
    blobs.putObject('one', randomBytes(5));
    expect(created).toEqual([]);
    await blobs.eventsSettled();
    expect(created).toEqual(['one']);
    const uploadId = await blobs.createMultipartUpload('two');
    const part = randomBytes(5);
    const etag = blobs.uploadPart('two', uploadId, 1, part, { checksumSha256: sha256(part) });
    await blobs.completeMultipartUpload('two', uploadId, [{ partNumber: 1, etag, sha256: sha256(part) }]);
    stop();
    blobs.putObject('three', randomBytes(5));
    await blobs.eventsSettled();
    expect(created).toEqual(['one', 'two']);
  });

  it("surfaces a listener's failure when the events are awaited", async () => {
    const blobs = new MemoryBlobStore({
      onObjectCreated: () => {
        throw new Error('handler failed');
      },
    });
    blobs.putObject('one', randomBytes(5));
    await expect(blobs.eventsSettled()).rejects.toThrow(AggregateError);
  });

  it('refuses a part without a checksum, as S3 does for an upload created with SHA-256 checksums', async () => {
    const blobs = new MemoryBlobStore();
    const uploadId = await blobs.createMultipartUpload('k');
    expect(() => blobs.uploadPart('k', uploadId, 1, randomBytes(5))).toThrow(StorageError);
    expect(() => blobs.uploadPart('k', 'nope', 1, randomBytes(5), { checksumSha256: 'x' })).toThrow('upload does not exist');
  });
});
