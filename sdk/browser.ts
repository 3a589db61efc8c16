/**
 * The SDK's browser entry (built to dist/browser/hashdrop.js, one self-contained ES module):
 * the same API client and upload state machine as the Node SDK (sdk/api.ts,
 * sdk/upload-machine.ts), with the browser's platform parts: a Blob or File is hashed block by
 * block in Web Workers (sdk/web-hash-pool.ts), each part is sent as a slice of the Blob (the
 * browser streams it from disk; a File changed since it was picked fails to read, so no second
 * hash is needed), and parts travel over fetch, straight to storage.
 *
 *   import { createClient } from './hashdrop.js';
 *   const client = createClient({ endpoint, token });
 *   const result = await client.put(input.files[0], { name: 'video.mp4', onProgress, signal });
 */
import type { FileListing, FileView, UsageView } from '#protocol/api';
import { blockRange } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import { type ClientOptions, HashdropClient } from './api.ts';
import { fetchPut } from './fetch-put.ts';
import { type PutResult, UploadFailedError, type UploadOptions, type UploadSource, upload } from './upload-machine.ts';
import { readBlob } from './web-hash.ts';
import { hashBlobParallel } from './web-hash-pool.ts';

export type { FileListing, FileView, UsageView } from '#protocol/api';
export { ApiError } from './api.ts';
export { formatBytes } from './format.ts';
export type { RetryPolicy } from './retry.ts';
export { type PutResult, UploadFailedError, type UploadProgress } from './upload-machine.ts';

export interface BrowserClientOptions extends ClientOptions {
  /** Hash workers. @default navigator.hardwareConcurrency (all cores) */
  readonly hashWorkers?: number;
}

export interface BrowserPutOptions extends UploadOptions {
  /** The name to store the file under. */
  readonly name: string;
}

export interface BrowserClient {
  /**
   * Uploads a Blob or File: hashes it, asks the API, proves ownership when challenged, and sends
   * only what storage lacks (nothing for content it holds; the missing parts of an upload it
   * holds parts of). Resolves to what `hashdrop put --json` prints.
   */
  put(blob: Blob, options: BrowserPutOptions): Promise<PutResult>;
  /** The file's bytes, checked against its content id (`UploadFailedError('content_mismatch')` if not). */
  get(name: string, options?: { signal?: AbortSignal }): Promise<Blob>;
  /** A page of the caller's files, by name. */
  list(options?: { prefix?: string; cursor?: string; limit?: number }): Promise<FileListing>;
  /** Renames atomically; `ApiError('file_exists')` if `to` is taken, unless `overwrite`. */
  rename(from: string, to: string, options?: { overwrite?: boolean }): Promise<FileView>;
  remove(name: string): Promise<void>;
  usage(): Promise<UsageView>;
  /** The typed client of every API route, for what the calls above do not cover. */
  readonly api: HashdropClient;
}

/** The browser's side of an upload: a Blob, read by slices. */
function blobSource(blob: Blob, name: string, put: ReturnType<typeof fetchPut>, hashWorkers?: number): UploadSource<Blob> {
  return {
    size: blob.size,
    label: name,
    hash: (onProgress, signal) =>
      hashBlobParallel(blob, {
        ...(hashWorkers === undefined ? {} : { workers: hashWorkers }),
        ...(onProgress ? { onProgress } : {}),
        ...(signal ? { signal } : {}),
      }),
    newLane: () => async (partNumber) => {
      const { start, end } = blockRange(blob.size, partNumber);
      return blob.slice(start, end);
    },
    // 44 ranges of 16 KiB: small enough for Web Crypto's one-shot digest of their concatenation.
    answerChallenge: async (ranges) => {
      const parts = await Promise.all(ranges.map((range) => readBlob(blob.slice(range.start, range.start + range.length))));
      const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
      let offset = 0;
      for (const part of parts) {
        joined.set(new Uint8Array(part), offset);
        offset += part.byteLength;
      }
      return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', joined)));
    },
    put,
  };
}

export function createClient(options: BrowserClientOptions): BrowserClient {
  const api = new HashdropClient(options);
  const fetchImpl = api.fetchImpl;
  const put = fetchPut(fetchImpl);
  const hashWorkers = options.hashWorkers;

  return {
    api,
    // A File's own type unless the caller names one.
    put: (blob, { name, ...rest }) =>
      upload(api, blobSource(blob, name, put, hashWorkers), name, { contentType: blob.type, ...rest }),

    async get(name, { signal } = {}) {
      const { file, download } = await api.getFile(name);
      const response = await fetchImpl(download.url, signal ? { signal } : {});
      if (!response.ok) throw new UploadFailedError('download_failed', `storage answered HTTP ${response.status}`);
      const blob = await response.blob();
      const { contentId } = await hashBlobParallel(blob, {
        ...(hashWorkers === undefined ? {} : { workers: hashWorkers }),
        ...(signal ? { signal } : {}),
      });
      if (blob.size !== file.size || contentId !== file.contentId) {
        throw new UploadFailedError('content_mismatch', `the downloaded bytes of ${name} do not match its content id`);
      }
      return blob;
    },

    list: (listOptions = {}) => api.listFiles(listOptions),
    rename: (from, to, renameOptions = {}) => api.renameFile(from, to, renameOptions),
    remove: (name) => api.deleteFile(name),
    usage: () => api.usage(),
  };
}
