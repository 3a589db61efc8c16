/** Node file helpers for the SDK: hashing a file, reading a block of it, answering a challenge. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { blockRange } from '#core/content-id';
import { hashStream, type TreeHash } from '#core/tree-hash';

/** Streams the file through the tree hash; memory stays at one read buffer. */
export async function hashFile(path: string, onProgress?: (bytesHashed: number) => void): Promise<TreeHash> {
  const { size } = await stat(path);
  const chunks = createReadStream(path, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>;
  async function* counted(): AsyncGenerator<Buffer> {
    let hashed = 0;
    for await (const chunk of chunks) {
      yield chunk;
      hashed += chunk.length;
      onProgress?.(hashed);
    }
  }
  const tree = await hashStream(counted(), size);
  if (size === 0) onProgress?.(0);
  return tree;
}

/**
 * Reads one block, into `into` when given (a buffer of at least the block's size, reused from
 * part to part so that an upload's memory stays at its concurrency times the block size).
 */
export function readBlock(path: string, size: number, partNumber: number, into?: Buffer): Promise<Buffer> {
  const { start, end } = blockRange(size, partNumber);
  return readRange(path, start, end - start, into);
}

/** The answer to a proof-of-ownership challenge: SHA-256 of the asked ranges, in order. */
export async function answerChallenge(path: string, ranges: readonly { start: number; length: number }[]): Promise<string> {
  const hash = createHash('sha256');
  for (const range of ranges) hash.update(await readRange(path, range.start, range.length));
  return hash.digest('hex');
}

async function readRange(path: string, start: number, length: number, into?: Buffer): Promise<Buffer> {
  const buffer = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  const handle = await open(path, 'r');
  try {
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, start + offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    if (offset !== buffer.length) throw new Error(`${path} is shorter than when it was hashed`);
    return buffer;
  } finally {
    await handle.close();
  }
}
