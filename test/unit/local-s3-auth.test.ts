/**
 * The local S3 authenticates as S3 does (SigV4 in the header and in presigned URLs, recomputed with
 * the SDK's signer) and asks its `authorize` hook for the IAM action S3 checks for each operation.
 */
import { connect } from 'node:net';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUCKET_NAME,
  CREDENTIALS,
  errorCode,
  type Fixture,
  newKey,
  objectExists,
  rejectionOf,
  sha256Base64,
  signedFetch,
  signHeaders,
  startFixture,
} from './local-s3-fixture.ts';

const SIGNED_CHECKSUM = { unhoistableHeaders: new Set(['x-amz-checksum-sha256']) };

let fixture: Fixture;
let s3: S3Client;

beforeAll(async () => {
  fixture = await startFixture();
  s3 = fixture.client();
});
afterAll(() => fixture.close());

const exists = (key: string): Promise<boolean> => objectExists(s3, key);

async function presignedPut(key: string, body: Uint8Array, expiresIn = 60) {
  const checksum = sha256Base64(body);
  const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, ChecksumSHA256: checksum }), {
    expiresIn,
    ...SIGNED_CHECKSUM,
  });
  return { url, headers: { 'x-amz-checksum-sha256': checksum } };
}

async function put(url: string, body: Uint8Array, headers: Record<string, string>, method = 'PUT') {
  const response = await fetch(url, { method, headers, ...(method === 'PUT' ? { body: new Uint8Array(body) } : {}) });
  return { status: response.status, body: await response.text() };
}

describe('header-signed requests (the SDK client)', () => {
  it('accepts the SDK client with a known key', async () => {
    const key = newKey();
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'hello' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
    expect(await got.Body?.transformToString()).toBe('hello');
  });

  it('refuses an unknown access key (403 InvalidAccessKeyId) and a wrong secret (403 SignatureDoesNotMatch)', async () => {
    const key = newKey();
    const unknown = fixture.client({ credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: CREDENTIALS.secretAccessKey } });
    const wrong = fixture.client({ credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret' } });
    const unknownError = await rejectionOf(unknown.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'x' })));
    expect(unknownError).toMatchObject({ name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } });
    const wrongError = await rejectionOf(wrong.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'x' })));
    expect(wrongError).toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    expect(await exists(key)).toBe(false);
  });

  it('refuses an unsigned request (403 AccessDenied: the bucket is not public)', async () => {
    const key = newKey();
    const response = await fetch(`${fixture.server.endpoint}/${BUCKET_NAME}/${key}`, { method: 'PUT', body: 'anonymous' });
    expect(response.status).toBe(403);
    expect(errorCode(await response.text())).toBe('AccessDenied');
    expect((await fetch(`${fixture.server.endpoint}/${BUCKET_NAME}/${key}`)).status).toBe(403);
    expect(await exists(key)).toBe(false);
  });

  it('refuses a body whose SHA-256 is not the signed payload hash (400 XAmzContentSHA256Mismatch), storing nothing', async () => {
    const key = newKey();
    const response = await signedFetch(fixture.server.endpoint, {
      method: 'PUT',
      path: `/${BUCKET_NAME}/${key}`,
      body: 'the bytes sent',
      payloadHash: 'a'.repeat(64),
    });
    expect(response.status).toBe(400);
    expect(errorCode(response.body)).toBe('XAmzContentSHA256Mismatch');
    expect(await exists(key)).toBe(false);
  });

  it('refuses a request signed for another region (400 AuthorizationHeaderMalformed)', async () => {
    const response = await signedFetch(fixture.server.endpoint, {
      method: 'GET',
      path: `/${BUCKET_NAME}/${newKey()}`,
      region: 'eu-west-1',
    });
    expect(response.status).toBe(400);
    expect(errorCode(response.body)).toBe('AuthorizationHeaderMalformed');
  });

  it('refuses x-amz-* headers the signature does not cover (403 AccessDenied)', async () => {
    const key = newKey();
    const unsigned = fixture.client();
    unsigned.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        request.headers['x-amz-meta-added-after-signing'] = 'yes';
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low' },
    );
    const error = await rejectionOf(unsigned.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'x' })));
    expect(error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(await exists(key)).toBe(false);
  });

  it('refuses a request signed too long ago (403 RequestTimeTooSkewed)', async () => {
    const response = await signedFetch(fixture.server.endpoint, {
      method: 'GET',
      path: `/${BUCKET_NAME}/${newKey()}`,
      signingDate: new Date(Date.now() - 20 * 60 * 1000),
    });
    expect(response.status).toBe(403);
    expect(errorCode(response.body)).toBe('RequestTimeTooSkewed');
  });

  it('refuses signed aws-chunked payloads it does not verify (501 NotImplemented)', async () => {
    const response = await signedFetch(fixture.server.endpoint, {
      method: 'PUT',
      path: `/${BUCKET_NAME}/${newKey()}`,
      body: 'x',
      payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    });
    expect(response.status).toBe(501);
  });

  it('stores nothing of a body shorter than its signed Content-Length', async () => {
    const key = newKey();
    const url = new URL(fixture.server.endpoint);
    const signed = await signHeaders(fixture.server.endpoint, {
      method: 'PUT',
      path: `/${BUCKET_NAME}/${key}`,
      headers: { 'content-length': '10' },
      payloadHash: 'UNSIGNED-PAYLOAD',
    });
    const head = Object.entries(signed)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    await new Promise<void>((done, fail) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.end(`PUT /${BUCKET_NAME}/${key} HTTP/1.1\r\n${head}\r\n12345`);
      });
      socket.on('error', fail);
      socket.on('close', () => done());
      socket.resume();
    });
    expect(await exists(key)).toBe(false);
  });
});

describe('presigned requests', () => {
  it('accepts a presigned PUT sent with its signed headers, and a presigned GET', async () => {
    const key = newKey();
    const body = Buffer.from('presigned bytes');
    const { url, headers } = await presignedPut(key, body);
    expect(url).not.toContain('x-amz-checksum-sha256=');
    expect(await put(url, body, headers)).toMatchObject({ status: 200 });
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET_NAME, Key: key }), { expiresIn: 60 });
    expect(await (await fetch(get)).text()).toBe('presigned bytes');
  });

  it('refuses a changed signature, signed header, method, key or query (403 SignatureDoesNotMatch)', async () => {
    const key = newKey();
    const body = Buffer.from('claimed');
    const { url, headers } = await presignedPut(key, body);
    const other = Buffer.from('swapped');
    const cases: [string, Promise<{ status: number; body: string }>][] = [
      [
        'signature',
        put(
          url.replace(/X-Amz-Signature=([0-9a-f])/, (_, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`),
          body,
          headers,
        ),
      ],
      ['checksum header', put(url, other, { 'x-amz-checksum-sha256': sha256Base64(other) })],
      ['method', put(url, body, headers, 'DELETE')],
      ['key', put(url.replace(key, newKey()), body, headers)],
      ['query', put(`${url}&partNumber=1`, body, headers)],
    ];
    for (const [what, sent] of cases) {
      const response = await sent;
      expect({ what, status: response.status, code: errorCode(response.body) }).toEqual({
        what,
        status: 403,
        code: 'SignatureDoesNotMatch',
      });
    }
    // Without the signed header at all, the canonical request differs too.
    expect((await put(url, body, {})).status).toBe(403);
    expect(await exists(key)).toBe(false);
  });

  it('refuses a presigned URL once it has expired (403 AccessDenied "Request has expired")', async () => {
    const key = newKey();
    const body = Buffer.from('late');
    const checksum = sha256Base64(body);
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, ChecksumSHA256: checksum }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 61_000),
      ...SIGNED_CHECKSUM,
    });
    const response = await put(url, body, { 'x-amz-checksum-sha256': checksum });
    expect(response.status).toBe(403);
    expect(errorCode(response.body)).toBe('AccessDenied');
    expect(response.body).toContain('<Message>Request has expired</Message>');
    expect(response.body).toContain('<X-Amz-Expires>60</X-Amz-Expires>');
    expect(await exists(key)).toBe(false);
  });

  it('judges expiry by the server clock', async () => {
    const key = newKey();
    const late = await startFixture({ clock: () => Date.now() + 120_000 });
    try {
      const client = late.client();
      const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET_NAME, Key: key }), { expiresIn: 60 });
      const response = await fetch(url);
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('Request has expired');
    } finally {
      await late.close();
    }
  });

  it('refuses X-Amz-Expires beyond a week (400 AuthorizationQueryParametersError)', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET_NAME, Key: newKey() }), { expiresIn: 60 });
    const response = await fetch(url.replace('X-Amz-Expires=60', 'X-Amz-Expires=604801'));
    expect(response.status).toBe(400);
    expect(errorCode(await response.text())).toBe('AuthorizationQueryParametersError');
  });

  it('enforces a signed Content-Length: the body must be that long', async () => {
    const key = newKey();
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, ContentLength: 10 }), {
      expiresIn: 60,
    });
    expect(url).toContain('content-length');
    expect((await put(url, Buffer.from('eleven byte'), {})).status).toBe(403);
    expect(await exists(key)).toBe(false);
    expect((await put(url, Buffer.from('ten bytes!'), {})).status).toBe(200);
  });
});

describe('authorization', () => {
  /** The authorizations of the requests `run` makes. */
  async function authorizationsOf(run: () => Promise<unknown>) {
    const before = fixture.authorizations.length;
    await run();
    return fixture.authorizations.slice(before).map(({ action, resource, operation }) => ({ operation, action, resource }));
  }

  it('asks for the IAM action S3 checks for each operation, on the object or the bucket', async () => {
    const key = newKey('iam');
    const object = `arn:aws:s3:::${BUCKET_NAME}/${key}`;
    const bucket = `arn:aws:s3:::${BUCKET_NAME}`;
    const part = Buffer.alloc(10, 1);
    const seen = await authorizationsOf(async () => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'x' }));
      await s3.send(new GetObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
      await s3.send(new HeadObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
      await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET_NAME, Key: key, ObjectAttributes: ['ObjectSize'] }));
      await s3.send(new ListObjectsV2Command({ Bucket: BUCKET_NAME, Prefix: 'iam/' }));
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET_NAME, Key: key }));
      const { ETag } = await s3.send(
        new UploadPartCommand({ Bucket: BUCKET_NAME, Key: key, UploadId, PartNumber: 1, Body: part }),
      );
      await s3.send(new ListPartsCommand({ Bucket: BUCKET_NAME, Key: key, UploadId }));
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET_NAME,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
        }),
      );
      const second = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET_NAME, Key: key }));
      await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: second.UploadId }));
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
    });
    expect(seen).toEqual([
      { operation: 'PutObject', action: 's3:PutObject', resource: object },
      { operation: 'GetObject', action: 's3:GetObject', resource: object },
      { operation: 'HeadObject', action: 's3:GetObject', resource: object },
      { operation: 'GetObjectAttributes', action: 's3:GetObject', resource: object },
      { operation: 'GetObjectAttributes', action: 's3:GetObjectAttributes', resource: object },
      { operation: 'ListObjectsV2', action: 's3:ListBucket', resource: bucket },
      { operation: 'CreateMultipartUpload', action: 's3:PutObject', resource: object },
      { operation: 'UploadPart', action: 's3:PutObject', resource: object },
      { operation: 'ListParts', action: 's3:ListMultipartUploadParts', resource: object },
      { operation: 'CompleteMultipartUpload', action: 's3:PutObject', resource: object },
      { operation: 'CreateMultipartUpload', action: 's3:PutObject', resource: object },
      { operation: 'AbortMultipartUpload', action: 's3:AbortMultipartUpload', resource: object },
      { operation: 'DeleteObject', action: 's3:DeleteObject', resource: object },
    ]);
  });

  it('passes the key, the transport, how the request was signed and the conditional headers', async () => {
    const key = newKey('iam');
    const before = fixture.authorizations.length;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'x', IfNoneMatch: '*' }));
    const { url, headers } = await presignedPut(newKey('iam'), Buffer.from('y'));
    await put(url, Buffer.from('y'), headers);
    await s3.send(new ListObjectsV2Command({ Bucket: BUCKET_NAME, Prefix: 'iam/', MaxKeys: 5 }));
    const [header, query, list] = fixture.authorizations.slice(before);
    expect(header).toMatchObject({
      accessKeyId: CREDENTIALS.accessKeyId,
      conditions: {
        'aws:SecureTransport': 'false',
        's3:authType': 'REST-HEADER',
        's3:signatureversion': 'AWS4-HMAC-SHA256',
        's3:if-none-match': '*',
      },
    });
    expect(query?.conditions).toMatchObject({
      's3:authType': 'REST-QUERY-STRING',
      's3:x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    });
    expect(query?.conditions['s3:if-none-match']).toBeUndefined();
    expect(list?.conditions).toMatchObject({ 's3:prefix': 'iam/', 's3:max-keys': '5' });

    const secure = await startFixture({ secureTransport: true });
    try {
      await secure.client().send(new ListObjectsV2Command({ Bucket: BUCKET_NAME }));
      expect(secure.authorizations[0]?.conditions['aws:SecureTransport']).toBe('true');
    } finally {
      await secure.close();
    }
  });

  it('refuses what the hook denies (403 AccessDenied), storing nothing', async () => {
    const denying = await startFixture({ authorize: ({ action }) => action !== 's3:PutObject' });
    try {
      const client = denying.client();
      const key = newKey();
      const error = await rejectionOf(client.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: key, Body: 'x' })));
      expect(error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect(denying.events).toEqual([]);
      const head = await rejectionOf(client.send(new HeadObjectCommand({ Bucket: BUCKET_NAME, Key: key })));
      expect(head.$metadata?.httpStatusCode).toBe(404);
    } finally {
      await denying.close();
    }
  });

  it('answers a missing key with 403 instead of 404 to a caller who may not list the bucket, as S3 does', async () => {
    const private_ = await startFixture({ authorize: ({ action }) => action !== 's3:ListBucket' });
    try {
      const client = private_.client();
      const head = await rejectionOf(client.send(new HeadObjectCommand({ Bucket: BUCKET_NAME, Key: newKey() })));
      expect(head.$metadata?.httpStatusCode).toBe(403);
      const get = await rejectionOf(client.send(new GetObjectCommand({ Bucket: BUCKET_NAME, Key: newKey() })));
      expect(get).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    } finally {
      await private_.close();
    }
  });
});
