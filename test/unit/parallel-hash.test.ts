import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MiB } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import { hashFile } from '#sdk/files';
import { hashFileParallel } from '#sdk/hash-pool';
import { hashBuffer } from '#sdk/hashing';
import { hashBlob } from '#sdk/web-hash';
import { scratchPath } from '../support/scratch.ts';

const sizes: [string, number][] = [
  ['empty', 0],
  ['one byte', 1],
  ['exactly one block', 8 * MiB],
  ['one block and one byte', 8 * MiB + 1],
  ['several blocks', 4 * 8 * MiB + 4321],
];

describe('hashes that give the same id as the reference', () => {
  for (const [label, size] of sizes) {
    it(`${label}: worker pool, this thread and Web Crypto`, async () => {
      const data = randomBytes(size);
      const path = scratchPath(`hash-${size}`);
      writeFileSync(path, data);
      const reference = hashBuffer(data);

      const progress: number[] = [];
      const pooled = await hashFileParallel(path, {
        workers: 3,
        minParallelBytes: 0,
        onProgress: (bytes) => progress.push(bytes),
      });
      expect(pooled.contentId).toBe(reference.contentId);
      expect(pooled.blockDigests.map(bytesToHex)).toEqual(reference.blockDigests.map(bytesToHex));
      expect(progress.at(-1)).toBe(size);

      const inThread: number[] = [];
      const local = await hashFile(path, (bytes) => inThread.push(bytes));
      expect(local.contentId).toBe(reference.contentId);
      expect(inThread.at(-1)).toBe(size);

      const web = await hashBlob(new Blob([data]));
      expect(web.contentId).toBe(reference.contentId);
      expect(web.blockDigests).toHaveLength(reference.blockDigests.length);
    });
  }
});
