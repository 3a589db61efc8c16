/**
 * The local S3's slow completion (LocalS3Options.assemblyMs), as S3 answers a CompleteMultipartUpload
 * of a large object (API Reference, CompleteMultipartUpload): 200 at once, whitespace while it
 * assembles, then the result or an error in the 200 body. Meanwhile the upload is unknown to every
 * request (NoSuchUpload) and the key has no object: what hashdrop's completion reads as "still
 * assembling" (domain/uploads.ts assemble).
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUCKET_NAME,
  type Fixture,
  newKey,
  objectExists,
  rejectionOf,
  sha256Base64,
  signHeaders,
  startFixture,
} from './local-s3-fixture.ts';

const MIN_PART = 5 * 1024 * 1024;
const ASSEMBLY_MS = 1_500;

let fixture: Fixture;
let s3: S3Client;

beforeAll(async () => {
  // Only objects of two parts or more are slow, so a test can still store a small object at once.
  fixture = await startFixture({ assemblyMs: (size) => (size > MIN_PART ? ASSEMBLY_MS : 0) });
  s3 = fixture.client({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
});
afterAll(() => fixture.close());

/** A multipart upload of two parts (5 MiB and 10 bytes) with their SHA-256s, ready to complete. */
async function uploadedParts(key: string): Promise<{ uploadId: string; parts: CompletedPart[]; bytes: Buffer }> {
  const { UploadId: uploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: BUCKET_NAME, Key: key, ChecksumAlgorithm: 'SHA256' }),
  );
  if (!uploadId) throw new Error('no UploadId');
  const bodies = [randomBytes(MIN_PART), randomBytes(10)];
  const parts: CompletedPart[] = [];
  for (const [index, body] of bodies.entries()) {
    const PartNumber = index + 1;
    const ChecksumSHA256 = sha256Base64(body);
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId, PartNumber, Body: body, ChecksumSHA256 }),
    );
    parts.push({ PartNumber, ETag, ChecksumSHA256 });
  }
  return { uploadId, parts, bytes: Buffer.concat(bodies) };
}

const complete = (key: string, uploadId: string, parts: CompletedPart[], extra: { IfNoneMatch?: string } = {}) =>
  s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET_NAME,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts },
      ...extra,
    }),
  );

/** Resolves once the server has begun assembling (its upload is no longer known), at most 1 s later. */
async function assemblyStarted(key: string, uploadId: string): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId })).then(
      () => true,
      () => false,
    );
    if (!listed) return;
    await new Promise((done) => setTimeout(done, 10));
  }
  throw new Error('the completion never began assembling');
}

describe('a completion that takes a while to assemble', () => {
  it('hides the upload and the object until it is assembled; then answers as S3 does', async () => {
    const key = newKey();
    const { uploadId, parts, bytes } = await uploadedParts(key);
    const eventsBefore = fixture.events.length;
    const started = Date.now();
    const first = complete(key, uploadId, parts, { IfNoneMatch: '*' });
    await assemblyStarted(key, uploadId);

    // While it assembles: no upload for any request, no object at the key.
    const repeated = await rejectionOf(complete(key, uploadId, parts, { IfNoneMatch: '*' }));
    expect(repeated.name).toBe('NoSuchUpload');
    expect(repeated.$metadata?.httpStatusCode).toBe(404);
    const part = await rejectionOf(
      s3.send(new UploadPartCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId, PartNumber: 2, Body: randomBytes(10) })),
    );
    expect(part.name).toBe('NoSuchUpload');
    expect(
      (await rejectionOf(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId })))).name,
    ).toBe('NoSuchUpload');
    expect(await objectExists(s3, key)).toBe(false);
    expect(fixture.events.length).toBe(eventsBefore);

    // Then the first completion answers with the object, which is there with one event.
    const result = await first;
    expect(Date.now() - started).toBeGreaterThanOrEqual(ASSEMBLY_MS);
    expect(result.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect(result.ChecksumSHA256).toMatch(/-2$/);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
    expect(Buffer.from(await (object.Body?.transformToByteArray() ?? new Uint8Array())).equals(bytes)).toBe(true);
    expect(fixture.events.length).toBe(eventsBefore + 1);
    // A completion repeated once it is done is answered as the first (S3's retried completion).
    expect((await complete(key, uploadId, parts)).ETag).toBe(result.ETag);
  });

  it('answers 200 at once and keeps the connection alive with whitespace after the XML declaration', async () => {
    const key = newKey();
    const { uploadId, parts } = await uploadedParts(key);
    const body = `<CompleteMultipartUpload>${parts
      .map(
        (part) =>
          `<Part><PartNumber>${part.PartNumber}</PartNumber><ETag>${part.ETag}</ETag><ChecksumSHA256>${part.ChecksumSHA256}</ChecksumSHA256></Part>`,
      )
      .join('')}</CompleteMultipartUpload>`;
    const path = `/${BUCKET_NAME}/${key}`;
    const headers = await signHeaders(fixture.server.endpoint, { method: 'POST', path, query: { uploadId }, body });
    const started = Date.now();
    const response = await fetch(`${fixture.server.endpoint}${path}?uploadId=${encodeURIComponent(uploadId)}`, {
      method: 'POST',
      headers: Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'host')),
      body,
    });
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(ASSEMBLY_MS);
    const text = await response.text();
    expect(Date.now() - started).toBeGreaterThanOrEqual(ASSEMBLY_MS);
    expect(text).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n +<CompleteMultipartUploadResult xmlns=/);
  });

  it('reports a failure after the 200 in its body (the SDK throws it), and leaves the upload as it was', async () => {
    const key = newKey();
    const { uploadId, parts } = await uploadedParts(key);
    const first = rejectionOf(complete(key, uploadId, parts, { IfNoneMatch: '*' }));
    await assemblyStarted(key, uploadId);
    // Another writer stores the key meanwhile: the conditional completion fails when it would store.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'first', IfNoneMatch: '*' }));
    const error = await first;
    // The SDK reads an error document in a 200 body as a 503 error named after its Code.
    expect(error.name).toBe('PreconditionFailed');
    expect(error.$metadata?.httpStatusCode).toBe(503);
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId }));
    expect(listed.Parts?.map((part) => part.PartNumber)).toEqual([1, 2]);
  });
});
