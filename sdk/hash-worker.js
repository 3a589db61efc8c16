// Worker thread of the parallel tree hash (sdk/hash-pool.ts): hashes one block of a file per
// message. It reads with blocking reads into one reused buffer: inside a worker that blocks
// nobody, skips the thread-pool hop and the per-chunk allocations of a stream, and keeps memory
// at one buffer per worker. Plain JavaScript, so that it loads in a worker without a TS loader.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);

parentPort?.on('message', (/** @type {{ id: number, path: string, start: number, end: number }} */ task) => {
  let fd;
  try {
    fd = openSync(task.path, 'r');
    const hash = createHash('sha256');
    let position = task.start;
    while (position < task.end) {
      const bytesRead = readSync(fd, buffer, 0, Math.min(buffer.length, task.end - position), position);
      if (bytesRead === 0) throw new Error(`file ended at byte ${position}, inside block ${task.id}`);
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
      parentPort?.postMessage({ id: task.id, progress: bytesRead });
    }
    const digest = hash.digest();
    parentPort?.postMessage({ id: task.id, digest });
  } catch (error) {
    parentPort?.postMessage({ id: task.id, error: error instanceof Error ? error.message : String(error) });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
