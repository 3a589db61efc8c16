/**
 * The IAM proxy in front of DynamoDB Local, with the real SDK client on one side and a stand-in for
 * DynamoDB Local on the other (no Java needed): signatures are verified, allowed calls pass
 * through unchanged, and refused ones come back as DynamoDB's own AccessDeniedException.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionId } from '#deploy/definitions';
import { AccessControl } from '#local/iam/access';
import { dynamoTableArn } from '#local/iam/actions';
import { FUNCTION_IDS, functionCredentials } from '#local/iam/credentials';
import { type DynamoDbProxy, startDynamoDbProxy } from '#local/iam/dynamodb-proxy';
import type { PolicyDocument } from '#local/iam/evaluator';
import type { FunctionPermissions, StackPolicies } from '#local/iam/policies';

const REGION = 'us-east-1';
const ADMIN = { accessKeyId: 'ADMIN', secretAccessKey: 'ADMIN-SECRET' };
const FILES = dynamoTableArn(REGION, 'files');
const CONTENTS = dynamoTableArn(REGION, 'contents');

/** GetUsage may read the Files table and nothing else; every other function may do nothing. */
const readFiles: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query'], Resource: [FILES, `${FILES}/index/*`] }],
};
const permissions = (functionId: FunctionId): FunctionPermissions => ({
  functionId,
  roleName: `Hashdrop-${functionId}Role`,
  principal: {
    arn: `arn:aws:sts::000000000000:assumed-role/Hashdrop-${functionId}Role/Hashdrop-${functionId}`,
    account: '000000000000',
    roleArn: `arn:aws:iam::000000000000:role/Hashdrop-${functionId}Role`,
  },
  identity: functionId === 'GetUsage' ? [readFiles] : [],
});
const policies: StackPolicies = {
  functions: Object.fromEntries(FUNCTION_IDS.map((id) => [id, permissions(id)])) as Record<FunctionId, FunctionPermissions>,
  bucketPolicies: {},
  proofSecretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:proof-LOCAL0',
};

/** What the stand-in for DynamoDB Local received. */
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
let upstream: Server;
let proxy: DynamoDbProxy;

beforeAll(async () => {
  upstream = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ Item: { userId: { S: 'alice' } } }));
    });
  });
  await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
  const target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  proxy = await startDynamoDbProxy({ target, access: new AccessControl(policies, ADMIN) });
});

afterAll(async () => {
  await proxy.close();
  await new Promise((done) => upstream.close(done));
});

const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new DynamoDBClient({ endpoint: proxy.endpoint, region: REGION, credentials, maxAttempts: 1 });
const getItem = (table: string) => new GetItemCommand({ TableName: table, Key: { userId: { S: 'alice' }, name: { S: 'a' } } });

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    const { name, message, $metadata } = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name, message, status: $metadata?.httpStatusCode };
  }
  throw new Error('the call succeeded');
}

describe('the DynamoDB IAM proxy', () => {
  it('passes an allowed call to DynamoDB Local unchanged, and its answer back', async () => {
    const before = received.length;
    const answer = await client(functionCredentials('GetUsage')).send(getItem('files'));
    expect(answer.Item).toEqual({ userId: { S: 'alice' } });
    const seen = received.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(JSON.parse(seen[0]?.body ?? '{}')).toMatchObject({ TableName: 'files' });
  });

  it('refuses what the function’s policy does not allow as DynamoDB does: 400 AccessDeniedException, AWS’s message', async () => {
    const before = received.length;
    const update = new UpdateItemCommand({
      TableName: 'contents',
      Key: { contentId: { S: 'c' } },
      UpdateExpression: 'SET refCount = :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
    });
    expect(await failure(client(functionCredentials('GetUsage')).send(update))).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message:
        'User: arn:aws:sts::000000000000:assumed-role/Hashdrop-GetUsageRole/Hashdrop-GetUsage is not authorized to perform: ' +
        `dynamodb:UpdateItem on resource: ${CONTENTS} because no identity-based policy allows the dynamodb:UpdateItem action`,
    });
    expect(received.length).toBe(before);
  });

  it('authorizes a transaction item by item: one item it may not touch refuses the whole call', async () => {
    const transaction = new TransactWriteItemsCommand({
      TransactItems: [
        {
          ConditionCheck: {
            TableName: 'contents',
            Key: { contentId: { S: 'c' } },
            ConditionExpression: 'attribute_exists(contentId)',
          },
        },
      ],
    });
    const refused = await failure(client(functionCredentials('GetUsage')).send(transaction));
    expect(refused.name).toBe('AccessDeniedException');
    expect(refused.message).toContain(`dynamodb:ConditionCheckItem on resource: ${CONTENTS}`);
  });

  it('refuses a wrong signature and an unknown key as DynamoDB does', async () => {
    const { accessKeyId } = functionCredentials('GetUsage');
    expect(await failure(client({ accessKeyId, secretAccessKey: 'not-the-secret' }).send(getItem('files')))).toMatchObject({
      name: 'InvalidSignatureException',
      status: 400,
    });
    expect(await failure(client({ accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' }).send(getItem('files')))).toMatchObject({
      name: 'UnrecognizedClientException',
      status: 400,
    });
  });

  it('lets the admin key do anything, as the account owner', async () => {
    const answer = await client(ADMIN).send(getItem('contents'));
    expect(answer.Item).toBeDefined();
  });
});
