/**
 * The tree SHA-256 of a file on every core: one block per task, taken in turn by this thread and
 * a pool of worker threads, each reading its block from disk. Memory stays at a read buffer per
 * thread, whatever the file's size; the digests are combined in block order (protocol/tree-hash.ts).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { blockCount, blockRange } from '#protocol/content-id';
import type { TreeHash } from '#protocol/tree-hash';
import { hashFile } from './files.ts';
import { contentIdFromBlockDigests } from './hashing.ts';

export interface HashOptions {
  /** Threads hashing at once: this one and the rest as worker threads. @default the machine's available parallelism */
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
  const progress = (bytes: number) => {
    hashed += bytes;
    options.onProgress?.(hashed);
  };
  // A worker thread takes some 30 ms of CPU and longer to boot, and this thread would idle: it
  // hashes blocks too, from the start, and one thread fewer is started (its CPU cost, ~20% of
  // 1 GiB's hashing on two cores, had held the pool at 1.56x one core of OpenSSL).
  const workers = Array.from({ length: workerCount - 1 }, () => new Worker(new URL('./hash-worker.js', import.meta.url)));
  try {
    await Promise.all([
      hashHere(path, size, blocks, () => nextBlock++, digests, progress),
      ...workers.map(
        (worker) =>
          new Promise<void>((done, fail) => {
            let queued = 0;
            const dispatch = () => {
              if (nextBlock >= blocks) return queued === 0 ? done() : undefined;
              const id = nextBlock++;
              queued++;
              const { start, end } = blockRange(size, id + 1);
              worker.postMessage({ id, path, start, end });
            };
            worker.on('message', (message: WorkerMessage) => {
              if ('progress' in message) {
                progress(message.progress);
              } else if ('digest' in message) {
                digests[message.id] = Buffer.from(message.digest);
                queued--;
                dispatch();
              } else {
                fail(new Error(`hashing ${path} failed: ${message.error}`));
              }
            });
            worker.on('error', fail);
            // Two blocks queued: a worker never waits for this thread, busy hashing, to hand it the next.
            dispatch();
            dispatch();
          }),
      ),
    ]);
  } finally {
    // Not awaited: the digests are in, and waiting for the threads to wind down would cost an
    // instant upload some 20 ms.
    for (const worker of workers) void worker.terminate();
  }
  return { contentId: contentIdFromBlockDigests(digests), size, blockDigests: digests };
}

/**
 * This thread's share: blocks taken in turn with the workers, each read and hashed as a worker
 * does (blocking reads into one reused buffer), yielding after each block (a few milliseconds)
 * so that the workers' messages are answered.
 */
async function hashHere(
  path: string,
  size: number,
  blocks: number,
  take: () => number,
  digests: Buffer[],
  progress: (bytes: number) => void,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  const fd = openSync(path, 'r');
  try {
    for (let id = take(); id < blocks; id = take()) {
      const { start, end } = blockRange(size, id + 1);
      const hash = createHash('sha256');
      for (let position = start; position < end; ) {
        const bytesRead = readSync(fd, buffer, 0, Math.min(buffer.length, end - position), position);
        if (bytesRead === 0) throw new Error(`hashing ${path} failed: file ended at byte ${position}, inside block ${id}`);
        hash.update(buffer.subarray(0, bytesRead));
        position += bytesRead;
      }
      digests[id] = hash.digest();
      progress(end - start);
      await new Promise((next) => setImmediate(next));
    }
  } finally {
    closeSync(fd);
  }
}
