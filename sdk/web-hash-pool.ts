/**
 * The tree SHA-256 of a Blob on every core of a browser: one Web Worker per core
 * (`navigator.hardwareConcurrency`), each handed one block at a time (a Blob slice, which the
 * worker reads itself), so memory stays at a block per worker whatever the file's size. The
 * digests are combined in block order (protocol/content-id.ts).
 *
 * The worker's code is bundled into the browser SDK as a string (scripts/build.mjs defines
 * `__HASHDROP_HASH_WORKER__`) and started from a blob: URL: the SDK stays one file that needs no
 * second URL to be served. A page whose Content-Security-Policy refuses `worker-src blob:`, or a
 * runtime without workers (React Native, Node), hashes in the calling thread instead.
 */
import { blockCount, blockRange } from '#protocol/content-id';
import type { TreeHash } from '#protocol/tree-hash';
import { type BlobHashOptions, contentIdOf, hashBlob } from './web-hash.ts';
import type { HashReply, HashTask } from './web-hash-worker.ts';

/** The bundled worker's source; absent when the SDK runs from its TypeScript sources. */
declare const __HASHDROP_HASH_WORKER__: string | undefined;

export interface ParallelBlobHashOptions extends BlobHashOptions {
  /** Hash workers. @default navigator.hardwareConcurrency (all cores) */
  readonly workers?: number;
}

function workerSource(): string | undefined {
  return typeof __HASHDROP_HASH_WORKER__ === 'string' && typeof Worker === 'function' ? __HASHDROP_HASH_WORKER__ : undefined;
}

function startWorkers(source: string, count: number): { workers: Worker[]; stop: () => void } | undefined {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const workers: Worker[] = [];
  const stop = () => {
    for (const worker of workers) worker.terminate();
    URL.revokeObjectURL(url);
  };
  try {
    for (let index = 0; index < count; index++) workers.push(new Worker(url));
  } catch {
    // CSP without `worker-src blob:` throws here: hash in this thread instead.
    stop();
    return undefined;
  }
  return { workers, stop };
}

/** A worker that failed before it hashed anything: it never started (a CSP refusing `blob:` workers). */
class WorkerStartError extends Error {}

export async function hashBlobParallel(blob: Blob, options: ParallelBlobHashOptions = {}): Promise<TreeHash> {
  const size = blob.size;
  const blocks = blockCount(size);
  const cores = typeof navigator === 'object' ? navigator.hardwareConcurrency || 2 : 2;
  const count = Math.max(1, Math.min(options.workers ?? cores, blocks));
  const source = workerSource();
  const pool = source === undefined || size === 0 ? undefined : startWorkers(source, count);
  if (!pool) return hashBlob(blob, { concurrency: count, ...options });
  try {
    return await hashInWorkers(blob, pool.workers, options);
  } catch (error) {
    if (!(error instanceof WorkerStartError)) throw error;
    // Browsers report a worker script refused by the page's CSP as an error event, not by
    // throwing: no worker could start, so this thread hashes (from the start: nothing was).
    return hashBlob(blob, { concurrency: count, ...options });
  } finally {
    pool.stop();
  }
}

async function hashInWorkers(blob: Blob, workers: readonly Worker[], options: ParallelBlobHashOptions): Promise<TreeHash> {
  const size = blob.size;
  const blocks = blockCount(size);
  const digests: Uint8Array[] = new Array(blocks);
  let hashed = 0;
  let nextBlock = 0;
  let replies = 0;
  const { signal } = options;
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((done, fail) => {
          const dispatch = () => {
            if (signal?.aborted) return fail(signal.reason);
            if (nextBlock >= blocks) return done();
            const id = nextBlock++;
            const { start, end } = blockRange(size, id + 1);
            const task: HashTask = {
              id,
              block: blob.slice(start, end),
              ...(options.webCryptoMaxBlock === undefined ? {} : { webCryptoMaxBlock: options.webCryptoMaxBlock }),
            };
            worker.postMessage(task);
          };
          worker.onmessage = ({ data: reply }: MessageEvent<HashReply>) => {
            replies++;
            if ('progress' in reply) {
              hashed += reply.progress;
              options.onProgress?.(hashed);
            } else if ('digest' in reply) {
              digests[reply.id] = reply.digest;
              dispatch();
            } else {
              fail(new Error(`hashing block ${reply.id + 1} failed: ${reply.error}`));
            }
          };
          worker.onerror = (event) =>
            fail(replies === 0 ? new WorkerStartError(event.message) : new Error(`hash worker failed: ${event.message}`));
          signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
          dispatch();
        }),
    ),
  );
  return { contentId: await contentIdOf(digests), size, blockDigests: digests };
}
