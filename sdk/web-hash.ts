/**
 * The tree SHA-256 where Node's crypto is absent (browsers, React Native with a Web Crypto
 * polyfill): each block is read from the Blob/File and hashed on its own, so memory holds only
 * the blocks in flight. `hashBlock` is what a browser hash worker runs (sdk/web-hash-worker.ts);
 * `hashBlob` runs it in the calling thread, a few blocks at a time, where there are no workers.
 *
 * Web Crypto's `digest` is one-shot: it needs the whole block in memory. Blocks up to
 * WEB_CRYPTO_MAX_BLOCK (16 MiB: every file up to 156 GiB, whose blocks are 8 or 16 MiB) are
 * hashed with it; a larger block (a larger file) is read in STREAM_CHUNK pieces into the
 * streaming SHA-256 of sdk/sha256.ts, slower but with memory of one chunk per worker.
 */
import { blockCount, blockRange, MiB } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import type { TreeHash } from '#protocol/tree-hash';
import { StreamingSha256 } from './sha256.ts';

export const WEB_CRYPTO_MAX_BLOCK = 16 * MiB;
export const STREAM_CHUNK = 8 * MiB;

export interface BlockHashOptions {
  /** Blocks larger than this are streamed through the JavaScript SHA-256. @default WEB_CRYPTO_MAX_BLOCK */
  readonly webCryptoMaxBlock?: number;
  /** Called with bytes hashed since the last call. */
  readonly onBytes?: (bytes: number) => void;
}

/**
 * A Blob's bytes. React Native's Blob has no `arrayBuffer()` (docs/mobile.md): there, its
 * FileReader's `readAsArrayBuffer` reads them instead.
 */
export function readBlob(blob: Blob): Promise<ArrayBuffer> {
  if (typeof blob.arrayBuffer === 'function') return blob.arrayBuffer();
  return new Promise((done, fail) => {
    const reader = new FileReader();
    reader.onload = () =>
      reader.result instanceof ArrayBuffer ? done(reader.result) : fail(new TypeError('FileReader returned no ArrayBuffer'));
    reader.onerror = () => fail(reader.error ?? new TypeError('FileReader failed'));
    reader.readAsArrayBuffer(blob);
  });
}

/** SHA-256 of one block (a Blob holding exactly the block's bytes). */
export async function hashBlock(block: Blob, options: BlockHashOptions = {}): Promise<Uint8Array> {
  if (block.size <= (options.webCryptoMaxBlock ?? WEB_CRYPTO_MAX_BLOCK)) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await readBlob(block)));
    options.onBytes?.(block.size);
    return digest;
  }
  const hash = new StreamingSha256();
  for (let start = 0; start < block.size; start += STREAM_CHUNK) {
    const chunk = new Uint8Array(await readBlob(block.slice(start, start + STREAM_CHUNK)));
    hash.update(chunk);
    options.onBytes?.(chunk.length);
  }
  return hash.digest();
}

/** The content id of block digests: SHA-256 of their concatenation (protocol/content-id.ts). */
export async function contentIdOf(blockDigests: readonly Uint8Array[]): Promise<string> {
  const joined = new Uint8Array(blockDigests.length * 32);
  blockDigests.forEach((digest, index) => {
    joined.set(digest, index * 32);
  });
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', joined)));
}

export interface BlobHashOptions extends BlockHashOptions {
  /** Blocks hashed at once. @default 4 */
  readonly concurrency?: number;
  /** Called with the total bytes hashed so far. */
  readonly onProgress?: (bytesHashed: number) => void;
  readonly signal?: AbortSignal;
}

/** The tree hash of a Blob in this thread. */
export async function hashBlob(blob: Blob, options: BlobHashOptions = {}): Promise<TreeHash> {
  const size = blob.size;
  const blocks = blockCount(size);
  const blockDigests: Uint8Array[] = new Array(blocks);
  let next = 0;
  let hashed = 0;
  const onBytes = (bytes: number) => {
    hashed += bytes;
    options.onProgress?.(hashed);
  };
  const lane = async () => {
    while (next < blocks) {
      options.signal?.throwIfAborted();
      const index = next++;
      const { start, end } = blockRange(size, index + 1);
      blockDigests[index] = await hashBlock(blob.slice(start, end), { ...options, onBytes });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, blocks) }, lane));
  return { contentId: await contentIdOf(blockDigests), size, blockDigests };
}
