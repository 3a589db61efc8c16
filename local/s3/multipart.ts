/**
 * Multipart uploads as S3 runs them (Amazon S3 API Reference: CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, AbortMultipartUpload, ListParts):
 *
 * - an upload created with a checksum algorithm needs that algorithm's checksum on every part
 *   (another algorithm, or none, is refused) and in the completion's part list;
 * - a part for an unknown upload, or for another key's, is 404 NoSuchUpload;
 * - completion checks the listed parts: ascending (InvalidPartOrder), stored with that ETag and
 *   checksum (InvalidPart), every part but the last at least 5 MiB (EntityTooSmall), and honours
 *   `If-None-Match: *` (412), all before anything changes;
 * - a completion repeated after it succeeded is answered as the first one was, for as long as the
 *   object it created is the key's object (what S3 does for a retried completion); otherwise the
 *   upload is gone: 404 NoSuchUpload;
 * - with `assemblyMs` (LocalS3Options), a completion takes that long, as S3's may for a large
 *   object: 200 at once, whitespace, then the result or an error in the body; while it runs, the
 *   upload is NoSuchUpload to every request and the object is not there (assembleSlowly);
 * - the object's checksum is the composite `base64(H(part digests))-N` (COMPOSITE), or the
 *   algorithm over all the bytes (FULL_OBJECT, computed from the parts' files at completion).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  ALGORITHMS,
  type ChecksumAlgorithm,
  type ChecksumType,
  compositeChecksum,
  isChecksumAlgorithm,
  requestChecksum,
  type StoredChecksum,
} from './checksums.ts';
import { errors, S3Error } from './errors.ts';
import { objectCreatedEvent } from './events.ts';
import {
  bareEtag,
  baseHeaders,
  MAX_PARTS,
  MIN_PART_BYTES,
  type RequestContext,
  readSmallBody,
  send,
  sendXml,
  userMetadata,
} from './http.ts';
import { checksumHeaders, checkWriteConditions, eventContext, receivePayload, writeConditions } from './objects.ts';
import type { ObjectRecord, PartRecord, Upload } from './storage.ts';
import { parseCompleteMultipartUpload, XML_DECLARATION, xmlDocument, xmlElement } from './xml.ts';

/** A completion lists at most 10,000 parts of a few hundred bytes each. */
const MAX_COMPLETE_BODY = 16 * 1024 * 1024;

function uploadOf(ctx: RequestContext): Upload {
  const uploadId = ctx.query.get('uploadId') ?? '';
  const upload = ctx.store.getUpload(uploadId);
  // S3 answers NoSuchUpload alike for an unknown id and for the id of another key's upload.
  if (!upload || upload.key !== ctx.key) throw errors.noSuchUpload(uploadId);
  return upload;
}

export async function createMultipartUpload(ctx: RequestContext): Promise<void> {
  const algorithmHeader = ctx.header('x-amz-checksum-algorithm')?.toUpperCase();
  const typeHeader = ctx.header('x-amz-checksum-type')?.toUpperCase();
  let checksum: { algorithm: ChecksumAlgorithm; type: ChecksumType } | undefined;
  if (algorithmHeader !== undefined) {
    if (!isChecksumAlgorithm(algorithmHeader))
      throw errors.invalidRequest(
        'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
      );
    const types = ALGORITHMS[algorithmHeader].types;
    const type = (typeHeader ?? types[0]) as ChecksumType;
    if (!types.includes(type)) {
      throw errors.invalidRequest(
        `The ${type} checksum type cannot be used with the ${algorithmHeader.toLowerCase()} checksum algorithm.`,
      );
    }
    checksum = { algorithm: algorithmHeader, type };
  } else if (typeHeader !== undefined) {
    throw errors.invalidRequest('The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
  }
  // Long opaque ids of URL-safe characters, like S3's, so that clients must encode them as S3's.
  const uploadId = randomBytes(48).toString('base64url');
  await ctx.store.createUpload({
    uploadId,
    key: ctx.key,
    initiated: ctx.now().toISOString(),
    contentType: ctx.header('content-type') ?? 'binary/octet-stream',
    metadata: userMetadata(ctx.req),
    ...(checksum ? { checksum } : {}),
  });
  sendXml(
    ctx,
    xmlElement('InitiateMultipartUploadResult', [
      xmlElement('Bucket', ctx.bucket),
      xmlElement('Key', ctx.key),
      xmlElement('UploadId', uploadId),
    ]),
    checksum ? { 'x-amz-checksum-algorithm': checksum.algorithm, 'x-amz-checksum-type': checksum.type } : {},
  );
}

export async function uploadPart(ctx: RequestContext): Promise<void> {
  if (ctx.header('x-amz-copy-source') !== undefined) throw errors.notImplemented('UploadPartCopy');
  const partText = ctx.query.get('partNumber') ?? '';
  const partNumber = /^\d{1,5}$/.test(partText) ? Number(partText) : Number.NaN;
  if (!(partNumber >= 1 && partNumber <= MAX_PARTS)) {
    throw errors.invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', partText);
  }
  const upload = uploadOf(ctx);
  const checksum = requestChecksum(
    Object.keys(ctx.req.headers),
    (name) => ctx.header(name),
    ctx.auth.payload.kind === 'streaming-unsigned-trailer',
  );
  if (upload.checksum) {
    const expected = upload.checksum.algorithm.toLowerCase();
    if (!checksum) {
      throw errors.invalidRequest(
        `The upload was created using a ${expected} checksum. Each part must include its ${expected} checksum.`,
      );
    }
    if (checksum.algorithm !== upload.checksum.algorithm) {
      throw errors.invalidRequest(
        `Checksum Type mismatch occurred, expected checksum Type: ${expected}, actual checksum Type: ${checksum.algorithm.toLowerCase()}`,
      );
    }
  }
  const body = await receivePayload(ctx, checksum);
  const part: PartRecord = {
    partNumber,
    file: body.file,
    size: body.size,
    etag: `"${body.md5.toString('hex')}"`,
    lastModified: ctx.now().toISOString(),
    ...(body.checksumAlgorithm && body.checksum ? { checksum: { algorithm: body.checksumAlgorithm, value: body.checksum } } : {}),
  };
  try {
    await ctx.store.locked({ uploadId: upload.uploadId }, async () => {
      // Aborted or completed while the bytes were arriving: they belong to nothing.
      const current = ctx.store.getUpload(upload.uploadId);
      if (!current) throw errors.noSuchUpload(upload.uploadId);
      await ctx.store.setPart(current, part);
    });
  } catch (error) {
    await ctx.store.discard(body.file);
    throw error;
  }
  send(ctx, 200, {
    etag: part.etag,
    ...(part.checksum ? { [ALGORITHMS[part.checksum.algorithm].header]: part.checksum.value } : {}),
  });
}

/** The listed parts, checked against the stored ones as S3 checks them; returns the stored parts in order. */
function checkedParts(upload: Upload, listed: ReturnType<typeof parseCompleteMultipartUpload> & object): PartRecord[] {
  const parts: PartRecord[] = [];
  const field = upload.checksum ? ALGORITHMS[upload.checksum.algorithm].field : undefined;
  listed.forEach((entry, index) => {
    const previous = listed[index - 1];
    if (previous && entry.partNumber <= previous.partNumber) throw errors.invalidPartOrder();
    const stored = upload.parts.get(entry.partNumber);
    if (!stored || bareEtag(stored.etag) !== bareEtag(entry.etag)) throw errors.invalidPart();
    if (upload.checksum?.type === 'COMPOSITE' && field && entry.checksums[field] === undefined) {
      throw errors.invalidRequest(
        `The upload was created using a ${upload.checksum.algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${entry.partNumber} in the request.`,
      );
    }
    for (const [name, value] of Object.entries(entry.checksums)) {
      const storedField = stored.checksum ? ALGORITHMS[stored.checksum.algorithm].field : undefined;
      if (name !== storedField || value !== stored.checksum?.value) throw errors.invalidPart();
    }
    parts.push(stored);
  });
  parts.forEach((part, index) => {
    if (index < parts.length - 1 && part.size < MIN_PART_BYTES) throw errors.entityTooSmall(part.size, MIN_PART_BYTES);
  });
  return parts;
}

async function objectChecksum(
  ctx: RequestContext,
  upload: Upload,
  parts: readonly PartRecord[],
): Promise<StoredChecksum | undefined> {
  if (!upload.checksum) return undefined;
  const { algorithm, type } = upload.checksum;
  if (type === 'COMPOSITE') {
    return {
      algorithm,
      type,
      value: await compositeChecksum(
        algorithm,
        parts.map((part) => part.checksum?.value ?? ''),
      ),
    };
  }
  const hasher = ALGORITHMS[algorithm].create();
  const size = parts.reduce((sum, part) => sum + part.size, 0);
  if (size > 0) for await (const chunk of ctx.store.read(parts, 0, size - 1)) hasher.update(chunk);
  return { algorithm, type, value: Buffer.from(await hasher.digest()).toString('base64') };
}

/** CompleteMultipartUploadResult for `record`, the root element alone. */
function completeResult(ctx: RequestContext, record: ObjectRecord): string {
  const checksumElements = record.checksum
    ? [
        xmlElement(ALGORITHMS[record.checksum.algorithm].field, record.checksum.value),
        xmlElement('ChecksumType', record.checksum.type),
      ]
    : [];
  return xmlElement('CompleteMultipartUploadResult', [
    xmlElement(
      'Location',
      `http://${ctx.header('host') ?? 'localhost'}/${ctx.bucket}/${encodeURIComponent(ctx.key).replace(/%2F/g, '/')}`,
    ),
    xmlElement('Bucket', ctx.bucket),
    xmlElement('Key', ctx.key),
    xmlElement('ETag', record.etag),
    ...checksumElements,
  ]);
}

/** The object `parts` of `upload` make: its ETag is the MD5 of the parts' MD5s, `-N`. */
async function assembledRecord(ctx: RequestContext, upload: Upload, parts: readonly PartRecord[]): Promise<ObjectRecord> {
  const md5s = Buffer.concat(parts.map((part) => Buffer.from(bareEtag(part.etag), 'hex')));
  const checksum = await objectChecksum(ctx, upload, parts);
  return {
    key: ctx.key,
    size: parts.reduce((sum, part) => sum + part.size, 0),
    etag: `"${createHash('md5').update(md5s).digest('hex')}-${parts.length}"`,
    lastModified: ctx.now().toISOString(),
    contentType: upload.contentType,
    metadata: upload.metadata,
    ...(checksum ? { checksum } : {}),
    segments: parts.map(({ file, size: partSize }) => ({ file, size: partSize })),
    multipart: {
      uploadId: upload.uploadId,
      parts: parts.map(({ partNumber, size: partSize, etag, checksum: partChecksum }) => ({
        partNumber,
        size: partSize,
        etag,
        ...(partChecksum ? { checksum: partChecksum } : {}),
      })),
    },
  };
}

/** What a completion came to under the lock: the object (made now or by an earlier call), or an assembly to run. */
type Completion =
  | { readonly record: ObjectRecord; readonly created: boolean }
  | { readonly assembly: { readonly upload: Upload; readonly parts: readonly PartRecord[]; readonly ms: number } };

export async function completeMultipartUpload(ctx: RequestContext): Promise<void> {
  const uploadId = ctx.query.get('uploadId') ?? '';
  const body = await readSmallBody(ctx.req, MAX_COMPLETE_BODY);
  if (ctx.auth.payload.kind === 'sha256') {
    const computed = createHash('sha256').update(body).digest('hex');
    if (computed !== ctx.auth.payload.hex) throw errors.contentSha256Mismatch(ctx.auth.payload.hex, computed);
  }
  const listed = parseCompleteMultipartUpload(body.toString('utf8'));
  if (!listed || listed.length === 0) throw errors.malformedXml();
  const conditions = writeConditions(ctx);
  const objectSize = ctx.header('x-amz-mp-object-size');
  const outcome = await ctx.store.locked({ key: ctx.key, uploadId }, async (): Promise<Completion> => {
    const upload = ctx.store.getUpload(uploadId);
    if (!upload || upload.key !== ctx.key) {
      const existing = ctx.store.getObject(ctx.key);
      if (existing?.multipart?.uploadId === uploadId) return { record: existing, created: false };
      throw errors.noSuchUpload(uploadId);
    }
    const parts = checkedParts(upload, listed);
    const size = parts.reduce((sum, part) => sum + part.size, 0);
    if (objectSize !== undefined && Number(objectSize) !== size) {
      throw errors.invalidRequest(
        `The provided x-amz-mp-object-size (${objectSize}) does not match the parts' total size (${size}).`,
      );
    }
    checkWriteConditions(conditions, ctx.key, ctx.store.getObject(ctx.key));
    const ms = ctx.assemblyMs(size);
    if (ms > 0) {
      ctx.store.assembleUpload(uploadId);
      return { assembly: { upload, parts, ms } };
    }
    const record = await assembledRecord(ctx, upload, parts);
    await ctx.store.setObject(record);
    await ctx.store.endUpload(upload, record.segments);
    return { record, created: true };
  });
  if ('assembly' in outcome) {
    await assembleSlowly(ctx, outcome.assembly.upload, outcome.assembly.parts, outcome.assembly.ms, conditions);
    return;
  }
  if (outcome.created) {
    ctx.emit(
      objectCreatedEvent('ObjectCreated:CompleteMultipartUpload', { bucket: ctx.bucket, ...outcome.record }, eventContext(ctx)),
    );
  }
  sendXml(ctx, completeResult(ctx, outcome.record), checksumHeaders(outcome.record.checksum));
}

/** How often a slow completion sends a space to keep its connection open (S3: "periodically"). */
const KEEP_ALIVE_MS = 1_000;

/**
 * A completion that takes `ms`, as S3 answers one for a large object (API Reference,
 * CompleteMultipartUpload): 200 and the XML declaration at once, a space every KEEP_ALIVE_MS,
 * then the result, or an error document in the same 200 body (which the AWS SDK reads as a 503
 * error named after its Code, and retries). Meanwhile the upload is hidden (Store.assembleUpload):
 * a repeated completion, a ListParts, an UploadPart or an abort meet NoSuchUpload, and the key
 * has no object yet. The parts checked under the lock cannot change; the write conditions are
 * checked again when the object is stored, as another writer may have stored one meanwhile.
 */
async function assembleSlowly(
  ctx: RequestContext,
  upload: Upload,
  parts: readonly PartRecord[],
  ms: number,
  conditions: ReturnType<typeof writeConditions>,
): Promise<void> {
  const { res } = ctx;
  // The client may hang up (a Lambda function timing out): S3 assembles the object all the same.
  const write = (text: string) => {
    if (!res.destroyed && !res.writableEnded) res.write(text);
  };
  res.writeHead(200, { ...baseHeaders(ctx), 'content-type': 'application/xml' });
  write(XML_DECLARATION);
  const keepAlive = setInterval(() => write(' '), KEEP_ALIVE_MS);
  let answer: string;
  try {
    await new Promise((done) => setTimeout(done, ms));
    const record = await ctx.store.locked({ key: ctx.key, uploadId: upload.uploadId }, async () => {
      checkWriteConditions(conditions, ctx.key, ctx.store.getObject(ctx.key));
      const assembled = await assembledRecord(ctx, upload, parts);
      await ctx.store.setObject(assembled);
      await ctx.store.endUpload(upload, assembled.segments);
      return assembled;
    });
    ctx.emit(objectCreatedEvent('ObjectCreated:CompleteMultipartUpload', { bucket: ctx.bucket, ...record }, eventContext(ctx)));
    answer = xmlDocument(completeResult(ctx, record), true).slice(XML_DECLARATION.length);
  } catch (error) {
    // Not completed: S3 leaves the upload as it was, to be completed again or aborted.
    ctx.store.resumeUpload(upload.uploadId);
    const refusal = error instanceof S3Error ? error : errors.internalError();
    if (!(error instanceof S3Error)) console.error('local S3: a slow completion failed:', error);
    answer = refusal.toXml(ctx.requestId).slice(XML_DECLARATION.length);
  } finally {
    clearInterval(keepAlive);
  }
  if (!res.destroyed && !res.writableEnded) res.end(answer);
}

export async function abortMultipartUpload(ctx: RequestContext): Promise<void> {
  const upload = uploadOf(ctx);
  await ctx.store.locked({ uploadId: upload.uploadId }, async () => {
    const current = ctx.store.getUpload(upload.uploadId);
    if (!current) throw errors.noSuchUpload(upload.uploadId);
    await ctx.store.endUpload(current);
  });
  send(ctx, 204);
}

export async function listParts(ctx: RequestContext): Promise<void> {
  const upload = uploadOf(ctx);
  const maxText = ctx.query.get('max-parts') ?? '1000';
  const markerText = ctx.query.get('part-number-marker') ?? '0';
  if (!/^\d+$/.test(maxText))
    throw errors.invalidArgument('Provided max-parts not an integer or within integer range', 'max-parts', maxText);
  if (!/^\d+$/.test(markerText)) {
    throw errors.invalidArgument(
      'Provided part-number-marker not an integer or within integer range',
      'part-number-marker',
      markerText,
    );
  }
  const maxParts = Math.min(1000, Number(maxText));
  const marker = Number(markerText);
  const all = [...upload.parts.values()].filter((part) => part.partNumber > marker).sort((a, b) => a.partNumber - b.partNumber);
  const page = all.slice(0, maxParts);
  const owner = [xmlElement('ID', ctx.auth.accessKeyId), xmlElement('DisplayName', ctx.auth.accessKeyId)];
  sendXml(
    ctx,
    xmlElement('ListPartsResult', [
      xmlElement('Bucket', ctx.bucket),
      xmlElement('Key', ctx.key),
      xmlElement('UploadId', upload.uploadId),
      xmlElement('PartNumberMarker', marker),
      xmlElement('NextPartNumberMarker', page.at(-1)?.partNumber ?? marker),
      xmlElement('MaxParts', maxParts),
      xmlElement('IsTruncated', all.length > page.length),
      ...page.map((part) =>
        xmlElement('Part', [
          xmlElement('PartNumber', part.partNumber),
          xmlElement('LastModified', part.lastModified),
          xmlElement('ETag', part.etag),
          xmlElement('Size', part.size),
          ...(part.checksum ? [xmlElement(ALGORITHMS[part.checksum.algorithm].field, part.checksum.value)] : []),
        ]),
      ),
      xmlElement('Initiator', owner),
      xmlElement('Owner', owner),
      xmlElement('StorageClass', 'STANDARD'),
      ...(upload.checksum
        ? [xmlElement('ChecksumAlgorithm', upload.checksum.algorithm), xmlElement('ChecksumType', upload.checksum.type)]
        : []),
    ]),
  );
}
