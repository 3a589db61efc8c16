/**
 * A browser hash worker (Web Worker): hashes one block per message with sdk/web-hash.ts and
 * answers with its digest, reporting bytes as it goes. The block arrives as a Blob slice of the
 * file (a reference, not a copy), so the worker itself reads the bytes: memory stays at the block
 * it is hashing. scripts/build.mjs bundles this file into the browser SDK as a string, started
 * from a blob: URL by sdk/web-hash-pool.ts, so the SDK stays one self-contained module.
 */
import { hashBlock } from './web-hash.ts';

export type HashTask = { readonly id: number; readonly block: Blob; readonly webCryptoMaxBlock?: number };
export type HashReply =
  | { readonly id: number; readonly progress: number }
  | { readonly id: number; readonly digest: Uint8Array }
  | { readonly id: number; readonly error: string };

/** The worker's global scope, as far as it is used (tsconfig's DOM lib types `self` as a window). */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<HashTask>) => void) | null;
  postMessage(message: HashReply): void;
};

scope.onmessage = async ({ data: task }) => {
  try {
    const digest = await hashBlock(task.block, {
      ...(task.webCryptoMaxBlock === undefined ? {} : { webCryptoMaxBlock: task.webCryptoMaxBlock }),
      onBytes: (progress) => scope.postMessage({ id: task.id, progress }),
    });
    scope.postMessage({ id: task.id, digest });
  } catch (error) {
    scope.postMessage({ id: task.id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
};
