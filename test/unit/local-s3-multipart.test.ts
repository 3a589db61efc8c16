/**
 * The local S3's multipart uploads, checked as S3 checks them: unknown uploads, part checksums,
 * the completion's part list (order, ETags, checksums, 5 MiB), conditional completion, repeated
 * completion, abort, and the composite checksum reported by HeadObject, ListParts and
 * GetObjectAttributes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET_NAME, type Fixture, newKey, objectExists, rejectionOf, sha256Base64, startFixture } from './local-s3-fixture.ts';

const MIN_PART = 5 * 1024 * 1024;

let fixture: Fixture;
/** As hashdrop's S3 client: it signs its own SHA-256 checksums and asks for no CRC32. */
let s3: S3Client;
/** A client at the SDK's defaults: a CRC32 on every part. */
let defaults: S3Client;

beforeAll(async () => {
  fixture = await startFixture();
  s3 = fixture.client({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  defaults = fixture.client();
});
afterAll(() => fixture.close());

/** The composite checksum S3 reports for SHA-256 parts: base64(SHA-256(d₁ ‖ … ‖ dₙ))-n. */
function composite(parts: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(createHash('sha256').update(part).digest());
  return `${hash.digest('base64')}-${parts.length}`;
}

async function create(key: string, algorithm: 'SHA256' | 'CRC64NVME' | 'none' = 'SHA256'): Promise<string> {
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: BUCKET_NAME,
      Key: key,
      ...(algorithm === 'none' ? {} : { ChecksumAlgorithm: algorithm }),
    }),
  );
  if (!UploadId) throw new Error('no UploadId');
  return UploadId;
}

/** Sends the parts with their SHA-256; returns the list a completion takes. */
async function sendParts(key: string, uploadId: string, parts: readonly Uint8Array[]): Promise<CompletedPart[]> {
  const completed: CompletedPart[] = [];
  for (const [index, body] of parts.entries()) {
    const PartNumber = index + 1;
    const { ETag } = await s3.send(
      new UploadPartCommand({
        Bucket: BUCKET_NAME,
        Key: key,
        UploadId: uploadId,
        PartNumber,
        Body: body,
        ChecksumSHA256: sha256Base64(body),
      }),
    );
    completed.push({ PartNumber, ETag, ChecksumSHA256: sha256Base64(body) });
  }
  return completed;
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

const exists = (key: string): Promise<boolean> => objectExists(s3, key);

const listParts = (key: string, uploadId: string) =>
  s3.send(new ListPartsCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId }));

describe('a SHA-256 multipart upload', () => {
  it('reports the composite checksum (HeadObject, GetObjectAttributes) and part checksums (ListParts)', async () => {
    const key = newKey();
    const parts = [randomBytes(MIN_PART), randomBytes(1234)];
    const uploadId = await create(key);
    const completed = await sendParts(key, uploadId, parts);
    const listed = await listParts(key, uploadId);
    expect(
      listed.Parts?.map(({ PartNumber, Size, ETag, ChecksumSHA256 }) => ({ PartNumber, Size, ETag, ChecksumSHA256 })),
    ).toEqual(completed.map((part, index) => ({ ...part, Size: parts[index]?.length })));
    expect(listed).toMatchObject({ ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE' });

    const done = await complete(key, uploadId, completed);
    expect(done).toMatchObject({ ChecksumSHA256: composite(parts), ChecksumType: 'COMPOSITE' });
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET_NAME, Key: key, ChecksumMode: 'ENABLED' }));
    expect(head).toMatchObject({ ContentLength: MIN_PART + 1234, ChecksumSHA256: composite(parts), ChecksumType: 'COMPOSITE' });

    const attributes = await s3.send(
      new GetObjectAttributesCommand({
        Bucket: BUCKET_NAME,
        Key: key,
        ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'ObjectSize'],
      }),
    );
    expect(attributes).toMatchObject({
      ETag: done.ETag?.replace(/"/g, ''),
      ObjectSize: MIN_PART + 1234,
      Checksum: { ChecksumSHA256: composite(parts).replace(/-2$/, ''), ChecksumType: 'COMPOSITE' },
      ObjectParts: { TotalPartsCount: 2, IsTruncated: false },
    });
    expect(
      attributes.ObjectParts?.Parts?.map(({ PartNumber, Size, ChecksumSHA256 }) => ({ PartNumber, Size, ChecksumSHA256 })),
    ).toEqual(parts.map((part, index) => ({ PartNumber: index + 1, Size: part.length, ChecksumSHA256: sha256Base64(part) })));

    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
    expect(sha256Base64(Buffer.from((await got.Body?.transformToByteArray()) ?? []))).toBe(sha256Base64(Buffer.concat(parts)));
    expect(await rejectionOf(listParts(key, uploadId))).toMatchObject({ name: 'NoSuchUpload' });
  });

  it('refuses a part whose bytes do not match its SHA-256 (400 BadDigest), keeping none of it', async () => {
    const key = newKey();
    const uploadId = await create(key);
    const error = await rejectionOf(
      s3.send(
        new UploadPartCommand({
          Bucket: BUCKET_NAME,
          Key: key,
          UploadId: uploadId,
          PartNumber: 1,
          Body: randomBytes(100),
          ChecksumSHA256: sha256Base64(randomBytes(100)),
        }),
      ),
    );
    expect(error).toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    expect((await listParts(key, uploadId)).Parts ?? []).toEqual([]);
  });

  it('refuses a part with another algorithm (the SDK default CRC32) or with none (400 InvalidRequest)', async () => {
    const key = newKey();
    const uploadId = await create(key);
    const crc32 = await rejectionOf(
      defaults.send(
        new UploadPartCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId, PartNumber: 1, Body: randomBytes(10) }),
      ),
    );
    expect(crc32).toMatchObject({ name: 'InvalidRequest', $metadata: { httpStatusCode: 400 } });
    const none = await rejectionOf(
      s3.send(new UploadPartCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId, PartNumber: 1, Body: randomBytes(10) })),
    );
    expect(none).toMatchObject({ name: 'InvalidRequest', $metadata: { httpStatusCode: 400 } });
  });

  it('a part sent again replaces the earlier one', async () => {
    const key = newKey();
    const uploadId = await create(key);
    await sendParts(key, uploadId, [randomBytes(100)]);
    const again = randomBytes(200);
    const [replaced] = await sendParts(key, uploadId, [again]);
    const listed = await listParts(key, uploadId);
    expect(listed.Parts?.map(({ PartNumber, Size, ETag }) => ({ PartNumber, Size, ETag }))).toEqual([
      { PartNumber: 1, Size: 200, ETag: replaced?.ETag },
    ]);
  });
});

describe('unknown uploads', () => {
  it('refuses a part for an unknown upload or another key’s (404 NoSuchUpload), from the SDK and a presigned URL', async () => {
    const key = newKey();
    const body = randomBytes(10);
    const unknown = await rejectionOf(
      s3.send(
        new UploadPartCommand({
          Bucket: BUCKET_NAME,
          Key: key,
          UploadId: 'no-such-upload',
          PartNumber: 1,
          Body: body,
          ChecksumSHA256: sha256Base64(body),
        }),
      ),
    );
    expect(unknown).toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
    const uploadId = await create(key);
    const otherKey = await rejectionOf(
      s3.send(
        new UploadPartCommand({
          Bucket: BUCKET_NAME,
          Key: newKey(),
          UploadId: uploadId,
          PartNumber: 1,
          Body: body,
          ChecksumSHA256: sha256Base64(body),
        }),
      ),
    );
    expect(otherKey).toMatchObject({ name: 'NoSuchUpload' });
    const url = await getSignedUrl(
      s3,
      new UploadPartCommand({
        Bucket: BUCKET_NAME,
        Key: key,
        UploadId: `${uploadId}x`,
        PartNumber: 1,
        ChecksumSHA256: sha256Base64(body),
      }),
      { expiresIn: 60, unhoistableHeaders: new Set(['x-amz-checksum-sha256']) },
    );
    const response = await fetch(url, { method: 'PUT', body, headers: { 'x-amz-checksum-sha256': sha256Base64(body) } });
    expect(response.status).toBe(404);
  });

  it('refuses a part number outside 1..10000 (400 InvalidArgument)', async () => {
    const key = newKey();
    const uploadId = await create(key);
    const body = randomBytes(10);
    const error = await rejectionOf(
      s3.send(
        new UploadPartCommand({
          Bucket: BUCKET_NAME,
          Key: key,
          UploadId: uploadId,
          PartNumber: 10001,
          Body: body,
          ChecksumSHA256: sha256Base64(body),
        }),
      ),
    );
    expect(error).toMatchObject({ name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } });
  });

  it('abort ends the upload: its parts, listing and completion are then NoSuchUpload; aborting again is 404', async () => {
    const key = newKey();
    const uploadId = await create(key);
    const completed = await sendParts(key, uploadId, [randomBytes(10)]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId }));
    expect(await rejectionOf(listParts(key, uploadId))).toMatchObject({
      name: 'NoSuchUpload',
      $metadata: { httpStatusCode: 404 },
    });
    expect(await rejectionOf(complete(key, uploadId, completed))).toMatchObject({ name: 'NoSuchUpload' });
    expect(await rejectionOf(sendParts(key, uploadId, [randomBytes(10)]))).toMatchObject({ name: 'NoSuchUpload' });
    const again = await rejectionOf(
      s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId })),
    );
    expect(again).toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
    expect(await exists(key)).toBe(false);
  });
});

describe('completion', () => {
  it('refuses a part list that does not fit the stored parts, changing nothing', async () => {
    const key = newKey();
    const uploadId = await create(key);
    const completed = await sendParts(key, uploadId, [randomBytes(MIN_PART), randomBytes(MIN_PART), randomBytes(10)]);
    const [one, two, three] = completed;
    if (!one || !two || !three) throw new Error('three parts were sent');
    const cases: [string, CompletedPart[], string][] = [
      ['a wrong ETag', [{ ...one, ETag: '"00000000000000000000000000000000"' }, two, three], 'InvalidPart'],
      ['a part never sent', [one, two, { ...three, PartNumber: 4 }], 'InvalidPart'],
      ['parts out of order', [two, one, three], 'InvalidPartOrder'],
      ['a wrong checksum', [{ ...one, ChecksumSHA256: sha256Base64(randomBytes(1)) }, two, three], 'InvalidPart'],
      ['a missing checksum', [{ PartNumber: 1, ETag: one.ETag }, two, three], 'InvalidRequest'],
      ['no parts', [], 'MalformedXML'],
    ];
    for (const [what, parts, code] of cases) {
      const error = await rejectionOf(complete(key, uploadId, parts));
      expect({ what, name: error.name, status: error.$metadata?.httpStatusCode }).toEqual({ what, name: code, status: 400 });
    }
    expect(await exists(key)).toBe(false);
    expect((await listParts(key, uploadId)).Parts).toHaveLength(3);
    await complete(key, uploadId, completed);
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET_NAME, Key: key }))).ContentLength).toBe(2 * MIN_PART + 10);
  });

  it('refuses a part under 5 MiB that is not the last (400 EntityTooSmall)', async () => {
    const key = newKey();
    const uploadId = await create(key);
    const completed = await sendParts(key, uploadId, [randomBytes(10), randomBytes(10)]);
    expect(await rejectionOf(complete(key, uploadId, completed))).toMatchObject({
      name: 'EntityTooSmall',
      $metadata: { httpStatusCode: 400 },
    });
    expect(await exists(key)).toBe(false);
  });

  it('If-None-Match: * completes only onto a new key (412 PreconditionFailed), leaving the object and the upload', async () => {
    const key = newKey();
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'already here' }));
    const uploadId = await create(key);
    const completed = await sendParts(key, uploadId, [randomBytes(10)]);
    const error = await rejectionOf(complete(key, uploadId, completed, { IfNoneMatch: '*' }));
    expect(error).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
    expect(await got.Body?.transformToString()).toBe('already here');
    expect((await listParts(key, uploadId)).Parts).toHaveLength(1);

    const fresh = newKey();
    const freshUpload = await create(fresh);
    await complete(fresh, freshUpload, await sendParts(fresh, freshUpload, [randomBytes(10)]), { IfNoneMatch: '*' });
    expect(await exists(fresh)).toBe(true);
  });

  it('answers a repeated completion as the first while its object stands, with no second event; then NoSuchUpload', async () => {
    const key = newKey();
    const uploadId = await create(key);
    const completed = await sendParts(key, uploadId, [randomBytes(100)]);
    const before = fixture.events.length;
    const first = await complete(key, uploadId, completed);
    const again = await complete(key, uploadId, completed);
    expect(again).toMatchObject({ ETag: first.ETag, ChecksumSHA256: first.ChecksumSHA256 });
    expect(fixture.events.slice(before).map((event) => event.Records[0]?.eventName)).toEqual([
      'ObjectCreated:CompleteMultipartUpload',
    ]);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
    expect(await rejectionOf(complete(key, uploadId, completed))).toMatchObject({
      name: 'NoSuchUpload',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('keeps a FULL_OBJECT checksum (CRC64NVME) over all the bytes', async () => {
    const key = newKey();
    const uploadId = await create(key, 'CRC64NVME');
    const parts = [randomBytes(MIN_PART), randomBytes(777)];
    const completed: CompletedPart[] = [];
    const crc = async (bytes: Uint8Array) => {
      const hasher = new Crc64Nvme();
      hasher.update(bytes);
      return Buffer.from(await hasher.digest()).toString('base64');
    };
    for (const [index, Body] of parts.entries()) {
      const ChecksumCRC64NVME = await crc(Body);
      const { ETag } = await s3.send(
        new UploadPartCommand({
          Bucket: BUCKET_NAME,
          Key: key,
          UploadId: uploadId,
          PartNumber: index + 1,
          Body,
          ChecksumCRC64NVME,
        }),
      );
      completed.push({ PartNumber: index + 1, ETag, ChecksumCRC64NVME });
    }
    await complete(key, uploadId, completed);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET_NAME, Key: key, ChecksumMode: 'ENABLED' }));
    expect(head).toMatchObject({ ChecksumCRC64NVME: await crc(Buffer.concat(parts)), ChecksumType: 'FULL_OBJECT' });
  });

  it('keeps the CRC32 of each part a client at the SDK defaults sends to an upload with no checksum algorithm', async () => {
    const key = newKey();
    const uploadId = await create(key, 'none');
    const body = randomBytes(100);
    const { ETag } = await defaults.send(
      new UploadPartCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId, PartNumber: 1, Body: body }),
    );
    const listed = await listParts(key, uploadId);
    expect(listed.Parts?.[0]?.ChecksumCRC32).toEqual(expect.any(String));
    await defaults.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET_NAME,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
      }),
    );
    expect(await exists(key)).toBe(true);
  });
});
