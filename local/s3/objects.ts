/**
 * Object operations: PutObject, GetObject and HeadObject (ranges, checksums), DeleteObject,
 * GetObjectAttributes, and the bucket's ListObjectsV2 and HeadBucket, with S3's checks and answers.
 */

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { s3BucketArn } from '../iam/actions.ts';
import { type ReceivedBody, receiveBody } from './body.ts';
import {
  ALGORITHMS,
  type ChecksumAlgorithm,
  contentMd5,
  type RequestChecksum,
  requestChecksum,
  trailerValue,
  withoutPartCount,
} from './checksums.ts';
import { errors } from './errors.ts';
import { objectCreatedEvent } from './events.ts';
import { bareEtag, baseHeaders, httpDate, MAX_PUT_BYTES, type RequestContext, send, sendXml, userMetadata } from './http.ts';
import type { ObjectRecord } from './storage.ts';
import { xmlElement } from './xml.ts';

/** The bytes of a PUT or UploadPart, streamed to disk and checked against everything the request claims. */
export interface VerifiedBody extends ReceivedBody {
  readonly checksumAlgorithm?: ChecksumAlgorithm;
}

/**
 * Receives the body of a PutObject or UploadPart and checks it as S3 does before keeping any of
 * it: its length (Content-Length, or `x-amz-decoded-content-length` for aws-chunked), the signed
 * payload hash, Content-MD5 and the additional checksum (header or trailer). A body that fails a
 * check is deleted and the request refused.
 */
export async function receivePayload(ctx: RequestContext, checksum: RequestChecksum | undefined): Promise<VerifiedBody> {
  const streaming = ctx.auth.payload.kind === 'streaming-unsigned-trailer';
  const encodings = (ctx.header('content-encoding') ?? '').split(',').map((value) => value.trim().toLowerCase());
  if (streaming !== encodings.includes('aws-chunked')) {
    throw errors.invalidArgument(
      'Content-Encoding aws-chunked goes with x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER, and only with it.',
    );
  }
  const declaredText = streaming ? ctx.header('x-amz-decoded-content-length') : ctx.header('content-length');
  if (declaredText === undefined) throw errors.missingContentLength();
  const declared = /^\d+$/.test(declaredText) ? Number(declaredText) : Number.NaN;
  if (!Number.isSafeInteger(declared))
    throw errors.invalidArgument('Content-Length is not a number.', 'Content-Length', declaredText);
  if (declared > MAX_PUT_BYTES) throw errors.entityTooLarge(declared, MAX_PUT_BYTES);
  const md5 = contentMd5(ctx.header('content-md5'));
  const body = await receiveBody(ctx.req as AsyncIterable<Buffer>, {
    directory: ctx.store.dataDir,
    awsChunked: streaming,
    sha256Hex: ctx.auth.payload.kind === 'sha256',
    checksum: checksum?.algorithm,
    maxBytes: MAX_PUT_BYTES,
  });
  try {
    if (body.size !== declared) throw errors.incompleteBody();
    if (ctx.auth.payload.kind === 'sha256' && body.sha256Hex !== ctx.auth.payload.hex) {
      throw errors.contentSha256Mismatch(ctx.auth.payload.hex, body.sha256Hex ?? '');
    }
    if (md5 !== undefined && md5 !== body.md5.toString('base64')) {
      throw errors.contentMd5Mismatch();
    }
    if (checksum && body.checksum !== trailerValue(checksum, body.trailers)) throw errors.badDigest(checksum.algorithm);
    return { ...body, ...(checksum ? { checksumAlgorithm: checksum.algorithm } : {}) };
  } catch (error) {
    await ctx.store.discard(body.file);
    throw error;
  }
}

/** The conditional-write headers of PutObject and CompleteMultipartUpload. */
export interface WriteConditions {
  readonly ifNoneMatch?: '*';
  readonly ifMatch?: string;
}

export function writeConditions(ctx: RequestContext): WriteConditions {
  const ifNoneMatch = ctx.header('if-none-match');
  const ifMatch = ctx.header('if-match');
  // S3 implements If-None-Match only as `*`: write only if the key holds no object.
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') throw errors.notImplemented('If-None-Match other than *');
  return { ...(ifNoneMatch !== undefined ? { ifNoneMatch: '*' as const } : {}), ...(ifMatch !== undefined ? { ifMatch } : {}) };
}

/** Checks the conditions against the object the key holds now (under the key's lock). */
export function checkWriteConditions(conditions: WriteConditions, key: string, current: ObjectRecord | undefined): void {
  if (conditions.ifNoneMatch && current) throw errors.preconditionFailed('If-None-Match');
  if (conditions.ifMatch !== undefined) {
    if (!current) throw errors.noSuchKey(key);
    if (bareEtag(conditions.ifMatch) !== bareEtag(current.etag)) throw errors.preconditionFailed('If-Match');
  }
}

/** The response headers that report a stored checksum. */
export function checksumHeaders(checksum: ObjectRecord['checksum']): Record<string, string> {
  return checksum ? { [ALGORITHMS[checksum.algorithm].header]: checksum.value, 'x-amz-checksum-type': checksum.type } : {};
}

export async function putObject(ctx: RequestContext): Promise<void> {
  if (ctx.header('x-amz-copy-source') !== undefined) throw errors.notImplemented('CopyObject');
  const checksum = requestChecksum(
    Object.keys(ctx.req.headers),
    (name) => ctx.header(name),
    ctx.auth.payload.kind === 'streaming-unsigned-trailer',
  );
  const conditions = writeConditions(ctx);
  const body = await receivePayload(ctx, checksum);
  const record: ObjectRecord = {
    key: ctx.key,
    size: body.size,
    etag: `"${body.md5.toString('hex')}"`,
    lastModified: ctx.now().toISOString(),
    contentType: ctx.header('content-type') ?? 'binary/octet-stream',
    metadata: userMetadata(ctx.req),
    ...(body.checksumAlgorithm && body.checksum
      ? { checksum: { algorithm: body.checksumAlgorithm, value: body.checksum, type: 'FULL_OBJECT' as const } }
      : {}),
    segments: [{ file: body.file, size: body.size }],
  };
  try {
    await ctx.store.locked({ key: ctx.key }, async () => {
      checkWriteConditions(conditions, ctx.key, ctx.store.getObject(ctx.key));
      await ctx.store.setObject(record);
    });
  } catch (error) {
    await ctx.store.discard(body.file);
    throw error;
  }
  ctx.emit(objectCreatedEvent('ObjectCreated:Put', { bucket: ctx.bucket, ...record }, eventContext(ctx)));
  send(ctx, 200, { etag: record.etag, ...checksumHeaders(record.checksum) });
}

export function eventContext(ctx: RequestContext) {
  return {
    region: ctx.region,
    principalId: `AWS:${ctx.auth.accessKeyId}`,
    sourceIp: ctx.req.socket.remoteAddress ?? '127.0.0.1',
    requestId: ctx.requestId,
  };
}

/** A missing key: 404 NoSuchKey to a caller who may list the bucket, 403 AccessDenied to others (as S3 answers). */
export async function missingObject(ctx: RequestContext): Promise<never> {
  if (await ctx.isAllowed('s3:ListBucket', s3BucketArn(ctx.bucket))) throw errors.noSuchKey(ctx.key);
  throw errors.accessDenied();
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`: the inclusive range to serve, undefined for the whole object. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  // S3 ignores a Range it cannot parse (or one of several ranges) and serves the whole object.
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw errors.invalidRange(size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return undefined;
  if (start >= size) throw errors.invalidRange(size);
  return { start, end };
}

const RESPONSE_OVERRIDES: Readonly<Record<string, string>> = {
  'response-content-type': 'content-type',
  'response-content-disposition': 'content-disposition',
  'response-content-language': 'content-language',
  'response-content-encoding': 'content-encoding',
  'response-cache-control': 'cache-control',
  'response-expires': 'expires',
};

/** GetObject, or HeadObject (`ctx.req.method === 'HEAD'`): the same headers, no body. */
export async function getObject(ctx: RequestContext): Promise<void> {
  if (ctx.query.has('partNumber')) throw errors.notImplemented('GetObject/HeadObject by partNumber');
  const record = ctx.store.getObject(ctx.key);
  if (!record) return missingObject(ctx);
  const ifMatch = ctx.header('if-match');
  if (ifMatch !== undefined && ifMatch !== '*' && bareEtag(ifMatch) !== bareEtag(record.etag))
    throw errors.preconditionFailed('If-Match');
  const ifNoneMatch = ctx.header('if-none-match');
  if (ifNoneMatch !== undefined && (ifNoneMatch === '*' || bareEtag(ifNoneMatch) === bareEtag(record.etag))) {
    send(ctx, 304, { etag: record.etag, 'last-modified': httpDate(record.lastModified) });
    return;
  }
  const range = parseRange(ctx.header('range'), record.size);
  const checksumMode = ctx.header('x-amz-checksum-mode')?.toUpperCase() === 'ENABLED';
  const overrides: Record<string, string> = {};
  for (const [parameter, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = ctx.query.get(parameter);
    if (value !== null) overrides[header] = value;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? record.size - 1;
  const headers: Record<string, string> = {
    ...baseHeaders(ctx),
    'content-type': record.contentType,
    'content-length': String(Math.max(0, end - start + 1)),
    etag: record.etag,
    'last-modified': httpDate(record.lastModified),
    'accept-ranges': 'bytes',
    ...Object.fromEntries(Object.entries(record.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
    // A checksum covers the whole object, so S3 sends it only when the whole object is asked for.
    ...(checksumMode && !range ? checksumHeaders(record.checksum) : {}),
    ...(range ? { 'content-range': `bytes ${start}-${end}/${record.size}` } : {}),
    ...overrides,
  };
  ctx.res.writeHead(range ? 206 : 200, headers);
  if (ctx.req.method === 'HEAD' || record.size === 0) {
    ctx.res.end();
    return;
  }
  await pipeline(Readable.from(ctx.store.read(record.segments, start, end)), ctx.res);
}

export async function deleteObject(ctx: RequestContext): Promise<void> {
  await ctx.store.locked({ key: ctx.key }, () => ctx.store.deleteObject(ctx.key));
  send(ctx, 204);
}

const OBJECT_ATTRIBUTES = new Set(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize']);

export async function getObjectAttributes(ctx: RequestContext): Promise<void> {
  const asked = (ctx.header('x-amz-object-attributes') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (asked.length === 0 || asked.some((name) => !OBJECT_ATTRIBUTES.has(name))) {
    throw errors.invalidArgument('Invalid attribute name specified.', 'x-amz-object-attributes', asked.join(','));
  }
  const record = ctx.store.getObject(ctx.key);
  if (!record) return missingObject(ctx);
  const maxParts = Math.min(1000, Number(ctx.header('x-amz-max-parts') ?? 1000));
  const marker = Number(ctx.header('x-amz-part-number-marker') ?? 0);
  const elements: string[] = [];
  if (asked.includes('ETag')) elements.push(xmlElement('ETag', bareEtag(record.etag)));
  if (asked.includes('Checksum') && record.checksum) {
    elements.push(
      xmlElement('Checksum', [
        xmlElement(ALGORITHMS[record.checksum.algorithm].field, withoutPartCount(record.checksum.value)),
        xmlElement('ChecksumType', record.checksum.type),
      ]),
    );
  }
  if (asked.includes('ObjectParts') && record.multipart) {
    const all = record.multipart.parts.filter((part) => part.partNumber > marker);
    const page = all.slice(0, maxParts);
    const last = page.at(-1);
    elements.push(
      xmlElement('ObjectParts', [
        // The SDK's TotalPartsCount travels as <PartsCount>.
        xmlElement('PartsCount', record.multipart.parts.length),
        xmlElement('PartNumberMarker', marker),
        xmlElement('NextPartNumberMarker', last?.partNumber ?? marker),
        xmlElement('MaxParts', maxParts),
        xmlElement('IsTruncated', all.length > page.length),
        ...page.map((part) =>
          xmlElement('Part', [
            xmlElement('PartNumber', part.partNumber),
            xmlElement('Size', part.size),
            ...(part.checksum ? [xmlElement(ALGORITHMS[part.checksum.algorithm].field, part.checksum.value)] : []),
          ]),
        ),
      ]),
    );
  }
  if (asked.includes('StorageClass')) elements.push(xmlElement('StorageClass', 'STANDARD'));
  if (asked.includes('ObjectSize')) elements.push(xmlElement('ObjectSize', record.size));
  sendXml(ctx, xmlElement('GetObjectAttributesResponse', elements), { 'last-modified': httpDate(record.lastModified) });
}

export async function headBucket(ctx: RequestContext): Promise<void> {
  send(ctx, 200, { 'x-amz-bucket-region': ctx.region });
}

/** ListObjectsV2: keys in order, with prefix, delimiter, start-after and continuation tokens. */
export async function listObjectsV2(ctx: RequestContext): Promise<void> {
  if (ctx.query.get('list-type') !== '2') throw errors.notImplemented('ListObjects (version 1)');
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const maxKeysText = ctx.query.get('max-keys') ?? '1000';
  if (!/^\d+$/.test(maxKeysText))
    throw errors.invalidArgument('Provided max-keys not an integer or within integer range', 'max-keys', maxKeysText);
  const maxKeys = Math.min(1000, Number(maxKeysText));
  const encodingType = ctx.query.get('encoding-type');
  if (encodingType !== null && encodingType !== 'url')
    throw errors.invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encodingType);
  const encode = (text: string) => (encodingType === 'url' ? encodeURIComponent(text).replace(/%2F/g, '/') : text);
  const token = ctx.query.get('continuation-token');
  const startAfter = ctx.query.get('start-after') ?? '';
  let after = startAfter;
  if (token !== null) {
    const decoded = Buffer.from(token, 'base64url').toString('utf8');
    if (!decoded.startsWith('k:'))
      throw errors.invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
    after = decoded.slice(2);
  }
  const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const contents: ObjectRecord[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let lastEntry = '';
  for (const key of ctx.store.keys()) {
    if (!key.startsWith(prefix) || (after !== '' && byteOrder(key, after) <= 0)) continue;
    const rest = key.slice(prefix.length);
    const cut = delimiter === '' ? -1 : rest.indexOf(delimiter);
    const commonPrefix = cut === -1 ? undefined : prefix + rest.slice(0, cut + delimiter.length);
    if (commonPrefix !== undefined && prefixes.at(-1) === commonPrefix) continue;
    if (contents.length + prefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    const record = ctx.store.getObject(key);
    if (commonPrefix !== undefined) {
      prefixes.push(commonPrefix);
      lastEntry = `${commonPrefix}\u{10ffff}`;
    } else if (record) {
      contents.push(record);
      lastEntry = key;
    }
  }
  const elements = [
    xmlElement('Name', ctx.bucket),
    xmlElement('Prefix', encode(prefix)),
    ...(delimiter ? [xmlElement('Delimiter', encode(delimiter))] : []),
    xmlElement('KeyCount', contents.length + prefixes.length),
    xmlElement('MaxKeys', maxKeys),
    ...(encodingType ? [xmlElement('EncodingType', encodingType)] : []),
    xmlElement('IsTruncated', truncated),
    ...(token !== null ? [xmlElement('ContinuationToken', token)] : []),
    ...(truncated ? [xmlElement('NextContinuationToken', Buffer.from(`k:${lastEntry}`).toString('base64url'))] : []),
    ...(startAfter ? [xmlElement('StartAfter', encode(startAfter))] : []),
    ...contents.map((record) =>
      xmlElement('Contents', [
        xmlElement('Key', encode(record.key)),
        xmlElement('LastModified', record.lastModified),
        xmlElement('ETag', record.etag),
        ...(record.checksum
          ? [xmlElement('ChecksumAlgorithm', record.checksum.algorithm), xmlElement('ChecksumType', record.checksum.type)]
          : []),
        xmlElement('Size', record.size),
        xmlElement('StorageClass', 'STANDARD'),
      ]),
    ),
    ...prefixes.map((common) => xmlElement('CommonPrefixes', [xmlElement('Prefix', encode(common))])),
  ];
  sendXml(ctx, xmlElement('ListBucketResult', elements));
}
