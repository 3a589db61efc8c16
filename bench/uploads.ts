/**
 * 2. Instant upload: a hit vs the first upload of the same file.
 * 3. Upload throughput on a miss (hash excluded) vs raw multipart PUTs of the same bytes.
 * 7. Peak RSS of the CLI uploading a large file.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { challengeRanges, spansOf } from '#domain/proof';
import { LOCAL_CREDENTIALS } from '#local/stack';
import { blockCount, blockRange } from '#protocol/content-id';
import { bytesToBase64 } from '#protocol/encoding';
import type { TreeHash } from '#protocol/tree-hash';
import { HashdropClient } from '#sdk/api';
import { answerChallenge } from '#sdk/files';
import { hashFileParallel } from '#sdk/hash-pool';
import { type PutResult, putFile } from '#sdk/upload';
import { fmt, MiB, pool, quantile, timed, warmPageCache, writeRandomFile } from './measure.ts';
import type { Row } from './run.ts';
import { type BenchStack, s3ClientOf } from './stack-process.ts';

const CONCURRENCY = 4;

/** A client with one token for its session, as an app holds one. */
export function clientOf(stack: BenchStack, user: string): HashdropClient {
  let token: Promise<string> | undefined;
  return new HashdropClient({ endpoint: stack.info.endpoint, token: () => (token ??= stack.mintToken(user)) });
}

/** A put, timed in its phases: hashing ends when the last block is hashed. */
async function timedPut(client: HashdropClient, path: string, name: string) {
  const start = performance.now();
  let hashedAt = start;
  const result: PutResult = await putFile(client, path, {
    name,
    concurrency: CONCURRENCY,
    onProgress: (event) => {
      if (event.phase === 'hashing' && event.bytesHashed === event.size) hashedAt = performance.now();
    },
  });
  const end = performance.now();
  return { result, totalMs: end - start, hashMs: hashedAt - start, afterHashMs: end - hashedAt };
}

/** A client whose token is minted and whose connection is open, so that a timed put counts neither. */
async function warmClient(stack: BenchStack, user: string): Promise<HashdropClient> {
  const client = clientOf(stack, user);
  await client.listFiles();
  return client;
}

/**
 * The same parts, with the same SHA-256 checksums (a COMPOSITE upload, as hashdrop's), the same
 * concurrency and the same part reads, straight to S3 with the SDK. Its SigV4 signature hashes
 * each part on the client as hashdrop's client checks each part it reads against its digest.
 */
async function rawMultipartUpload(stack: BenchStack, path: string, tree: TreeHash, key: string): Promise<number> {
  const s3 = s3ClientOf(stack);
  const Bucket = stack.info.bucket;
  const Key = key;
  const { size } = tree;
  const { ms } = await timed(async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE' }),
    );
    const handle = await open(path, 'r');
    try {
      const parts = await pool(
        Array.from({ length: blockCount(size) }, (_, index) => index + 1),
        CONCURRENCY,
        async (PartNumber) => {
          const { start, end } = blockRange(size, PartNumber);
          const body = Buffer.allocUnsafe(end - start);
          await handle.read(body, 0, body.length, start);
          const ChecksumSHA256 = bytesToBase64(tree.blockDigests[PartNumber - 1] ?? new Uint8Array());
          const { ETag } = await s3.send(
            new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: body, ChecksumSHA256 }),
          );
          return { PartNumber, ETag, ChecksumSHA256 };
        },
      );
      await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    } finally {
      await handle.close();
    }
  });
  s3.destroy();
  return ms;
}

const HIT_SAMPLES = 5;

export async function benchUploads(stack: BenchStack, plainStack: BenchStack, dir: string, size: number) {
  // Each handler's first call (a cold start) outside the timings: a put of a small file, a hit of it.
  const warmPath = join(dir, 'warm.bin');
  await writeRandomFile(warmPath, 9 * MiB);
  await putFile(await warmClient(stack, 'bench-warm-a'), warmPath, { name: 'warm.bin' });
  await putFile(await warmClient(stack, 'bench-warm-b'), warmPath, { name: 'warm.bin' });

  // The miss and the raw upload alternate over fresh files of the same size (median of each).
  const missRuns = [];
  const rawRuns = [];
  for (let round = 0; round < MISS_ROUNDS; round++) {
    const path = join(dir, `upload-${round}.bin`);
    await writeRandomFile(path, size);
    const tree = await hashFileParallel(path);
    await warmPageCache(path);
    missRuns.push(await timedPut(await warmClient(stack, `bench-alice-${round}`), path, 'video.bin'));
    await warmPageCache(path);
    rawRuns.push(await rawMultipartUpload(stack, path, tree, `bench/raw-upload-${round}`));
  }
  const path = join(dir, `upload-${MISS_ROUNDS - 1}.bin`);
  const miss = missRuns.at(-1) ?? missRuns[0];
  if (!miss) throw new Error('no miss measured');
  const missMs = quantile(
    missRuns.map((run) => run.afterHashMs),
    0.5,
  );
  const rawMs = quantile(rawRuns, 0.5);

  // Hits of the last file by new users (each shown its challenge for the first time), and the
  // bare DynamoDB and S3 operations such a hit needs, alternating.
  const tree = await hashFileParallel(path);
  const hits = [];
  const bare = [];
  for (let round = 0; round < HIT_SAMPLES; round++) {
    await warmPageCache(path);
    hits.push(await timedPut(await warmClient(stack, `bench-bob-${round}`), path, 'same-video.bin'));
    bare.push(await bareHit(stack, path, tree, round));
  }
  const hit = hits[0];
  if (!hit) throw new Error('no hit measured');
  const protocolMs = quantile(
    hits.map((run) => run.afterHashMs),
    0.5,
  );
  const bareMs = quantile(bare, 0.5);

  // Without proofs of ownership: a hit is one request.
  const smallPath = join(dir, 'small.bin');
  await writeRandomFile(smallPath, 64 * MiB);
  await timedPut(await warmClient(plainStack, 'bench-alice'), smallPath, 'small.bin');
  const plainHits = [];
  for (let round = 0; round < HIT_SAMPLES; round++)
    plainHits.push((await timedPut(await warmClient(plainStack, `bench-bob-${round}`), smallPath, 'small.bin')).afterHashMs);
  const plainProtocolMs = quantile(plainHits, 0.5);

  const instant = miss.totalMs / hit.totalMs;
  const hitRatio = protocolMs / bareMs;
  const throughput = rawMs / missMs;
  const rows: Row[] = [
    {
      benchmark: `2. put ${fmt.mb(size)}, already stored`,
      hashdrop: `${fmt.ms(hit.totalMs)} (${hit.result.bytesSent} B sent)`,
      limit: `first upload ${fmt.ms(miss.totalMs)}`,
      ratio: fmt.ratio(instant),
      target: '≥ 20×',
      met: instant >= 20,
    },
    {
      benchmark: `   hit minus its hash, proofs on (median of ${HIT_SAMPLES})`,
      hashdrop: `${fmt.ms(protocolMs)}, 2 requests`,
      limit: `bare ops ${fmt.ms(bareMs)}`,
      ratio: fmt.ratio(hitRatio),
      target: '≤ 1.50×',
      met: hitRatio <= 1.5,
    },
    {
      benchmark: '   hit minus its hash, proofs off',
      hashdrop: `${fmt.ms(plainProtocolMs)}, 1 request`,
      limit: '(median of 5)',
      ratio: '',
      target: '(reported)',
    },
    {
      benchmark: `3. miss: upload ${fmt.mb(size)}, hash excluded (median of ${MISS_ROUNDS})`,
      hashdrop: fmt.rate(size, missMs),
      limit: `raw multipart, SHA-256 ${fmt.rate(size, rawMs)}`,
      ratio: fmt.ratio(throughput),
      target: '≥ 0.95×',
      met: throughput >= 0.95,
    },
  ];
  return {
    rows,
    figures: {
      size,
      misses: missRuns.map((run) => ({
        totalMs: run.totalMs,
        hashMs: run.hashMs,
        uploadMs: run.afterHashMs,
        bytesSent: run.result.bytesSent,
      })),
      rawMultipartMs: rawRuns,
      hits: hits.map((run) => ({ totalMs: run.totalMs, hashMs: run.hashMs, protocolMs: run.afterHashMs })),
      bareHitMs: bare,
      hitWithoutProofs: { protocolMsMedian: plainProtocolMs, samples: plainHits },
    },
  };
}

const MISS_ROUNDS = 3;

/**
 * The DynamoDB and S3 operations a hit needs (docs/design.md §4), each round of them at once,
 * straight to the stack's DynamoDB Local and S3 with the admin key, on items of their own. The
 * challenge, shown for the first time in its period: the reads, the challenge's record and the
 * content's unmet looks; the user's and the content's counts; the look and the record. The proof:
 * the reads; the answer counted, the token consumed and the ranges read (as many GETs as the
 * domain's spans, all at once); the link, the challenge met; the look deleted and the user's
 * count released; the content's. The client's answer (its own reads of the ranges) is in both.
 */
async function bareHit(stack: BenchStack, path: string, tree: TreeHash, round: number): Promise<number> {
  const { info } = stack;
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: info.dynamodbEndpoint, region: info.region, credentials: LOCAL_CREDENTIALS }),
  );
  const s3 = s3ClientOf(stack);
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: info.bucket, Prefix: `blobs/${tree.contentId}/` }));
  const objectKey = Contents[0]?.Key ?? '';
  const files = info.tables.files;
  const contents = info.tables.contents;
  const userId = `bare-hit-${round}-${randomBytes(4).toString('hex')}`;
  const contentPartition = `\u0000bare-content:${tree.contentId}:${userId}`;
  const record = { userId, name: `\u0000proof:${tree.contentId}` };
  const look = { userId: contentPartition, name: `\u0000look:${userId}` };
  const userCount = { userId, name: '\u0000proofs' };
  const contentCount = { userId: contentPartition, name: '\u0000proofs' };
  const usage = { userId, name: '\u0000usage' };
  const get = (TableName: string, Key: Record<string, string>) =>
    db.send(new GetCommand({ TableName, Key, ConsistentRead: true }));
  const add = (Key: Record<string, string>, attribute: string, by: number) =>
    db.send(
      new UpdateCommand({
        TableName: files,
        Key,
        UpdateExpression: 'ADD #a :by',
        ExpressionAttributeNames: { '#a': attribute },
        ExpressionAttributeValues: { ':by': by },
      }),
    );
  const putNew = (Item: Record<string, unknown>) =>
    db.send(new PutCommand({ TableName: files, Item, ConditionExpression: 'attribute_not_exists(userId)' }));
  const reads = () =>
    Promise.all([
      get(contents, { contentId: tree.contentId }),
      get(files, { userId, name: 'same-video.bin' }),
      get(files, usage),
    ]);
  const secret = randomBytes(32);
  const ranges = challengeRanges(secret, { userId, contentId: tree.contentId, size: tree.size, period: 0 });
  await reads(); // connections open, as the stack's are
  const { ms } = await timed(async () => {
    // The challenge.
    await Promise.all([
      reads(),
      get(files, record),
      db.send(
        new QueryCommand({
          TableName: files,
          ConsistentRead: true,
          KeyConditionExpression: 'userId = :p AND begins_with(#n, :looks)',
          ExpressionAttributeNames: { '#n': 'name' },
          ExpressionAttributeValues: { ':p': contentPartition, ':looks': '\u0000look:' },
        }),
      ),
    ]);
    await Promise.all([add(userCount, 'open', 1), add(contentCount, 'young', 1)]);
    await Promise.all([putNew({ ...look, state: 'young' }), putNew({ ...record, answers: 0, met: false })]);
    // The client's answer.
    await answerChallenge(path, ranges);
    // The proof.
    await reads();
    await Promise.all([
      add(record, 'answers', 1),
      putNew({ userId, name: `\u0000challenge:${randomBytes(16).toString('hex')}` }),
      ...spansOf(ranges).map((span) =>
        s3
          .send(
            new GetObjectCommand({
              Bucket: info.bucket,
              Key: objectKey,
              Range: `bytes=${span.start}-${span.start + span.length - 1}`,
            }),
          )
          .then(({ Body }) => Body?.transformToByteArray()),
      ),
    ]);
    await Promise.all([
      db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: files,
                Item: { userId, name: 'same-video.bin', contentId: tree.contentId, size: tree.size },
                ConditionExpression: 'attribute_not_exists(userId)',
              },
            },
            {
              Update: {
                TableName: contents,
                Key: { contentId: `bare-${userId}` },
                UpdateExpression: 'ADD refCount :one',
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
            {
              Update: {
                TableName: files,
                Key: usage,
                UpdateExpression: 'ADD #b :size',
                ExpressionAttributeNames: { '#b': 'bytes' },
                ExpressionAttributeValues: { ':size': tree.size },
              },
            },
          ],
        }),
      ),
      (async () => {
        await db.send(
          new UpdateCommand({
            TableName: files,
            Key: record,
            UpdateExpression: 'SET met = :true',
            ConditionExpression: 'met = :false',
            ExpressionAttributeValues: { ':true': true, ':false': false },
          }),
        );
        await Promise.all([db.send(new DeleteCommand({ TableName: files, Key: look })), add(userCount, 'open', -1)]);
        await add(contentCount, 'young', -1);
      })(),
    ]);
  });
  db.destroy();
  s3.destroy();
  return ms;
}

/** The CLI in a process of its own, reporting its peak resident set size when it exits. */
export async function benchMemory(stack: BenchStack, dir: string, size: number) {
  const path = join(dir, 'memory.bin');
  await writeRandomFile(path, size);
  const wrapper = join(import.meta.dirname, 'rss-wrapper.mjs');
  const env = { ...process.env, HASHDROP_ENDPOINT: stack.info.endpoint, HASHDROP_TOKEN: await stack.mintToken('bench-memory') };
  const child = spawn(process.execPath, [wrapper, 'put', path, '--quiet', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  const maxRssKb = Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? Number.NaN);
  const peak = maxRssKb * 1024;
  const rows: Row[] = [
    {
      benchmark: `7. CLI put ${fmt.mb(size)}: peak RSS`,
      hashdrop: code === 0 ? fmt.mb(peak) : `failed (${code})`,
      limit: `file ${fmt.mb(size)}`,
      ratio: fmt.ratio(peak / size),
      target: '≤ 200 MB',
      met: code === 0 && peak <= 200 * MiB,
    },
  ];
  return { rows, figures: { size, peakRssBytes: peak, exitCode: code } };
}
