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
 *
 * An operator's tool, run with `npx tsx scripts/replay-failures.ts`: no function bundle imports it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { objectCreatedRecords } from '#deploy/definitions';

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
  readonly origin: 'lambda-on-failure' | 'eventbridge-dead-letter';
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

export interface ReplayOptions {
  /** Replay at most this many messages. @default every message */
  readonly limit?: number;
  /** Only say what would be replayed: nothing is invoked or deleted. */
  readonly dryRun?: boolean;
  /** One line per message, for the operator. */
  readonly log?: (line: string) => void;
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
      await replayOne(message, queue, lambda, options.dryRun === true, report, log);
    }
  }
  return report;
}

async function replayOne(
  message: QueueMessage,
  queue: FailureQueueClient,
  lambda: FunctionInvoker,
  dryRun: boolean,
  report: { replayed: string[]; planned: Replay[]; failed: { messageId: string; reason: string }[] },
  log: (line: string) => void,
): Promise<void> {
  const fail = (reason: string) => {
    report.failed.push({ messageId: message.messageId, reason });
    log(`${message.messageId}  kept: ${reason}`);
  };
  let replay: Replay;
  try {
    replay = replayOf(message);
  } catch (error) {
    if (error instanceof UnreadableMessageError) return fail(error.message);
    throw error;
  }
  if (dryRun) {
    report.planned.push(replay);
    log(`${message.messageId}  would invoke ${replay.functionName} with ${JSON.stringify(replay.event)}`);
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

/**
 * The queue and the functions through the AWS CLI, which takes credentials, profile and region
 * from wherever the operator's other AWS commands do (the project ships no SQS or Lambda SDK client).
 */
export function awsCliClients(options: AwsCliOptions): { queue: FailureQueueClient; lambda: FunctionInvoker } {
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
      const dir = await mkdtemp(join(tmpdir(), 'hashdrop-replay-'));
      try {
        const payload = join(dir, 'event.json');
        const response = join(dir, 'response.json');
        await writeFile(payload, JSON.stringify(event));
        // A function's region is in its ARN; Lambda must be called there.
        const region = /^arn:[^:]+:lambda:([^:]+):/.exec(functionName)?.[1] ?? options.region;
        const stdout = await run(
          [
            'lambda',
            'invoke',
            '--function-name',
            functionName,
            '--invocation-type',
            'RequestResponse',
            // fileb: the bytes as they are (fileb needs no --cli-binary-format).
            '--payload',
            `fileb://${payload}`,
            // The CLI gives up after 60 s by default; the functions may run 15 minutes.
            '--cli-read-timeout',
            '0',
            response,
          ],
          region,
        );
        const result = JSON.parse(stdout) as { StatusCode?: number; FunctionError?: string };
        if (result.FunctionError) {
          const detail = await readFile(response, 'utf8').catch(() => '');
          return { ok: false, error: `${result.FunctionError}: ${detail.slice(0, 500)}` };
        }
        return result.StatusCode === 200 ? { ok: true } : { ok: false, error: `status ${String(result.StatusCode)}` };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  return { queue, lambda };
}

interface CliMessage {
  readonly MessageId: string;
  readonly ReceiptHandle: string;
  readonly Body: string;
  readonly MessageAttributes?: Record<string, { StringValue?: string }>;
}
