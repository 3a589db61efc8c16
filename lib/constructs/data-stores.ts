import { type CfnElement, RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import { type Attribute, AttributeType, Billing, ProjectionType, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import {
  BUCKET,
  CONTENTS_TABLE,
  FILES_TABLE,
  type KeyAttribute,
  LIMITS_TABLE,
  ROUTES,
  type RouteAccess,
  SETTING_ENV_VARS,
  type TableDefinition,
} from '#deploy/definitions';
import { AccessLogBucket } from './access-log-bucket.ts';
import { BlobBucket } from './blob-bucket.ts';
import { HandlerFunction, type HandlerFunctionProps } from './handler-function.ts';

const attribute = (key: KeyAttribute): Attribute => ({
  name: key.name,
  type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
});

/** A table of deploy/definitions.ts: on demand, point-in-time recovery, never deleted with the stack. */
function catalogTable(scope: Construct, definition: TableDefinition): TableV2 {
  return new TableV2(scope, definition.id, {
    partitionKey: attribute(definition.partitionKey),
    ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
    billing: Billing.onDemand(),
    ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
    ...(definition.stream === 'NEW_AND_OLD_IMAGES' ? { dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES } : {}),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    globalSecondaryIndexes: definition.indexes.map((index) => ({
      indexName: index.indexName,
      partitionKey: attribute(index.partitionKey),
      ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
      ...(index.projection === 'KEYS_ONLY' ? { projectionType: ProjectionType.KEYS_ONLY } : {}),
    })),
  });
}

/**
 * The per-user counters (LIMITS_TABLE): on demand, and neither point-in-time recovery nor
 * retention, unlike the catalog's tables: every item expires within its window, so there is
 * nothing to restore, and a deleted stack leaves nothing of value behind.
 */
function counterTable(scope: Construct, definition: TableDefinition): TableV2 {
  return new TableV2(scope, definition.id, {
    partitionKey: attribute(definition.partitionKey),
    ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
    billing: Billing.onDemand(),
    ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/** Settings the stack takes from its context and gives every function (deploy/definitions.ts SETTING_ENV_VARS). */
export interface StackSettings {
  readonly defaultQuotaBytes: number;
  readonly requestsPerMinute: number;
}

export interface DataFunctionProps extends Omit<HandlerFunctionProps, 'environment'> {
  /** What the function may touch; it is granted exactly this. */
  readonly access: RouteAccess;
  /** Variables besides those naming the tables and the bucket. */
  readonly environment?: Record<string, string>;
}

/**
 * What the functions work on: the Contents and Files tables, the blob bucket (with its access
 * logs), the variables that name them to a function, and least-privilege grants on them.
 * Built in the stack's own scope (see hashdrop-stack.ts).
 */
export class DataStores {
  readonly contents: TableV2;
  readonly files: TableV2;
  /** Per-user request counters of the API functions. */
  readonly limits: TableV2;
  readonly bucket: BlobBucket;
  /** How every function finds the tables and the bucket, and the settings the stack was given. */
  readonly environment: Record<string, string>;

  constructor(
    private readonly stack: Stack,
    settings: StackSettings,
  ) {
    this.contents = catalogTable(stack, CONTENTS_TABLE);
    this.files = catalogTable(stack, FILES_TABLE);
    this.limits = counterTable(stack, LIMITS_TABLE);
    this.bucket = new BlobBucket(stack, BUCKET.id, { accessLogs: new AccessLogBucket(stack) });
    this.environment = {
      [CONTENTS_TABLE.envVar]: this.contents.tableName,
      [FILES_TABLE.envVar]: this.files.tableName,
      [BUCKET.envVar]: this.bucket.bucketName,
      [SETTING_ENV_VARS.defaultQuotaBytes]: String(settings.defaultQuotaBytes),
      [SETTING_ENV_VARS.requestsPerMinute]: String(settings.requestsPerMinute),
    };
  }

  /**
   * A function that finds the data through its environment and may touch exactly what `access`
   * declares. An API function (one of ROUTES) also counts its users' requests in the Limits table
   * (lambdas/http.ts): it gets the table's name and may read and update its items, nothing more.
   */
  handlerFunction(id: string, { access, environment, ...props }: DataFunctionProps): HandlerFunction {
    const counts = ROUTES.some((route) => route.id === id);
    const fn = new HandlerFunction(this.stack, id, {
      ...props,
      environment: {
        ...this.environment,
        ...(counts ? { [LIMITS_TABLE.envVar]: this.limits.tableName } : {}),
        ...environment,
      },
    });
    this.grant(fn, access);
    if (counts) this.limits.grant(fn, 'dynamodb:UpdateItem', 'dynamodb:GetItem');
    return fn;
  }

  /** Least privilege from a declared access: these tables, and only `blobs/*` objects. */
  grant(fn: IFunction, access: RouteAccess): void {
    for (const [table, level] of [
      [this.contents, access.contents],
      [this.files, access.files],
    ] as const) {
      if (level === 'readwrite') table.grantReadWriteData(fn);
      else if (level === 'read') table.grantReadData(fn);
      if (level !== 'none') this.acknowledgeWildcard(fn, `<${this.logicalIdOf(table)}.Arn>/index/*`, 'the table’s own indexes');
    }
    if (access.bucket.length > 0) {
      this.acknowledgeWildcard(fn, `<${this.logicalIdOf(this.bucket)}.Arn>/${BUCKET.blobPrefix}*`, 'objects under blobs/ only');
    }
    const blobs = this.bucket.arnForObjects(`${BUCKET.blobPrefix}*`);
    const actions = new Set<string>();
    // Presigned PUT/UploadPart URLs carry the signer's rights; CreateMultipartUpload and
    // CompleteMultipartUpload are authorised by s3:PutObject too.
    if (access.bucket.includes('put')) {
      actions.add('s3:PutObject');
      actions.add('s3:AbortMultipartUpload');
      // ListParts (a resumed upload asks which parts S3 holds) is authorized by this action, not
      // by s3:PutObject: without it a resume answers 500 in AWS.
      actions.add('s3:ListMultipartUploadParts');
    }
    if (access.bucket.includes('read')) actions.add('s3:GetObject');
    if (access.bucket.includes('delete')) actions.add('s3:DeleteObject');
    if (actions.size > 0) fn.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [blobs] }));
    if (access.bucket.includes('read')) {
      // Without ListBucket, S3 answers HEAD of a missing key with 403 instead of 404.
      fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));
    }
  }

  private logicalIdOf(construct: Construct): string {
    return this.stack.getLogicalId(construct.node.defaultChild as CfnElement);
  }

  /** cdk-nag flags every resource wildcard; these are the ones the design needs, each with its reason. */
  private acknowledgeWildcard(fn: IFunction, resource: string, scope: string): void {
    Validations.of(fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${resource}]`,
      reason: `Scoped to ${scope}; no wildcard action is granted (asserted by the template tests).`,
    });
  }
}
