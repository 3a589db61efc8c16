import { RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, type BucketProps, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/**
 * What every hashdrop bucket is, in one place (as AWS Solutions Constructs' s3-bucket-defaults):
 * no public access, TLS only, encrypted at rest, objects owned by the bucket owner (no ACLs),
 * kept when the stack is deleted.
 */
export const SECURE_BUCKET_DEFAULTS = {
  blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  encryption: BucketEncryption.S3_MANAGED,
  objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
  removalPolicy: RemovalPolicy.RETAIN,
} as const satisfies BucketProps;

/** A bucket's own settings; the secure defaults are not among them, so no bucket can weaken them. */
export type SecureBucketProps = Omit<BucketProps, keyof typeof SECURE_BUCKET_DEFAULTS>;

/** A bucket with the secure defaults. */
export class SecureBucket extends Bucket {
  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    super(scope, id, { ...props, ...SECURE_BUCKET_DEFAULTS });
  }
}
