/**
 * What AWS authorizes for each API call hashdrop makes: the IAM action(s) and the resource ARN(s)
 * it checks, from the Service Authorization Reference ("Actions, resources, and condition keys for
 * Amazon S3 / Amazon DynamoDB / AWS Secrets Manager") and the services' guides. An operation
 * absent from these tables is checked as `<service>:<Operation>`, which is what AWS does for most
 * operations; the tables list the ones where the names differ or one call needs several actions.
 */

export interface Authorization {
  readonly action: string;
  readonly resource: string;
}

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_PARTITION = 'aws';

// ---------------------------------------------------------------------------------------- S3

/**
 * S3 operation → IAM actions, for an object (`arn:aws:s3:::bucket/key`) or the bucket itself.
 * Notable: no `s3:HeadObject`, `s3:UploadPart`, `s3:CreateMultipartUpload` or
 * `s3:CompleteMultipartUpload` exist: they are all `s3:GetObject`/`s3:PutObject`; ListParts is
 * `s3:ListMultipartUploadParts`; GetObjectAttributes needs both `s3:GetObject` and
 * `s3:GetObjectAttributes` on an unversioned bucket (GetObjectAttributes API reference).
 */
export const S3_ACTIONS: Readonly<Record<string, { readonly actions: readonly string[]; readonly on: 'object' | 'bucket' }>> = {
  PutObject: { actions: ['s3:PutObject'], on: 'object' },
  GetObject: { actions: ['s3:GetObject'], on: 'object' },
  HeadObject: { actions: ['s3:GetObject'], on: 'object' },
  DeleteObject: { actions: ['s3:DeleteObject'], on: 'object' },
  CreateMultipartUpload: { actions: ['s3:PutObject'], on: 'object' },
  UploadPart: { actions: ['s3:PutObject'], on: 'object' },
  CompleteMultipartUpload: { actions: ['s3:PutObject'], on: 'object' },
  AbortMultipartUpload: { actions: ['s3:AbortMultipartUpload'], on: 'object' },
  ListParts: { actions: ['s3:ListMultipartUploadParts'], on: 'object' },
  GetObjectAttributes: { actions: ['s3:GetObject', 's3:GetObjectAttributes'], on: 'object' },
  ListObjectsV2: { actions: ['s3:ListBucket'], on: 'bucket' },
  ListObjects: { actions: ['s3:ListBucket'], on: 'bucket' },
  HeadBucket: { actions: ['s3:ListBucket'], on: 'bucket' },
  ListMultipartUploads: { actions: ['s3:ListBucketMultipartUploads'], on: 'bucket' },
  GetBucketLocation: { actions: ['s3:GetBucketLocation'], on: 'bucket' },
};

export const s3BucketArn = (bucket: string): string => `arn:${LOCAL_PARTITION}:s3:::${bucket}`;
export const s3ObjectArn = (bucket: string, key: string): string => `${s3BucketArn(bucket)}/${key}`;

/** What S3 checks for `operation` on `bucket` (and `key`, for an object operation). */
export function s3Authorizations(operation: string, bucket: string, key?: string): Authorization[] {
  const entry = S3_ACTIONS[operation];
  if (!entry) throw new Error(`no IAM mapping for S3 ${operation}: add it to S3_ACTIONS`);
  if (entry.on === 'object' && key === undefined) throw new Error(`S3 ${operation} needs a key`);
  const resource = entry.on === 'object' ? s3ObjectArn(bucket, key ?? '') : s3BucketArn(bucket);
  return entry.actions.map((action) => ({ action, resource }));
}

// ---------------------------------------------------------------------------------- DynamoDB

export const dynamoTableArn = (region: string, table: string): string =>
  `arn:${LOCAL_PARTITION}:dynamodb:${region}:${LOCAL_ACCOUNT}:table/${table}`;

/** A Query or Scan of an index is authorized on the index (`table/T/index/I`), not the table. */
export const dynamoIndexArn = (region: string, table: string, index: string): string =>
  `${dynamoTableArn(region, table)}/index/${index}`;

type JsonObject = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

function stringField(body: JsonObject, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * TransactWriteItems has no IAM action of its own: each item is authorized as the single-item
 * operation it performs ("Using IAM with DynamoDB transactions"): Put → PutItem, Update →
 * UpdateItem, Delete → DeleteItem, ConditionCheck → ConditionCheckItem; TransactGetItems' Get →
 * GetItem.
 */
const TRANSACT_ITEM_ACTIONS: Readonly<Record<string, string>> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
  Get: 'dynamodb:GetItem',
};

/** Operations on no table: authorized on every resource (`*`). */
const ACCOUNT_LEVEL = new Set(['ListTables', 'DescribeLimits', 'DescribeEndpoints', 'ListBackups', 'ListGlobalTables']);

/**
 * What DynamoDB checks for the JSON request `body` of `operation` (the `X-Amz-Target` suffix):
 * one authorization per item for the transactions, one per table for the batch operations.
 */
export function dynamoAuthorizations(operation: string, body: unknown, region: string): Authorization[] {
  const request = isObject(body) ? body : {};
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    const items = Array.isArray(request.TransactItems) ? request.TransactItems : [];
    return items.flatMap((item: unknown) => {
      if (!isObject(item)) return [];
      return Object.entries(item).flatMap(([kind, detail]) => {
        const action = TRANSACT_ITEM_ACTIONS[kind];
        const table = isObject(detail) ? stringField(detail, 'TableName') : undefined;
        if (!action || !table) return [];
        return [{ action, resource: dynamoTableArn(region, table) }];
      });
    });
  }
  if (operation === 'BatchWriteItem' || operation === 'BatchGetItem') {
    const tables = isObject(request.RequestItems) ? Object.keys(request.RequestItems) : [];
    return tables.map((table) => ({ action: `dynamodb:${operation}`, resource: dynamoTableArn(region, table) }));
  }
  const action = `dynamodb:${operation}`;
  if (ACCOUNT_LEVEL.has(operation)) return [{ action, resource: '*' }];
  const table = stringField(request, 'TableName') ?? stringField(request, 'TableArn');
  if (!table) return [{ action, resource: '*' }];
  const tableArn = table.startsWith('arn:') ? table : dynamoTableArn(region, table);
  const index = stringField(request, 'IndexName');
  if ((operation === 'Query' || operation === 'Scan') && index) return [{ action, resource: `${tableArn}/index/${index}` }];
  return [{ action, resource: tableArn }];
}

// --------------------------------------------------------------------------- Secrets Manager

/** GetSecretValue is authorized on the secret's ARN (Secrets Manager: "Authentication and access control"). */
export function secretsManagerAuthorizations(operation: 'GetSecretValue', secretArn: string): Authorization[] {
  return [{ action: `secretsmanager:${operation}`, resource: secretArn }];
}
