/**
 * DynamoDB as it behaves in AWS, on DynamoDB Local: a client middleware holds requests back to
 * order them, or resends a request whose answer was lost, as the SDK does.
 */
import { randomBytes } from 'node:crypto';
import { ProvisionedThroughputExceededException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '#adapters/clients';
import { DynamoCatalog } from '#adapters/dynamo-catalog';
import type { ChallengeKey } from '#domain/ports';
import { handlerConfig, LOCAL_CREDENTIALS } from '#local/stack';
import { bytesToHex } from '#protocol/encoding';
import { newUser, stack } from '../helpers.ts';

/** What a request looks like where the fault middleware sits (after serialization). */
interface Sent {
  readonly command: string;
  /** The item's `name` of a PutItem, as sent (the challenge ledger's reserved names say which item). */
  readonly putName?: string;
}

type Fault = 'conflict' | 'throttle' | 'resend' | undefined;

/**
 * A DynamoDB client of the stack whose requests pass `decide` first, at the build step: inside
 * the contention retry, which sees the injected errors as DynamoDB's own, and outside the SDK's
 * own retries, which do not retry them again. `hold` may delay a request before it is sent.
 */
function faultyClient(decide: (sent: Sent) => Fault, hold?: (sent: Sent) => Promise<void>): DynamoDBDocumentClient {
  const config = handlerConfig(stack, 'CreateUpload');
  const db = createDocumentClient({ ...config.aws, credentials: LOCAL_CREDENTIALS });
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Item?: { name?: { S?: string } } };
      const sent: Sent = { command: context.commandName ?? '', putName: input.Item?.name?.S };
      await hold?.(sent);
      const fault = decide(sent);
      const $metadata = { httpStatusCode: 400 };
      if (fault === 'conflict') {
        throw new TransactionCanceledException({
          message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]',
          $metadata,
          CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
        });
      }
      if (fault === 'throttle') {
        throw new ProvisionedThroughputExceededException({
          message: 'Rate of requests exceeds the allowed throughput',
          $metadata,
        });
      }
      const answer = await next(args);
      // Sent again after its answer was lost: what the SDK does after a reset connection or a 5xx.
      return fault === 'resend' ? next(args) : answer;
    },
    { step: 'build', name: 'injectDynamoFaults' },
  );
  return db;
}

describe('the proof ledger when requests race or are sent twice (DynamoCatalog.openChallenge)', () => {
  const limits = { perUser: 3, inFlightPerContent: 2, failedPerContent: 2, staleBefore: 0 };
  const keyOf = (): ChallengeKey => ({
    userId: newUser('prover'),
    contentId: bytesToHex(randomBytes(32)),
    size: 4096,
    period: 1,
  });
  const isLook = (sent: Sent) => sent.command === 'PutItemCommand' && (sent.putName?.includes('look:') ?? false);
  const isRecord = (sent: Sent) => sent.command === 'PutItemCommand' && (sent.putName?.includes('proof:') ?? false);

  it('two requests of one user that each win one of the two items: exactly one opened it', async () => {
    // The first request to put its items wins the look; its record is held until the second
    // request's record is in, so each wins one item. Deciding by both answered 'open' to both.
    let firstLookDone: () => void = () => undefined;
    const lookDone = new Promise<void>((done) => {
      firstLookDone = done;
    });
    let secondRecordDone: () => void = () => undefined;
    const recordDone = new Promise<void>((done) => {
      secondRecordDone = done;
    });
    let looks = 0;
    let records = 0;
    const db = faultyClient(
      () => undefined,
      async (sent) => {
        if (isLook(sent) && looks++ === 1) await lookDone;
        if (isRecord(sent) && records++ === 0) await recordDone;
      },
    );
    db.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Item?: { name?: { S?: string } } };
        const sent: Sent = { command: context.commandName ?? '', putName: input.Item?.name?.S };
        try {
          return await next(args);
        } finally {
          if (isLook(sent)) firstLookDone();
          if (isRecord(sent) && records === 2) secondRecordDone();
        }
      },
      { step: 'build', name: 'observeLedgerPuts' },
    );
    const catalog = new DynamoCatalog(db, handlerConfig(stack, 'CreateUpload').tables);
    const key = keyOf();
    const results = await Promise.all([
      catalog.openChallenge(key, limits, Date.now(), Date.now() + 60_000),
      catalog.openChallenge(key, limits, Date.now(), Date.now() + 60_000),
    ]);
    expect({ looks, records }).toEqual({ looks: 2, records: 2 });
    expect(results.sort()).toEqual(['open', 'opened']);
  });

  it('a look the SDK sends again after losing its answer is still this request’s: opened, not open', async () => {
    const catalog = new DynamoCatalog(
      faultyClient((sent) => (isLook(sent) ? 'resend' : undefined)),
      handlerConfig(stack, 'CreateUpload').tables,
    );
    const key = keyOf();
    expect(await catalog.openChallenge(key, limits, Date.now(), Date.now() + 60_000)).toBe('opened');
    expect(await catalog.openChallenge(key, limits, Date.now(), Date.now() + 60_000)).toBe('open');
  });

  it('a consumed challenge sent again by the SDK is consumed by this call; another call is refused', async () => {
    const resent = (sent: Sent) => (sent.command === 'PutItemCommand' ? 'resend' : undefined);
    const catalog = new DynamoCatalog(faultyClient(resent), handlerConfig(stack, 'CreateUpload').tables);
    const userId = newUser('prover');
    const nonce = bytesToHex(randomBytes(16));
    expect(await catalog.consumeChallenge(userId, nonce, Date.now() + 60_000)).toBe(true);
    expect(await catalog.consumeChallenge(userId, nonce, Date.now() + 60_000)).toBe(false);
  });
});
