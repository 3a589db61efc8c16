/**
 * The browser's hashing pieces, run here on Node's Blob and Web Crypto: the streaming SHA-256
 * that takes over from Web Crypto's one-shot digest for large blocks, and the tree hash of a Blob
 * on either path, against Node's own SHA-256 and the protocol's tree hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MiB } from '#protocol/content-id';
import { hashBuffer } from '#sdk/hashing';
import { StreamingSha256 } from '#sdk/sha256';
import { hashBlob, hashBlock } from '#sdk/web-hash';

const nodeSha256 = (data: Uint8Array) => new Uint8Array(createHash('sha256').update(data).digest());

describe('streaming SHA-256', () => {
  it('matches SHA-256 at every length around the 64-byte block and its padding', () => {
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length);
      expect(new StreamingSha256().update(data).digest(), `length ${length}`).toEqual(nodeSha256(data));
    }
  });

  it('gives the same digest however the input is cut into updates', () => {
    const data = randomBytes(3 * MiB + 17);
    const hash = new StreamingSha256();
    for (let offset = 0; offset < data.length; ) {
      const take = Math.min(data.length - offset, 1 + Math.floor(Math.random() * 100_000));
      hash.update(data.subarray(offset, offset + take));
      offset += take;
    }
    expect(hash.digest()).toEqual(nodeSha256(data));
  });

  it('refuses to be used after its digest', () => {
    const hash = new StreamingSha256();
    hash.digest();
    expect(() => hash.update(new Uint8Array(1))).toThrow(/after digest/);
  });
});

describe('hashing a Blob by blocks', () => {
  it('streams a block above the Web Crypto limit and reports its bytes chunk by chunk', async () => {
    const data = randomBytes(8 * MiB + 5);
    const chunks: number[] = [];
    const digest = await hashBlock(new Blob([data]), { webCryptoMaxBlock: MiB, onBytes: (bytes) => chunks.push(bytes) });
    expect(digest).toEqual(nodeSha256(data));
    expect(chunks).toEqual([8 * MiB, 5]);
  });

  it('gives the content id of the protocol on the Web Crypto path and on the streaming one', async () => {
    const data = randomBytes(2 * 8 * MiB + 1234);
    const expected = hashBuffer(data).contentId;
    const progress: number[] = [];
    const oneShot = await hashBlob(new Blob([data]), { onProgress: (bytes) => progress.push(bytes) });
    const streamed = await hashBlob(new Blob([data]), { webCryptoMaxBlock: MiB });
    expect(oneShot.contentId).toBe(expected);
    expect(streamed.contentId).toBe(expected);
    expect(progress.at(-1)).toBe(data.length);
  });

  it('stops when aborted', async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(hashBlob(new Blob([randomBytes(1000)]), { signal: abort.signal })).rejects.toThrow(/abort/i);
  });
});
