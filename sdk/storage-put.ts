/**
 * Sending a part's bytes to a presigned URL. Over `fetch` (browsers, React Native, a custom
 * fetch), the body is copied on every request (fetch's body extraction); under Node, the CLI
 * sends the caller's buffer as it is over node:http(s), so that an upload's memory stays at its
 * concurrency times the block size.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface StorageResponse {
  /** 412 on a write-once PUT: the object is stored already (sdk/upload.ts treats it as done). */
  readonly status: number;
  readonly etag: string | undefined;
  /** The start of the body, for error messages. */
  readonly detail: string;
}

export type StoragePut = (url: string, headers: Record<string, string>, body: Uint8Array) => Promise<StorageResponse>;

export function fetchPut(fetchImpl: typeof fetch): StoragePut {
  return async (url, headers, body) => {
    const bytes = new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.length);
    const response = await fetchImpl(url, { method: 'PUT', headers, body: bytes });
    const detail = response.ok ? '' : (await response.text()).slice(0, 300);
    return { status: response.status, etag: response.headers.get('etag') ?? undefined, detail };
  };
}

const IDLE_TIMEOUT_MS = 60_000;

/** Network failures reject with a TypeError, as fetch's do, so that retries treat them alike. */
export const nodePut: StoragePut = (url, headers, body) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(
      target,
      { method: 'PUT', headers: { ...headers, 'content-length': String(body.length) } },
      (response) => {
        let detail = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (detail.length < 300) detail += chunk;
        });
        response.on('end', () => {
          const etag = response.headers.etag;
          resolve({ status: response.statusCode ?? 0, etag, detail: detail.slice(0, 300) });
        });
        response.on('error', (error) => reject(new TypeError(`storage response failed: ${error.message}`, { cause: error })));
      },
    );
    request.on('error', (error) => reject(new TypeError(`storage request failed: ${error.message}`, { cause: error })));
    // A stalled or half-open connection fails like a lost one (and is retried) instead of hanging.
    request.setTimeout(IDLE_TIMEOUT_MS, () => request.destroy(new Error(`no progress for ${IDLE_TIMEOUT_MS / 1000} s`)));
    request.end(body);
  });
