/**
 * Content identity (docs/design.md §2): a tree SHA-256 over fixed-size blocks.
 *
 *   contentId = hex(SHA-256(SHA-256(block_1) || ... || SHA-256(block_n)))
 *
 * The block size depends on the file size alone, so every client derives the same id, and the
 * blocks are exactly the parts of the multipart upload: S3's composite SHA-256 checksum of that
 * upload is then the same value, and S3 itself vouches for the stored bytes.
 *
 * This module is pure arithmetic (no crypto import) so that browsers and React Native can use it.
 */

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** S3 allows at most 10,000 parts in one multipart upload. */
export const MAX_PARTS = 10_000;
/** Smallest block; well above S3's 5 MiB minimum part size. */
export const MIN_BLOCK_SIZE = 8 * MiB;
/** Largest power-of-two block (8 MiB·2^9). */
export const MAX_POWER_OF_TWO_BLOCK_SIZE = 4 * GiB;
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * GiB;
/** S3's largest object reachable with 10,000 parts of 5 GiB (48.8 TiB). */
export const MAX_OBJECT_SIZE = MAX_PARTS * MAX_PART_SIZE;

export class SizeOutOfRangeError extends Error {
  override readonly name = 'SizeOutOfRangeError';
  constructor(readonly size: number) {
    super(`size must be a whole number from 0 to ${MAX_OBJECT_SIZE} bytes, got ${size}`);
  }
}

function assertSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_OBJECT_SIZE) {
    throw new SizeOutOfRangeError(size);
  }
}

/** The smallest 8 MiB·2^k (≤ 4 GiB) leaving at most 10,000 blocks; 5 GiB beyond 39 TiB. */
export function blockSize(size: number): number {
  assertSize(size);
  for (let candidate = MIN_BLOCK_SIZE; candidate <= MAX_POWER_OF_TWO_BLOCK_SIZE; candidate *= 2) {
    if (Math.ceil(size / candidate) <= MAX_PARTS) return candidate;
  }
  return MAX_PART_SIZE;
}

/** Number of blocks; an empty file is one empty block. */
export function blockCount(size: number): number {
  return Math.max(1, Math.ceil(size / blockSize(size)));
}

export interface BlockRange {
  /** 1-based, as S3 part numbers are. */
  readonly partNumber: number;
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

export function blockRange(size: number, partNumber: number): BlockRange {
  const count = blockCount(size);
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > count) {
    throw new RangeError(`part ${partNumber} is outside 1..${count}`);
  }
  const bs = blockSize(size);
  const start = (partNumber - 1) * bs;
  return { partNumber, start, end: Math.min(size, start + bs) };
}

/** A one-block file is stored with a single PUT, anything larger as a multipart upload. */
export function isMultipart(size: number): boolean {
  return blockCount(size) > 1;
}

const HEX_ID = /^[0-9a-f]{64}$/;

export function isContentId(value: string): boolean {
  return HEX_ID.test(value);
}
