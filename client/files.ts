/** Node file helpers for the SDK: hashing a file and reading one block of it. */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { blockRange } from '#core/content-id';
import { hashStream, type TreeHash } from '#core/tree-hash';

/** Streams the file through the tree hash; memory stays at one read buffer. */
export async function hashFile(path: string): Promise<TreeHash> {
  const { size } = await stat(path);
  return hashStream(createReadStream(path, { highWaterMark: 1024 * 1024 }), size);
}

export async function readBlock(path: string, size: number, partNumber: number): Promise<Buffer> {
  const { start, end } = blockRange(size, partNumber);
  const buffer = Buffer.allocUnsafe(end - start);
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
