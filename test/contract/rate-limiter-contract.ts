/**
 * The RateLimiter port's specification, as tests every implementation must pass: DynamoRateLimiter
 * on DynamoDB Local (test/integration/contract-real.test.ts) and MemoryRateLimiter
 * (test/unit/contract-memory.test.ts). Time is a parameter of the port, so each test picks its own
 * instants (windows of its own, users of its own: the real table is shared by test files running
 * in parallel).
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RateLimit, RateLimiter } from '#domain/ports';

export interface RateLimiterFixture {
  readonly limiter: RateLimiter;
}

const newUserId = (): string => `limits-${randomBytes(6).toString('hex')}`;

const MINUTE = 60_000;

export function rateLimiterContract(name: string, make: () => Promise<RateLimiterFixture>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    let limiter: RateLimiter;
    let user: string;
    /** The start of a minute window, somewhere in 2026. */
    let windowStart: number;
    const three: RateLimit = { counter: 'requests', limit: 3, windowSeconds: 60 };

    beforeEach(async () => {
      ({ limiter } = await make());
      user = newUserId();
      windowStart = Date.UTC(2026, 0, 1) + Math.floor(Math.random() * 500_000) * MINUTE;
    });

    const takeTimes = async (times: number, limit: RateLimit, now: number) => {
      const decisions = [];
      for (let index = 0; index < times; index++) decisions.push(await limiter.take(user, limit, now));
      return decisions;
    };

    it('counts up to the limit in a window, then refuses until the window ends', async () => {
      const decisions = await takeTimes(3, three, windowStart + 5_000);
      expect(decisions).toEqual([
        { allowed: true, remaining: 2 },
        { allowed: true, remaining: 1 },
        { allowed: true, remaining: 0 },
      ]);
      expect(await limiter.take(user, three, windowStart + 20_500)).toEqual({ allowed: false, retryAfterSeconds: 40 });
      expect(await limiter.take(user, three, windowStart + 59_999)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    });

    it('a refused event is not counted: the next window starts afresh', async () => {
      await takeTimes(10, three, windowStart);
      expect(await limiter.take(user, three, windowStart + MINUTE)).toEqual({ allowed: true, remaining: 2 });
    });

    it('windows are fixed: the count starts again at the window’s end, not a minute after the first event', async () => {
      await takeTimes(3, three, windowStart + 50_000);
      expect(await limiter.take(user, three, windowStart + 59_000)).toMatchObject({ allowed: false });
      expect(await limiter.take(user, three, windowStart + 60_000)).toEqual({ allowed: true, remaining: 2 });
    });

    it('peek answers as take would, and counts nothing', async () => {
      expect(await limiter.peek(user, three, windowStart)).toEqual({ allowed: true, remaining: 3 });
      await takeTimes(2, three, windowStart);
      expect(await limiter.peek(user, three, windowStart)).toEqual({ allowed: true, remaining: 1 });
      expect(await limiter.peek(user, three, windowStart)).toEqual({ allowed: true, remaining: 1 });
      await limiter.take(user, three, windowStart);
      expect(await limiter.peek(user, three, windowStart + 30_000)).toEqual({ allowed: false, retryAfterSeconds: 30 });
    });

    it('each user and each counter has a count of its own', async () => {
      await takeTimes(3, three, windowStart);
      expect(await limiter.take(user, three, windowStart)).toMatchObject({ allowed: false });
      expect(await limiter.take(newUserId(), three, windowStart)).toEqual({ allowed: true, remaining: 2 });
      const failures: RateLimit = { counter: 'proof-failures', limit: 3, windowSeconds: 60 };
      expect(await limiter.take(user, failures, windowStart)).toEqual({ allowed: true, remaining: 2 });
    });

    it('windows of another length are counted apart, aligned on multiples of their length', async () => {
      const daily: RateLimit = { counter: 'challenges', limit: 1, windowSeconds: 24 * 60 * 60 };
      const day = Math.floor(windowStart / 86_400_000) * 86_400_000;
      expect(await limiter.take(user, daily, day + 1_000)).toEqual({ allowed: true, remaining: 0 });
      expect(await limiter.take(user, daily, day + 86_399_000)).toEqual({ allowed: false, retryAfterSeconds: 1 });
      expect(await limiter.take(user, daily, day + 86_400_000)).toEqual({ allowed: true, remaining: 0 });
    });

    it('of concurrent events, exactly the limit is allowed', async () => {
      const ten: RateLimit = { counter: 'requests', limit: 10, windowSeconds: 60 };
      const decisions = await Promise.all(Array.from({ length: 25 }, () => limiter.take(user, ten, windowStart)));
      expect(decisions.filter((decision) => decision.allowed)).toHaveLength(10);
      expect(await limiter.peek(user, ten, windowStart)).toMatchObject({ allowed: false });
    });

    it('takes the longest user id the edge accepts (255 UTF-8 bytes) and any counter name', async () => {
      const long = `${'€'.repeat(84)}xyz`;
      expect(Buffer.byteLength(long)).toBe(255);
      const counter: RateLimit = { counter: `challenges:${'a'.repeat(64)}#x`, limit: 1, windowSeconds: 60 };
      expect(await limiter.take(long, counter, windowStart)).toEqual({ allowed: true, remaining: 0 });
      expect(await limiter.take(long, counter, windowStart)).toMatchObject({ allowed: false });
    });

    it('refuses a limit below 1 or a window shorter than a second, which would count nothing', async () => {
      await expect(limiter.take(user, { counter: 'requests', limit: 0, windowSeconds: 60 }, windowStart)).rejects.toThrow();
      await expect(limiter.peek(user, { counter: 'requests', limit: 1, windowSeconds: 0 }, windowStart)).rejects.toThrow();
    });
  });
}
