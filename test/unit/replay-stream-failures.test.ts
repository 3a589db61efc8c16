import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentTelemetry } from '#adapters/telemetry';
import type { FileRecord } from '#domain/ports';
import { build } from '#lambdas/file-events';
import type { FileEvent } from '#protocol/events';
import {
  AwsCliError,
  awsCliClients,
  type FailureQueueClient,
  type FunctionInvoker,
  type InvokeResult,
  type QueueMessage,
  replayFailures,
  replayOf,
  type StreamReader,
  type StreamRecord,
  streamBatchOf,
  UnreadableMessageError,
} from '../../scripts/failure-replay.ts';
import { type FakeAwsCli, fakeAwsCli } from '../support/fake-aws-cli.ts';
import { complete } from '../support/file-records.ts';

const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:Hashdrop-FileEvents1A2B-xyz';
const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/Hashdrop-Files/stream/2026-11-01T00:00:00.000';
const SHARD = 'shardId-00000001767000000000-0a1b2c3d';
/** When the records were written: the CLI (v2) prints it in ISO 8601, Lambda gives epoch seconds. */
const T = 1_795_613_186;

/** Lambda's on-failure record of a stream batch, as it sends it to an SQS destination (AWS docs' shape). */
const batchRecord = (start: string, end: string, batchSize: number, info: Record<string, unknown> = {}) =>
  JSON.stringify({
    requestContext: {
      requestId: 'r-1',
      functionArn: `${FUNCTION_ARN}:$LATEST`,
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 11,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: '2026-11-25T19:30:00.000Z',
    DDBStreamBatchInfo: {
      shardId: SHARD,
      startSequenceNumber: start,
      endSequenceNumber: end,
      approximateArrivalOfFirstRecord: '2026-11-25T13:26:26Z',
      approximateArrivalOfLastRecord: '2026-11-25T13:26:26Z',
      batchSize,
      streamArn: STREAM_ARN,
      ...info,
    },
  });

let counter = 0;
const message = (body: string): QueueMessage => {
  counter += 1;
  return { messageId: `m-${counter}`, receiptHandle: `rh-${counter}`, body, attributes: {} };
};

const file = (name: string): FileRecord => complete({ name, uploadId: `u-${name}`, createdAt: T * 1000, updatedAt: T * 1000 });

/**
 * A Files item's INSERT as GetRecords prints it through the AWS CLI: AttributeValue JSON images,
 * the creation time in ISO 8601, no eventSourceARN.
 */
const cliRecord = (sequenceNumber: string, name = `file-${sequenceNumber}`): StreamRecord => ({
  eventID: `ev-${sequenceNumber}`,
  eventName: 'INSERT',
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: 'eu-west-1',
  dynamodb: {
    ApproximateCreationDateTime: new Date(T * 1000).toISOString().replace('.000Z', '+00:00'),
    Keys: marshall({ userId: 'alice', name }),
    NewImage: marshall(file(name), { removeUndefinedValues: true }),
    SequenceNumber: sequenceNumber,
    SizeBytes: 180,
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  },
});

/**
 * One shard in memory, read as DynamoDB Streams does: an iterator at a sequence number, pages of
 * `pageSize` records (an empty page first, as an open shard may answer), no next iterator once a
 * closed shard is read to its end. `refuse` fails a call as the stream would.
 */
class FakeStream implements StreamReader {
  readonly iterators: { streamArn: string; shardId: string; sequenceNumber: string }[] = [];
  readonly pagesRead: string[] = [];
  constructor(
    readonly shard: StreamRecord[],
    readonly options: { pageSize?: number; refuse?: Partial<Record<'iteratorAt' | 'records', Error>> } = {},
  ) {}
  async iteratorAt(streamArn: string, shardId: string, sequenceNumber: string): Promise<string> {
    this.iterators.push({ streamArn, shardId, sequenceNumber });
    if (this.options.refuse?.iteratorAt) throw this.options.refuse.iteratorAt;
    const at = this.shard.findIndex((record) => BigInt(record.dynamodb?.SequenceNumber ?? -1) >= BigInt(sequenceNumber));
    return `empty:${at < 0 ? this.shard.length : at}`;
  }
  async records(streamArn: string, iterator: string): Promise<{ records: StreamRecord[]; next?: string }> {
    expect(streamArn).toBe(STREAM_ARN);
    this.pagesRead.push(iterator);
    if (this.options.refuse?.records) throw this.options.refuse.records;
    const [kind, position] = iterator.split(':');
    const from = Number(position);
    if (kind === 'empty') return { records: [], next: `at:${from}` };
    const to = from + (this.options.pageSize ?? 2);
    return { records: this.shard.slice(from, to), ...(to < this.shard.length ? { next: `at:${to}` } : {}) };
  }
}

/** A queue in memory: received messages stay until deleted. */
class FakeQueue implements FailureQueueClient {
  readonly deleted: string[] = [];
  constructor(readonly messages: QueueMessage[]) {}
  async receive(max: number): Promise<QueueMessage[]> {
    return this.messages.filter((m) => !this.deleted.includes(m.receiptHandle)).slice(0, max);
  }
  async delete(receiptHandle: string): Promise<void> {
    this.deleted.push(receiptHandle);
  }
}

/**
 * Lambda running the real FileEvents handler on what it is given: a malformed record (no image,
 * creation time not in seconds) shows in the events it publishes. `refuse` makes the sink refuse.
 */
class FileEventsLambda implements FunctionInvoker {
  readonly calls: { functionName: string; event: DynamoDBStreamEvent }[] = [];
  readonly published: FileEvent[] = [];
  constructor(private readonly refuse = false) {}
  async invoke(functionName: string, event: unknown): Promise<InvokeResult> {
    this.calls.push({ functionName, event: event as DynamoDBStreamEvent });
    const handler = build({
      catalog: { renamedAway: async () => false },
      telemetry: silentTelemetry(),
      sink: {
        publish: async (events) => {
          if (this.refuse) throw new Error('EventBridge is down');
          this.published.push(...events);
        },
      },
    });
    const answer = await handler(event as DynamoDBStreamEvent, {} as Context);
    return answer.batchItemFailures.length === 0 ? { ok: true } : { ok: false, error: 'batchItemFailures' };
  }
}

/** Sequence numbers of varying length, so that only an integer comparison orders them. */
const SHARD_RECORDS = ['998', '999', '1000', '1001', '1002', '1003', '1004'].map((sequenceNumber) => cliRecord(sequenceNumber));

describe('what a FileEvents failure queue message names', () => {
  it('the shard, the first and last sequence numbers and the function, from Lambda’s on-failure record of a stream batch', () => {
    expect(streamBatchOf(message(batchRecord('999', '1002', 4)))).toEqual({
      functionName: FUNCTION_ARN,
      streamArn: STREAM_ARN,
      shardId: SHARD,
      startSequenceNumber: '999',
      endSequenceNumber: '1002',
      batchSize: 4,
      approximateArrivalOfFirstRecord: '2026-11-25T13:26:26Z',
    });
    // Not an event to invoke with as it is: the records must be read first.
    expect(() => replayOf(message(batchRecord('999', '1002', 4)))).toThrow(/holds no event/);
    // Other kinds of message are not stream batches.
    expect(streamBatchOf(message(JSON.stringify({ requestContext: { functionArn: FUNCTION_ARN }, requestPayload: {} })))).toBe(
      undefined,
    );
  });

  it.each([
    ['without a shard', { shardId: undefined }],
    ['with a sequence number that is not one', { endSequenceNumber: 'latest' }],
    ['without its stream', { streamArn: undefined }],
  ])('refuses a batch %s', (_label, info) => {
    expect(() => streamBatchOf(message(batchRecord('999', '1002', 4, info)))).toThrow(UnreadableMessageError);
  });
});

describe('replaying a FileEvents failure queue', () => {
  it('reads exactly the records from the first to the last sequence number and invokes the function with them as Lambda would', async () => {
    const stream = new FakeStream(SHARD_RECORDS);
    const batch = message(batchRecord('999', '1002', 4));
    const queue = new FakeQueue([batch]);
    const lambda = new FileEventsLambda();
    const report = await replayFailures(queue, lambda, { streams: stream });

    expect(stream.iterators).toEqual([{ streamArn: STREAM_ARN, shardId: SHARD, sequenceNumber: '999' }]);
    expect(lambda.calls).toHaveLength(1);
    const [call] = lambda.calls;
    expect(call?.functionName).toBe(FUNCTION_ARN);
    const records = call?.event.Records ?? [];
    expect(records.map((record) => record.dynamodb?.SequenceNumber)).toEqual(['999', '1000', '1001', '1002']);
    // Lambda's record: the stream's fields, its source's ARN, the creation time in epoch seconds.
    expect(records[0]).toEqual({
      eventID: 'ev-999',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      eventSourceARN: STREAM_ARN,
      dynamodb: { ...SHARD_RECORDS[1]?.dynamodb, ApproximateCreationDateTime: T },
    });
    // The function made of them the events it would have published: the same eventIds (so an
    // event already delivered is deduplicated by consumers) and times.
    expect(lambda.published.map((event) => [event.eventId, event.time])).toEqual(
      ['999', '1000', '1001', '1002'].map((sequenceNumber) => [
        `ev-${sequenceNumber}:file.completed`,
        new Date(T * 1000).toISOString(),
      ]),
    );
    // It read past an empty page, and stopped at the last record: 1003 and 1004 were not read.
    expect(stream.pagesRead).toEqual(['empty:1', 'at:1', 'at:3']);
    expect(queue.deleted).toEqual([batch.receiptHandle]);
    expect(report).toEqual({ replayed: [batch.messageId], planned: [], failed: [] });
  });

  it('keeps the message when the function fails again, and when no stream reader is given', async () => {
    const batch = message(batchRecord('1000', '1000', 1));
    const queue = new FakeQueue([batch]);
    const lambda = new FileEventsLambda(true);
    const report = await replayFailures(queue, lambda, { streams: new FakeStream(SHARD_RECORDS) });
    expect(lambda.calls.map((call) => call.event.Records.length)).toEqual([1]);
    expect(queue.deleted).toEqual([]);
    expect(report.failed).toEqual([{ messageId: batch.messageId, reason: expect.stringContaining('failed again') }]);

    const without = await replayFailures(queue, new FileEventsLambda());
    expect(queue.deleted).toEqual([]);
    expect(without.failed).toEqual([{ messageId: batch.messageId, reason: expect.stringContaining('no stream reader') }]);
  });

  it('reports a batch past the stream’s 24-hour retention, invokes nothing and keeps the message', async () => {
    const trimmed = new AwsCliError('TrimmedDataAccessException', 'An error occurred (TrimmedDataAccessException)…');
    const expired = new AwsCliError('ExpiredIteratorException', 'An error occurred (ExpiredIteratorException)…');
    const gone = message(batchRecord('1000', '1001', 2));
    const queue = new FakeQueue([gone]);
    const lambda = new FileEventsLambda();
    const logged: string[] = [];
    const report = await replayFailures(queue, lambda, {
      streams: new FakeStream(SHARD_RECORDS, { refuse: { iteratorAt: trimmed } }),
      log: (line) => logged.push(line),
    });
    expect(lambda.calls).toEqual([]);
    expect(queue.deleted).toEqual([]);
    expect(report.failed).toEqual([
      {
        messageId: gone.messageId,
        reason: expect.stringMatching(
          /TrimmedDataAccessException; first arrived 2026-11-25T13:26:26Z\): they are past its 24-hour retention and cannot be replayed/,
        ),
      },
    ]);
    expect(logged).toEqual([expect.stringMatching(new RegExp(`^${gone.messageId}  kept: .*24-hour retention`))]);

    const again = await replayFailures(queue, lambda, {
      streams: new FakeStream(SHARD_RECORDS, { refuse: { records: expired } }),
    });
    expect(lambda.calls).toEqual([]);
    expect(queue.deleted).toEqual([]);
    expect(again.failed).toEqual([{ messageId: gone.messageId, reason: expect.stringContaining('(ExpiredIteratorException') }]);
  });

  it('keeps a batch whose shard ends before its last record, rather than replay part of it', async () => {
    const cut = message(batchRecord('1003', '1009', 7));
    const queue = new FakeQueue([cut]);
    const lambda = new FileEventsLambda();
    const report = await replayFailures(queue, lambda, { streams: new FakeStream(SHARD_RECORDS) });
    expect(lambda.calls).toEqual([]);
    expect(queue.deleted).toEqual([]);
    expect(report.failed).toEqual([{ messageId: cut.messageId, reason: expect.stringContaining('before sequence number 1009') }]);
  });

  it('in a dry run reads the records and says what it would invoke, but invokes and deletes nothing', async () => {
    const batch = message(batchRecord('999', '1002', 4));
    const queue = new FakeQueue([batch]);
    const lambda = new FileEventsLambda();
    const logged: string[] = [];
    const report = await replayFailures(queue, lambda, {
      dryRun: true,
      streams: new FakeStream(SHARD_RECORDS),
      log: (line) => logged.push(line),
    });
    expect(lambda.calls).toEqual([]);
    expect(queue.deleted).toEqual([]);
    expect(report.planned).toHaveLength(1);
    expect(report.planned[0]?.event).toEqual({ Records: expect.any(Array) });
    expect((report.planned[0]?.event as DynamoDBStreamEvent | undefined)?.Records).toHaveLength(4);
    expect(logged).toEqual([`${batch.messageId}  would invoke ${FUNCTION_ARN} with 4 stream records (${SHARD}, 999 to 1002)`]);
  });
});

describe('the stream and the function through the AWS CLI', () => {
  let cli: FakeAwsCli;
  let aws: string;
  const calls = () => cli.calls();

  beforeAll(async () => {
    // Answers as the AWS CLI v2 does (errors on stderr, exit status 254).
    cli = await fakeAwsCli(
      `if (args[1] === 'get-shard-iterator') {
  if (arg('--sequence-number') === '1') {
    process.stderr.write('\\nAn error occurred (TrimmedDataAccessException) when calling the GetShardIterator operation: the sequence number is beyond the trim horizon\\n');
    process.exit(254);
  }
  process.stdout.write(JSON.stringify({ ShardIterator: 'arn:it/1' }));
}
if (args[1] === 'get-records') process.stdout.write(JSON.stringify({ Records: ${JSON.stringify([cliRecord('999')])}, NextShardIterator: 'arn:it/2' }));
if (args[1] === 'invoke') {
  fs.writeFileSync(args[args.indexOf('0') + 1], arg('--function-name').endsWith('partly') ? '{"batchItemFailures":[{"itemIdentifier":"1000"}]}' : '{"batchItemFailures":[]}');
  process.stdout.write(JSON.stringify({ StatusCode: 200 }));
}`,
    );
    aws = cli.path;
  });
  afterAll(() => cli.remove());

  it('reads at the sequence number, in the stream’s region, and names the AWS error the CLI reports', async () => {
    const { streams } = awsCliClients({ queueUrl: 'https://sqs.us-east-2.amazonaws.com/1/q', region: 'us-east-2', command: aws });
    expect(await streams.iteratorAt(STREAM_ARN, SHARD, '999')).toBe('arn:it/1');
    expect(await streams.records(STREAM_ARN, 'arn:it/1')).toEqual({ records: [cliRecord('999')], next: 'arn:it/2' });
    const refused = await streams.iteratorAt(STREAM_ARN, SHARD, '1').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AwsCliError);
    expect((refused as Error).name).toBe('TrimmedDataAccessException');
    const [iterator, records] = await calls();
    expect(iterator).toEqual([
      'dynamodbstreams',
      'get-shard-iterator',
      '--stream-arn',
      STREAM_ARN,
      '--shard-id',
      SHARD,
      '--shard-iterator-type',
      'AT_SEQUENCE_NUMBER',
      '--sequence-number',
      '999',
      '--region',
      'eu-west-1',
      '--output',
      'json',
    ]);
    expect(records).toEqual([
      'dynamodbstreams',
      'get-records',
      '--shard-iterator',
      'arn:it/1',
      '--region',
      'eu-west-1',
      '--output',
      'json',
    ]);
  });

  it('a function that answers batchItemFailures did not succeed', async () => {
    const { lambda } = awsCliClients({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q', command: aws });
    expect(await lambda.invoke(`${FUNCTION_ARN}-partly`, { Records: [] })).toEqual({
      ok: false,
      error: 'batchItemFailures [{"itemIdentifier":"1000"}]',
    });
    expect(await lambda.invoke(FUNCTION_ARN, { Records: [] })).toEqual({ ok: true });
  });
});
