/**
 * A typed client of the hashdrop HTTP API. It uses only `fetch`, so it runs in Node, browsers
 * and React Native alike.
 */
import type { FileDownload, FileListing, FileView, UploadRequest, UploadView, UsageView } from '#protocol/api';
import { encodeFileRef } from '#protocol/file-ref';

export type { FileDownload, FileListing, FileView, UploadRequest, UploadView, UsageView };

/**
 * Longest wait a 429 may ask for and still be retried in place: throttling asks for seconds, while
 * a limit over a period (`proof_limited`) asks for hours and is the caller's to report.
 */
const MAX_RETRY_AFTER_SECONDS = 60;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The server's `retry-after`, in seconds, when it sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${code}: ${message} (HTTP ${status}${retryAfterSeconds === undefined ? '' : `, retry after ${retryAfterSeconds} s`})`);
    this.name = 'ApiError';
  }

  /** Worth retrying: throttling, contention and server faults; not a limit that lasts longer than a minute. */
  get retryable(): boolean {
    if (this.status === 429) return (this.retryAfterSeconds ?? 0) <= MAX_RETRY_AFTER_SECONDS;
    return this.status >= 500;
  }
}

/** `retry-after` in seconds (the HTTP-date form is not used by this API). */
function retryAfterOf(response: Response): number | undefined {
  const value = Number(response.headers.get('retry-after') ?? Number.NaN);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

export interface CompletedPartInput {
  readonly partNumber: number;
  readonly etag: string;
  /** Base64 SHA-256 of the part. */
  readonly sha256: string;
}

export interface CallOptions {
  /** Aborts the request (fetch rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

export interface ClientOptions {
  readonly endpoint: string;
  /** A bearer token, or a function returning a fresh one. */
  readonly token: string | (() => Promise<string>);
  /** Used for the API and for storage (presigned URLs) alike. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export class HashdropClient {
  private readonly endpoint: string;
  readonly fetchImpl: typeof fetch;
  /** Whether the app supplied its own fetch (then storage requests use it too). */
  readonly customFetch: boolean;

  constructor(private readonly options: ClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    const fetchImpl = options.fetch ?? fetch;
    // Called on its own: browsers refuse a fetch called as a method of another object
    // ("Illegal invocation", a TypeError that retries would take for a network error).
    this.fetchImpl = (input, init) => fetchImpl.call(globalThis, input, init);
    this.customFetch = options.fetch !== undefined;
  }

  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<{ status: number; data: T }> {
    const token = typeof this.options.token === 'string' ? this.options.token : await this.options.token();
    const response = await this.fetchImpl(`${this.endpoint}${path}`, {
      method,
      ...(signal ? { signal } : {}),
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!response.ok) {
      const error = (data as { error?: { code?: string; message?: string }; message?: string } | undefined) ?? {};
      throw new ApiError(
        response.status,
        error.error?.code ?? (response.status === 401 ? 'unauthenticated' : 'http_error'),
        error.error?.message ?? error.message ?? response.statusText,
        retryAfterOf(response),
      );
    }
    return { status: response.status, data: data as T };
  }

  async requestUpload(request: UploadRequest, options: CallOptions = {}): Promise<UploadView> {
    const body = { ...request, name: request.name.normalize('NFC') };
    return (await this.call<UploadView>('POST', '/v1/uploads', body, options.signal)).data;
  }

  /** URLs for these parts of an upload (at most 100), each signed for its own block. */
  async signParts(uploadId: string, partNumbers: readonly number[], options: CallOptions = {}): Promise<UploadView> {
    const path = `/v1/uploads/${encodeURIComponent(uploadId)}/parts`;
    return (await this.call<UploadView>('POST', path, { partNumbers }, options.signal)).data;
  }

  async completeUpload(uploadId: string, parts?: readonly CompletedPartInput[], options: CallOptions = {}): Promise<UploadView> {
    const path = `/v1/uploads/${encodeURIComponent(uploadId)}/complete`;
    return (await this.call<UploadView>('POST', path, parts ? { parts } : {}, options.signal)).data;
  }

  /**
   * Ends an upload the caller gave up on (`DELETE /v1/uploads/{uploadId}`), so that its parts
   * and its waiting file do not linger until the sweeper's TTL.
   */
  async cancelUpload(uploadId: string): Promise<void> {
    await this.call('DELETE', `/v1/uploads/${encodeURIComponent(uploadId)}`);
  }

  async uploadStatus(uploadId: string): Promise<UploadView> {
    return (await this.call<UploadView>('GET', `/v1/uploads/${encodeURIComponent(uploadId)}`)).data;
  }

  async listFiles(options: { prefix?: string; limit?: number; cursor?: string } = {}): Promise<FileListing> {
    // Built by hand rather than with URLSearchParams: React Native's lacks `set` and `size`, and a
    // missing `size` would drop the query silently. The prefix travels as a reference too: API
    // Gateway form-decodes query values.
    const fields: [string, string | undefined][] = [
      ['prefixRef', options.prefix === undefined ? undefined : encodeFileRef(options.prefix.normalize('NFC'))],
      ['limit', options.limit === undefined ? undefined : String(options.limit)],
      ['cursor', options.cursor],
    ];
    const query = fields.flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${encodeURIComponent(value)}`]));
    const suffix = query.length > 0 ? `?${query.join('&')}` : '';
    return (await this.call<FileListing>('GET', `/v1/files${suffix}`)).data;
  }

  /** The file and a download URL; `disposition: 'inline'` asks for one a browser displays (media only). */
  async getFile(name: string, options: { disposition?: 'inline' | 'attachment' } = {}): Promise<FileDownload> {
    const suffix = options.disposition ? `?disposition=${options.disposition}` : '';
    return (await this.call<FileDownload>('GET', `${filePath(name)}${suffix}`)).data;
  }

  /** Renames a file; refuses (`file_exists`) to replace another unless `overwrite`. */
  async renameFile(name: string, to: string, options: { overwrite?: boolean } = {}): Promise<FileView> {
    const body = { name: to.normalize('NFC'), ...(options.overwrite ? { overwrite: true } : {}) };
    return (await this.call<{ file: FileView }>('PATCH', filePath(name), body)).data.file;
  }

  async deleteFile(name: string): Promise<void> {
    await this.call('DELETE', filePath(name));
  }

  async usage(): Promise<UsageView> {
    return (await this.call<UsageView>('GET', '/v1/usage')).data;
  }
}

/**
 * The path of a file: `/v1/files/{fileRef}`, the name's file reference (protocol/file-ref.ts),
 * which no decoding by API Gateway changes. Names go out in NFC, as the server requires (macOS
 * file systems hand out decomposed names).
 */
export function filePath(name: string): string {
  return `/v1/files/${encodeFileRef(name.normalize('NFC'))}`;
}
