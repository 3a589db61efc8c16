/**
 * The local S3 (local/s3/) on a free port with a throw-away directory, driven as its clients drive
 * it: the real AWS SDK S3Client, presigned URLs sent with fetch, and requests signed by hand with
 * the SDK's signer where a test needs a request no client would send.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3Event } from 'aws-lambda';
import { type AuthorizeRequest, type LocalS3, type LocalS3Options, startLocalS3 } from '#local/s3/index';

export const BUCKET_NAME = 'test-bucket';
export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'AKIALOCALTEST', secretAccessKey: 'local-test-secret' } as const;

export interface Fixture {
  readonly server: LocalS3;
  readonly directory: string;
  /** Every authorization the server asked for, in order. */
  readonly authorizations: AuthorizeRequest[];
  /** Every event the server emitted, in order. */
  readonly events: S3Event[];
  /** A client at the SDK's defaults (request checksums WHEN_SUPPORTED: CRC32), unless `config` says otherwise. */
  client(config?: Partial<S3ClientConfig>): S3Client;
  close(): Promise<void>;
}

export async function startFixture(options: Partial<LocalS3Options> = {}): Promise<Fixture> {
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'local-s3-test-'));
  const authorizations: AuthorizeRequest[] = [];
  const events: S3Event[] = [];
  const server = await startLocalS3({
    directory,
    persist: false,
    bucket: BUCKET_NAME,
    region: REGION,
    credentials: (accessKeyId) => (accessKeyId === CREDENTIALS.accessKeyId ? CREDENTIALS.secretAccessKey : undefined),
    ...options,
    authorize: (request) => {
      authorizations.push(request);
      return options.authorize ? options.authorize(request) : true;
    },
  });
  server.onEvent((event) => events.push(event));
  const clients: S3Client[] = [];
  return {
    server,
    directory,
    authorizations,
    events,
    client(config = {}) {
      const client = new S3Client({
        endpoint: server.endpoint,
        region: REGION,
        credentials: CREDENTIALS,
        forcePathStyle: true,
        maxAttempts: 1,
        ...config,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export const newKey = (prefix = 'objects'): string => `${prefix}/${randomBytes(6).toString('hex')}`;

/** Whether the bucket holds `key`, as HeadObject tells (404 NotFound: no). */
export async function objectExists(s3: S3Client, key: string): Promise<boolean> {
  const error = await s3.send(new HeadObjectCommand({ Bucket: BUCKET_NAME, Key: key })).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error === undefined) return true;
  if (error instanceof Error && error.name === 'NotFound') return false;
  throw error;
}

export const sha256Base64 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');

/** A rejected promise's error; fails the test when the promise resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** The S3 error code of an XML error body. */
export const errorCode = (body: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(body)?.[1];

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | string;
  /** x-amz-content-sha256: by default the body's SHA-256. */
  readonly payloadHash?: string;
  readonly signingDate?: Date;
  readonly region?: string;
}

/** The headers of `request` signed in the Authorization header by the SDK's own signer (host included). */
export async function signHeaders(endpoint: string, request: RawRequest): Promise<Record<string, string>> {
  const url = new URL(endpoint);
  const body = typeof request.body === 'string' ? Buffer.from(request.body) : (request.body ?? new Uint8Array());
  const signer = new SignatureV4({
    service: 's3',
    region: request.region ?? REGION,
    credentials: CREDENTIALS,
    sha256: Sha256,
    uriEscapePath: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: request.path,
      query: request.query ?? {},
      headers: {
        host: url.host,
        'x-amz-content-sha256': request.payloadHash ?? createHash('sha256').update(body).digest('hex'),
        ...request.headers,
      },
    },
    { signingDate: request.signingDate ?? new Date() },
  );
  return signed.headers;
}

/** Sends a request signed by hand (`signHeaders`), exactly as given: what the SDK client would never send. */
export async function signedFetch(endpoint: string, request: RawRequest): Promise<RawResponse> {
  const body = typeof request.body === 'string' ? Buffer.from(request.body) : (request.body ?? new Uint8Array());
  const signed = await signHeaders(endpoint, request);
  const query = new URLSearchParams(request.query ?? {}).toString().replace(/\+/g, '%20');
  const headers = Object.fromEntries(Object.entries(signed).filter(([name]) => name !== 'host'));
  const response = await fetch(`${endpoint}${request.path}${query ? `?${query}` : ''}`, {
    method: request.method,
    headers,
    ...(request.method === 'PUT' || request.method === 'POST' ? { body: new Uint8Array(body) } : {}),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const toBuffer = (data: ArrayBuffer | ArrayBufferView): Buffer =>
  ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);

/** node:crypto's SHA-256 and HMAC in the shape the SDK's signer takes. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key = secret === undefined ? undefined : typeof secret === 'string' ? secret : toBuffer(secret);
    this.hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}
