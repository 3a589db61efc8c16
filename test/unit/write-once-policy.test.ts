/**
 * Objects under blobs/ are write-once (docs/design.md invariant 7): the bucket policy of the
 * synthesized stack denies object creation there without If-None-Match, exempting the multipart
 * steps that take no condition, as AWS documents ("Enforce conditional writes on Amazon S3
 * buckets"). Checked in two halves: the local IAM evaluates that policy as AWS would, given the
 * condition keys; the local S3 gives each operation the keys AWS gives it.
 */
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, type FunctionId } from '#deploy/definitions';
import { AccessControl } from '#local/iam/access';
import { s3Authorizations } from '#local/iam/actions';
import { functionCredentials } from '#local/iam/credentials';
import { stackPolicies } from '#local/iam/policies';
import { BUCKET_NAME, type Fixture, startFixture } from './local-s3-fixture.ts';

const ADMIN = { accessKeyId: 'ADMIN', secretAccessKey: 'ADMIN' };

describe('the bucket policy, evaluated by the local IAM', () => {
  let access: AccessControl;
  beforeAll(async () => {
    access = new AccessControl(await stackPolicies(), ADMIN);
  });

  const check = (functionId: FunctionId, operation: string, conditions: Record<string, string>, key = 'blobs/a/b') =>
    access.check(functionCredentials(functionId).accessKeyId, s3Authorizations(operation, BUCKET.localName, key), {
      'aws:SecureTransport': 'true',
      ...conditions,
    });

  it('denies creating an object under blobs/ without If-None-Match, to a function its role allows', () => {
    for (const [functionId, operation] of [
      ['SignParts', 'PutObject'],
      ['CompleteUpload', 'CompleteMultipartUpload'],
    ] as const) {
      const refused = check(functionId, operation, { 's3:ObjectCreationOperation': 'true' });
      expect(refused, operation).toMatchObject({ allowed: false });
      expect(refused.allowed ? '' : refused.message).toContain('with an explicit deny in a resource-based policy');
      expect(check(functionId, operation, { 's3:ObjectCreationOperation': 'true', 's3:if-none-match': '*' }), operation).toEqual({
        allowed: true,
      });
    }
  });

  it('lets the multipart steps that take no condition through (s3:ObjectCreationOperation false)', () => {
    expect(check('CreateUpload', 'CreateMultipartUpload', { 's3:ObjectCreationOperation': 'false' })).toEqual({ allowed: true });
    expect(check('SignParts', 'UploadPart', { 's3:ObjectCreationOperation': 'false' })).toEqual({ allowed: true });
  });

  it('concerns blobs/ only', () => {
    // Outside blobs/ no role allows writing anyway: the refusal is the identity policy's, not the bucket's.
    const outside = check('SignParts', 'PutObject', { 's3:ObjectCreationOperation': 'true' }, 'elsewhere/x');
    expect(outside.allowed ? '' : outside.message).toContain('no identity-based policy allows');
  });
});

describe('the local S3 gives each write the condition keys AWS gives it', () => {
  let fixture: Fixture;
  let s3: S3Client;
  beforeAll(async () => {
    fixture = await startFixture();
    s3 = fixture.client({ requestChecksumCalculation: 'WHEN_REQUIRED' });
  });
  afterAll(() => fixture.close());

  it('s3:ObjectCreationOperation: true for PutObject and CompleteMultipartUpload, false for their steps', async () => {
    const key = `blobs/${randomBytes(6).toString('hex')}`;
    const before = fixture.authorizations.length;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET_NAME, Key: `${key}-put`, Body: 'x', IfNoneMatch: '*' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET_NAME, Key: key }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET_NAME, Key: key, UploadId, PartNumber: 1, Body: 'y' }));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET_NAME,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
      }),
    );
    const seen = fixture.authorizations.slice(before).map(({ operation, conditions }) => ({
      operation,
      creation: conditions['s3:ObjectCreationOperation'],
      ifNoneMatch: conditions['s3:if-none-match'],
    }));
    expect(seen).toEqual([
      { operation: 'PutObject', creation: 'true', ifNoneMatch: '*' },
      { operation: 'CreateMultipartUpload', creation: 'false', ifNoneMatch: undefined },
      { operation: 'UploadPart', creation: 'false', ifNoneMatch: undefined },
      { operation: 'CompleteMultipartUpload', creation: 'true', ifNoneMatch: undefined },
    ]);
  });
});
