/**
 * hashdrop on AWS: an HTTP API with a JWT authorizer in front of one Lambda per route, the
 * Contents and Files tables, the blob bucket whose ObjectCreated events publish contents, and
 * an hourly sweeper.
 * Routes, tables and the bucket prefix come from deploy/definitions.ts, as in the local runner.
 *
 * Each part (lib/constructs/) is a plain class that builds its resources in the stack's own
 * scope, not a construct of its own: a construct scope would change every logical id, and
 * CloudFormation would replace the deployed tables and buckets.
 */
import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { HashdropApi, type JwtIssuer } from './constructs/api.ts';
import type { BlobBucket } from './constructs/blob-bucket.ts';
import { DataStores } from './constructs/data-stores.ts';
import { ObjectCreatedPublisher } from './constructs/object-created.ts';
import { Sweeper } from './constructs/sweeper.ts';
import { UserPoolIssuer } from './constructs/user-pool.ts';

export interface HashdropStackProps extends StackProps {
  /**
   * An OIDC issuer (and audience) whose tokens the API accepts. Without it, the stack creates a
   * Cognito user pool and app client for the apps to sign users in with.
   */
  readonly jwt?: JwtIssuer;
  /** Steady-state requests per second across the API. @default 200 */
  readonly throttleRateLimit?: number;
  /** Burst of requests above the rate. @default 400 */
  readonly throttleBurstLimit?: number;
}

export class HashdropStack extends Stack {
  readonly api: HttpApi;
  readonly contents: TableV2;
  readonly files: TableV2;
  readonly bucket: BlobBucket;

  constructor(scope: Construct, id: string, props: HashdropStackProps = {}) {
    super(scope, id, props);
    // Log delivery is granted by bucket policy, not ACLs (the bucket enforces owner-only objects).
    // Context can only be set before the first child is added.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWSLambdaBasicExecutionRole only lets a function (ours, or CDK’s bucket-notification helper) write its logs.',
    });

    const data = new DataStores(this);
    this.contents = data.contents;
    this.files = data.files;
    this.bucket = data.bucket;
    this.api = new HashdropApi(this, {
      data,
      jwt: props.jwt ?? new UserPoolIssuer(this),
      throttleRateLimit: props.throttleRateLimit ?? 200,
      throttleBurstLimit: props.throttleBurstLimit ?? 400,
    }).httpApi;
    new ObjectCreatedPublisher(data);
    new Sweeper(this, data);

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
  }
}
