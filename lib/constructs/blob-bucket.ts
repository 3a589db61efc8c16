import { Duration } from 'aws-cdk-lib';
import { HttpMethods, type IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { BUCKET } from '#deploy/definitions';
import { SecureBucket } from './secure-bucket.ts';

export interface BlobBucketProps {
  /** Origins allowed to PUT parts and GET downloads from browsers. @default BUCKET.cors.allowedOrigins */
  readonly allowedOrigins?: string[];
  /** Days after which S3 aborts an unfinished multipart upload: the backstop to the sweeper. @default 2 */
  readonly abortIncompleteUploadsAfterDays?: number;
  /** Where S3 writes the bucket's server access logs. */
  readonly accessLogs?: IBucket;
}

/**
 * The bucket that holds one object per content, with the secure defaults (secure-bucket.ts),
 * browser CORS for presigned PUTs and GETs, and a backstop for forgotten multipart uploads.
 */
export class BlobBucket extends SecureBucket {
  constructor(scope: Construct, id: string = BUCKET.id, props: BlobBucketProps = {}) {
    super(scope, id, {
      ...(props.accessLogs ? { serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: 'blobs-access/' } : {}),
      lifecycleRules: [
        {
          id: 'abort-incomplete-multipart-uploads',
          abortIncompleteMultipartUploadAfter: Duration.days(props.abortIncompleteUploadsAfterDays ?? 2),
        },
      ],
      // One CORS rule for the deployed bucket and the local S3 (deploy/definitions.ts).
      cors: [
        {
          allowedMethods: BUCKET.cors.allowedMethods.map((method) => HttpMethods[method]),
          allowedOrigins: props.allowedOrigins ?? [...BUCKET.cors.allowedOrigins],
          allowedHeaders: [...BUCKET.cors.allowedHeaders],
          exposedHeaders: [...BUCKET.cors.exposedHeaders],
          maxAge: BUCKET.cors.maxAgeSeconds,
        },
      ],
    });
  }
}
