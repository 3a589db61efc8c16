/**
 * The tree SHA-256 of protocol/content-id.ts over bytes, streams and block digests, plus the
 * translation between our hex id and the checksums S3 reports for stored objects.
 *
 * The SHA-256 itself is injected (`node:crypto` in Node, a streaming implementation or Web
 * Crypto in browsers), so that this module imports nothing platform-specific.
 */
import { blockCount, blockSize } from './content-id.ts';
import { base64ToBytes, base64ToHex, bytesToHex } from './encoding.ts';

/** An incremental SHA-256, as `createHash('sha256')` returns in Node. */
export interface Sha256 {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}

export type NewSha256 = () => Sha256;

export interface TreeHash {
  readonly contentId: string;
  readonly size: number;
  /** SHA-256 of each block, in order. */
  readonly blockDigests: readonly Uint8Array[];
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

export interface TreeHashing {
  sha256(data: Uint8Array): Uint8Array;
  contentIdFromBlockDigests(digests: readonly Uint8Array[]): string;
  hashBuffer(data: Uint8Array): TreeHash;
  /**
   * Hashes a stream of `size` bytes block by block, holding no more than one chunk in memory.
   * Throws UnexpectedLengthError if the stream is longer or shorter than `size`.
   */
  hashStream(chunks: AsyncIterable<Uint8Array>, size: number): Promise<TreeHash>;
  /**
   * The content id S3 vouches for, from the `ChecksumSHA256` it reports for an object:
   * - a multipart upload with SHA-256 parts reports the composite `base64(SHA-256(part digests))-N`,
   *   which is our id itself;
   * - a single PUT reports `base64(SHA-256(data))`, the one block digest, whose SHA-256 is our id.
   * Returns undefined for a value that is neither (then the bytes must be hashed instead).
   */
  contentIdFromS3Checksum(checksumSha256: string): { contentId: string; parts: number } | undefined;
}

export function treeHashing(newSha256: NewSha256): TreeHashing {
  const sha256 = (data: Uint8Array): Uint8Array => {
    const hash = newSha256();
    hash.update(data);
    return hash.digest();
  };

  const contentIdFromBlockDigests = (digests: readonly Uint8Array[]): string => {
    const tree = newSha256();
    for (const digest of digests) tree.update(digest);
    return bytesToHex(tree.digest());
  };

  const hashBuffer = (data: Uint8Array): TreeHash => {
    const bs = blockSize(data.length);
    const blockDigests: Uint8Array[] = [];
    for (let index = 0; index < blockCount(data.length); index++) {
      blockDigests.push(sha256(data.subarray(index * bs, (index + 1) * bs)));
    }
    return { contentId: contentIdFromBlockDigests(blockDigests), size: data.length, blockDigests };
  };

  const hashStream = async (chunks: AsyncIterable<Uint8Array>, size: number): Promise<TreeHash> => {
    const bs = blockSize(size);
    const blockDigests: Uint8Array[] = [];
    let block = newSha256();
    let inBlock = 0;
    let total = 0;
    for await (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.length) {
        if (inBlock === bs) {
          blockDigests.push(block.digest());
          block = newSha256();
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
  };

  const contentIdFromS3Checksum = (checksumSha256: string) => {
    const composite = /^([A-Za-z0-9+/]{43}=)-(\d+)$/.exec(checksumSha256);
    if (composite?.[1] && composite[2]) {
      return { contentId: base64ToHex(composite[1]), parts: Number(composite[2]) };
    }
    if (/^[A-Za-z0-9+/]{43}=$/.test(checksumSha256)) {
      return { contentId: contentIdFromBlockDigests([base64ToBytes(checksumSha256)]), parts: 1 };
    }
    return undefined;
  };

  return { sha256, contentIdFromBlockDigests, hashBuffer, hashStream, contentIdFromS3Checksum };
}
