/**
 * The RateLimiter port on the Limits table (deploy/definitions.ts LIMITS_TABLE): one item per
 * user, counter and fixed window, `hits` counted by a conditional ADD, so that concurrent
 * requests of one user (in any number of Lambda containers) never count past the limit and a
 * refused one writes nothing. An item carries the end of its window as its TTL: DynamoDB deletes
 * it some time after, and since the window is part of the key, a late deletion changes no count.
 *
 * One write per counted event: at the edge, one UpdateItem per API request (on demand, about a
 * millionth of a dollar each), against a user's own item, so one user's budget never contends
 * with another's.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LIMITS_TABLE } from '#deploy/definitions';
import type { RateDecision, RateLimit, RateLimiter } from '#domain/ports';

/** The window of `limit` that holds `now`: its key part and its end (epoch ms). */
export function windowOf(limit: RateLimit, now: number): { readonly windowKey: string; readonly endsAt: number } {
  if (!Number.isSafeInteger(limit.limit) || limit.limit < 1) throw new Error('a rate limit allows at least 1 event');
  if (!Number.isSafeInteger(limit.windowSeconds) || limit.windowSeconds < 1) throw new Error('a rate window lasts at least 1 s');
  const length = limit.windowSeconds * 1000;
  const start = Math.floor(now / length) * length;
  return { windowKey: `${limit.counter}#${start}`, endsAt: start + length };
}

/** A refusal until the window ends (in whole seconds, at least 1, as retry-after carries it). */
export const refusedUntil = (endsAt: number, now: number): RateDecision => ({
  allowed: false,
  retryAfterSeconds: Math.max(1, Math.ceil((endsAt - now) / 1000)),
});

const TTL_ATTRIBUTE = LIMITS_TABLE.timeToLiveAttribute ?? 'expiresAt';

export class DynamoRateLimiter implements RateLimiter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async take(userId: string, limit: RateLimit, now: number): Promise<RateDecision> {
    const { windowKey, endsAt } = windowOf(limit, now);
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { userId, windowKey },
          UpdateExpression: 'ADD #hits :one SET #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#hits) OR #hits < :limit',
          ExpressionAttributeNames: { '#hits': 'hits', '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit.limit, ':ttl': Math.ceil(endsAt / 1000) },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const hits = Number(Attributes?.hits ?? limit.limit);
      return { allowed: true, remaining: Math.max(0, limit.limit - hits) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return refusedUntil(endsAt, now);
      throw error;
    }
  }

  async peek(userId: string, limit: RateLimit, now: number): Promise<RateDecision> {
    const { windowKey, endsAt } = windowOf(limit, now);
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { userId, windowKey }, ConsistentRead: true }),
    );
    const hits = Number(Item?.hits ?? 0);
    return hits < limit.limit ? { allowed: true, remaining: limit.limit - hits } : refusedUntil(endsAt, now);
  }
}
