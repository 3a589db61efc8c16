/**
 * The browser SDK's hashing where React Native runs it (docs/mobile.md): no Web Workers, and a
 * Blob without `arrayBuffer()` whose bytes only a FileReader reads. Node stands in: it has no
 * `Worker` global either, and test/support/react-native.ts hides `arrayBuffer` as React Native's Blob does.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MiB } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import { encodeFileRef } from '#protocol/file-ref';
import { HashdropClient } from '#sdk/api';
import { hashBuffer } from '#sdk/hashing';
import { readBlob } from '#sdk/web-hash';
import { hashBlobParallel } from '#sdk/web-hash-pool';
import { fileReads, NativeBlob, NativeFileReader } from '../support/react-native.ts';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  fileReads.count = 0;
});

describe('hashing in a React Native-like runtime', () => {
  it('without Worker, the bundled pool hashes in the calling thread and starts no worker', async () => {
    expect(typeof Worker).toBe('undefined');
    // As in the built bundle, which carries the worker's source.
    vi.stubGlobal('__HASHDROP_HASH_WORKER__', 'self.onmessage = () => {}');
    const blobUrls = vi.spyOn(URL, 'createObjectURL');
    const data = randomBytes(2 * 8 * MiB + 99);
    const tree = await hashBlobParallel(new Blob([data]), { workers: 4 });
    expect(tree.contentId).toBe(hashBuffer(data).contentId);
    expect(blobUrls).not.toHaveBeenCalled();
  });

  it('reads a Blob without arrayBuffer() through FileReader, block by block', async () => {
    vi.stubGlobal('FileReader', NativeFileReader);
    const data = randomBytes(8 * MiB + 12_345);
    const blob = new NativeBlob([data]);
    expect(blob.arrayBuffer).toBeUndefined();
    const tree = await hashBlobParallel(blob);
    const reference = hashBuffer(data);
    expect(tree.contentId).toBe(reference.contentId);
    expect(tree.blockDigests.map(bytesToHex)).toEqual(reference.blockDigests.map(bytesToHex));
    expect(fileReads.count).toBe(2);
    // The streaming path for blocks above Web Crypto's limit reads through it too.
    const streamed = await hashBlobParallel(blob, { webCryptoMaxBlock: MiB });
    expect(streamed.contentId).toBe(reference.contentId);
  });

  it('reports a FileReader failure rather than hanging', async () => {
    class FailingReader extends NativeFileReader {
      override readAsArrayBuffer(): void {
        this.error = new Error('the file is gone');
        queueMicrotask(() => this.onerror?.());
      }
    }
    vi.stubGlobal('FileReader', FailingReader);
    await expect(readBlob(new NativeBlob([randomBytes(10)]))).rejects.toThrow('the file is gone');
  });
});

describe('the API client in a React Native-like runtime', () => {
  it('lists with a prefix, limit and cursor without URLSearchParams (React Native’s lacks set and size)', async () => {
    // Made first: Node's own Response uses URLSearchParams.
    const answers = [Response.json({ files: [] }), Response.json({ files: [] })];
    vi.stubGlobal('URLSearchParams', undefined);
    const asked: string[] = [];
    const client = new HashdropClient({
      endpoint: 'https://api.example',
      token: 'token',
      fetch: async (url) => {
        asked.push(String(url));
        const answer = answers.shift();
        if (!answer) throw new Error('asked once too often');
        return answer;
      },
    });
    await client.listFiles({ prefix: 'photos/2026 & more', limit: 5, cursor: 'c+/=' });
    await client.listFiles();
    expect(asked).toEqual([
      `https://api.example/v1/files?prefixRef=${encodeFileRef('photos/2026 & more')}&limit=5&cursor=c%2B%2F%3D`,
      'https://api.example/v1/files',
    ]);
  });
});
