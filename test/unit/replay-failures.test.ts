import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectCreatedRecords } from '#deploy/definitions';
import {
  awsCliClients,
  type FailureQueueClient,
  type FunctionInvoker,
  type InvokeResult,
  type QueueMessage,
  REPLAY_HIDE_SECONDS,
  replayFailures,
  replayOf,
  UnreadableMessageError,
} from '../../scripts/failure-replay.ts';
import { type FakeAwsCli, fakeAwsCli } from '../support/fake-aws-cli.ts';

const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:Hashdrop-ObjectCreated30DF-abc';
const S3_EVENT = { Records: [{ eventName: 'ObjectCreated:Put', s3: { object: { key: 'blobs/ab12/att1' } } }] };

/** Lambda's on-failure record of an asynchronous invocation, as it sends it to an SQS destination. */
const onFailureRecord = (event: unknown, functionArn = `${FUNCTION_ARN}:$LATEST`) =>
  JSON.stringify({
    version: '1.0',
    timestamp: '2026-11-25T13:26:26.084Z',
    requestContext: { requestId: 'r-1', functionArn, condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'AggregateError', errorMessage: 'publishing failed; retrying' },
  });

let counter = 0;
const message = (body: string, attributes: Record<string, string> = {}): QueueMessage => {
  counter += 1;
  return { messageId: `m-${counter}`, receiptHandle: `rh-${counter}`, body, attributes };
};

/** A queue in memory: received messages stay until deleted (and come back, as after their hiding time). */
class FakeQueue implements FailureQueueClient {
  readonly deleted: string[] = [];
  readonly hides: number[] = [];
  constructor(readonly messages: QueueMessage[]) {}
  async receive(max: number, hideSeconds: number): Promise<QueueMessage[]> {
    this.hides.push(hideSeconds);
    return this.messages.filter((m) => !this.deleted.includes(m.receiptHandle)).slice(0, max);
  }
  async delete(receiptHandle: string): Promise<void> {
    this.deleted.push(receiptHandle);
  }
}

class FakeLambda implements FunctionInvoker {
  readonly calls: { functionName: string; event: unknown }[] = [];
  constructor(private readonly answer: (event: unknown) => InvokeResult | Promise<InvokeResult> = () => ({ ok: true })) {}
  async invoke(functionName: string, event: unknown): Promise<InvokeResult> {
    this.calls.push({ functionName, event });
    return this.answer(event);
  }
}

describe('what a failure queue message is replayed as', () => {
  it('a Lambda on-failure record: the original event (requestPayload) to the function it names, unqualified', () => {
    expect(replayOf(message(onFailureRecord(S3_EVENT)))).toEqual({
      functionName: FUNCTION_ARN,
      event: S3_EVENT,
      origin: 'lambda-on-failure',
    });
    // A scheduled sweep's event is replayed as it was, whatever it holds.
    const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };
    expect(replayOf(message(onFailureRecord(scheduled, `${FUNCTION_ARN}:live`))).event).toEqual(scheduled);
    expect(replayOf(message(onFailureRecord(scheduled, `${FUNCTION_ARN}:live`))).functionName).toBe(`${FUNCTION_ARN}:live`);
  });

  it('an EventBridge dead letter of an Object Created event: the S3 notification the rule hands the function', () => {
    const event = {
      version: '0',
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: { bucket: { name: 'blobs' }, object: { key: 'blobs/ab12/att1', size: 5 } },
    };
    const replay = replayOf(message(JSON.stringify(event), { RULE_ARN: 'arn:aws:events:…:rule/x', TARGET_ARN: FUNCTION_ARN }));
    expect(replay).toEqual({
      functionName: FUNCTION_ARN,
      event: objectCreatedRecords('blobs/ab12/att1'),
      origin: 'eventbridge-dead-letter',
    });
    expect(replay.event).toEqual({
      Records: [{ eventName: 'ObjectCreated:EventBridge', s3: { object: { key: 'blobs/ab12/att1' } } }],
    });
  });

  it('an EventBridge dead letter of another event (the sweeper’s schedule): the event as it is', () => {
    const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };
    expect(replayOf(message(JSON.stringify(scheduled), { TARGET_ARN: FUNCTION_ARN })).event).toEqual(scheduled);
  });

  it.each([
    ['not JSON', message('not json')],
    ['an on-failure record without its function', message(JSON.stringify({ requestPayload: S3_EVENT }))],
    [
      'an Object Created dead letter without a key',
      message(JSON.stringify({ source: 'aws.s3', 'detail-type': 'Object Created' }), { TARGET_ARN: FUNCTION_ARN }),
    ],
    ['a message of neither kind', message(JSON.stringify(S3_EVENT))],
  ])('refuses %s', (_label, unreadable) => {
    expect(() => replayOf(unreadable)).toThrow(UnreadableMessageError);
  });
});

describe('replaying a failure queue', () => {
  it('invokes the function with each original event and deletes each message after its success', async () => {
    const first = message(onFailureRecord(S3_EVENT));
    const second = message(JSON.stringify({ source: 'aws.events' }), { TARGET_ARN: 'Hashdrop-Sweeper' });
    const queue = new FakeQueue([first, second]);
    const lambda = new FakeLambda();
    const report = await replayFailures(queue, lambda);
    expect(lambda.calls).toEqual([
      { functionName: FUNCTION_ARN, event: S3_EVENT },
      { functionName: 'Hashdrop-Sweeper', event: { source: 'aws.events' } },
    ]);
    expect(queue.deleted).toEqual([first.receiptHandle, second.receiptHandle]);
    expect(report).toEqual({ replayed: [first.messageId, second.messageId], planned: [], failed: [] });
    // Hidden longer than a function may run, so no second replay takes a message in flight.
    expect(queue.hides[0]).toBe(REPLAY_HIDE_SECONDS);
    expect(REPLAY_HIDE_SECONDS).toBeGreaterThan(15 * 60);
  });

  it('deletes nothing whose invocation failed, threw or that it could not read, and says why', async () => {
    const failing = message(onFailureRecord({ fail: 'function' }));
    const throwing = message(onFailureRecord({ fail: 'throw' }));
    const unreadable = message('{');
    const good = message(onFailureRecord(S3_EVENT));
    const queue = new FakeQueue([failing, throwing, unreadable, good]);
    const lambda = new FakeLambda((event) => {
      const fail = (event as { fail?: string }).fail;
      if (fail === 'throw') throw new Error('ECONNRESET');
      return fail ? { ok: false, error: 'Unhandled: publishing failed' } : { ok: true };
    });
    const report = await replayFailures(queue, lambda);
    expect(queue.deleted).toEqual([good.receiptHandle]);
    expect(report.replayed).toEqual([good.messageId]);
    expect(report.failed).toEqual([
      { messageId: failing.messageId, reason: expect.stringContaining('failed again: Unhandled: publishing failed') },
      { messageId: throwing.messageId, reason: expect.stringContaining('ECONNRESET') },
      { messageId: unreadable.messageId, reason: expect.stringContaining('not JSON') },
    ]);
    // Each message was tried once in the run, though the failed ones were still in the queue.
    expect(lambda.calls).toHaveLength(3);
  });

  it('reports a message replayed but not deleted, which a later run replays again', async () => {
    const only = message(onFailureRecord(S3_EVENT));
    const queue = new FakeQueue([only]);
    queue.delete = async () => {
      throw new Error('AccessDenied');
    };
    const report = await replayFailures(queue, new FakeLambda());
    expect(report.replayed).toEqual([]);
    expect(report.failed).toEqual([{ messageId: only.messageId, reason: expect.stringContaining('not deleted: AccessDenied') }]);
  });

  it('in a dry run invokes and deletes nothing, hides nothing, and stops once it has seen every message', async () => {
    const queue = new FakeQueue([message(onFailureRecord(S3_EVENT)), message(onFailureRecord(S3_EVENT))]);
    const lambda = new FakeLambda();
    const report = await replayFailures(queue, lambda, { dryRun: true });
    expect(lambda.calls).toEqual([]);
    expect(queue.deleted).toEqual([]);
    expect(report.planned).toHaveLength(2);
    expect(new Set(queue.hides)).toEqual(new Set([0]));
  });

  it('replays at most --limit messages', async () => {
    const queue = new FakeQueue(Array.from({ length: 25 }, () => message(onFailureRecord(S3_EVENT))));
    const lambda = new FakeLambda();
    const report = await replayFailures(queue, lambda, { limit: 12 });
    expect(report.replayed).toHaveLength(12);
    expect(queue.deleted).toHaveLength(12);
  });
});

describe('through the AWS CLI', () => {
  let cli: FakeAwsCli;
  let aws: string;
  const calls = () => cli.calls();

  beforeAll(async () => {
    // Answers as the AWS CLI v2 does.
    cli = await fakeAwsCli(
      `if (args[1] === 'receive-message') process.stdout.write(JSON.stringify({ Messages: [{ MessageId: 'm', ReceiptHandle: 'rh', Body: '{}', MessageAttributes: { TARGET_ARN: { StringValue: 'fn', DataType: 'String' } } }] }));
if (args[1] === 'invoke') { const out = args[args.indexOf('0') + 1]; fs.writeFileSync(out, '{"errorMessage":"boom"}'); process.stdout.write(JSON.stringify(args.includes('arn:aws:lambda:eu-west-1:1:function:bad') ? { StatusCode: 200, FunctionError: 'Unhandled' } : { StatusCode: 200 })); }`,
    );
    aws = cli.path;
  });
  afterAll(() => cli.remove());

  it('receives with attributes and a hiding time, invokes synchronously without the CLI’s 60 s limit, in the function’s region', async () => {
    const { queue, lambda } = awsCliClients({
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q',
      region: 'eu-west-1',
      command: aws,
    });
    expect(await queue.receive(10, 960)).toEqual([
      { messageId: 'm', receiptHandle: 'rh', body: '{}', attributes: { TARGET_ARN: 'fn' } },
    ]);
    expect(await lambda.invoke('arn:aws:lambda:us-east-2:1:function:good', S3_EVENT)).toEqual({ ok: true });
    expect(await lambda.invoke('arn:aws:lambda:eu-west-1:1:function:bad', S3_EVENT)).toEqual({
      ok: false,
      error: 'Unhandled: {"errorMessage":"boom"}',
    });
    await queue.delete('rh');
    const [receive, invoke, , remove] = await calls();
    expect(receive).toEqual(
      expect.arrayContaining([
        'receive-message',
        '--max-number-of-messages',
        '10',
        '--visibility-timeout',
        '960',
        '--message-attribute-names',
        'All',
      ]),
    );
    expect(invoke?.slice(0, 6)).toEqual([
      'lambda',
      'invoke',
      '--function-name',
      'arn:aws:lambda:us-east-2:1:function:good',
      '--invocation-type',
      'RequestResponse',
    ]);
    expect(invoke).toEqual(expect.arrayContaining(['--cli-read-timeout', '0', '--region', 'us-east-2']));
    // The event travels byte for byte.
    expect(JSON.parse(invoke?.at(-1) ?? '')).toEqual(S3_EVENT);
    expect(remove).toEqual(
      expect.arrayContaining([
        'delete-message',
        '--queue-url',
        'https://sqs.eu-west-1.amazonaws.com/1/q',
        '--receipt-handle',
        'rh',
      ]),
    );
  });
});
