/**
 * The request budget on the real local stack: each API function counts its users' requests in the
 * Limits table with its own key (so its role must be granted it, as in AWS), and a user whose
 * minute is spent gets 429 `rate_limited` on every route, before anything is written.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { windowOf } from '#adapters/dynamo-rate-limiter';
import { DEFAULTS, ROUTES } from '#deploy/definitions';
import { REQUEST_BUDGET } from '#lambdas/http';
import { signPartsBody } from '#lambdas/schemas';
import { encodeFileRef } from '#protocol/file-ref';
import { hashBuffer } from '#sdk/hashing';
import { contentItem, countersOf, db, filesOf, newUser, rawRequest, stack, token } from '../helpers.ts';

/**
 * A body /parts accepts: part numbers, or (before issue 12 point 1 changed the protocol) parts
 * with their digests. Only the budget may refuse the request in this test.
 */
const validPartsBody = signPartsBody.safeParse({ partNumbers: [1] }).success
  ? { partNumbers: [1] }
  : { parts: [{ partNumber: 1, sha256: 'ab'.repeat(32) }] };

/** The shared stack runs with the default budget. */
const LIMIT = DEFAULTS.requestsPerMinute;
const budget = { ...REQUEST_BUDGET, limit: LIMIT };

/** Spends the user's budget for this minute and the next, as LIMIT requests would have (a test may cross a minute). */
async function spendBudget(user: string): Promise<void> {
  const now = Date.now();
  for (const at of [now, now + 60_000]) {
    const { windowKey, endsAt } = windowOf(budget, at);
    await db.send(
      new PutCommand({
        TableName: stack.tables.limits,
        Item: { userId: user, windowKey, hits: LIMIT, expiresAt: Math.ceil(endsAt / 1000) },
      }),
    );
  }
}

describe('the per-user request budget', () => {
  it('counts each request of a user in the Limits table, with the API function’s own key', async () => {
    const user = newUser('budget');
    for (let request = 0; request < 3; request++) {
      expect((await rawRequest('GET', '/v1/usage', { userId: user })).status).toBe(200);
    }
    const counters = await countersOf(user);
    expect(counters.reduce((sum, item) => sum + Number(item.hits), 0)).toBe(3);
    expect(counters.every((item) => String(item.windowKey).startsWith('requests#') && Number(item.expiresAt) > 0)).toBe(true);
  });

  it('once a user’s minute is spent, every route answers 429 rate_limited with retry-after, and writes nothing', async () => {
    const user = newUser('budget');
    await spendBudget(user);
    const before = await countersOf(user);
    // Requests that would each write something, were they let through.
    const upload = {
      name: 'new.bin',
      size: 10,
      contentId: hashBuffer(Buffer.from(user)).contentId,
      blockDigests: ['ab'.repeat(32)],
    };
    const uploadId = `${encodeFileRef('new.bin')}.${'0'.repeat(32)}`;
    for (const { method, path } of ROUTES) {
      const concrete = path.replace('{uploadId}', uploadId).replace('{fileRef}', encodeFileRef('new.bin'));
      // Each valid, so that only the budget refuses it (validation comes first).
      const payload =
        method === 'PATCH'
          ? { name: 'other.bin' }
          : path === '/v1/uploads'
            ? upload
            : path.endsWith('/parts')
              ? validPartsBody
              : method === 'POST'
                ? {}
                : undefined;
      const response = await fetch(`${stack.endpoint}${concrete}`, {
        method,
        headers: {
          authorization: `Bearer ${await token(user)}`,
          origin: 'https://app.example.com',
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
        ...(payload ? { body: JSON.stringify(payload) } : {}),
      });
      const body = (await response.json()) as { error?: { code?: string; details?: { retryAfterSeconds?: number } } };
      expect(response.status, `${method} ${path}`).toBe(429);
      expect(body.error?.code).toBe('rate_limited');
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(body.error?.details?.retryAfterSeconds).toBe(retryAfter);
      // A browser script may read it (API_CORS exposes retry-after).
      expect(response.headers.get('access-control-expose-headers')).toContain('retry-after');
    }
    expect(await filesOf(user)).toEqual([]);
    expect(await contentItem(upload.contentId)).toBeUndefined();
    expect(await countersOf(user)).toEqual(before);
  });

  it('one user’s spent budget leaves everyone else’s alone', async () => {
    const spent = newUser('budget');
    await spendBudget(spent);
    expect((await rawRequest('GET', '/v1/usage', { userId: spent })).status).toBe(429);
    expect((await rawRequest('GET', '/v1/usage', { userId: newUser('budget') })).status).toBe(200);
  });
});
