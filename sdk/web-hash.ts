/**
 * The tree SHA-256 where Node's crypto is absent (browsers, React Native with a Web Crypto
 * polyfill): each block is read from the Blob/File and hashed with `crypto.subtle`, a few at a
 * time, so memory holds only the blocks in flight.
 */
import { blockCount, blockRange } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';

export interface WebTreeHash {
  readonly contentId: string;
  readonly size: number;
  readonly blockDigests: Uint8Array[];
}

export async function hashBlob(blob: Blob, options: { concurrency?: number } = {}): Promise<WebTreeHash> {
  const size = blob.size;
  const blocks = blockCount(size);
  const blockDigests: Uint8Array[] = new Array(blocks);
  let next = 0;
  const worker = async () => {
    while (next < blocks) {
      const index = next++;
      const { start, end } = blockRange(size, index + 1);
      const data = await blob.slice(start, end).arrayBuffer();
      blockDigests[index] = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, blocks) }, worker));
  const joined = new Uint8Array(blocks * 32);
  blockDigests.forEach((digest, index) => {
    joined.set(digest, index * 32);
  });
  return { contentId: bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', joined))), size, blockDigests };
}
