/**
 * IAM is enforced locally, from the synthesized stack: a second local stack runs with the stack's
 * policies minus one grant, and the route that needs it fails there as it would in AWS (a 500
 * whose logged cause is the SDK's AccessDeniedException), while the shared stack, with every
 * grant, serves the same request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FILES_TABLE } from '#deploy/definitions';
import { functionCredentials } from '#local/iam/credentials';
import { stackPolicies, synthesizeTemplate, withoutGrant } from '#local/iam/policies';
import { type LocalStack, startLocalStack } from '#local/stack';
import { clientFor, newUser } from '../helpers.ts';

let missing: LocalStack;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hashdrop-iam-'));
  // What `cdk deploy` would deploy if lib/ forgot that ListFiles queries the Files table.
  const template = withoutGrant(await synthesizeTemplate(), 'dynamodb:Query', 'ListFiles');
  missing = await startLocalStack({ dataDir, persist: false, policies: await stackPolicies(template) });
});

afterAll(async () => {
  await missing?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The unhandled errors a handler logs while `run` runs (lambdas/http.ts logs them as JSON). */
async function loggedErrors(run: () => Promise<unknown>): Promise<{ error?: string; detail?: string }[]> {
  const logged: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
    logged.push(String(line));
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return logged.flatMap((line) => {
    try {
      return [JSON.parse(line) as { error?: string; detail?: string }];
    } catch {
      return [];
    }
  });
}

describe('IAM, enforced locally from the synthesized stack', () => {
  it('with every grant, GET /v1/files lists the caller’s files', async () => {
    expect(await clientFor(newUser('lister')).listFiles()).toMatchObject({ files: [] });
  });

  it('with dynamodb:Query missing from ListFiles’ role, GET /v1/files answers 500, caused by AccessDeniedException', async () => {
    const token = await missing.mintToken(newUser('lister'));
    let status = 0;
    const errors = await loggedErrors(async () => {
      const response = await fetch(`${missing.info.endpoint}/v1/files`, { headers: { authorization: `Bearer ${token}` } });
      status = response.status;
    });
    expect(status).toBe(500);
    expect(errors).toContainEqual(
      expect.objectContaining({
        error: 'AccessDeniedException',
        detail: expect.stringMatching(
          /^User: arn:aws:sts::000000000000:assumed-role\/Hashdrop-ListFilesServiceRole\w+\/Hashdrop-ListFiles is not authorized to perform: dynamodb:Query on resource: arn:aws:dynamodb:us-east-1:000000000000:table\/hashdrop-files because no identity-based policy allows the dynamodb:Query action$/,
        ),
      }),
    );
    // The other routes keep what they were granted.
    const usage = await fetch(`${missing.info.endpoint}/v1/usage`, { headers: { authorization: `Bearer ${token}` } });
    expect(usage.status).toBe(200);
  });

  it('refuses the function’s own SDK calls with the error DynamoDB gives', async () => {
    const asListFiles = new DynamoDBClient({
      endpoint: missing.info.dynamodbEndpoint,
      region: missing.info.region,
      credentials: functionCredentials('ListFiles'),
    });
    const query = new QueryCommand({
      TableName: FILES_TABLE.localName,
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': { S: 'nobody' } },
    });
    await expect(asListFiles.send(query)).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    asListFiles.destroy();
  });
});
