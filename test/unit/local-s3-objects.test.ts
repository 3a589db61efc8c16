/**
 * The local S3's objects: checksums verified and reported as S3 does (the SDK's default CRC32,
 * header and trailer forms, SHA-256, CRC32C, CRC64NVME, SHA-1, Content-MD5), conditional writes,
 * ranges, listing, the bucket's CORS rules, ObjectCreated events and storage across restarts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET } from '#deploy/definitions';
import { decodeEventKey } from '#lambdas/object-created';
import {
  BUCKET_NAME,
  errorCode,
  type Fixture,
  newKey,
  rejectionOf,
  sha256Base64,
  signedFetch,
  startFixture,
} from './local-s3-fixture.ts';

let fixture: Fixture;
let s3: S3Client;

beforeAll(async () => {
  fixture = await startFixture({ cors: [BUCKET.cors] });
  s3 = fixture.client();
});
afterAll(() => fixture.close());

async function digestOf(hasher: { update(data: Uint8Array): void; digest(): Promise<Uint8Array> }, bytes: Uint8Array) {
  hasher.update(bytes);
  return Buffer.from(await hasher.digest()).toString('base64');
}

/** The additional checksums the local S3 verifies (S3 has since added XXHASH, SHA-512 and MD5). */
type Algorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

const CHECKSUMS: Record<Algorithm, (bytes: Uint8Array) => Promise<string>> = {
  CRC32: (bytes) => digestOf(new Crc32(), bytes),
  CRC32C: (bytes) => digestOf(new Crc32c(), bytes),
  CRC64NVME: (bytes) => digestOf(new Crc64Nvme(), bytes),
  SHA1: async (bytes) => createHash('sha1').update(bytes).digest('base64'),
  SHA256: async (bytes) => sha256Base64(bytes),
};

const FIELDS = {
  CRC32: 'ChecksumCRC32',
  CRC32C: 'ChecksumCRC32C',
  CRC64NVME: 'ChecksumCRC64NVME',
  SHA1: 'ChecksumSHA1',
  SHA256: 'ChecksumSHA256',
} as const;

async function head(key: string) {
  return s3.send(new HeadObjectCommand({ Bucket: BUCKET_NAME, Key: key, ChecksumMode: 'ENABLED' }));
}

async function exists(key: string): Promise<boolean> {
  const error = await head(key).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error === undefined) return true;
  if (error instanceof Error && error.name === 'NotFound') return false;
  throw error;
}

async function read(key: string, range?: string) {
  const got = await s3.send(
    new GetObjectCommand({ Bucket: BUCKET_NAME, Key: key, ChecksumMode: 'ENABLED', ...(range ? { Range: range } : {}) }),
  );
  return { got, bytes: Buffer.from((await got.Body?.transformToByteArray()) ?? []) };
}

describe('checksums', () => {
  it('verifies and keeps the CRC32 a client at the SDK defaults sends (header), and reports it as FULL_OBJECT', async () => {
    const key = newKey();
    const body = randomBytes(1000);
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: body }));
    expect(put.ChecksumCRC32).toBe(await CHECKSUMS.CRC32(body));
    const stored = await head(key);
    expect(stored).toMatchObject({
      ContentLength: 1000,
      ChecksumCRC32: await CHECKSUMS.CRC32(body),
      ChecksumType: 'FULL_OBJECT',
    });
    expect((await read(key)).bytes.equals(body)).toBe(true);
  });

  it('decodes the aws-chunked body and checks the trailing CRC32 a client at defaults sends for a stream', async () => {
    const key = newKey();
    const chunks = [randomBytes(70_000), randomBytes(3), randomBytes(100_000)];
    const body = Buffer.concat(chunks);
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: Readable.from(chunks), ContentLength: body.length }),
    );
    expect(await head(key)).toMatchObject({ ContentLength: body.length, ChecksumCRC32: await CHECKSUMS.CRC32(body) });
    expect((await read(key)).bytes.equals(body)).toBe(true);
  });

  for (const algorithm of Object.keys(CHECKSUMS) as Algorithm[]) {
    it(`verifies ${algorithm}: stored and reported when right, 400 BadDigest and nothing stored when wrong`, async () => {
      const key = newKey();
      const body = randomBytes(5000);
      const field = FIELDS[algorithm];
      await s3.send(
        new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: body, [field]: await CHECKSUMS[algorithm](body) }),
      );
      expect((await head(key))[field]).toBe(await CHECKSUMS[algorithm](body));

      const other = newKey();
      const wrong = await CHECKSUMS[algorithm](randomBytes(5000));
      const error = await rejectionOf(
        s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: other, Body: body, [field]: wrong })),
      );
      expect(error).toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
      expect(await exists(other)).toBe(false);
    });
  }

  it('checks a checksum sent as an aws-chunked trailer: a wrong or missing one stores nothing', async () => {
    const body = Buffer.from('trailing bytes');
    const framed = (trailer: string) =>
      Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(`\r\n0\r\n${trailer}\r\n`)]);
    const send = (key: string, trailer: string) =>
      signedFetch(fixture.server.endpoint, {
        method: 'PUT',
        path: `/${BUCKET_NAME}/${key}`,
        body: framed(trailer),
        payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        headers: {
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(body.length),
          'x-amz-trailer': 'x-amz-checksum-sha256',
          'x-amz-sdk-checksum-algorithm': 'SHA256',
        },
      });
    const good = newKey();
    expect((await send(good, `x-amz-checksum-sha256:${sha256Base64(body)}\r\n`)).status).toBe(200);
    expect((await head(good)).ChecksumSHA256).toBe(sha256Base64(body));
    const wrong = newKey();
    const refused = await send(wrong, `x-amz-checksum-sha256:${sha256Base64(Buffer.from('other'))}\r\n`);
    expect({ status: refused.status, code: errorCode(refused.body) }).toEqual({ status: 400, code: 'BadDigest' });
    const missing = newKey();
    expect((await send(missing, '')).status).toBe(400);
    expect(await exists(wrong)).toBe(false);
    expect(await exists(missing)).toBe(false);
  });

  it('checks Content-MD5: a wrong digest is BadDigest, a malformed one InvalidDigest', async () => {
    const key = newKey();
    const body = Buffer.from('md5 me');
    const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: body, ContentMD5: md5(body) }));
    const wrong = await rejectionOf(
      s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: newKey(), Body: body, ContentMD5: md5(Buffer.from('x')) })),
    );
    expect(wrong).toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    const malformed = await rejectionOf(
      s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: newKey(), Body: body, ContentMD5: 'nope' })),
    );
    expect(malformed).toMatchObject({ name: 'InvalidDigest', $metadata: { httpStatusCode: 400 } });
  });

  it('refuses two checksums, an algorithm declared without its checksum (400 InvalidRequest), one it cannot verify (501)', async () => {
    const body = Buffer.from('two');
    const both = await signedFetch(fixture.server.endpoint, {
      method: 'PUT',
      path: `/${BUCKET_NAME}/${newKey()}`,
      body,
      headers: { 'x-amz-checksum-sha256': sha256Base64(body), 'x-amz-checksum-crc32': await CHECKSUMS.CRC32(body) },
    });
    expect({ status: both.status, code: errorCode(both.body) }).toEqual({ status: 400, code: 'InvalidRequest' });
    const declared = await signedFetch(fixture.server.endpoint, {
      method: 'PUT',
      path: `/${BUCKET_NAME}/${newKey()}`,
      body,
      headers: { 'x-amz-sdk-checksum-algorithm': 'SHA256' },
    });
    expect({ status: declared.status, code: errorCode(declared.body) }).toEqual({ status: 400, code: 'InvalidRequest' });
    // A checksum this server cannot verify is refused, never stored unverified.
    const unverifiable = await signedFetch(fixture.server.endpoint, {
      method: 'PUT',
      path: `/${BUCKET_NAME}/${newKey()}`,
      body,
      headers: { 'x-amz-checksum-xxhash64': 'AAAAAAAAAAA=' },
    });
    expect(unverifiable.status).toBe(501);
  });

  it('reports no checksum without ChecksumMode, and none for a range', async () => {
    const key = newKey();
    const body = randomBytes(100);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: body, ChecksumSHA256: sha256Base64(body) }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET_NAME, Key: key }))).ChecksumSHA256).toBeUndefined();
    expect((await read(key, 'bytes=0-9')).got.ChecksumSHA256).toBeUndefined();
  });
});

describe('conditional writes', () => {
  it('If-None-Match: * writes only a new key: 412 PreconditionFailed otherwise, the object unchanged', async () => {
    const key = newKey();
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'first', IfNoneMatch: '*' }));
    const error = await rejectionOf(
      s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'second', IfNoneMatch: '*' })),
    );
    expect(error).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    expect((await read(key)).bytes.toString()).toBe('first');
    // Unconditional writes still replace it.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'third' }));
    expect((await read(key)).bytes.toString()).toBe('third');
  });

  it('If-Match writes only over the object with that ETag', async () => {
    const key = newKey();
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'v1' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'v2', IfMatch: ETag }));
    const stale = await rejectionOf(s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'v3', IfMatch: ETag })));
    expect(stale).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    expect((await read(key)).bytes.toString()).toBe('v2');
  });
});

describe('reading', () => {
  it('serves ranges as S3: 206 with Content-Range, clipped at the end, suffix ranges, 416 from beyond the end', async () => {
    const key = newKey();
    const body = randomBytes(1000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: body }));
    const middle = await read(key, 'bytes=10-29');
    expect(middle.got.$metadata.httpStatusCode).toBe(206);
    expect(middle.got.ContentRange).toBe('bytes 10-29/1000');
    expect(middle.bytes.equals(body.subarray(10, 30))).toBe(true);
    expect((await read(key, 'bytes=990-2000')).bytes.equals(body.subarray(990))).toBe(true);
    expect((await read(key, 'bytes=-5')).bytes.equals(body.subarray(995))).toBe(true);
    expect((await read(key, 'bytes=500-')).bytes.equals(body.subarray(500))).toBe(true);
    const beyond = await rejectionOf(read(key, 'bytes=1000-1001'));
    expect(beyond).toMatchObject({ name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
  });

  it('answers a presigned GET with the response headers it was signed with', async () => {
    const key = newKey();
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'download' }));
    const disposition = `attachment; filename="a b.txt"; filename*=UTF-8''a%20b.txt`;
    const url = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: BUCKET_NAME, Key: key, ResponseContentDisposition: disposition }),
      {
        expiresIn: 60,
      },
    );
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(disposition);
    expect(await response.text()).toBe('download');
  });

  it('answers NoSuchKey for a missing key, and deleting one is no error', async () => {
    const key = newKey();
    expect(await rejectionOf(read(key))).toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'x' }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
    expect(await exists(key)).toBe(false);
  });

  it('keeps keys with spaces, plus signs, unicode and slashes apart', async () => {
    const keys = ['odd/a b', 'odd/a+b', 'odd/a%2Bb', 'odd/é/ü?#', 'odd/a//b'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: key }));
    for (const key of keys) expect((await read(key)).bytes.toString()).toBe(key);
    const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET_NAME, Prefix: 'odd/' }));
    expect(Contents.map((object) => object.Key).sort()).toEqual([...keys].sort());
  });

  it('lists by prefix, in pages, and with a delimiter', async () => {
    const prefix = `${newKey('list')}/`;
    const keys = ['a', 'b', 'c/1', 'c/2', 'd'].map((name) => `${prefix}${name}`);
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'x' }));
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: BUCKET_NAME, Prefix: prefix, MaxKeys: 2, ContinuationToken: token }),
      );
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      listed.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(listed).toEqual(keys);
    const grouped = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET_NAME, Prefix: prefix, Delimiter: '/' }));
    expect(grouped.Contents?.map((object) => object.Key)).toEqual([`${prefix}a`, `${prefix}b`, `${prefix}d`]);
    expect(grouped.CommonPrefixes?.map((common) => common.Prefix)).toEqual([`${prefix}c/`]);
  });

  it('refuses another bucket (404 NoSuchBucket)', async () => {
    const error = await rejectionOf(s3.send(new PutObjectCommand({ Bucket: 'another-bucket', Key: 'k', Body: 'x' })));
    expect(error).toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
  });
});

describe('CORS (the bucket rule of deploy/definitions.ts)', () => {
  const origin = 'https://app.example.com';
  const objectUrl = () => `${fixture.server.endpoint}/${BUCKET_NAME}/${newKey()}`;

  it('answers an allowed preflight with the rule: methods, requested headers, max age, exposed ETag', async () => {
    const response = await fetch(objectUrl(), {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'x-amz-checksum-sha256, content-type',
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toBe('PUT, GET, HEAD');
    expect(response.headers.get('access-control-allow-headers')).toBe('x-amz-checksum-sha256, content-type');
    expect(response.headers.get('access-control-max-age')).toBe('3600');
    expect(response.headers.get('access-control-expose-headers')).toBe('ETag');
  });

  it('refuses a preflight for a method the rule does not allow (403), or without an Origin (400)', async () => {
    const denied = await fetch(objectUrl(), {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'DELETE' },
    });
    expect(denied.status).toBe(403);
    expect(errorCode(await denied.text())).toBe('AccessForbidden');
    const noOrigin = await fetch(objectUrl(), { method: 'OPTIONS', headers: { 'access-control-request-method': 'PUT' } });
    expect(noOrigin.status).toBe(400);
  });

  it('adds the CORS headers to a browser request (Origin), exposing ETag, and none to others', async () => {
    const key = newKey();
    const body = Buffer.from('from a browser');
    const checksum = sha256Base64(body);
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, ChecksumSHA256: checksum }), {
      expiresIn: 60,
      unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
    });
    const response = await fetch(url, { method: 'PUT', body, headers: { origin, 'x-amz-checksum-sha256': checksum } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toBe('ETag');
    const plain = await fetch(await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET_NAME, Key: key }), { expiresIn: 60 }));
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses every cross-origin request when the bucket has no rule', async () => {
    const bare = await startFixture();
    try {
      const response = await fetch(`${bare.server.endpoint}/${BUCKET_NAME}/k`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
      expect(response.status).toBe(403);
    } finally {
      await bare.close();
    }
  });
});

describe('ObjectCreated events', () => {
  it('emits ObjectCreated:Put with the key URL-encoded as S3 encodes it', async () => {
    const key = `events/${randomBytes(4).toString('hex')}/a b+c/é`;
    const before = fixture.events.length;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'evented' }));
    const [event] = fixture.events.slice(before);
    const record = event?.Records[0];
    expect(record).toMatchObject({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: BUCKET_NAME }, object: { size: 7 } },
    });
    expect(record?.s3.object.key).toBe(`${key.split('/').slice(0, 2).join('/')}/a+b%2Bc/%C3%A9`);
    expect(decodeEventKey(record?.s3.object.key ?? '')).toBe(key);
  });

  it('emits nothing for a refused write', async () => {
    const before = fixture.events.length;
    await rejectionOf(
      s3.send(
        new PutObjectCommand({ Bucket: BUCKET_NAME, Key: newKey(), Body: 'x', ChecksumSHA256: sha256Base64(Buffer.from('y')) }),
      ),
    );
    expect(fixture.events.length).toBe(before);
  });
});

describe('storage', () => {
  it('streams large bodies to disk and back', async () => {
    const key = newKey();
    const body = randomBytes(24 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: body, ChecksumSHA256: sha256Base64(body) }));
    const { bytes } = await read(key);
    expect(sha256Base64(bytes)).toBe(sha256Base64(body));
  });

  it('refuses a body beyond 5 GiB before reading it (400 EntityTooLarge)', async () => {
    const response = await signedFetch(fixture.server.endpoint, {
      method: 'PUT',
      path: `/${BUCKET_NAME}/${newKey()}`,
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: { 'x-amz-decoded-content-length': String(5 * 1024 ** 3 + 1), 'content-encoding': 'aws-chunked' },
      body: '0\r\n\r\n',
    });
    expect({ status: response.status, code: errorCode(response.body) }).toEqual({ status: 400, code: 'EntityTooLarge' });
  });

  it('keeps objects across a restart with persist, and starts empty without', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'local-s3-persist-'));
    try {
      const first = await startFixture({ directory, persist: true });
      await first.client().send(
        new PutObjectCommand({
          Bucket: BUCKET_NAME,
          Key: 'kept',
          Body: 'still here',
          ChecksumSHA256: sha256Base64(Buffer.from('still here')),
        }),
      );
      await first.server.close();
      const second = await startFixture({ directory, persist: true });
      const got = await second.client().send(new GetObjectCommand({ Bucket: BUCKET_NAME, Key: 'kept', ChecksumMode: 'ENABLED' }));
      expect(await got.Body?.transformToString()).toBe('still here');
      expect(got.ChecksumSHA256).toBe(sha256Base64(Buffer.from('still here')));
      await second.server.close();
      const third = await startFixture({ directory, persist: false });
      const error = await rejectionOf(third.client().send(new GetObjectCommand({ Bucket: BUCKET_NAME, Key: 'kept' })));
      expect(error.name).toBe('NoSuchKey');
      await third.close();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
