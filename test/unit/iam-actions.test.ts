/**
 * The table from each AWS call hashdrop makes to what AWS authorizes for it (Service Authorization
 * Reference, "Actions, resources, and condition keys for Amazon S3 / Amazon DynamoDB"; DynamoDB
 * developer guide, "Using IAM with DynamoDB transactions").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dynamoAuthorizations, S3_ACTIONS, s3Authorizations } from '#local/iam/actions';

const ROOT = resolve(import.meta.dirname, '..', '..');
const REGION = 'us-east-1';
const table = (name: string) => `arn:aws:dynamodb:${REGION}:000000000000:table/${name}`;

/** The `new XCommand(` of a package in every source file of `folders`. */
function commandsFrom(folders: readonly string[], from: string): Set<string> {
  const found = new Set<string>();
  for (const folder of folders) {
    for (const file of readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(join(ROOT, folder, file), 'utf8');
      const imports = [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'([^']+)'/g)].filter(([, , module]) => module === from);
      const names = new Set(
        imports.flatMap(([, list = '']) => list.split(',').map((name) => name.replace(/^\s*type\s+/, '').trim())),
      );
      for (const [, command = ''] of text.matchAll(/new (\w+)Command\(/g)) if (names.has(`${command}Command`)) found.add(command);
    }
  }
  return found;
}

describe('S3', () => {
  it('maps every S3 command the functions send to what S3 checks', () => {
    const used = commandsFrom(['adapters', 'domain', 'lambdas'], '@aws-sdk/client-s3');
    expect(used.size).toBeGreaterThan(5);
    for (const command of used) expect(S3_ACTIONS, command).toHaveProperty(command);
  });

  it('checks what the Service Authorization Reference lists, which is not always the operation’s name', () => {
    const key = 'blobs/abc/1';
    const object = `arn:aws:s3:::bucket/${key}`;
    expect(s3Authorizations('ListParts', 'bucket', key)).toEqual([{ action: 's3:ListMultipartUploadParts', resource: object }]);
    expect(s3Authorizations('HeadObject', 'bucket', key)).toEqual([{ action: 's3:GetObject', resource: object }]);
    for (const operation of ['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload']) {
      expect(s3Authorizations(operation, 'bucket', key), operation).toEqual([{ action: 's3:PutObject', resource: object }]);
    }
    expect(s3Authorizations('AbortMultipartUpload', 'bucket', key)).toEqual([
      { action: 's3:AbortMultipartUpload', resource: object },
    ]);
    expect(s3Authorizations('GetObjectAttributes', 'bucket', key).map((a) => a.action)).toEqual([
      's3:GetObject',
      's3:GetObjectAttributes',
    ]);
    expect(s3Authorizations('ListObjectsV2', 'bucket')).toEqual([{ action: 's3:ListBucket', resource: 'arn:aws:s3:::bucket' }]);
    expect(() => s3Authorizations('PutBucketPolicy', 'bucket')).toThrow(/no IAM mapping/);
  });
});

describe('DynamoDB', () => {
  it('authorizes single-item operations on the table', () => {
    for (const operation of ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan']) {
      expect(dynamoAuthorizations(operation, { TableName: 'files' }, REGION), operation).toEqual([
        { action: `dynamodb:${operation}`, resource: table('files') },
      ]);
    }
  });

  it('authorizes a Query or Scan of an index on the index’s ARN', () => {
    expect(dynamoAuthorizations('Query', { TableName: 'files', IndexName: 'pendingByContent' }, REGION)).toEqual([
      { action: 'dynamodb:Query', resource: `${table('files')}/index/pendingByContent` },
    ]);
  });

  it('authorizes TransactWriteItems item by item as PutItem, UpdateItem, DeleteItem and ConditionCheckItem', () => {
    const body = {
      TransactItems: [
        { Put: { TableName: 'files', Item: {} } },
        { Update: { TableName: 'contents', Key: {} } },
        { Delete: { TableName: 'files', Key: {} } },
        { ConditionCheck: { TableName: 'contents', Key: {} } },
      ],
    };
    expect(dynamoAuthorizations('TransactWriteItems', body, REGION)).toEqual([
      { action: 'dynamodb:PutItem', resource: table('files') },
      { action: 'dynamodb:UpdateItem', resource: table('contents') },
      { action: 'dynamodb:DeleteItem', resource: table('files') },
      { action: 'dynamodb:ConditionCheckItem', resource: table('contents') },
    ]);
    expect(dynamoAuthorizations('TransactGetItems', { TransactItems: [{ Get: { TableName: 'files' } }] }, REGION)).toEqual([
      { action: 'dynamodb:GetItem', resource: table('files') },
    ]);
  });

  it('authorizes the batch operations once per table they touch', () => {
    const body = { RequestItems: { files: [], contents: [] } };
    expect(dynamoAuthorizations('BatchWriteItem', body, REGION)).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: table('files') },
      { action: 'dynamodb:BatchWriteItem', resource: table('contents') },
    ]);
  });

  it('authorizes operations on no table on every resource', () => {
    expect(dynamoAuthorizations('ListTables', {}, REGION)).toEqual([{ action: 'dynamodb:ListTables', resource: '*' }]);
  });
});
