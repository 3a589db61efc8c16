/**
 * The contention retry of the DynamoDB client (adapters/dynamo-contention.ts) on its own: what it
 * retries, how long it pauses, what it counts, and what it throws past its tries. DynamoDB is not
 * reached: a middleware on the wire side answers as DynamoDB would.
 */
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { CONTENTION_ATTEMPTS, CONTENTION_BACKOFF, retryContention, writeFailureOf } from '#adapters/dynamo-contention';
import { silentTelemetry } from '#adapters/telemetry';
import { ContentionError } from '#domain/errors';

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

const named = (name: string) => Object.assign(new Error(name), { name });

/** A client whose requests meet `answers` in turn (an error is thrown, anything else answers), and what the retry did. */
function clientMeeting(answers: unknown[], random = () => 0.999) {
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } }),
  );
  const telemetry = silentTelemetry();
  const pauses: number[] = [];
  let sent = 0;
  db.middlewareStack.add(
    () => async () => {
      const answer = answers[sent++];
      if (answer instanceof Error) throw answer;
      return { output: { $metadata: {} }, response: {} };
    },
    { step: 'build', name: 'fakeDynamoDb' },
  );
  retryContention(db, {
    telemetry,
    random,
    pause: async (ms) => {
      pauses.push(ms);
    },
  });
  const transact = () => db.send(new TransactWriteCommand({ TransactItems: [] }));
  return { db, telemetry, pauses, transact, sent: () => sent };
}

describe('the contention retry', () => {
  it('tells a failed condition from a conflict and from throttling', () => {
    expect(writeFailureOf(cancelled('None', 'ConditionalCheckFailed'))).toBe('condition');
    // A failed condition decides even beside a conflict: the state read is stale.
    expect(writeFailureOf(cancelled('TransactionConflict', 'ConditionalCheckFailed'))).toBe('condition');
    expect(writeFailureOf(cancelled('None', 'TransactionConflict'))).toBe('conflict');
    expect(writeFailureOf(cancelled('ThrottlingError'))).toBe('throttled');
    expect(writeFailureOf(named('ConditionalCheckFailedException'))).toBe('condition');
    expect(writeFailureOf(named('TransactionConflictException'))).toBe('conflict');
    expect(writeFailureOf(named('ProvisionedThroughputExceededException'))).toBe('throttled');
    expect(writeFailureOf(named('AccessDeniedException'))).toBeUndefined();
  });

  it('sends a cancelled or throttled request again after a jittered pause that doubles up to its cap, counting each', async () => {
    const { transact, pauses, telemetry, sent } = clientMeeting([
      cancelled('None', 'TransactionConflict'),
      named('ProvisionedThroughputExceededException'),
      cancelled('TransactionConflict'),
      undefined,
    ]);
    await transact();
    expect(sent()).toBe(4);
    // random() just under 1: each pause is its bound, min(cap, base·2^try).
    expect(pauses).toEqual(
      [1, 2, 3].map((tries) => Math.floor(0.999 * Math.min(CONTENTION_BACKOFF.capMs, CONTENTION_BACKOFF.baseMs * 2 ** tries))),
    );
    expect(telemetry.total('TransactionConflicts')).toBe(2);
    expect(telemetry.total('Throttles')).toBe(1);
  });

  it('draws each pause uniformly below its bound (full jitter): 0 when random() is 0', async () => {
    const { transact, pauses } = clientMeeting([cancelled('TransactionConflict'), undefined], () => 0);
    await transact();
    expect(pauses).toEqual([0]);
  });

  it(`gives up after ${CONTENTION_ATTEMPTS} tries with a ContentionError (a StaleWriteError: the domain decides again), pausing at most about 0.2 s`, async () => {
    const { transact, pauses, telemetry, sent } = clientMeeting(
      Array.from({ length: 10 }, () => cancelled('TransactionConflict')),
    );
    const error = await transact().catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ContentionError);
    expect(error).toMatchObject({ reason: 'conflict' });
    expect(sent()).toBe(CONTENTION_ATTEMPTS);
    expect(telemetry.total('TransactionConflicts')).toBe(CONTENTION_ATTEMPTS);
    // 30 + 60 + 120 ms at most: well inside an API function's 10 s.
    expect(pauses.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(210);
  });

  it('never sends again a write whose condition failed, nor any other error', async () => {
    for (const error of [
      cancelled('ConditionalCheckFailed'),
      named('ConditionalCheckFailedException'),
      named('AccessDeniedException'),
    ]) {
      const { db, sent, pauses } = clientMeeting([error, undefined]);
      await expect(db.send(new GetCommand({ TableName: 't', Key: { k: 'x' } }))).rejects.toBe(error);
      expect({ sent: sent(), pauses }).toEqual({ sent: 1, pauses: [] });
    }
  });
});
