/** Integration-test plumbing: clients of the running local stack and direct views of its stores. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';

export { newUser, randomFile, scratchPath } from './support/scratch.ts';

import { createDeps } from '#adapters/deps';
import { type FunctionId, RESERVED_NAME_PREFIX } from '#deploy/definitions';
import type { ContentRecord, Deps, FileRecord, Usage } from '#domain/ports';
import { mintToken } from '#local/auth';
import { handlerConfig, LOCAL_CREDENTIALS } from '#local/stack';
import { HashdropClient } from '#sdk/api';

export const stack = inject('stack');

// The admin key (allowed everything, as the account owner in the console): tests look at the stores directly.
const credentials = LOCAL_CREDENTIALS;

export const s3 = new S3Client({
  endpoint: stack.s3Endpoint,
  region: stack.region,
  credentials,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

export const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: stack.region, credentials }),
);

/** The stores a function of the test stack runs with, for tests that call domain code or a handler directly. */
export const stackDeps = (functionId: FunctionId = 'CreateUpload'): Deps =>
  createDeps(handlerConfig(stack, functionId, { attemptLeaseSeconds: stack.attemptLeaseSeconds }));

export function token(userId: string): Promise<string> {
  return mintToken(stack.signingKey, userId);
}

export function clientFor(userId: string): HashdropClient {
  let cached: Promise<string> | undefined;
  return new HashdropClient({ endpoint: stack.endpoint, token: () => (cached ??= token(userId)) });
}

export async function objectKeys(prefix: string): Promise<string[]> {
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: prefix }));
  return Contents.map((object) => object.Key ?? '');
}

export async function contentItem(contentId: string): Promise<ContentRecord | undefined> {
  const { Item } = await db.send(new GetCommand({ TableName: stack.tables.contents, Key: { contentId }, ConsistentRead: true }));
  return Item as ContentRecord | undefined;
}

export async function fileItem(userId: string, name: string): Promise<FileRecord | undefined> {
  const { Item } = await db.send(new GetCommand({ TableName: stack.tables.files, Key: { userId, name }, ConsistentRead: true }));
  return Item as FileRecord | undefined;
}

export async function filesOf(userId: string): Promise<FileRecord[]> {
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: stack.tables.files,
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return (Items as FileRecord[]).filter((item) => !String(item.name).startsWith(RESERVED_NAME_PREFIX));
}

/** A user's request counters in the Limits table (the request budget), as stored. */
export async function countersOf(userId: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: stack.tables.limits,
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return Items;
}

/** Raw HTTP against the API, for inputs the typed client would never send. */
export async function rawRequest(
  method: string,
  path: string,
  options: { userId?: string; body?: string; authorization?: string } = {},
): Promise<{ status: number; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const authorization = options.authorization ?? (options.userId ? `Bearer ${await token(options.userId)}` : undefined);
  const response = await fetch(`${stack.endpoint}${path}`, {
    method,
    headers: {
      ...(authorization ? { authorization } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

/**
 * The domain's own stores on the test stack, for what no route does (setting a user's quota), with
 * the admin key: an operator acting as the account owner, not one of the functions.
 */
export function testDeps(): Deps {
  const config = handlerConfig(stack, 'CreateUpload', { attemptLeaseSeconds: stack.attemptLeaseSeconds });
  return createDeps({
    ...config,
    aws: { ...config.aws, credentials: LOCAL_CREDENTIALS },
    proofSecret: { file: stack.proofSecretFile },
  });
}

/** Counted files and usage straight from the tables, to check the usage item against. */
export async function usageItem(userId: string): Promise<Usage> {
  return testDeps().catalog.getUsage(userId);
}
