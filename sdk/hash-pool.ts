/**
 * The tree SHA-256 of a file on every core: one block per task on a pool of worker threads,
 * each streaming its block from disk. Memory stays at a read buffer per worker, whatever the
 * file's size; the digests are combined in block order (protocol/tree-hash.ts).
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { blockCount, blockRange } from '#protocol/content-id';
import type { TreeHash } from '#protocol/tree-hash';
import { hashFile } from './files.ts';
import { contentIdFromBlockDigests } from './hashing.ts';

export interface HashOptions {
  /** Worker threads. @default the machine's available parallelism */
  readonly workers?: number;
  /** Files smaller than this are hashed in this thread. @default 512 MiB */
  readonly minParallelBytes?: number;
  /** Called with the total bytes hashed so far. */
  readonly onProgress?: (bytesHashed: number) => void;
}

const IN_PROCESS_BELOW = 512 * 1024 * 1024;

type WorkerMessage = { id: number; progress: number } | { id: number; digest: Uint8Array } | { id: number; error: string };

export async function hashFileParallel(path: string, options: HashOptions = {}): Promise<TreeHash> {
  const { size } = await stat(path);
  const blocks = blockCount(size);
  const workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), blocks));
  // This thread hashes at about 1.3 GB/s (its reads overlap its hashing), and starting the
  // pool costs a few hundred milliseconds: threads pay off from about half a gigabyte.
  if (blocks === 1 || workerCount === 1 || size < (options.minParallelBytes ?? IN_PROCESS_BELOW)) {
    return hashFile(path, options.onProgress);
  }

  const digests: Buffer[] = new Array(blocks);
  let hashed = 0;
  let nextBlock = 0;
  const workers = Array.from({ length: workerCount }, () => new Worker(new URL('./hash-worker.js', import.meta.url)));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((done, fail) => {
            const dispatch = () => {
              if (nextBlock >= blocks) return done();
              const id = nextBlock++;
              const { start, end } = blockRange(size, id + 1);
              worker.postMessage({ id, path, start, end });
            };
            worker.on('message', (message: WorkerMessage) => {
              if ('progress' in message) {
                hashed += message.progress;
                options.onProgress?.(hashed);
              } else if ('digest' in message) {
                digests[message.id] = Buffer.from(message.digest);
                dispatch();
              } else {
                fail(new Error(`hashing ${path} failed: ${message.error}`));
              }
            });
            worker.on('error', fail);
            dispatch();
          }),
      ),
    );
  } finally {
    // Not awaited: the digests are in, and waiting for the threads to wind down would cost an
    // instant upload some 20 ms.
    for (const worker of workers) void worker.terminate();
  }
  return { contentId: contentIdFromBlockDigests(digests), size, blockDigests: digests };
}
