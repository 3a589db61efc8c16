/**
 * Sending a part's bytes to a presigned URL over `fetch`: browsers, React Native, or an app's
 * own fetch. A body may be a Blob (a browser sends a slice of the file straight from disk,
 * without reading it into memory) or bytes (copied on every request by fetch's body extraction;
 * the Node CLI sends its buffers over node:http instead, sdk/storage-put.ts).
 */

export interface StorageResponse {
  /** 412 on a write-once PUT: the object is stored already (sdk/upload-machine.ts treats it as done). */
  readonly status: number;
  readonly etag: string | undefined;
  /** The start of the body, for error messages. */
  readonly detail: string;
}

/**
 * Sends one part. Network failures reject with a TypeError (as fetch's do) so that retries treat
 * every transport alike; an abort rejects with the signal's reason.
 */
export type StoragePut<Body = Uint8Array> = (
  url: string,
  headers: Record<string, string>,
  body: Body,
  signal?: AbortSignal,
) => Promise<StorageResponse>;

export function fetchPut(fetchImpl: typeof fetch): StoragePut<Uint8Array | Blob> {
  return async (url, headers, body, signal) => {
    const payload = body instanceof Uint8Array ? new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.length) : body;
    const response = await fetchImpl(url, { method: 'PUT', headers, body: payload, ...(signal ? { signal } : {}) });
    const detail = response.ok ? '' : (await response.text()).slice(0, 300);
    return { status: response.status, etag: response.headers.get('etag') ?? undefined, detail };
  };
}
