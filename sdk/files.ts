/** Node file helpers for the SDK: hashing a file, reading a block of it, answering a challenge. */
import { createHash } from 'node:crypto';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { blockCount, blockRange } from '#protocol/content-id';
import { type TreeHash, UnexpectedLengthError } from '#protocol/tree-hash';
import { contentIdFromBlockDigests } from './hashing.ts';

/**
 * The tree hash of a file in this thread: block by block into one reused 4 MiB buffer (as the
 * hash workers do), which is twice as fast as a read stream's fresh chunk per read.
 */
export async function hashFile(path: string, onProgress?: (bytesHashed: number) => void): Promise<TreeHash> {
  const { size } = await stat(path);
  const buffer = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, Math.max(size, 1)));
  const digests: Buffer[] = [];
  const handle = await open(path, 'r');
  try {
    let hashed = 0;
    for (let partNumber = 1; partNumber <= blockCount(size); partNumber++) {
      const { start, end } = blockRange(size, partNumber);
      const hash = createHash('sha256');
      for (let position = start; position < end; ) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
        if (bytesRead === 0) throw new UnexpectedLengthError(size, position);
        hash.update(buffer.subarray(0, bytesRead));
        position += bytesRead;
        hashed += bytesRead;
        onProgress?.(hashed);
      }
      digests.push(hash.digest());
    }
  } finally {
    await handle.close();
  }
  if (size === 0) onProgress?.(0);
  return { contentId: contentIdFromBlockDigests(digests), size, blockDigests: digests };
}

/**
 * Reads one block, into `into` when given (a buffer of at least the block's size, reused from
 * part to part so that an upload's memory stays at its concurrency times the block size).
 */
export function readBlock(path: string, size: number, partNumber: number, into?: Buffer): Promise<Buffer> {
  const { start, end } = blockRange(size, partNumber);
  return readRange(path, start, end - start, into);
}

/**
 * The answer to a proof-of-ownership challenge: SHA-256 of the asked ranges, in order (44 small
 * ranges: one open file, one reused buffer).
 */
export async function answerChallenge(path: string, ranges: readonly { start: number; length: number }[]): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.max(1, ...ranges.map((range) => range.length)));
  const handle = await open(path, 'r');
  try {
    for (const range of ranges) hash.update(await readFully(handle, path, range.start, buffer.subarray(0, range.length)));
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function readRange(path: string, start: number, length: number, into?: Buffer): Promise<Buffer> {
  const buffer = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  const handle = await open(path, 'r');
  try {
    return await readFully(handle, path, start, buffer);
  } finally {
    await handle.close();
  }
}

/** Fills `buffer` from `start` of an open file. */
async function readFully(handle: FileHandle, path: string, start: number, buffer: Buffer): Promise<Buffer> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, start + offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  if (offset !== buffer.length) throw new Error(`${path} is shorter than when it was hashed`);
  return buffer;
}
