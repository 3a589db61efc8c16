import { BusyError, StaleWriteError } from './errors.ts';

const MAX_DECISION_ROUNDS = 6;

/**
 * Runs `decide` again when one of its conditional writes lost a race (StaleWriteError), so that
 * it decides on fresh reads. Under sustained contention it gives up with a retryable 503.
 */
export async function withRetries<T>(decide: () => Promise<T>): Promise<T> {
  for (let round = 1; ; round++) {
    try {
      return await decide();
    } catch (error) {
      if (!(error instanceof StaleWriteError)) throw error;
      if (round >= MAX_DECISION_ROUNDS) throw new BusyError('contention', 'too many concurrent changes; retry', { cause: error });
    }
  }
}
