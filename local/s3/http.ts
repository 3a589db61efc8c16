/**
 * What every operation handler gets: the request, as parsed and authenticated, the store, and the
 * ways to answer (S3's response headers, XML bodies). Handlers throw S3Error to refuse.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { S3Event } from 'aws-lambda';
import { errors } from './errors.ts';
import type { Authenticated } from './sigv4.ts';
import type { Store } from './storage.ts';
import { xmlDocument } from './xml.ts';

/** S3's largest single PUT and part (5 GiB). */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;
/** S3's smallest part, except the last of an upload (5 MiB). */
export const MIN_PART_BYTES = 5 * 1024 ** 2;
export const MAX_PARTS = 10_000;

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly bucket: string;
  /** The decoded object key; empty for a bucket operation. */
  readonly key: string;
  readonly query: URLSearchParams;
  readonly auth: Authenticated;
  readonly store: Store;
  readonly region: string;
  /** CORS headers this response carries (none unless the request came from an allowed origin). */
  readonly corsHeaders: Readonly<Record<string, string>>;
  readonly now: () => Date;
  /** How long a completion assembles an object of this size, in ms (LocalS3Options.assemblyMs). */
  readonly assemblyMs: (size: number) => number;
  /** Delivers a bucket event to the listeners (after the request's effect is stored). */
  readonly emit: (event: S3Event) => void;
  /** Asks the authorizer about another action (S3's own checks, e.g. ListBucket for a missing key). */
  readonly isAllowed: (action: string, resource: string) => Promise<boolean>;
  /** The request's header, every occurrence joined as Node joins them. */
  header(name: string): string | undefined;
}

export function baseHeaders(ctx: Pick<RequestContext, 'requestId' | 'corsHeaders'>): Record<string, string> {
  return {
    'x-amz-request-id': ctx.requestId,
    'x-amz-id-2': ctx.requestId,
    server: 'hashdrop-local-s3',
    ...ctx.corsHeaders,
  };
}

export function send(
  ctx: Pick<RequestContext, 'res' | 'requestId' | 'corsHeaders'>,
  status: number,
  headers: Record<string, string> = {},
  body?: string,
): void {
  const payload = body === undefined ? undefined : Buffer.from(body);
  ctx.res.writeHead(status, {
    ...baseHeaders(ctx),
    ...headers,
    'content-length': String(payload?.length ?? 0),
  });
  ctx.res.end(payload);
}

export function sendXml(ctx: RequestContext, root: string, headers: Record<string, string> = {}): void {
  send(ctx, 200, { 'content-type': 'application/xml', ...headers }, xmlDocument(root, true));
}

/** HTTP dates (Last-Modified): RFC 7231 IMF-fixdate. */
export const httpDate = (iso: string): string => new Date(iso).toUTCString();

/** A small body read whole (CompleteMultipartUpload's XML), refused beyond `limit` bytes. */
export async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw errors.entityTooLarge(size, limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** `x-amz-meta-*` headers, by name without the prefix. */
export function userMetadata(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  return metadata;
}

/** S3 compares ETags without their quotes. */
export const bareEtag = (etag: string): string => etag.replace(/"/g, '');
