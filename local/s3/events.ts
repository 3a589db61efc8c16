/**
 * S3 event notifications for created objects, in the shape S3 delivers them to Lambda (Amazon S3
 * User Guide, "Event message structure", eventVersion 2.1). The object key is URL-encoded as S3
 * encodes it there: form encoding, a space as `+`, `/` kept (lambdas/object-created.ts decodes it).
 */
import type { S3Event, S3EventRecord } from 'aws-lambda';

export type ObjectCreatedEvent = 'ObjectCreated:Put' | 'ObjectCreated:CompleteMultipartUpload';

export const encodeEventKey = (key: string): string => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/gi, '/');

let sequence = 0n;

export function objectCreatedEvent(
  name: ObjectCreatedEvent,
  object: { readonly bucket: string; readonly key: string; readonly size: number; readonly etag: string },
  context: { readonly region: string; readonly principalId: string; readonly sourceIp: string; readonly requestId: string },
): S3Event {
  sequence += 1n;
  const record: S3EventRecord = {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: context.region,
    eventTime: new Date().toISOString(),
    eventName: name,
    userIdentity: { principalId: context.principalId },
    requestParameters: { sourceIPAddress: context.sourceIp },
    responseElements: { 'x-amz-request-id': context.requestId, 'x-amz-id-2': context.requestId },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'hashdrop-local',
      bucket: { name: object.bucket, ownerIdentity: { principalId: context.principalId }, arn: `arn:aws:s3:::${object.bucket}` },
      object: {
        key: encodeEventKey(object.key),
        size: object.size,
        // Events carry the ETag without its quotes.
        eTag: object.etag.replace(/"/g, ''),
        // Orders events of one key: later writes have greater sequencers (hex, as S3's).
        sequencer: sequence.toString(16).toUpperCase().padStart(18, '0'),
      },
    },
  };
  return { Records: [record] };
}
