/**
 * The local S3: one bucket on node:http, path-style (`/<bucket>/<key>`), serving the operations
 * hashdrop, its tests and benchmarks use. Every request goes through the same steps as in S3:
 * CORS preflights are answered from the bucket's CORS rules; anything else must be signed with
 * SigV4 by a key the server knows (sigv4.ts; anonymous requests are refused, as by a bucket that
 * blocks public access), then authorized for the IAM action(s) S3 checks for that operation (the
 * `authorize` hook), then run (objects.ts, multipart.ts). Refusals are S3's error XML with S3's
 * codes and statuses (errors.ts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Event } from 'aws-lambda';
import { S3_ACTIONS, s3BucketArn, s3ObjectArn } from '../iam/actions.ts';
import { type CorsRule, corsHeaders, preflight } from './cors.ts';
import { errors, S3Error } from './errors.ts';
import { type RequestContext, send } from './http.ts';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listParts, uploadPart } from './multipart.ts';
import { deleteObject, getObject, getObjectAttributes, headBucket, listObjectsV2, putObject } from './objects.ts';
import { authenticate, type IncomingRequest } from './sigv4.ts';
import { Store } from './storage.ts';

/** What the `authorize` hook is asked: may this key do this IAM action on this resource? */
export interface AuthorizeRequest {
  /** The access key that signed the request (which principal, for the IAM evaluator). */
  readonly accessKeyId: string;
  /** The IAM action S3 checks, e.g. `s3:PutObject` (for PutObject, UploadPart, CreateMultipartUpload, CompleteMultipartUpload). */
  readonly action: string;
  /** `arn:aws:s3:::bucket/key` for object operations, `arn:aws:s3:::bucket` for bucket ones. */
  readonly resource: string;
  /** The S3 operation, for messages (`PutObject`, `ListParts`...). */
  readonly operation: string;
  /**
   * Condition keys with their values in this request: `aws:SecureTransport`, `s3:authType`,
   * `s3:signatureversion`, `s3:signatureAge`, `s3:x-amz-content-sha256`, `s3:if-none-match`
   * (when sent), `s3:ObjectCreationOperation` (s3:PutObject operations: true for those that
   * create an object, PutObject and CompleteMultipartUpload; false for CreateMultipartUpload and
   * UploadPart), `s3:prefix`/`s3:delimiter`/`s3:max-keys` (ListBucket, when sent).
   */
  readonly conditions: Readonly<Record<string, string>>;
}

/** Allows or denies one IAM action; false answers 403 AccessDenied. */
export type Authorize = (request: AuthorizeRequest) => boolean | Promise<boolean>;

export interface LocalS3Options {
  /** Where the bucket lives on disk. */
  readonly directory: string;
  /** Keep what `directory` holds across restarts; otherwise it starts (and ends) empty. */
  readonly persist: boolean;
  readonly bucket: string;
  readonly region: string;
  /** The secret access key of a known access key id; undefined: 403 InvalidAccessKeyId. */
  readonly credentials: (accessKeyId: string) => string | undefined;
  /** Called for every action of an authenticated request. @default allow everything */
  readonly authorize?: Authorize;
  /**
   * The value of `aws:SecureTransport` in authorization requests. This server speaks plain HTTP,
   * but the deployed bucket is reached over HTTPS, which is what its policies should be evaluated
   * against. @default false
   */
  readonly secureTransport?: boolean;
  /** The bucket's CORS rules. @default none (no cross-origin request is allowed) */
  readonly cors?: readonly CorsRule[];
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** The server's clock (signature expiry, skew, timestamps). @default Date.now */
  readonly clock?: () => number;
  /**
   * How long CompleteMultipartUpload takes to assemble an object of `size` bytes, in ms. S3 may
   * take minutes for a large object: it answers 200 at once, keeps the connection alive with
   * whitespace, and writes the result (or an error) in the body when done; meanwhile the upload
   * is unknown to every request (NoSuchUpload) and the object is not there yet (multipart.ts).
   * @default 0 for every size: assembled at once, under the key's lock
   */
  readonly assemblyMs?: (size: number) => number;
}

export interface LocalS3 {
  /** `http://host:port`: the S3 endpoint (path-style). */
  readonly endpoint: string;
  readonly port: number;
  /** Listens to the bucket's ObjectCreated events; returns a function that stops listening. */
  onEvent(listener: (event: S3Event) => void): () => void;
  close(): Promise<void>;
}

interface Operation {
  readonly name: string;
  readonly actions: readonly string[];
  readonly on: 'object' | 'bucket';
  readonly run: (ctx: RequestContext) => Promise<void>;
}

/** An operation with the IAM actions S3 checks for it, from the one table the local IAM keeps. */
function op(name: string, run: (ctx: RequestContext) => Promise<void>): Operation {
  const entry = S3_ACTIONS[name];
  if (!entry) throw new Error(`no IAM mapping for S3 ${name}: add it to S3_ACTIONS`);
  return { name, actions: entry.actions, on: entry.on, run };
}

/** Sub-resources that would change what a request means; those not implemented are refused, not ignored. */
const OBJECT_SUBRESOURCES = ['acl', 'tagging', 'versionId', 'retention', 'legal-hold', 'restore', 'select', 'torrent'];

/** Which operation a request is (its IAM actions: local/iam/actions.ts S3_ACTIONS). */
function resolve(method: string, key: string, query: URLSearchParams): Operation {
  if (key === '') {
    if (method === 'GET' && query.has('uploads')) throw errors.notImplemented('ListMultipartUploads');
    if (method === 'GET') return op('ListObjectsV2', listObjectsV2);
    if (method === 'HEAD') return op('HeadBucket', headBucket);
    throw errors.notImplemented(`${method} on a bucket`);
  }
  const unsupported = OBJECT_SUBRESOURCES.find((name) => query.has(name));
  if (unsupported) throw errors.notImplemented(`the ${unsupported} sub-resource`);
  const uploadId = query.has('uploadId');
  switch (method) {
    case 'PUT':
      return uploadId || query.has('partNumber') ? op('UploadPart', uploadPart) : op('PutObject', putObject);
    case 'GET':
      if (uploadId) return op('ListParts', listParts);
      if (query.has('attributes')) return op('GetObjectAttributes', getObjectAttributes);
      return op('GetObject', getObject);
    case 'HEAD':
      return op('HeadObject', getObject);
    case 'DELETE':
      return uploadId ? op('AbortMultipartUpload', abortMultipartUpload) : op('DeleteObject', deleteObject);
    case 'POST':
      if (query.has('uploads')) return op('CreateMultipartUpload', createMultipartUpload);
      if (uploadId) return op('CompleteMultipartUpload', completeMultipartUpload);
      throw errors.methodNotAllowed(method);
    default:
      throw errors.methodNotAllowed(method);
  }
}

/** The query as sent: decoded names and values, no `+` → space (SigV4 signs `%20`; `+` is literal). */
function parseQuery(raw: string): [string, string][] {
  if (raw === '') return [];
  return raw.split('&').map((pair) => {
    const equals = pair.indexOf('=');
    const [name, value] = equals === -1 ? [pair, ''] : [pair.slice(0, equals), pair.slice(equals + 1)];
    return [decodeURIComponent(name), decodeURIComponent(value)];
  });
}

function headerMap(req: IncomingMessage): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (let index = 0; index < req.rawHeaders.length; index += 2) {
    const name = req.rawHeaders[index]?.toLowerCase() ?? '';
    headers.set(name, [...(headers.get(name) ?? []), req.rawHeaders[index + 1] ?? '']);
  }
  return headers;
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const store = await Store.open(options.directory, options.persist);
  const clock = options.clock ?? Date.now;
  const authorize: Authorize = options.authorize ?? (() => true);
  const rules = options.cors ?? [];
  const listeners = new Set<(event: S3Event) => void>();
  const emit = (event: S3Event) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error('local S3: an event listener failed:', error);
      }
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const method = req.method ?? 'GET';
    const origin = req.headers.origin;
    let cors: Record<string, string> = {};
    try {
      const url = req.url ?? '/';
      const queryStart = url.indexOf('?');
      const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
      let entries: [string, string][];
      let bucket: string;
      let key: string;
      try {
        entries = parseQuery(queryStart === -1 ? '' : url.slice(queryStart + 1));
        const [, rawBucket = '', ...rawKey] = rawPath.split('/');
        bucket = decodeURIComponent(rawBucket);
        key = decodeURIComponent(rawKey.join('/'));
      } catch {
        throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");
      }
      if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 400, 'Your key is too long');
      const query = new URLSearchParams(entries);
      if (method === 'OPTIONS') {
        const headers = preflight(
          rules,
          origin,
          req.headers['access-control-request-method'],
          req.headers['access-control-request-headers'],
        );
        send({ res, requestId, corsHeaders: headers }, 200);
        return;
      }
      cors = corsHeaders(rules, origin, method);
      if (bucket === '') throw errors.notImplemented('ListBuckets');
      const incoming: IncomingRequest = { method, rawPath, query: entries, headers: headerMap(req) };
      const now = new Date(clock());
      const auth = await authenticate(incoming, { region: options.region, credentials: options.credentials, now });
      // The bucket blocks public access: an unsigned request is anonymous, and refused.
      if (!auth) throw errors.accessDenied();
      if (bucket !== options.bucket) throw errors.noSuchBucket(bucket);
      const operation = resolve(method, key, query);
      const conditions: Record<string, string> = {
        'aws:SecureTransport': String(options.secureTransport ?? false),
        's3:authType': auth.authType,
        's3:signatureversion': 'AWS4-HMAC-SHA256',
        's3:signatureAge': String(auth.signatureAgeMs),
        's3:x-amz-content-sha256':
          auth.payload.kind === 'sha256'
            ? auth.payload.hex
            : auth.payload.kind === 'unsigned'
              ? 'UNSIGNED-PAYLOAD'
              : 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        ...(req.headers['if-none-match'] !== undefined ? { 's3:if-none-match': req.headers['if-none-match'] } : {}),
        // What a bucket policy that enforces conditional writes tells object creation from its steps by.
        ...(operation.actions.includes('s3:PutObject')
          ? {
              's3:ObjectCreationOperation': String(
                operation.name === 'PutObject' || operation.name === 'CompleteMultipartUpload',
              ),
            }
          : {}),
        ...(operation.on === 'bucket'
          ? Object.fromEntries(
              ['prefix', 'delimiter', 'max-keys'].flatMap((name) => {
                const value = query.get(name);
                return value === null ? [] : [[`s3:${name}`, value]];
              }),
            )
          : {}),
      };
      const isAllowed = async (action: string, resource: string) =>
        authorize({ accessKeyId: auth.accessKeyId, action, resource, operation: operation.name, conditions });
      const resource = operation.on === 'bucket' ? s3BucketArn(bucket) : s3ObjectArn(bucket, key);
      for (const action of operation.actions) {
        if (!(await isAllowed(action, resource))) throw errors.accessDenied();
      }
      const ctx: RequestContext = {
        req,
        res,
        requestId,
        bucket,
        key,
        query,
        auth,
        store,
        region: options.region,
        corsHeaders: cors,
        now: () => new Date(clock()),
        assemblyMs: options.assemblyMs ?? (() => 0),
        emit,
        isAllowed,
        header: (name) => {
          const value = req.headers[name];
          return Array.isArray(value) ? value.join(', ') : value;
        },
      };
      await operation.run(ctx);
    } catch (error) {
      answerError(req, res, requestId, cors, error);
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  // Uploads of gigabytes take as long as they take (S3 sets no such limit); idle connections are
  // kept for a while so that SDK clients rarely reuse one the server is closing.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => done());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    endpoint: `http://${address}:${port}`,
    port,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      await closed;
      if (!options.persist) await store.destroy();
    },
  };
}

/** Answers a refusal in S3's form; anything that is not an S3Error is S3's 500 InternalError. */
function answerError(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  cors: Record<string, string>,
  error: unknown,
): void {
  // The client went away mid-request: there is nobody to answer.
  if (req.destroyed && !req.complete) return;
  if (res.headersSent) {
    // Failed while streaming a body: S3 cuts the connection, and so does this.
    res.destroy();
    return;
  }
  const refusal = error instanceof S3Error ? error : errors.internalError();
  if (!(error instanceof S3Error)) console.error('local S3: request failed:', error);
  // An unread body is discarded, so that the client gets to read the answer.
  req.resume();
  const headers = { 'content-type': 'application/xml' };
  send(
    { res, requestId, corsHeaders: cors },
    refusal.status,
    headers,
    req.method === 'HEAD' ? undefined : refusal.toXml(requestId),
  );
}
