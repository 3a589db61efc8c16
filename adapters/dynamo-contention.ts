/**
 * Contention on DynamoDB, told apart from lost races (docs/design.md §11).
 *
 * Every file change writes the user's usage item and the content's item in one transaction, so
 * one user's parallel uploads, or many users' uploads of one popular content, make transactions
 * meet on the same items. DynamoDB then cancels one of them with `TransactionConflict` (or a
 * single write on an item a transaction holds with `TransactionConflictException`), or throttles
 * it. Unlike a failed condition, which says the state read is stale, these say nothing about the
 * state: nothing was written, and the same write, conditions and all, may succeed a moment later.
 *
 * So they are retried here, as they are, with exponential backoff and full jitter, a few times,
 * and counted (TransactionConflicts, Throttles). Past that the write fails with ContentionError:
 * a StaleWriteError, so the domain re-reads and decides again after a backoff of its own
 * (domain/retries.ts), and never a `false` that would read as "the condition failed".
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ContentionError } from '#domain/errors';
import type { Telemetry } from '#domain/ports';
import { backoffMs } from '#domain/retries';

/** Tries of one write in all; with the backoff below, at most about 0.2 s of pauses. */
export const CONTENTION_ATTEMPTS = 4;
export const CONTENTION_BACKOFF = { baseMs: 15, capMs: 200 } as const;

/** Cancellation reasons and error names DynamoDB uses for throttling. */
const THROTTLED = new Set([
  'ProvisionedThroughputExceeded',
  'ProvisionedThroughputExceededException',
  'ThrottlingError',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/** Why DynamoDB refused a write: a failed condition (the state changed), contention, or something else. */
export function writeFailureOf(error: unknown): 'condition' | 'conflict' | 'throttled' | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'ConditionalCheckFailedException') return 'condition';
  if (error.name === 'TransactionCanceledException') {
    const codes = ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map(
      (reason) => reason.Code ?? 'None',
    );
    // A failed condition decides: the state read is stale, and sending the same write again cannot help.
    if (codes.includes('ConditionalCheckFailed')) return 'condition';
    if (codes.includes('TransactionConflict')) return 'conflict';
    if (codes.some((code) => THROTTLED.has(code))) return 'throttled';
    return undefined;
  }
  if (error.name === 'TransactionConflictException') return 'conflict';
  return THROTTLED.has(error.name) ? 'throttled' : undefined;
}

export interface ContentionOptions {
  readonly telemetry?: Pick<Telemetry, 'metric'>;
  /** Sleeps `ms`; tests pass one that records the pauses. */
  readonly pause?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const MIDDLEWARE_NAME = 'hashdropContentionRetry';

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * Makes every command `client` sends retry contention as above. Added at the initialize step, so
 * each retry serializes and signs the request afresh; the SDK's own retries (throttling of single
 * requests, network errors) run inside it. Adding it again replaces it.
 */
export function retryContention(client: DynamoDBDocumentClient, options: ContentionOptions = {}): void {
  const pause = options.pause ?? sleep;
  const random = options.random ?? Math.random;
  client.middlewareStack.add(
    (next) => async (args) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await next(args);
        } catch (error) {
          const failure = writeFailureOf(error);
          if (failure !== 'conflict' && failure !== 'throttled') throw error;
          options.telemetry?.metric(failure === 'conflict' ? 'TransactionConflicts' : 'Throttles');
          if (attempt >= CONTENTION_ATTEMPTS) {
            throw new ContentionError(
              failure,
              `DynamoDB ${failure === 'conflict' ? 'transaction conflict' : 'throttling'} persisted`,
              {
                cause: error,
              },
            );
          }
          await pause(backoffMs(attempt, random, CONTENTION_BACKOFF));
        }
      }
    },
    { step: 'initialize', name: MIDDLEWARE_NAME, override: true },
  );
}
