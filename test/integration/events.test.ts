/**
 * Invariant 5 (docs/design.md): S3 events come at least once, late or out of order. The object-created handler,
 * invoked here directly with S3-format events against the real stores, must count nothing twice.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, S3Event } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PublishOutcome } from '#domain/publish';
import { putFile } from '#sdk/upload';
import { clientFor, contentItem, filesOf, newUser, objectKeys, randomFile, s3, stack, stackDeps } from '../helpers.ts';

type Handler = (event: S3Event, context: Context) => Promise<PublishOutcome[]>;
let handler: Handler;

beforeAll(async () => {
  handler = (await import('#lambdas/object-created')).build(stackDeps('ObjectCreated'));
});

function s3Event(key: string, eventName = 'ObjectCreated:Put'): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: stack.region,
        eventTime: new Date().toISOString(),
        eventName,
        userIdentity: { principalId: 'test' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'r', 'x-amz-id-2': 'i' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'test',
          bucket: { name: stack.bucket, ownerIdentity: { principalId: 'test' }, arn: `arn:aws:s3:::${stack.bucket}` },
          object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size: 0, eTag: '', sequencer: '0' },
        },
      },
    ],
  } as S3Event;
}

describe('object-created events', () => {
  it('a duplicate or late event for a published object changes nothing', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const { path } = randomFile(7777);
    const put = await putFile(clientFor(alice), path, { name: 'a' });
    await putFile(clientFor(bob), path, { name: 'b' });
    const [key] = await objectKeys(`blobs/${put.contentId}/`);
    if (!key) throw new Error('no object');
    const before = await contentItem(put.contentId);

    expect(await handler(s3Event(key), {} as Context)).toEqual(['ready']);
    expect(await handler(s3Event(key, 'ObjectCreated:CompleteMultipartUpload'), {} as Context)).toEqual(['ready']);

    expect(await contentItem(put.contentId)).toMatchObject({ state: 'READY', refCount: 2, objectKey: before?.objectKey });
    expect((await filesOf(alice)).map((file) => file.state)).toEqual(['COMPLETE']);
    expect(await objectKeys(`blobs/${put.contentId}/`)).toEqual([key]);
  });

  it('an object no reservation claims is deleted, and keys outside blobs/ are ignored', async () => {
    const contentId = 'c'.repeat(64);
    const stray = `blobs/${contentId}/${'d'.repeat(32)}`;
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: stray, Body: 'stray' }));
    // The local stack's own delivery may run first: either way the object ends up gone.
    const [outcome] = await handler(s3Event(stray), {} as Context);
    expect(['orphan', 'missing']).toContain(outcome);
    expect(await objectKeys(`blobs/${contentId}/`)).toEqual([]);
    expect(await contentItem(contentId)).toBeUndefined();

    expect(await handler(s3Event('uploads/elsewhere'), {} as Context)).toEqual([]);
    expect(await handler(s3Event('blobs/not-a-content-key'), {} as Context)).toEqual(['ignored']);
  });
});
