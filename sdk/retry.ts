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

/** Waits `ms`; an abort ends the wait at once, rejecting with the signal's reason. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((done, fail) => {
    if (signal?.aborted) return fail(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      fail(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The delay before retry `n` (1-based): uniform in [0, min(max, base·2ⁿ)). */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry));
}

/**
 * Runs `attempt` until it succeeds, retrying what `isTransient` accepts, up to the policy's bound.
 * Once `signal` aborts, nothing is tried again: the abort's reason is thrown instead.
 */
export async function withBackoff<T>(
  attempt: (tryNumber: number) => Promise<T>,
  isTransient: (error: unknown) => boolean,
  policy: RetryPolicy = DEFAULT_RETRY,
  signal?: AbortSignal,
): Promise<T> {
  for (let tryNumber = 1; ; tryNumber++) {
    signal?.throwIfAborted();
    try {
      return await attempt(tryNumber);
    } catch (error) {
      signal?.throwIfAborted();
      if (tryNumber >= policy.attempts || !isTransient(error)) throw error;
      await sleep(backoffDelay(policy, tryNumber), signal);
    }
  }
}
