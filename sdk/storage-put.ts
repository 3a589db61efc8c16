/**
 * Sending a part's bytes to a presigned URL under Node: the CLI sends the caller's buffer as it
 * is over node:http(s), so that an upload's memory stays at its concurrency times the block size
 * (fetch would copy it on every request; sdk/fetch-put.ts is the fetch way, for other platforms).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { StoragePut } from './fetch-put.ts';

export { fetchPut, type StoragePut, type StorageResponse } from './fetch-put.ts';

const IDLE_TIMEOUT_MS = 60_000;

/** Network failures reject with a TypeError, as fetch's do, so that retries treat them alike. */
export const nodePut: StoragePut = (url, headers, body, signal) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(
      target,
      { method: 'PUT', headers: { ...headers, 'content-length': String(body.length) }, ...(signal ? { signal } : {}) },
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
    // An abort is the caller's decision, not a network failure to retry.
    request.on('error', (error) =>
      reject(signal?.aborted ? signal.reason : new TypeError(`storage request failed: ${error.message}`, { cause: error })),
    );
    // A stalled or half-open connection fails like a lost one (and is retried) instead of hanging.
    request.setTimeout(IDLE_TIMEOUT_MS, () => request.destroy(new Error(`no progress for ${IDLE_TIMEOUT_MS / 1000} s`)));
    request.end(body);
  });
