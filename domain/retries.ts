import { BusyError, StaleWriteError } from './errors.ts';

const MAX_DECISION_ROUNDS = 6;

/**
 * Backoff between decision rounds: full jitter (a pause drawn uniformly from 0 to
 * min(cap, base·2^round)), so that requests that collided (one user's parallel uploads on their
 * usage item, many users on one popular content's refCount) spread out instead of colliding
 * again in lockstep. Bounded: the pauses of all rounds add up to at most about 0.6 s, far inside
 * the API functions' 10 s timeout.
 */
export const DECISION_BACKOFF = { baseMs: 10, capMs: 250 } as const;

/** The pause before retry `round` (1 for the first retry): full jitter, bounded by `capMs`. */
export function backoffMs(round: number, random: () => number, backoff: { baseMs: number; capMs: number }): number {
  return Math.floor(random() * Math.min(backoff.capMs, backoff.baseMs * 2 ** round));
}

export interface RetryOptions {
  /** Sleeps `ms`; tests pass one that records the pauses. */
  readonly pause?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  readonly random?: () => number;
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * Runs `decide` again when one of its conditional writes lost a race (StaleWriteError, which
 * includes ContentionError: a conflict or throttling the store could not get past), so that it
 * decides on fresh reads, after a jittered pause. Under sustained contention it gives up with a
 * retryable 503 `contention`.
 */
export async function withRetries<T>(decide: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const pause = options.pause ?? sleep;
  const random = options.random ?? Math.random;
  for (let round = 1; ; round++) {
    try {
      return await decide();
    } catch (error) {
      if (!(error instanceof StaleWriteError)) throw error;
      if (round >= MAX_DECISION_ROUNDS) throw new BusyError('contention', 'too many concurrent changes; retry', { cause: error });
      await pause(backoffMs(round, random, DECISION_BACKOFF));
    }
  }
}
