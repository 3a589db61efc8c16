/**
 * IAM is enforced locally, from the synthesized stack: a second local stack runs with the stack's
 * policies minus two grants, and the routes that need them fail there as they would in AWS (a 500
 * whose logged cause is the SDK's AccessDenied error), while the shared stack, with every grant,
 * serves the same requests. One of the two is the bug the local IAM was built to catch: a resumed
 * upload lists the parts S3 holds (ListParts), which S3 authorizes as s3:ListMultipartUploadParts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentTelemetry } from '#adapters/telemetry';
import { FILES_TABLE } from '#deploy/definitions';
import { functionCredentials } from '#local/iam/credentials';
import { stackPolicies, synthesizeTemplate, withoutGrant } from '#local/iam/policies';
import { type LocalStack, startLocalStack } from '#local/stack';
import { MiB } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import { ApiError, HashdropClient, type UploadRequest } from '#sdk/api';
import { hashBuffer } from '#sdk/hashing';
import { clientFor, newUser, randomFile, stack } from '../helpers.ts';

let missing: LocalStack;
let dataDir: string;
/** What the `missing` stack's handlers log, kept (and printed nowhere). */
const logged = silentTelemetry();

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hashdrop-iam-'));
  // What `cdk deploy` would deploy if lib/ forgot that ListFiles queries the Files table, and
  // without the grant that resumes were missing until the local IAM found it.
  const template = withoutGrant(
    withoutGrant(await synthesizeTemplate(), 'dynamodb:Query', 'ListFiles'),
    's3:ListMultipartUploadParts',
    'CreateUpload',
  );
  // Its own IAM proxy in front of the shared stack's DynamoDB: the stricter of the two decides.
  missing = await startLocalStack({
    dataDir,
    persist: false,
    policies: await stackPolicies(template),
    dynamodbTarget: stack.dynamodbEndpoint,
    telemetry: logged,
  });
});

afterAll(async () => {
  await missing?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts a two-part upload and sends its first part, so that asking again resumes it. */
async function uploadFirstPart(client: HashdropClient): Promise<UploadRequest> {
  const { bytes } = randomFile(8 * MiB + 1000);
  const tree = hashBuffer(bytes);
  const request = {
    name: 'movie.mp4',
    size: bytes.length,
    contentId: tree.contentId,
    blockDigests: tree.blockDigests.map(bytesToHex),
  };
  const started = await client.requestUpload(request);
  if (started.status !== 'upload' || started.permit.mode !== 'multipart')
    throw new Error(`expected a multipart permit: ${started.status}`);
  const [part] = started.permit.parts;
  if (!part) throw new Error('no permit for part 1');
  const sent = await fetch(part.url, {
    method: part.method,
    headers: part.headers,
    // A copy on its own ArrayBuffer: what fetch's BodyInit type asks for.
    body: new Uint8Array(bytes.subarray(0, started.permit.blockSize)),
  });
  expect(sent.status).toBe(200);
  return request;
}

/**
 * The unhandled errors the `missing` stack's handlers log while `run` runs: the edge's `unhandled
 * error` line (lambdas/http.ts, through the function's Telemetry) with the error's name and message.
 */
async function loggedErrors(run: () => Promise<unknown>): Promise<{ error?: unknown; detail?: unknown; function?: unknown }[]> {
  const from = logged.lines.length;
  await run();
  return logged.lines
    .slice(from)
    .filter((line) => line.level === 'error' && line.message === 'unhandled error')
    .map((line) => line.fields);
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
        function: 'ListFiles',
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

  it('with every grant, asking again for an interrupted multipart upload resumes it: the parts S3 holds are listed', async () => {
    const client = clientFor(newUser('mobile'));
    const request = await uploadFirstPart(client);
    const resumed = await client.requestUpload(request);
    expect(resumed).toMatchObject({ status: 'upload', permit: { uploadedParts: [expect.objectContaining({ partNumber: 1 })] } });
  });

  it('without s3:ListMultipartUploadParts (the stack before the fix), the same resume answers 500, caused by AccessDenied', async () => {
    const user = newUser('mobile');
    const client = new HashdropClient({ endpoint: missing.info.endpoint, token: () => missing.mintToken(user) });
    const request = await uploadFirstPart(client);
    let refused: unknown;
    const errors = await loggedErrors(async () => {
      refused = await client.requestUpload(request).catch((error: unknown) => error);
    });
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 500 });
    expect(errors).toContainEqual(expect.objectContaining({ error: 'AccessDenied', function: 'CreateUpload' }));
  });
});
