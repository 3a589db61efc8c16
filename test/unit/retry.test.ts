/** Backoff with full jitter: bounded delays, transient errors retried, others thrown at once. */
import { describe, expect, it } from 'vitest';
import { ApiError } from '#sdk/api';
import { backoffDelay, TransientError, withBackoff } from '#sdk/retry';

const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 4 };

describe('withBackoff', () => {
  it('delays grow exponentially up to the cap, drawn uniformly below it', () => {
    const policy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((retry) => backoffDelay(policy, retry, () => 0.999999))).toEqual([199, 399, 799, 999, 999]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
  });

  it('retries transient failures until one succeeds', async () => {
    const tries: number[] = [];
    const result = await withBackoff(
      async (n) => {
        tries.push(n);
        if (n < 3) throw new TransientError('flaky');
        return 'done';
      },
      (error) => error instanceof TransientError,
      fast,
    );
    expect(result).toBe('done');
    expect(tries).toEqual([1, 2, 3]);
  });

  it('gives up after the policy’s attempts, with the last error', async () => {
    let tries = 0;
    const failing = withBackoff(
      async () => {
        tries++;
        throw new TransientError(`try ${tries}`);
      },
      () => true,
      fast,
    );
    await expect(failing).rejects.toThrow('try 4');
    expect(tries).toBe(4);
  });

  it('throws a permanent failure at once', async () => {
    let tries = 0;
    const failing = withBackoff(
      async () => {
        tries++;
        throw new Error('bad request');
      },
      (error) => error instanceof TransientError,
      fast,
    );
    await expect(failing).rejects.toThrow('bad request');
    expect(tries).toBe(1);
  });
});

describe('ApiError.retryable', () => {
  it('retries throttling and server faults in place, not a 429 whose limit lasts longer than a minute', () => {
    expect(new ApiError(503, 'contention', 'retry').retryable).toBe(true);
    expect(new ApiError(429, 'throttled', 'API Gateway sends no retry-after').retryable).toBe(true);
    expect(new ApiError(429, 'throttled', 'soon', 5).retryable).toBe(true);
    const limited = new ApiError(429, 'proof_limited', 'too many unmet proofs', 3 * 3600);
    expect(limited.retryable).toBe(false);
    expect(limited.message).toContain('retry after 10800 s');
    expect(new ApiError(403, 'proof_failed', 'no').retryable).toBe(false);
  });
});
