/**
 * Node implementation of the tree SHA-256 (see content-id.ts for the definition), plus the
 * translation between our hex id and the checksums S3 reports for stored objects.
 */
import { createHash, type Hash } from 'node:crypto';
import { blockCount, blockSize } from './content-id.ts';

export interface TreeHash {
  readonly contentId: string;
  readonly size: number;
  /** SHA-256 of each block, in order. */
  readonly blockDigests: readonly Buffer[];
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function contentIdFromBlockDigests(digests: readonly Uint8Array[]): string {
  const tree = createHash('sha256');
  for (const digest of digests) tree.update(digest);
  return tree.digest('hex');
}

export function hashBuffer(data: Uint8Array): TreeHash {
  const bs = blockSize(data.length);
  const blockDigests: Buffer[] = [];
  for (let index = 0; index < blockCount(data.length); index++) {
    blockDigests.push(sha256(data.subarray(index * bs, (index + 1) * bs)));
  }
  return { contentId: contentIdFromBlockDigests(blockDigests), size: data.length, blockDigests };
}

export class UnexpectedLengthError extends Error {
  override readonly name = 'UnexpectedLengthError';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`stream held ${actual} bytes, expected ${expected}`);
  }
}

/**
 * Hashes a stream of `size` bytes block by block, holding no more than one chunk in memory.
 * Throws UnexpectedLengthError if the stream is longer or shorter than `size`.
 */
export async function hashStream(chunks: AsyncIterable<Uint8Array>, size: number): Promise<TreeHash> {
  const bs = blockSize(size);
  const blockDigests: Buffer[] = [];
  let block: Hash = createHash('sha256');
  let inBlock = 0;
  let total = 0;
  for await (const chunk of chunks) {
    let offset = 0;
    while (offset < chunk.length) {
      if (inBlock === bs) {
        blockDigests.push(block.digest());
        block = createHash('sha256');
        inBlock = 0;
      }
      const take = Math.min(bs - inBlock, chunk.length - offset);
      block.update(chunk.subarray(offset, offset + take));
      inBlock += take;
      offset += take;
    }
    total += chunk.length;
    if (total > size) throw new UnexpectedLengthError(size, total);
  }
  if (total !== size) throw new UnexpectedLengthError(size, total);
  blockDigests.push(block.digest());
  return { contentId: contentIdFromBlockDigests(blockDigests), size, blockDigests };
}

export const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
export const base64ToHex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');

/**
 * The content id S3 vouches for, from the `ChecksumSHA256` it reports for an object:
 * - a multipart upload with SHA-256 parts reports the composite `base64(SHA-256(part digests))-N`,
 *   which is our id itself;
 * - a single PUT reports `base64(SHA-256(data))`, the one block digest, whose SHA-256 is our id.
 * Returns undefined for a value that is neither (then the bytes must be hashed instead).
 */
export function contentIdFromS3Checksum(checksumSha256: string): { contentId: string; parts: number } | undefined {
  const composite = /^([A-Za-z0-9+/]{43}=)-(\d+)$/.exec(checksumSha256);
  if (composite?.[1] && composite[2]) {
    return { contentId: base64ToHex(composite[1]), parts: Number(composite[2]) };
  }
  if (/^[A-Za-z0-9+/]{43}=$/.test(checksumSha256)) {
    return { contentId: contentIdFromBlockDigests([Buffer.from(checksumSha256, 'base64')]), parts: 1 };
  }
  return undefined;
}
