import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BlobStore, StoredObject } from '#domain/ports';
import { verifyObject } from '#domain/publish';
import { MiB } from '#protocol/content-id';
import { hashBuffer } from '#sdk/hashing';

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest();

/** Only what verification reads: the bytes, counted so a test can tell whether they were read. */
function blobsHolding(data: Buffer) {
  const reads = { count: 0 };
  const blobs = {
    read: async () => {
      reads.count++;
      return (async function* () {
        yield data;
      })();
    },
  } as unknown as BlobStore;
  return { blobs, reads };
}

describe('verifyObject', () => {
  const single = randomBytes(1000);
  const multi = randomBytes(2 * 8 * MiB + 5);

  it('trusts S3’s full-object SHA-256 of a single PUT without reading the bytes', async () => {
    const { blobs, reads } = blobsHolding(single);
    const stored: StoredObject = { size: single.length, checksumSha256: sha(single).toString('base64') };
    const content = { contentId: hashBuffer(single).contentId, size: single.length };
    expect(await verifyObject({ blobs }, 'k', stored, content)).toEqual({ ok: true });
    expect(reads.count).toBe(0);
  });

  it('trusts S3’s composite checksum of a multipart upload without reading the bytes', async () => {
    const { blobs, reads } = blobsHolding(multi);
    const tree = hashBuffer(multi);
    const stored = { size: multi.length, checksumSha256: `${sha(Buffer.concat(tree.blockDigests)).toString('base64')}-3` };
    expect(await verifyObject({ blobs }, 'k', stored, { contentId: tree.contentId, size: multi.length })).toEqual({ ok: true });
    expect(reads.count).toBe(0);
  });

  it('rejects when S3’s checksum names other content', async () => {
    const { blobs } = blobsHolding(single);
    const other = randomBytes(1000);
    const stored = { size: 1000, checksumSha256: sha(other).toString('base64') };
    const verdict = await verifyObject({ blobs }, 'k', stored, { contentId: hashBuffer(single).contentId, size: 1000 });
    expect(verdict).toEqual({ ok: false, reason: 'content_mismatch' });
  });

  it('hashes the bytes when the store keeps no checksum (some emulators, a store behind a proxy)', async () => {
    const { blobs, reads } = blobsHolding(multi);
    const content = { contentId: hashBuffer(multi).contentId, size: multi.length };
    expect(await verifyObject({ blobs }, 'k', { size: multi.length }, content)).toEqual({ ok: true });
    expect(reads.count).toBe(1);
    const tampered = Buffer.from(multi);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
    const bad = blobsHolding(tampered);
    expect(await verifyObject({ blobs: bad.blobs }, 'k', { size: multi.length }, content)).toEqual({
      ok: false,
      reason: 'content_mismatch',
    });
  });

  it('hashes the bytes when the checksum is not of the expected form (a multi-block file sent as one PUT)', async () => {
    const { blobs, reads } = blobsHolding(multi);
    const content = { contentId: hashBuffer(multi).contentId, size: multi.length };
    const stored = { size: multi.length, checksumSha256: sha(multi).toString('base64') };
    expect(await verifyObject({ blobs }, 'k', stored, content)).toEqual({ ok: true });
    expect(reads.count).toBe(1);
  });

  it('rejects a size that differs from the claim', async () => {
    const { blobs } = blobsHolding(single);
    const content = { contentId: hashBuffer(single).contentId, size: 999 };
    expect(await verifyObject({ blobs }, 'k', { size: 1000 }, content)).toEqual({ ok: false, reason: 'size_mismatch' });
  });
});
