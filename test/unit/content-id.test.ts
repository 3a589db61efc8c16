import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  blockCount,
  blockSize,
  GiB,
  MAX_OBJECT_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MiB,
  SizeOutOfRangeError,
} from '#protocol/content-id';
import { contentIdFromS3Checksum, hashBuffer, hashStream } from '#sdk/hashing';

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest();

/** The definition, written out independently of the implementation. */
function referenceId(data: Buffer, block: number): string {
  const digests: Buffer[] = [];
  for (let start = 0; start === 0 || start < data.length; start += block) digests.push(sha(data.subarray(start, start + block)));
  return sha(Buffer.concat(digests)).toString('hex');
}

async function* chunked(data: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let index = 0;
  while (offset < data.length) {
    const size = sizes[index++ % sizes.length] ?? 1;
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

describe('content identity', () => {
  it('has a fixed id for the empty file: SHA-256 of the SHA-256 of nothing', () => {
    expect(hashBuffer(Buffer.alloc(0)).contentId).toBe('5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456');
    expect(hashBuffer(Buffer.alloc(0)).blockDigests).toHaveLength(1);
  });

  it('hashes one byte as a one-block tree', () => {
    expect(hashBuffer(Buffer.from([0x61])).contentId).toBe(sha(sha(Buffer.from('a'))).toString('hex'));
  });

  const cases: [string, number][] = [
    ['exactly one block', 8 * MiB],
    ['one block and one byte', 8 * MiB + 1],
    ['several blocks', 3 * 8 * MiB + 12345],
  ];
  for (const [label, size] of cases) {
    it(`matches the definition for ${label}`, async () => {
      const data = randomBytes(size);
      const tree = hashBuffer(data);
      expect(tree.contentId).toBe(referenceId(data, 8 * MiB));
      expect(tree.blockDigests).toHaveLength(Math.max(1, Math.ceil(size / (8 * MiB))));
      // Streaming with odd chunk sizes that straddle block boundaries gives the same id.
      expect((await hashStream(chunked(data, [1, 4093, 1_000_003, 65536]), size)).contentId).toBe(tree.contentId);
    });
  }

  it('equals the composite SHA-256 S3 reports for the same parts', () => {
    const data = randomBytes(2 * 8 * MiB + 7);
    const tree = hashBuffer(data);
    const composite = `${sha(Buffer.concat(tree.blockDigests)).toString('base64')}-${tree.blockDigests.length}`;
    expect(contentIdFromS3Checksum(composite)).toEqual({ contentId: tree.contentId, parts: 3 });
  });

  it('derives the id from a single PUT full-object SHA-256', () => {
    const data = randomBytes(1000);
    expect(contentIdFromS3Checksum(sha(data).toString('base64'))).toEqual({ contentId: hashBuffer(data).contentId, parts: 1 });
    expect(contentIdFromS3Checksum('AAAA')).toBeUndefined();
    expect(contentIdFromS3Checksum('')).toBeUndefined();
  });

  it('rejects a stream longer or shorter than announced', async () => {
    const data = randomBytes(100);
    await expect(hashStream(chunked(data, [10]), 99)).rejects.toThrow(/held 100 bytes, expected 99/);
    await expect(hashStream(chunked(data, [10]), 101)).rejects.toThrow(/held 100 bytes, expected 101/);
  });
});

describe('blockSize', () => {
  const edges = [
    0,
    1,
    5 * MiB,
    MAX_PARTS * 8 * MiB,
    MAX_PARTS * 8 * MiB + 1,
    MAX_PARTS * 16 * MiB + 1,
    MAX_PARTS * 4 * GiB,
    MAX_PARTS * 4 * GiB + 1,
    MAX_OBJECT_SIZE,
  ];
  for (const size of edges) {
    it(`keeps ${size} bytes within S3's part limits`, () => {
      const bs = blockSize(size);
      const parts = blockCount(size);
      expect(parts).toBeLessThanOrEqual(MAX_PARTS);
      expect(bs).toBeGreaterThanOrEqual(5 * MiB);
      expect(bs).toBeLessThanOrEqual(MAX_PART_SIZE);
      // Every block but the last is full, and the blocks cover the file.
      expect((parts - 1) * bs).toBeLessThan(Math.max(size, 1));
      expect(parts * bs).toBeGreaterThanOrEqual(size);
    });
  }

  it('doubles from 8 MiB and switches to 5 GiB past 39 TiB', () => {
    expect(blockSize(MAX_PARTS * 8 * MiB)).toBe(8 * MiB);
    expect(blockSize(MAX_PARTS * 8 * MiB + 1)).toBe(16 * MiB);
    expect(blockSize(MAX_PARTS * 4 * GiB)).toBe(4 * GiB);
    expect(blockSize(MAX_PARTS * 4 * GiB + 1)).toBe(5 * GiB);
    expect(blockCount(MAX_OBJECT_SIZE)).toBe(MAX_PARTS);
  });

  it('refuses sizes S3 cannot store before any work', () => {
    expect(() => blockSize(MAX_OBJECT_SIZE + 1)).toThrow(SizeOutOfRangeError);
    expect(() => blockSize(-1)).toThrow(SizeOutOfRangeError);
    expect(() => blockSize(1.5)).toThrow(SizeOutOfRangeError);
  });
});
