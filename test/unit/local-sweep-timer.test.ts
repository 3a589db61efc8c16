/** The local stack's sweeper timer (local/stack.ts repeatWithoutOverlap): one run at a time. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { repeatWithoutOverlap } from '#local/stack';

afterEach(() => {
  vi.useRealTimers();
});

describe('repeatWithoutOverlap', () => {
  it('skips the ticks that come while a run is still going, and stop waits for the run in flight', async () => {
    vi.useFakeTimers();
    let running = 0;
    let most = 0;
    let runs = 0;
    const finish: (() => void)[] = [];
    const timer = repeatWithoutOverlap(() => {
      runs++;
      running++;
      most = Math.max(most, running);
      return new Promise<void>((done) =>
        finish.push(() => {
          running--;
          done();
        }),
      );
    }, 1000);
    // A run that outlasts three ticks: the ticks meanwhile start nothing.
    await vi.advanceTimersByTimeAsync(4000);
    expect(runs).toBe(1);
    finish.shift()?.();
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(2);
    expect(most).toBe(1);

    let stopped = false;
    const stopping = timer.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(5000);
    expect(stopped).toBe(false);
    expect(runs).toBe(2);
    finish.shift()?.();
    await stopping;
    expect(stopped).toBe(true);
  });
});
