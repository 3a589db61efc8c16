/** Retries with exponential backoff and full jitter (the AWS Architecture Blog's recommendation). */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 15_000 };

/** An error that says whether trying again may help. */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** The delay before retry `n` (1-based): uniform in [0, min(max, base·2ⁿ)). */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry));
}

/** Runs `attempt` until it succeeds, retrying what `isTransient` accepts, up to the policy's bound. */
export async function withBackoff<T>(
  attempt: (tryNumber: number) => Promise<T>,
  isTransient: (error: unknown) => boolean,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await attempt(tryNumber);
    } catch (error) {
      if (tryNumber >= policy.attempts || !isTransient(error)) throw error;
      await sleep(backoffDelay(policy, tryNumber));
    }
  }
}
