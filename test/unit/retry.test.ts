/** Backoff with full jitter: bounded delays, transient errors retried, others thrown at once. */
import { describe, expect, it } from 'vitest';
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
