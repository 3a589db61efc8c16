/**
 * hashdrop on AWS: an HTTP API with a JWT authorizer in front of one Lambda per route, the
 * Contents and Files tables, the blob bucket whose ObjectCreated events publish contents, and
 * an hourly sweeper.
 * Routes, tables and the bucket prefix come from core/definitions.ts, as in the local runner.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { type CfnStage, CorsHttpMethod, HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccountRecovery, UserPool } from 'aws-cdk-lib/aws-cognito';
import { type Attribute, AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { EventType } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import type { Construct } from 'constructs';
import {
  BUCKET,
  CONTENTS_TABLE,
  DEFAULTS,
  FILES_TABLE,
  type KeyAttribute,
  OBJECT_CREATED,
  ROUTES,
  type RouteAccess,
  SWEEPER,
  type TableDefinition,
} from '#core/definitions';
import { BlobBucket } from './constructs/blob-bucket.ts';
import { HandlerFunction } from './constructs/handler-function.ts';

export interface HashdropStackProps extends StackProps {
  /**
   * An OIDC issuer (and audience) whose tokens the API accepts. Without it, the stack creates a
   * Cognito user pool and app client for the apps to sign users in with.
   */
  readonly jwt?: { readonly issuer: string; readonly audience: string[] };
  /** Steady-state requests per second across the API. @default 200 */
  readonly throttleRateLimit?: number;
  /** Burst of requests above the rate. @default 400 */
  readonly throttleBurstLimit?: number;
}

const attribute = (key: KeyAttribute): Attribute => ({
  name: key.name,
  type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
});

export class HashdropStack extends Stack {
  readonly api: HttpApi;
  readonly contents: TableV2;
  readonly files: TableV2;
  readonly bucket: BlobBucket;

  constructor(scope: Construct, id: string, props: HashdropStackProps = {}) {
    super(scope, id, props);

    this.contents = this.table(CONTENTS_TABLE);
    this.files = this.table(FILES_TABLE);
    this.bucket = new BlobBucket(this, BUCKET.id);

    const environment = {
      [CONTENTS_TABLE.envVar]: this.contents.tableName,
      [FILES_TABLE.envVar]: this.files.tableName,
      [BUCKET.envVar]: this.bucket.bucketName,
    };

    const jwt = props.jwt ?? this.userPool();
    this.api = new HttpApi(this, 'Api', {
      description: 'hashdrop: deduplicating file uploads',
      defaultAuthorizer: new HttpJwtAuthorizer('Jwt', jwt.issuer, { jwtAudience: jwt.audience }),
      corsPreflight: {
        allowOrigins: ['*'],
        allowHeaders: ['authorization', 'content-type'],
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.PUT, CorsHttpMethod.PATCH, CorsHttpMethod.DELETE],
        maxAge: Duration.hours(1),
      },
    });
    const stage = this.api.defaultStage?.node.defaultChild as CfnStage | undefined;
    stage?.addPropertyOverride('DefaultRouteSettings', {
      ThrottlingRateLimit: props.throttleRateLimit ?? 200,
      ThrottlingBurstLimit: props.throttleBurstLimit ?? 400,
    });

    for (const route of ROUTES) {
      const fn = new HandlerFunction(this, route.id, { entry: route.entry, environment });
      this.grant(fn, route.access);
      this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.id}Integration`, fn),
      });
    }

    const objectCreated = new HandlerFunction(this, OBJECT_CREATED.id, {
      entry: OBJECT_CREATED.entry,
      environment,
      // Where a store keeps no checksum, verification streams the whole object.
      timeout: Duration.minutes(15),
    });
    this.grant(objectCreated, { contents: 'readwrite', files: 'readwrite', bucket: ['put', 'read', 'delete'] });
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(objectCreated), {
      prefix: BUCKET.blobPrefix,
    });

    const sweeper = new HandlerFunction(this, SWEEPER.id, {
      entry: SWEEPER.entry,
      environment,
      // One run walks every candidate; a large backlog is finished by the next run.
      timeout: Duration.minutes(15),
    });
    this.grant(sweeper, SWEEPER.access);
    new Rule(this, 'SweepSchedule', {
      description: 'hashdrop: end abandoned uploads, delete unreferenced contents',
      schedule: Schedule.rate(Duration.seconds(DEFAULTS.sweepIntervalSeconds)),
      targets: [new LambdaFunction(sweeper, { retryAttempts: 2 })],
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
  }

  private table(definition: TableDefinition): TableV2 {
    return new TableV2(this, definition.id, {
      partitionKey: attribute(definition.partitionKey),
      ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      globalSecondaryIndexes: definition.indexes.map((index) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
      })),
    });
  }

  private userPool(): { issuer: string; audience: string[] } {
    const pool = new UserPool(this, 'Users', {
      selfSignUpEnabled: true,
      signInAliases: { email: true },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      passwordPolicy: { minLength: 12, requireSymbols: false },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const client = pool.addClient('AppClient', {
      authFlows: { userSrp: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
    });
    new CfnOutput(this, 'UserPoolId', { value: pool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: client.userPoolClientId });
    return {
      issuer: `https://cognito-idp.${this.region}.amazonaws.com/${pool.userPoolId}`,
      audience: [client.userPoolClientId],
    };
  }

  /** Least privilege from a route's declared access: these tables, and only `blobs/*` objects. */
  private grant(fn: IFunction, access: RouteAccess): void {
    for (const [table, level] of [
      [this.contents, access.contents],
      [this.files, access.files],
    ] as const) {
      if (level === 'readwrite') table.grantReadWriteData(fn);
      else if (level === 'read') table.grantReadData(fn);
    }
    const blobs = this.bucket.arnForObjects(`${BUCKET.blobPrefix}*`);
    const actions = new Set<string>();
    // Presigned PUT/UploadPart URLs carry the signer's rights; CreateMultipartUpload and
    // CompleteMultipartUpload are authorised by s3:PutObject too.
    if (access.bucket.includes('put')) {
      actions.add('s3:PutObject');
      actions.add('s3:AbortMultipartUpload');
    }
    if (access.bucket.includes('read')) actions.add('s3:GetObject');
    if (access.bucket.includes('delete')) actions.add('s3:DeleteObject');
    if (actions.size > 0) fn.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [blobs] }));
    if (access.bucket.includes('read')) {
      // Without ListBucket, S3 answers HEAD of a missing key with 403 instead of 404.
      fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));
    }
  }
}
