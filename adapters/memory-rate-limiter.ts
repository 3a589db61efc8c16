/**
 * The RateLimiter port in memory, with DynamoRateLimiter's semantics (the same windows, the same
 * refusals, counting only below the limit): for the domain's tests and the unit group, which run
 * without a local stack. Ended windows are kept, as DynamoDB may keep them a while past their
 * TTL: they are never counted again, since the window is part of the key.
 */
import type { RateDecision, RateLimit, RateLimiter } from '#domain/ports';
import { refusedUntil, windowOf } from './dynamo-rate-limiter.ts';

export class MemoryRateLimiter implements RateLimiter {
  private readonly hits = new Map<string, number>();

  private entry(userId: string, limit: RateLimit, now: number) {
    const { windowKey, endsAt } = windowOf(limit, now);
    // JSON keeps user and window apart whatever characters either holds.
    return { key: JSON.stringify([userId, windowKey]), endsAt };
  }

  async take(userId: string, limit: RateLimit, now: number): Promise<RateDecision> {
    const { key, endsAt } = this.entry(userId, limit, now);
    const hits = this.hits.get(key) ?? 0;
    if (hits >= limit.limit) return refusedUntil(endsAt, now);
    this.hits.set(key, hits + 1);
    return { allowed: true, remaining: limit.limit - hits - 1 };
  }

  async peek(userId: string, limit: RateLimit, now: number): Promise<RateDecision> {
    const { key, endsAt } = this.entry(userId, limit, now);
    const hits = this.hits.get(key) ?? 0;
    return hits < limit.limit ? { allowed: true, remaining: limit.limit - hits } : refusedUntil(endsAt, now);
  }
}
