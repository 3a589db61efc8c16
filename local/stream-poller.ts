/**
 * What Lambda's event source mapping does for the FileEvents function, locally: reads the Files
 * table's stream in DynamoDB Local (DescribeStream, GetShardIterator, GetRecords) every 250 ms,
 * hands each shard's new records to the handler as a DynamoDBStreamEvent, and, when the handler
 * reports a batch item failure, hands them over again from that record (a few times, then the
 * records are logged and skipped, as the on-failure destination keeps them in AWS).
 *
 * With a checkpoint file (`npm start`'s persisted .hashdrop/), the poller resumes
 * each shard after the last record it read before, so a restart neither repeats nor skips an
 * event; a shard it never read is read from the start of the minute it started (DynamoDB Local
 * keeps a day of records, which would otherwise all be handed over again).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

export interface StreamPollerOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly streamArn: string;
  readonly handle: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;
  /** @default 250 */
  readonly intervalMs?: number;
  /** Where each shard's last record read is kept across restarts; none: nothing is kept. */
  readonly checkpointFile?: string;
}

type Checkpoint = Record<string, string>;

function readCheckpoint(file: string | undefined): Checkpoint {
  if (!file || !existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
  } catch {
    return {};
  }
}

export interface StreamPoller {
  /** Resolves once every record written before the call has been handed over (or given up on). */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

const ATTEMPTS = 5;

/** A record as Lambda hands it over: its JSON form (creation time in epoch seconds). */
function lambdaRecord(record: _Record, streamArn: string): DynamoDBRecord {
  const { ApproximateCreationDateTime, ...change } = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventSource: 'aws:dynamodb',
    eventVersion: '1.1',
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(change as DynamoDBRecord['dynamodb']),
      ApproximateCreationDateTime: Math.floor((ApproximateCreationDateTime?.getTime() ?? Date.now()) / 1000),
    },
  };
}

export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  const client = new DynamoDBStreamsClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: options.credentials,
  });
  /**
   * Each shard's next iterator and the last record handed over. DynamoDB Local answers GetRecords
   * of a LATEST iterator on a quiet shard with TrimmedDataAccessException, so every shard is read
   * from its trim horizon (then after its last record) and records older than the poller are
   * skipped: a persisted .hashdrop/ would otherwise replay a day of events at every start.
   */
  const shards = new Map<string, { iterator?: string | undefined; last?: string; closed?: boolean; resumed?: boolean }>();
  const checkpoint = readCheckpoint(options.checkpointFile);
  let written = JSON.stringify(checkpoint);
  const saveCheckpoint = () => {
    if (!options.checkpointFile) return;
    const now = Object.fromEntries([...shards].flatMap(([id, shard]) => (shard.last ? [[id, shard.last]] : [])));
    const text = JSON.stringify(now);
    if (text === written) return;
    writeFileSync(options.checkpointFile, text);
    written = text;
  };
  // DynamoDB Local rounds a record's creation time down to the minute.
  const startedAt = Math.floor(Date.now() / 60_000) * 60;
  let stopped = false;
  let round: Promise<void> | undefined;
  let rounds = 0;

  async function iteratorFor(shardId: string, last: string | undefined): Promise<string | undefined> {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({
        StreamArn: options.streamArn,
        ShardId: shardId,
        ...(last ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: last } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return ShardIterator;
  }

  async function deliver(records: DynamoDBRecord[]): Promise<void> {
    let pending = records;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const answer = await options.handle({ Records: pending }).catch((error: unknown) => {
        console.error('file-events handler failed:', error);
        return { batchItemFailures: [{ itemIdentifier: pending[0]?.dynamodb?.SequenceNumber ?? '' }] };
      });
      const failed = answer?.batchItemFailures[0]?.itemIdentifier;
      if (!failed) return;
      const from = Math.max(
        0,
        pending.findIndex((record) => record.dynamodb?.SequenceNumber === failed),
      );
      if (attempt >= ATTEMPTS) {
        console.error(`file events: ${pending.length - from} stream records skipped after ${ATTEMPTS} attempts`);
        return;
      }
      pending = pending.slice(from);
      await new Promise((done) => setTimeout(done, 100 * attempt));
    }
  }

  async function pollShard(shardId: string): Promise<void> {
    const shard = shards.get(shardId);
    if (!shard || shard.closed) return;
    shard.iterator ??= await iteratorFor(shardId, shard.last);
    if (!shard.iterator) return;
    let answer: GetRecordsCommandOutput;
    try {
      answer = await client.send(new GetRecordsCommand({ ShardIterator: shard.iterator }));
    } catch (error) {
      // An iterator that expired, or DynamoDB Local's answer for a quiet shard: ask for another.
      shard.iterator = undefined;
      const name = (error as { name?: string }).name;
      if (name !== 'TrimmedDataAccessException' && name !== 'ExpiredIteratorException') throw error;
      return;
    }
    const records = answer.Records ?? [];
    shard.iterator = answer.NextShardIterator;
    if (!answer.NextShardIterator) shard.closed = true;
    const lastRecord = records.at(-1)?.dynamodb?.SequenceNumber;
    if (lastRecord) shard.last = lastRecord;
    const fresh = shard.resumed
      ? records
      : records.filter((record) => (record.dynamodb?.ApproximateCreationDateTime?.getTime() ?? 0) / 1000 >= startedAt);
    if (fresh.length > 0) await deliver(fresh.map((record) => lambdaRecord(record, options.streamArn)));
    saveCheckpoint();
  }

  async function poll(): Promise<void> {
    const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamArn: options.streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      if (!shard.ShardId || shards.has(shard.ShardId)) continue;
      const last = checkpoint[shard.ShardId];
      shards.set(shard.ShardId, last ? { last, resumed: true } : {});
    }
    for (const shardId of shards.keys()) await pollShard(shardId);
    rounds += 1;
  }

  const tick = () => {
    if (stopped) return;
    round ??= poll()
      .catch((error: unknown) => console.error('stream poller:', error))
      .finally(() => {
        round = undefined;
      });
  };
  const timer = setInterval(tick, options.intervalMs ?? 250).unref();
  tick();

  return {
    async caughtUp() {
      // A round that starts after this call reads everything written before it.
      const target = rounds + (round ? 2 : 1);
      while (rounds < target && !stopped) await new Promise((done) => setTimeout(done, 20));
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await round;
      client.destroy();
    },
  };
}
