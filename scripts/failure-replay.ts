/**
 * Replays what landed in a failure queue (lib/constructs/failure-queue.ts): each message is turned
 * back into the event its function was (or should have been) invoked with, the function is
 * invoked with it synchronously, and the message is deleted only once that invocation succeeded.
 * A message that cannot be read, or whose replay fails, stays in the queue (for the next run, or
 * for a person to look at) and is reported.
 *
 * Two kinds of message arrive there:
 * - Lambda's on-failure record of an asynchronous invocation: JSON with `requestContext.functionArn`
 *   and the original event under `requestPayload`.
 * - An event EventBridge could not deliver to its target: the event itself, with the message
 *   attributes RULE_ARN and TARGET_ARN (the function). An S3 "Object Created" event is handed over
 *   as the S3 notification the rule's input transformer would have made of it.
 * - Lambda's on-failure record of a stream batch (FileEvents, the Files table's stream): JSON with
 *   `requestContext.functionArn` and `DDBStreamBatchInfo`, which names the records (shard, first
 *   and last sequence number) but does not hold them. They are read back from the stream, while
 *   it still has them (24 hours), and handed over as the DynamoDBStreamEvent Lambda would give.
 *
 * An operator's tool, run with `npx tsx scripts/replay-failures.ts`: no function bundle imports it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { objectCreatedRecords } from '#deploy/definitions';
import { invokeThroughCli } from './aws-cli-invoke.ts';

export interface QueueMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** String message attributes (EventBridge's RULE_ARN, TARGET_ARN, ERROR_CODE…). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** The failure queue, as the replay uses it. */
export interface FailureQueueClient {
  /** Up to `max` messages (SQS gives at most 10), hidden from other readers for `hideSeconds`. */
  receive(max: number, hideSeconds: number): Promise<QueueMessage[]>;
  delete(receiptHandle: string): Promise<void>;
}

export type InvokeResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** Invokes a function synchronously and says whether it succeeded (a function error is not success). */
export interface FunctionInvoker {
  invoke(functionName: string, event: unknown): Promise<InvokeResult>;
}

export class UnreadableMessageError extends Error {
  override readonly name = 'UnreadableMessageError';
}

export interface Replay {
  readonly functionName: string;
  readonly event: unknown;
  readonly origin: 'lambda-on-failure' | 'eventbridge-dead-letter' | 'stream-on-failure';
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/**
 * Lambda names the version it ran (`…:function:name:$LATEST`); the replay invokes the function's
 * current code, which for an unpublished function is the same.
 */
const unqualified = (functionArn: string): string => functionArn.replace(/:\$LATEST$/, '');

/** The function and event a failure queue message stands for. */
export function replayOf(message: QueueMessage): Replay {
  let body: unknown;
  try {
    body = JSON.parse(message.body);
  } catch {
    throw new UnreadableMessageError(`message ${message.messageId}: the body is not JSON`);
  }
  if (isRecord(body) && 'DDBStreamBatchInfo' in body) {
    throw new UnreadableMessageError(
      `message ${message.messageId}: a stream batch's on-failure record holds no event; its records are read with streamReplayOf`,
    );
  }
  if (isRecord(body) && 'requestPayload' in body) {
    const functionArn = isRecord(body.requestContext) ? body.requestContext.functionArn : undefined;
    if (typeof functionArn !== 'string') {
      throw new UnreadableMessageError(`message ${message.messageId}: an on-failure record without requestContext.functionArn`);
    }
    return { functionName: unqualified(functionArn), event: body.requestPayload, origin: 'lambda-on-failure' };
  }
  const target = message.attributes.TARGET_ARN;
  if (target) {
    const detail = isRecord(body) && isRecord(body.detail) ? body.detail : undefined;
    const key = detail && isRecord(detail.object) ? detail.object.key : undefined;
    const objectCreated = isRecord(body) && body.source === 'aws.s3' && body['detail-type'] === 'Object Created';
    if (objectCreated && typeof key !== 'string') {
      throw new UnreadableMessageError(`message ${message.messageId}: an Object Created event without detail.object.key`);
    }
    return {
      functionName: target,
      event: objectCreated ? objectCreatedRecords(String(key)) : body,
      origin: 'eventbridge-dead-letter',
    };
  }
  throw new UnreadableMessageError(
    `message ${message.messageId}: neither a Lambda on-failure record (requestPayload) nor an EventBridge dead letter (TARGET_ARN)`,
  );
}

/**
 * A failed batch of a stream's event source mapping, as Lambda's on-failure record names it
 * (`DDBStreamBatchInfo`): the records from `startSequenceNumber` to `endSequenceNumber`, both
 * included, of one shard. With bisection and ReportBatchItemFailures it is the part of a batch
 * that still failed on the last attempt.
 */
export interface StreamBatch {
  readonly functionName: string;
  readonly streamArn: string;
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly batchSize: number;
  /** ISO 8601, when the first record reached the stream: the 24-hour retention runs from it. */
  readonly approximateArrivalOfFirstRecord: string | undefined;
}

/** The stream failure a message records, or undefined for a message of another kind. */
export function streamBatchOf(message: QueueMessage): StreamBatch | undefined {
  let body: unknown;
  try {
    body = JSON.parse(message.body);
  } catch {
    return undefined;
  }
  if (!isRecord(body) || !('DDBStreamBatchInfo' in body)) return undefined;
  const info = isRecord(body.DDBStreamBatchInfo) ? body.DDBStreamBatchInfo : {};
  const functionArn = isRecord(body.requestContext) ? body.requestContext.functionArn : undefined;
  const { streamArn, shardId, startSequenceNumber, endSequenceNumber, batchSize } = info;
  const sequence = (value: unknown): value is string => typeof value === 'string' && /^\d+$/.test(value);
  if (
    typeof functionArn !== 'string' ||
    typeof streamArn !== 'string' ||
    typeof shardId !== 'string' ||
    !sequence(startSequenceNumber) ||
    !sequence(endSequenceNumber) ||
    typeof batchSize !== 'number'
  ) {
    throw new UnreadableMessageError(
      `message ${message.messageId}: a stream on-failure record without requestContext.functionArn or DDBStreamBatchInfo's streamArn, shardId, sequence numbers and batchSize`,
    );
  }
  const arrival = info.approximateArrivalOfFirstRecord;
  return {
    functionName: unqualified(functionArn),
    streamArn,
    shardId,
    startSequenceNumber,
    endSequenceNumber,
    batchSize,
    approximateArrivalOfFirstRecord: typeof arrival === 'string' ? arrival : undefined,
  };
}

/**
 * A stream record as DynamoDB Streams' GetRecords returns it (the AWS CLI's JSON): the fields of
 * Lambda's record but `eventSourceARN`, with the images in AttributeValue JSON as Lambda gives
 * them (binary as base64 text), and the creation time as the CLI prints timestamps: ISO 8601
 * (CLI v2's default) or epoch seconds (v1, or `cli_timestamp_format = wire`).
 */
export interface StreamRecord {
  readonly eventID?: string;
  readonly eventName?: string;
  readonly eventVersion?: string;
  readonly eventSource?: string;
  readonly awsRegion?: string;
  readonly userIdentity?: unknown;
  readonly dynamodb?: Record<string, unknown> & {
    readonly ApproximateCreationDateTime?: number | string;
    readonly SequenceNumber?: string;
  };
}

/** DynamoDB Streams, as the replay reads it. */
export interface StreamReader {
  /** GetShardIterator of type AT_SEQUENCE_NUMBER. */
  iteratorAt(streamArn: string, shardId: string, sequenceNumber: string): Promise<string>;
  /** GetRecords; `next` is absent once a closed shard has no more records. */
  records(streamArn: string, iterator: string): Promise<{ readonly records: StreamRecord[]; readonly next?: string | undefined }>;
}

/**
 * How many GetRecords pages a batch may take before the replay gives up on reaching its end:
 * a batch is at most 6 MB (Lambda's payload limit) and a page up to 1 MB, but an open shard may
 * answer empty pages before its records.
 */
export const MAX_STREAM_PAGES = 100;

/** The stream could not give a batch's records (an AWS error's name: TrimmedDataAccessException…). */
export class StreamReadError extends Error {
  override readonly name = 'StreamReadError';
}

/** A record as Lambda's event source mapping hands it to the function. */
function lambdaRecordOf(record: StreamRecord, streamArn: string): DynamoDBRecord {
  const { ApproximateCreationDateTime: created, ...change } = record.dynamodb ?? {};
  // Lambda gives epoch seconds; the function derives each event's `time` from them.
  const seconds = typeof created === 'string' ? Date.parse(created) / 1000 : created;
  return {
    ...(record as DynamoDBRecord),
    eventSourceARN: streamArn,
    dynamodb: {
      ...(change as DynamoDBRecord['dynamodb']),
      ...(seconds === undefined || Number.isNaN(seconds) ? {} : { ApproximateCreationDateTime: seconds }),
    },
  };
}

/**
 * Reads a failed batch's records back from its shard: from an iterator at its first sequence
 * number, page after page, until the record at (or past) its last one. Sequence numbers are
 * decimal strings of varying length, compared as integers.
 */
export async function streamEventOf(batch: StreamBatch, reader: StreamReader): Promise<DynamoDBStreamEvent> {
  const start = BigInt(batch.startSequenceNumber);
  const end = BigInt(batch.endSequenceNumber);
  const records: DynamoDBRecord[] = [];
  let iterator: string | undefined = await reader.iteratorAt(batch.streamArn, batch.shardId, batch.startSequenceNumber);
  let reachedEnd = false;
  for (let page = 0; iterator !== undefined && !reachedEnd && page < MAX_STREAM_PAGES; page += 1) {
    const answer: { readonly records: StreamRecord[]; readonly next?: string | undefined } = await reader.records(
      batch.streamArn,
      iterator,
    );
    for (const record of answer.records) {
      const sequenceNumber = record.dynamodb?.SequenceNumber;
      if (typeof sequenceNumber !== 'string' || !/^\d+$/.test(sequenceNumber)) {
        throw new StreamReadError(`a record of ${batch.shardId} without a sequence number`);
      }
      const at = BigInt(sequenceNumber);
      if (at > end) {
        reachedEnd = true;
        break;
      }
      if (at >= start) records.push(lambdaRecordOf(record, batch.streamArn));
      if (at === end) {
        reachedEnd = true;
        break;
      }
    }
    iterator = answer.next;
  }
  if (!reachedEnd) {
    throw new StreamReadError(
      `${batch.shardId} ended or gave ${MAX_STREAM_PAGES} pages before sequence number ${batch.endSequenceNumber}`,
    );
  }
  return { Records: records };
}

/** The replay of a stream batch: its records, to the function the mapping feeds. */
export async function streamReplayOf(batch: StreamBatch, reader: StreamReader): Promise<Replay> {
  return { functionName: batch.functionName, event: await streamEventOf(batch, reader), origin: 'stream-on-failure' };
}

/** A stream batch's replay, or why it cannot be read (the message is then kept). */
async function replayOfBatch(batch: StreamBatch, streams: StreamReader | undefined): Promise<Replay> {
  if (!streams) throw new UnreadableMessageError('the records of a stream batch, and no stream reader to read them');
  try {
    return await streamReplayOf(batch, streams);
  } catch (error) {
    throw new UnreadableMessageError(streamReadFailure(error, batch));
  }
}

/** Why a batch's records could not be read, in the operator's terms. */
function streamReadFailure(error: unknown, batch: StreamBatch): string {
  const name = error instanceof Error ? error.name : undefined;
  const detail = error instanceof Error ? error.message : String(error);
  const arrived = batch.approximateArrivalOfFirstRecord ?? 'an unknown time';
  switch (name) {
    case 'TrimmedDataAccessException':
      return `the stream no longer has these records (TrimmedDataAccessException; first arrived ${arrived}): they are past its 24-hour retention and cannot be replayed`;
    case 'ExpiredIteratorException':
      return `the shard iterator expired while the records were read (ExpiredIteratorException; first arrived ${arrived}); run again: records past the stream's 24-hour retention cannot be replayed`;
    case 'ResourceNotFoundException':
      return `the stream or shard ${batch.shardId} no longer exists (ResourceNotFoundException): the records cannot be replayed`;
    default:
      return `reading ${batch.endSequenceNumber === batch.startSequenceNumber ? 'the record' : 'the records'} of ${batch.shardId} failed: ${detail}`;
  }
}

export interface ReplayOptions {
  /** Replay at most this many messages. @default every message */
  readonly limit?: number;
  /** Only say what would be replayed: nothing is invoked or deleted. */
  readonly dryRun?: boolean;
  /** One line per message, for the operator. */
  readonly log?: (line: string) => void;
  /** Where stream batches' records are read back (FileEvents' queue); without it they are kept. */
  readonly streams?: StreamReader;
}

export interface ReplayReport {
  /** Invoked successfully, then deleted. */
  readonly replayed: string[];
  /** Would be replayed (dry run). */
  readonly planned: Replay[];
  /** Left in the queue, with why. */
  readonly failed: { readonly messageId: string; readonly reason: string }[];
}

/**
 * While a replay runs, its message stays hidden: longer than the longest function timeout (the
 * object-created function and the sweeper: 15 minutes), so that a second replay run cannot take
 * a message whose invocation is still in flight.
 */
export const REPLAY_HIDE_SECONDS = 16 * 60;

export async function replayFailures(
  queue: FailureQueueClient,
  lambda: FunctionInvoker,
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const report: { replayed: string[]; planned: Replay[]; failed: { messageId: string; reason: string }[] } = {
    replayed: [],
    planned: [],
    failed: [],
  };
  const log = options.log ?? (() => {});
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  // A dry run hides nothing (its messages come back at once), so it stops at the first message seen twice.
  const seen = new Set<string>();
  while (seen.size < limit) {
    const batch = await queue.receive(Math.min(10, limit - seen.size), options.dryRun ? 0 : REPLAY_HIDE_SECONDS);
    const fresh = batch.filter((message) => !seen.has(message.messageId));
    if (fresh.length === 0) break;
    for (const message of fresh.slice(0, limit - seen.size)) {
      seen.add(message.messageId);
      await replayOne(message, queue, lambda, options, report, log);
    }
  }
  return report;
}

async function replayOne(
  message: QueueMessage,
  queue: FailureQueueClient,
  lambda: FunctionInvoker,
  { dryRun, streams }: ReplayOptions,
  report: { replayed: string[]; planned: Replay[]; failed: { messageId: string; reason: string }[] },
  log: (line: string) => void,
): Promise<void> {
  const fail = (reason: string) => {
    report.failed.push({ messageId: message.messageId, reason });
    log(`${message.messageId}  kept: ${reason}`);
  };
  let replay: Replay;
  let batch: StreamBatch | undefined;
  try {
    batch = streamBatchOf(message);
    replay = batch ? await replayOfBatch(batch, streams) : replayOf(message);
  } catch (error) {
    if (error instanceof UnreadableMessageError) return fail(error.message);
    throw error;
  }
  if (dryRun) {
    report.planned.push(replay);
    // A stream batch may be a hundred records with both images: named, not printed.
    const what = batch
      ? `${(replay.event as DynamoDBStreamEvent).Records.length} stream records (${batch.shardId}, ${batch.startSequenceNumber} to ${batch.endSequenceNumber})`
      : JSON.stringify(replay.event);
    log(`${message.messageId}  would invoke ${replay.functionName} with ${what}`);
    return;
  }
  let result: InvokeResult;
  try {
    result = await lambda.invoke(replay.functionName, replay.event);
  } catch (error) {
    return fail(`invoking ${replay.functionName} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!result.ok) return fail(`${replay.functionName} failed again: ${result.error}`);
  try {
    await queue.delete(message.receiptHandle);
  } catch (error) {
    // The event was handled; the message comes back after REPLAY_HIDE_SECONDS and a later run
    // replays it once more, which the functions tolerate (they take events at least once).
    return fail(`replayed, but not deleted: ${error instanceof Error ? error.message : String(error)}`);
  }
  report.replayed.push(message.messageId);
  log(`${message.messageId}  replayed to ${replay.functionName}, deleted`);
}

export interface AwsCliOptions {
  readonly queueUrl: string;
  /** Region of the queue (and of a function named without an ARN); the CLI's own configuration otherwise. */
  readonly region?: string;
  readonly profile?: string;
  /** @default 'aws' (the AWS CLI v2 on the PATH) */
  readonly command?: string;
}

/** An AWS error the CLI reported, named as the SDK would name it (`TrimmedDataAccessException`…). */
export class AwsCliError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The CLI's failure as the AWS error it reports ("An error occurred (Code) when calling…"). */
function awsCliError(error: unknown): unknown {
  const stderr = isRecord(error) && typeof error.stderr === 'string' ? error.stderr.trim() : '';
  const code = /An error occurred \((\w+)\)/.exec(stderr)?.[1];
  return code ? new AwsCliError(code, stderr) : error;
}

/** The region in a resource's ARN (`arn:aws:lambda:eu-west-1:…`), if it is one. */
const regionOf = (arn: string, service: string): string | undefined =>
  new RegExp(`^arn:[^:]+:${service}:([^:]+):`).exec(arn)?.[1];

/**
 * A stream source's function answers the records it could not handle (ReportBatchItemFailures)
 * without failing: for a replay, that is a failure.
 */
function reportedBatchFailures(payload: string): string | undefined {
  let answer: unknown;
  try {
    answer = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const failures = isRecord(answer) && Array.isArray(answer.batchItemFailures) ? answer.batchItemFailures : [];
  return failures.length > 0 ? `batchItemFailures ${JSON.stringify(failures).slice(0, 500)}` : undefined;
}

/**
 * The queue, the functions and the streams through the AWS CLI, which takes credentials, profile
 * and region from wherever the operator's other AWS commands do (the project ships no SQS or
 * Lambda SDK client, and its DynamoDB Streams client is a development dependency of the local stack).
 */
export function awsCliClients(options: AwsCliOptions): {
  queue: FailureQueueClient;
  lambda: FunctionInvoker;
  streams: StreamReader;
} {
  const run = async (args: string[], region: string | undefined): Promise<string> => {
    const common = [...(region ? ['--region', region] : []), ...(options.profile ? ['--profile', options.profile] : [])];
    const { stdout } = await promisify(execFile)(options.command ?? 'aws', [...args, ...common, '--output', 'json'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  };
  const queue: FailureQueueClient = {
    async receive(max, hideSeconds) {
      const stdout = await run(
        [
          'sqs',
          'receive-message',
          '--queue-url',
          options.queueUrl,
          '--max-number-of-messages',
          String(max),
          '--visibility-timeout',
          String(hideSeconds),
          '--wait-time-seconds',
          '1',
          '--message-attribute-names',
          'All',
        ],
        options.region,
      );
      // The CLI prints nothing when the queue is empty.
      const parsed = stdout.trim() === '' ? {} : (JSON.parse(stdout) as { Messages?: CliMessage[] });
      return (parsed.Messages ?? []).map((message) => ({
        messageId: message.MessageId,
        receiptHandle: message.ReceiptHandle,
        body: message.Body,
        attributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).flatMap(([name, value]) =>
            typeof value.StringValue === 'string' ? [[name, value.StringValue]] : [],
          ),
        ),
      }));
    },
    async delete(receiptHandle) {
      await run(['sqs', 'delete-message', '--queue-url', options.queueUrl, '--receipt-handle', receiptHandle], options.region);
    },
  };
  const lambda: FunctionInvoker = {
    async invoke(functionName, event) {
      // A function's region is in its ARN; Lambda must be called there.
      const region = regionOf(functionName, 'lambda') ?? options.region;
      const { statusCode, functionError, response } = await invokeThroughCli((args) => run(args, region), functionName, event);
      if (functionError) return { ok: false, error: `${functionError}: ${response.slice(0, 500)}` };
      if (statusCode !== 200) return { ok: false, error: `status ${String(statusCode)}` };
      const partly = reportedBatchFailures(response);
      return partly ? { ok: false, error: partly } : { ok: true };
    },
  };
  // A shard iterator is valid in its stream's region only (and for 15 minutes).
  const streamCli = (args: string[], streamArn: string) =>
    run(['dynamodbstreams', ...args], regionOf(streamArn, 'dynamodb') ?? options.region).catch((error: unknown) => {
      throw awsCliError(error);
    });
  const streams: StreamReader = {
    async iteratorAt(streamArn, shardId, sequenceNumber) {
      const stdout = await streamCli(
        [
          'get-shard-iterator',
          '--stream-arn',
          streamArn,
          '--shard-id',
          shardId,
          '--shard-iterator-type',
          'AT_SEQUENCE_NUMBER',
          '--sequence-number',
          sequenceNumber,
        ],
        streamArn,
      );
      const { ShardIterator } = JSON.parse(stdout) as { ShardIterator?: string };
      if (!ShardIterator) throw new StreamReadError(`no shard iterator for ${shardId} at ${sequenceNumber}`);
      return ShardIterator;
    },
    async records(streamArn, iterator) {
      const stdout = await streamCli(['get-records', '--shard-iterator', iterator], streamArn);
      const parsed = JSON.parse(stdout) as { Records?: StreamRecord[]; NextShardIterator?: string };
      return { records: parsed.Records ?? [], next: parsed.NextShardIterator };
    },
  };
  return { queue, lambda, streams };
}

interface CliMessage {
  readonly MessageId: string;
  readonly ReceiptHandle: string;
  readonly Body: string;
  readonly MessageAttributes?: Record<string, { StringValue?: string }>;
}
