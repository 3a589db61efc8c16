/**
 * 9. Growth: request latency and sweep cost as one user's files and the contents in the table
 *    grow (1,000 to 100,000 of each, seeded with batch writes into DynamoDB Local), on a stack of
 *    its own started in this process (so that the sweeper can be run on demand). At each size:
 *    the first page of the user's listing (100), a page of 10 of one prefix (1% of the files), an instant
 *    upload of a stored content under a new name (challenge, proof, link), and a sweep with the
 *    same few candidates (unreferenced contents past their grace) among all the rest. Nothing
 *    should grow with the table but what reads it whole.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SweepReport } from '#domain/sweeper';
import { LOCAL_CREDENTIALS, type LocalStack, startLocalStack } from '#local/stack';
import { HashdropClient } from '#sdk/api';
import { answerChallenge } from '#sdk/files';
import { hashFileParallel } from '#sdk/hash-pool';
import { putFile } from '#sdk/upload';
import { fmt, MiB, pool, quantile, timed, writeRandomFile } from './measure.ts';
import type { Table } from './run.ts';

const USER = 'grower';
const PREFIXES = 100;
const SAMPLES = 21;
/** Unreferenced contents past their grace that each sweep finds (and collects). */
const CANDIDATES = 10;
const BATCH = 25;

const nameOf = (index: number) => `dir-${String(index % PREFIXES).padStart(2, '0')}/file-${String(index).padStart(6, '0')}`;
const fakeContentId = () => randomBytes(32).toString('hex');

/** Batch writes of `items` into `table`, a few batches at once, retrying what DynamoDB leaves unprocessed. */
async function seed(db: DynamoDBDocumentClient, table: string, items: Record<string, unknown>[]): Promise<void> {
  const batches = Array.from({ length: Math.ceil(items.length / BATCH) }, (_, index) =>
    items.slice(index * BATCH, (index + 1) * BATCH),
  );
  await pool(batches, 8, async (batch) => {
    let requests: { PutRequest: { Item: Record<string, unknown> } }[] = batch.map((Item) => ({ PutRequest: { Item } }));
    while (requests.length > 0) {
      const { UnprocessedItems } = await db.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      requests = (UnprocessedItems?.[table] ?? []) as typeof requests;
    }
  });
}

/** `count` more of the user's files, each COMPLETE on a READY content of its own. */
async function grow(db: DynamoDBDocumentClient, stack: LocalStack, from: number, to: number): Promise<void> {
  const now = Date.now();
  const files: Record<string, unknown>[] = [];
  const contents: Record<string, unknown>[] = [];
  for (let index = from; index < to; index++) {
    const contentId = fakeContentId();
    const size = 1000 + index;
    contents.push({
      contentId,
      size,
      state: 'READY',
      refCount: 1,
      objectKey: `blobs/${contentId}/seeded`,
      createdAt: now,
      updatedAt: now,
    });
    files.push({
      userId: USER,
      name: nameOf(index),
      contentId,
      size,
      state: 'COMPLETE',
      uploadId: `seed-${index}`,
      createdAt: now,
      updatedAt: now,
    });
  }
  await seed(db, stack.info.tables.files, files);
  await seed(db, stack.info.tables.contents, contents);
}

/** Unreferenced READY contents whose grace ran out long ago: what a sweep collects. */
async function seedCandidates(db: DynamoDBDocumentClient, stack: LocalStack): Promise<void> {
  const long = Date.now() - 7 * 24 * 3600 * 1000;
  const contents = Array.from({ length: CANDIDATES }, () => {
    const contentId = fakeContentId();
    return {
      contentId,
      size: 1,
      state: 'READY',
      refCount: 0,
      objectKey: `blobs/${contentId}/seeded`,
      createdAt: long,
      updatedAt: long,
      // Due for a look, as the release of its last reference marks it (adapters/dynamo-catalog.ts).
      sweepShard: contentId.charAt(0),
      sweepAt: long,
    };
  });
  await seed(db, stack.info.tables.contents, contents);
}

/** Items in a table, counted by a scan (Select COUNT). */
async function itemCount(db: DynamoDBDocumentClient, table: string): Promise<number> {
  let count = 0;
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey }));
    count += page.Count ?? 0;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return count;
}

async function medianMs(work: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let round = 0; round < SAMPLES; round++) samples.push((await timed(work)).ms);
  return quantile(samples, 0.5);
}

interface Level {
  readonly files: number;
  readonly contentsInTable: number;
  readonly listFirstMs: number;
  readonly listPrefixMs: number;
  readonly barePrefixMs: number;
  readonly instantUploadMs: number;
  readonly sweepMs: number;
  readonly sweeps: readonly { readonly ms: number; readonly report: SweepReport }[];
}

export async function benchGrowth(dir: string, scale: number) {
  const top = Math.max(10_000, Math.round(100_000 * Math.min(1, scale)));
  const levels = [1000, top];
  const stack = await startLocalStack({
    dataDir: join(dir, 'growth-stack'),
    persist: false,
    sweepIntervalSeconds: 0,
    settings: { defaultQuotaBytes: 2 ** 50, requestsPerMinute: 0 },
  });
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.info.dynamodbEndpoint, region: stack.info.region, credentials: LOCAL_CREDENTIALS }),
  );
  const client = (user: string) => new HashdropClient({ endpoint: stack.info.endpoint, token: () => stack.mintToken(user) });
  const grower = client(USER);
  const measured: Level[] = [];
  // The handlers run in this process: their info lines would bury the table.
  const info = console.info;
  console.info = () => undefined;
  try {
    // One stored content the grower links under new names (its hits), put there by another user.
    const stored = join(dir, 'growth-stored.bin');
    await writeRandomFile(stored, MiB);
    await putFile(client('growth-seeder'), stored, { name: 'stored.bin' });
    await stack.eventsSettled();
    const tree = await hashFileParallel(stored);
    const request = {
      size: tree.size,
      contentId: tree.contentId,
      blockDigests: tree.blockDigests.map((digest) => Buffer.from(digest).toString('hex')),
    };
    // A page of the same length at every size (a prefix holds 1% of the files: 10 at 1,000).
    const listPrefix = () => grower.listFiles({ prefix: 'dir-42/', limit: 10 });
    let hits = 0;
    const instantUpload = async () => {
      const named = { ...request, name: `hits/${hits++}` };
      const view = await grower.requestUpload(named);
      if (view.status !== 'challenge') throw new Error(`expected a challenge, got ${view.status}`);
      const sha256 = await answerChallenge(stored, view.challenge.ranges);
      const done = await grower.requestUpload({ ...named, proof: { token: view.challenge.token, sha256 } });
      if (done.status !== 'complete') throw new Error(`expected complete, got ${done.status}`);
    };

    // Each handler's first calls (a cold start, then the JIT's warm-up) outside the timings.
    for (let round = 0; round < 5; round++) {
      await grower.listFiles();
      await listPrefix();
      await instantUpload();
    }
    await stack.sweep();

    let seeded = 0;
    for (const level of levels) {
      const seeding = await timed(() => grow(db, stack, seeded, level));
      seeded = level;
      console.error(`growth: ${level} files and contents seeded (${fmt.ms(seeding.ms)})`);
      const listFirst = await medianMs(() => grower.listFiles());
      const listPrefixMs = await medianMs(listPrefix);
      // The same page straight from DynamoDB Local: what its begins_with costs at this size.
      const bareQuery = () =>
        db.send(
          new QueryCommand({
            TableName: stack.info.tables.files,
            KeyConditionExpression: 'userId = :u AND begins_with(#n, :p)',
            ExpressionAttributeNames: { '#n': 'name' },
            ExpressionAttributeValues: { ':u': USER, ':p': 'dir-42/' },
            Limit: 10,
          }),
        );
      await bareQuery();
      const barePrefixMs = await medianMs(bareQuery);
      const instant = await medianMs(instantUpload);
      const sweeps = [];
      for (let round = 0; round < 3; round++) {
        await seedCandidates(db, stack);
        const { ms, value: report } = await timed(() => stack.sweep());
        sweeps.push({ ms, report });
      }
      const sweepMs = quantile(
        sweeps.map((sweep) => sweep.ms),
        0.5,
      );
      measured.push({
        files: level,
        contentsInTable: await itemCount(db, stack.info.tables.contents),
        listFirstMs: listFirst,
        listPrefixMs,
        barePrefixMs,
        instantUploadMs: instant,
        sweepMs,
        sweeps,
      });
    }
  } finally {
    console.info = info;
    db.destroy();
    await stack.stop();
  }

  const [small, large] = [measured[0], measured.at(-1)];
  const growth = (pick: (m: Level) => number) => (small && large ? fmt.ratio(pick(large) / pick(small)) : '');
  /** What the level's last sweep read (where the sweeper reports it) and collected. */
  const sweepWork = (m: Level) => {
    const report = m.sweeps.at(-1)?.report as (SweepReport & { itemsRead?: number }) | undefined;
    return `${report?.itemsRead ?? '?'} items read, ${report?.collected ?? '?'} collected`;
  };
  const table: Table = {
    title: `Growth: one user's files and the contents in the table (median of ${SAMPLES}; a sweep: median of 3, ${CANDIDATES} candidates each)`,
    columns: [
      'files per user, contents',
      'list first page (100)',
      'list a prefix (10)',
      'its Query, bare',
      'instant upload',
      'sweep (its work)',
    ],
    rows: [
      ...measured.map((m) => [
        `${m.files.toLocaleString('en')}, ${m.contentsInTable.toLocaleString('en')}`,
        fmt.ms(m.listFirstMs),
        fmt.ms(m.listPrefixMs),
        fmt.ms(m.barePrefixMs),
        fmt.ms(m.instantUploadMs),
        `${fmt.ms(m.sweepMs)} (${sweepWork(m)})`,
      ]),
      [
        'growth',
        growth((m) => m.listFirstMs),
        growth((m) => m.listPrefixMs),
        growth((m) => m.barePrefixMs),
        growth((m) => m.instantUploadMs),
        growth((m) => m.sweepMs),
      ],
    ],
  };
  return { rows: [], tables: [table], figures: { levels: measured } };
}
