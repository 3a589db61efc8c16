import { Duration } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { HttpMethods, type IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { BUCKET } from '#deploy/definitions';
import { EXPORT_PREFIX } from '#domain/object-keys';
import { MULTIPART_UPLOAD_LIFETIME_DAYS } from '#domain/uploads';
import { SecureBucket } from './secure-bucket.ts';

export interface BlobBucketProps {
  /** Origins allowed to PUT parts and GET downloads from browsers. @default BUCKET.cors.allowedOrigins */
  readonly allowedOrigins?: string[];
  /** Where S3 writes the bucket's server access logs. */
  readonly accessLogs?: IBucket;
}

/**
 * The bucket that holds one object per content, with the secure defaults (secure-bucket.ts),
 * browser CORS for presigned PUTs and GETs, a backstop for forgotten multipart uploads, and
 * write-once objects under `blobs/`.
 *
 * Not versioned: every path that writes under `blobs/` is write-once (the policy below, and
 * hashdrop signs If-None-Match on every PUT and completion), so a verified object cannot be
 * replaced, and one that fails a later check is quarantined rather than restored (README,
 * "Stored bytes never change"). Versioning would keep every deleted content for the
 * noncurrent-version expiry on top of the GC grace period.
 */
export class BlobBucket extends SecureBucket {
  constructor(scope: Construct, id: string = BUCKET.id, props: BlobBucketProps = {}) {
    super(scope, id, {
      ...(props.accessLogs ? { serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: 'blobs-access/' } : {}),
      lifecycleRules: [
        {
          id: 'abort-incomplete-multipart-uploads',
          // The backstop to the sweeper. The domain knows the same age: a completion that meets an
          // upload this old answers upload_expired at once (domain/uploads.ts).
          abortIncompleteMultipartUploadAfter: Duration.days(MULTIPART_UPLOAD_LIFETIME_DAYS),
        },
        // An erased user's export (domain/erase-user.ts) is personal data: kept a week for the
        // operator to fetch, not for ever.
        { id: 'expire-user-exports', prefix: EXPORT_PREFIX, expiration: Duration.days(7) },
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
    // A verified object never changes (docs/design.md invariant 7): any PutObject or
    // CompleteMultipartUpload under blobs/ without If-None-Match is refused, whoever signs it
    // (CopyObject too). CreateMultipartUpload and UploadPart take no conditional header; the
    // s3:ObjectCreationOperation key exempts them (AWS, "Enforce conditional writes on Amazon S3
    // buckets"); their parts only land in the object through a completion.
    this.addToResourcePolicy(
      new PolicyStatement({
        sid: 'WriteOnceBlobs',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.arnForObjects(`${BUCKET.blobPrefix}*`)],
        conditions: { Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } },
      }),
    );
  }
}
