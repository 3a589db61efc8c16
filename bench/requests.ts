/**
 * 4. Request path: POST /v1/uploads latency (miss; hit = challenge + proof) with 32 concurrent
 *    clients vs the bare DynamoDB Local (and S3) operations that path needs, issued directly.
 * 5. Race: 100 concurrent uploads of one new file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { USAGE_ITEM_NAME } from '#deploy/definitions';
import { LOCAL_CREDENTIALS } from '#local/stack';
import { bytesToHex } from '#protocol/encoding';
import { answerChallenge } from '#sdk/files';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';
import { fmt, pool, quantile, timed, writeRandomFile } from './measure.ts';
import type { Row } from './run.ts';
import { type BenchStack, s3ClientOf } from './stack-process.ts';
import { clientOf } from './uploads.ts';

const CLIENTS = 32;
const REQUESTS = 640;

function summary(latencies: number[]) {
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), count: latencies.length };
}

export async function benchRequestPath(stack: BenchStack, dir: string) {
  const { info } = stack;
  // The admin key (allowed everything, as the account owner in the console), through the same
  // IAM proxy the handlers' calls pass, so the bare operations compare like for like.
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: info.dynamodbEndpoint, region: info.region, credentials: LOCAL_CREDENTIALS }),
  );
  const s3 = s3ClientOf(stack);

  // One stored content for the hits.
  const seedPath = join(dir, 'seed.bin');
  await writeRandomFile(seedPath, 1024 * 1024);
  const seed = await putFile(clientOf(stack, 'bench-seed'), seedPath, { name: 'seed.bin' });
  const seedDigests = hashBuffer(readFileSync(seedPath)).blockDigests.map(bytesToHex);
  const users = Array.from({ length: CLIENTS }, (_, index) => `bench-user-${index}`);
  const clients = users.map((user) => clientOf(stack, user));
  await Promise.all(clients.map((client) => client.listFiles())); // tokens minted, connections open

  const indices = Array.from({ length: REQUESTS }, (_, index) => index);
  const missLatencies = await pool(indices, CLIENTS, async (index) => {
    const client = clients[index % CLIENTS];
    if (!client) return Number.NaN;
    // A content of one block nobody stored: its block's digest, and the id that digest hashes to.
    const digest = createHash('sha256').update(randomBytes(1000)).digest();
    const contentId = createHash('sha256').update(digest).digest('hex');
    const request = { name: `miss-${index}`, size: 1000, contentId, blockDigests: [digest.toString('hex')] };
    return (await timed(() => client.requestUpload(request))).ms;
  });
  const hitLatencies = await pool(indices, CLIENTS, async (index) => {
    const client = clients[index % CLIENTS];
    if (!client) return Number.NaN;
    const request = { name: `hit-${index}`, size: seed.size, contentId: seed.contentId, blockDigests: seedDigests };
    return (
      await timed(async () => {
        const view = await client.requestUpload(request);
        if (view.status !== 'challenge') throw new Error(`expected a challenge, got ${view.status}`);
        const sha256 = await answerChallenge(seedPath, view.challenge.ranges);
        const done = await client.requestUpload({ ...request, proof: { token: view.challenge.token, sha256 } });
        if (done.status !== 'complete') throw new Error(`expected complete, got ${done.status}`);
      })
    ).ms;
  });

  // The bare operations of a miss: three reads, then the link transaction.
  const contents = info.tables.contents;
  const files = info.tables.files;
  const reads = (userId: string, name: string, contentId: string) =>
    Promise.all([
      db.send(new GetCommand({ TableName: contents, Key: { contentId }, ConsistentRead: true })),
      db.send(new GetCommand({ TableName: files, Key: { userId, name }, ConsistentRead: true })),
      db.send(new GetCommand({ TableName: files, Key: { userId, name: USAGE_ITEM_NAME }, ConsistentRead: true })),
    ]);
  const link = (userId: string, name: string, contentId: string) =>
    db.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: files, Item: { userId, name, contentId }, ConditionExpression: 'attribute_not_exists(userId)' } },
          {
            Put: {
              TableName: contents,
              Item: { contentId, refCount: 1 },
              ConditionExpression: 'attribute_not_exists(contentId)',
            },
          },
          {
            Update: {
              TableName: files,
              Key: { userId, name: USAGE_ITEM_NAME },
              UpdateExpression: 'ADD #b :one',
              ExpressionAttributeNames: { '#b': 'bytes' },
              ExpressionAttributeValues: { ':one': 1 },
            },
          },
        ],
      }),
    );
  const bareMiss = await pool(indices, CLIENTS, async (index) => {
    const userId = `bare-${index % CLIENTS}`;
    const contentId = randomBytes(32).toString('hex');
    return (
      await timed(async () => {
        await reads(userId, `bare-miss-${index}`, contentId);
        await link(userId, `bare-miss-${index}`, contentId);
      })
    ).ms;
  });
  // A hit, as nearly all of the timed ones are: a user asking again for a content whose challenge
  // it met before. The challenge: the reads and the challenge's record. The proof: the reads; in
  // parallel, the answer counted, the token consumed and the ranges read (the 1 MiB seed's 44
  // ranges span less than 4 MiB: one GET of that span); the record, met already; the link.
  const objectKey = `blobs/${seed.contentId}/`;
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: info.bucket, Prefix: objectKey }));
  const key = listed.Contents?.[0]?.Key ?? '';
  const shown = await clients[0]?.requestUpload({
    name: 'span',
    size: seed.size,
    contentId: seed.contentId,
    blockDigests: seedDigests,
  });
  const ranges = shown?.status === 'challenge' ? shown.challenge.ranges : [{ start: 0, length: seed.size }];
  const spanStart = Math.min(...ranges.map((range) => range.start));
  const spanEnd = Math.max(...ranges.map((range) => range.start + range.length));
  const record = (userId: string) => ({ userId, name: `\u0000proof:${seed.contentId}:${seed.size}:0` });
  const bareHit = await pool(indices, CLIENTS, async (index) => {
    const userId = `bare-${index % CLIENTS}`;
    const name = `bare-hit-${index}`;
    return (
      await timed(async () => {
        await Promise.all([
          reads(userId, name, seed.contentId),
          db.send(new GetCommand({ TableName: files, Key: record(userId), ConsistentRead: true })),
        ]);
        await reads(userId, name, seed.contentId);
        await Promise.all([
          db.send(
            new UpdateCommand({
              TableName: files,
              Key: record(userId),
              UpdateExpression: 'ADD answers :one',
              ExpressionAttributeValues: { ':one': 1 },
            }),
          ),
          db.send(
            new PutCommand({
              TableName: files,
              Item: { userId, name: `\u0000c${index}` },
              ConditionExpression: 'attribute_not_exists(userId)',
            }),
          ),
          s3
            .send(new GetObjectCommand({ Bucket: info.bucket, Key: key, Range: `bytes=${spanStart}-${spanEnd - 1}` }))
            .then(({ Body }) => Body?.transformToByteArray()),
        ]);
        await db.send(
          new UpdateCommand({
            TableName: files,
            Key: record(userId),
            UpdateExpression: 'SET met = :true',
            ExpressionAttributeValues: { ':true': true },
          }),
        );
        await link(userId, name, randomBytes(32).toString('hex'));
      })
    ).ms;
  });
  db.destroy();
  s3.destroy();

  const miss = summary(missLatencies);
  const hit = summary(hitLatencies);
  const bare = { miss: summary(bareMiss), hit: summary(bareHit) };
  const rows: Row[] = [
    {
      benchmark: `4. POST /v1/uploads miss, ${CLIENTS} clients`,
      hashdrop: `p50 ${fmt.ms(miss.p50)} p99 ${fmt.ms(miss.p99)}`,
      limit: `bare ops p50 ${fmt.ms(bare.miss.p50)} p99 ${fmt.ms(bare.miss.p99)}`,
      ratio: fmt.ratio(miss.p99 / bare.miss.p99),
      target: 'p99 ≤ 2×',
      met: miss.p99 <= 2 * bare.miss.p99,
    },
    {
      benchmark: `   hit (challenge + proof), ${CLIENTS} clients`,
      hashdrop: `p50 ${fmt.ms(hit.p50)} p99 ${fmt.ms(hit.p99)}`,
      limit: `bare ops p50 ${fmt.ms(bare.hit.p50)} p99 ${fmt.ms(bare.hit.p99)}`,
      ratio: fmt.ratio(hit.p99 / bare.hit.p99),
      target: 'p99 ≤ 2×',
      met: hit.p99 <= 2 * bare.hit.p99,
    },
  ];
  return { rows, figures: { clients: CLIENTS, requests: REQUESTS, miss, hit, bare } };
}

export async function benchRace(stack: BenchStack, dir: string, size: number) {
  const path = join(dir, 'race.bin');
  await writeRandomFile(path, size);
  const UPLOADS = 100;
  const { ms, value: results } = await timed(() =>
    Promise.allSettled(
      Array.from({ length: UPLOADS }, (_, index) => putFile(clientOf(stack, `racer-${index}`), path, { name: 'race.bin' })),
    ),
  );
  const contentId = results.find((result) => result.status === 'fulfilled')?.value.contentId;
  const s3 = s3ClientOf(stack);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: stack.info.bucket, Prefix: `blobs/${contentId}/` }));
  s3.destroy();
  const objects = listed.Contents?.length ?? 0;
  const complete = results.filter((result) => result.status === 'fulfilled' && result.value.state === 'COMPLETE').length;
  const errors = results.filter((result) => result.status === 'rejected').length;
  const bytesSent = results.reduce((sum, result) => sum + (result.status === 'fulfilled' ? result.value.bytesSent : 0), 0);
  const rows: Row[] = [
    {
      benchmark: `5. ${UPLOADS} concurrent puts of a new ${fmt.mb(size)}`,
      hashdrop: `${objects} object, ${complete} complete, ${errors} errors`,
      limit: `sent ${fmt.mb(bytesSent)} in ${fmt.ms(ms)}`,
      ratio: fmt.ratio(bytesSent / size),
      target: '1 object, 100 complete, 0 errors',
      met: objects === 1 && complete === UPLOADS && errors === 0,
    },
  ];
  return { rows, figures: { uploads: UPLOADS, size, objects, complete, errors, bytesSent, ms } };
}
