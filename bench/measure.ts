/** Small measuring helpers shared by the benchmarks. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { promisify } from 'node:util';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export const run = promisify(execFile);

/** Milliseconds taken by `work`, with its result. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** The q-quantile (0..1) of a sample, nearest rank. */
export function quantile(sample: readonly number[], q: number): number {
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** Writes `size` random bytes to `path`, a few MiB at a time. */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  const chunk = randomBytes(4 * MiB);
  for (let written = 0; written < size; written += chunk.length) {
    const piece = written + chunk.length <= size ? chunk : chunk.subarray(0, size - written);
    // A fresh first byte per chunk: no two blocks of the file are equal.
    piece[0] = (written / chunk.length) & 0xff;
    if (!out.write(Buffer.from(piece))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Drops the page cache (root only); false where that is not allowed. */
export async function dropPageCache(): Promise<boolean> {
  try {
    await run('sh', ['-c', 'sync && echo 3 > /proc/sys/vm/drop_caches']);
    return true;
  } catch {
    return false;
  }
}

/** Reads a file once so that it is in the page cache. */
export async function warmPageCache(path: string): Promise<void> {
  await run('sh', ['-c', `cat "${path}" > /dev/null`]);
}

/** Runs `work` for each item with at most `concurrency` at once. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index] as T);
    }),
  );
  return results;
}

export const fmt = {
  ms: (ms: number) => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`,
  rate: (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`,
  ratio: (value: number) => `${value.toFixed(2)}×`,
  // 1 KB = 1,000 bytes, the unit of the bundle budget (README, Observability): 1,024 printed 476 KB
  // for a bundle of 487,300 bytes beside a ratio to 500,000.
  kb: (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`,
  mb: (bytes: number) => `${(bytes / MiB).toFixed(0)} MB`,
};
