/**
 * SECURITY.md, claim by claim (issue 12: "every claim in it is true and tested"): the numbers and
 * promises that no other test pinned down, each test named after its claim. They run on the
 * domain with the in-memory stores and the deployed defaults (adapters/config.ts readSettings with
 * no overrides, what every function of the stack runs with), or on the synthesized template.
 * Claims that need the real local stack: test/integration/security-claims.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { readSettings } from '#adapters/config';
import { MemoryRateLimiter } from '#adapters/memory-rate-limiter';
import { proofSecretSource } from '#adapters/proof-secret';
import { SETTING_ENV_VARS } from '#deploy/definitions';
import { getFileDownload } from '#domain/files';
import type { Settings } from '#domain/ports';
import {
  challengeRanges,
  FAILED_AFTER_SECONDS,
  IN_FLIGHT_PER_CONTENT,
  issueChallenge,
  MAX_ANSWERS,
  RANGE_COUNT,
  RANGE_LENGTH,
  verifyProof,
} from '#domain/proof';
import { requestUpload } from '#domain/uploads';
import { type HttpEvent, json, MAX_BODY_BYTES, route } from '#lambdas/http';
import { fileName } from '#lambdas/schemas';
import { HashdropStack } from '../../lib/hashdrop-stack.ts';
import {
  answerChallenge,
  expectStatus,
  localFile,
  type MemoryWorld,
  memoryWorld,
  requestFor,
  SECOND,
  upload,
} from '../support/memory-deps.ts';

const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const KiB = 1024;
const MiB = 1024 * KiB;

/** What a deployed function runs with: no setting overridden (the stack sets only quota and budget). */
const DEPLOYED: Settings = readSettings({});

/** A world on the deployed settings, its clock at the start of a UTC day. */
const deployedWorld = (options: { deliverEvents?: boolean } = {}): MemoryWorld => memoryWorld({ settings: DEPLOYED, ...options });

/** A content's object, as after an upload (no content record: a proof reads only the object). */
function stored(world: MemoryWorld, size: number) {
  const file = localFile(randomBytes(size));
  const objectKey = `blobs/${file.contentId}/${'0'.repeat(32)}`;
  world.blobs.putObject(objectKey, file.bytes);
  return { ...file, objectKey };
}

/** What a call threw (its code), or 'issued' if it did not. */
async function outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'issued',
    (error: unknown) => (error as { code?: string }).code ?? String(error),
  );
}

/** A chance, rounded as SECURITY.md writes it: to whole percent. */
const percent = (probability: number): number => Math.round(probability * 100);

/** The chance that a client holding `held` of a file (any part of it) passes one challenge, at most. */
const passOne = (held: number): number => held ** RANGE_COUNT;

/** The chance that it passes at least one of `looks` challenges (each with other ranges). */
const passAny = (held: number, looks: number): number => 1 - (1 - passOne(held)) ** looks;

describe('SECURITY.md, Hash as credential: proof of ownership', () => {
  it('the deployed defaults are the documented ones: 5-minute tokens, a day per challenge, 20 open per user, 5 failed per content, 32 in flight, 30 s, 5 answers, on-hit', () => {
    expect(DEPLOYED).toMatchObject({
      proofTtlSeconds: 5 * 60,
      proofPeriodSeconds: 24 * 60 * 60,
      proofFailuresPerUser: 20,
      proofFailuresPerContent: 5,
      proofMode: 'on-hit',
    });
    expect({ IN_FLIGHT_PER_CONTENT, FAILED_AFTER_SECONDS, MAX_ANSWERS }).toEqual({
      IN_FLIGHT_PER_CONTENT: 32,
      FAILED_AFTER_SECONDS: 30,
      MAX_ANSWERS: 5,
    });
    // HASHDROP_PROOF_MODE=always challenges every request.
    expect(SETTING_ENV_VARS.proofMode).toBe('HASHDROP_PROOF_MODE');
    expect(readSettings({ HASHDROP_PROOF_MODE: 'always' }).proofMode).toBe('always');
  });

  it('a hit is linked only after the SHA-256 of 44 ranges of 16 KiB (a file up to 16 KiB: all of it)', async () => {
    expect({ RANGE_COUNT, RANGE_LENGTH }).toEqual({ RANGE_COUNT: 44, RANGE_LENGTH: 16 * KiB });
    const world = deployedWorld({ deliverEvents: false });
    for (const size of [16 * KiB + 1, 3 * MiB]) {
      const file = stored(world, size);
      const { ranges } = await issueChallenge(world.deps, `holder-${size}`, file.contentId, size);
      expect(ranges).toHaveLength(44);
      for (const range of ranges) {
        expect(range.length).toBe(16 * KiB);
        expect(range.start + range.length).toBeLessThanOrEqual(size);
      }
    }
    for (const size of [1, 16 * KiB]) {
      const file = stored(world, size);
      expect((await issueChallenge(world.deps, `holder-${size}`, file.contentId, size)).ranges).toEqual([
        { start: 0, length: size },
      ]);
    }
  });

  it('a client holding any 90% of the file passes with probability at most 0.9⁴⁴ ≈ 0.97%', () => {
    expect(passOne(0.9).toFixed(4)).toBe('0.0097');
    // 44 is the fewest that stays under 1%.
    expect(0.9 ** (RANGE_COUNT - 1)).toBeGreaterThan(0.01);
  });

  it('the answer travels with an HMAC token bound to user, content, size and a 5-minute expiry', async () => {
    const world = deployedWorld({ deliverEvents: false });
    const file = stored(world, 100_000);
    const other = stored(world, 100_000);
    const [onTime, late, elsewhere] = await Promise.all(
      [0, 1, 2].map(() => issueChallenge(world.deps, 'alice', file.contentId, file.size)),
    );
    if (!onTime || !late || !elsewhere) throw new Error('unreachable');
    const proofOf = (challenge: typeof onTime) => ({
      token: challenge.token,
      sha256: answerChallenge(file.bytes, challenge.ranges),
    });
    // Bound to the content and the size it was issued for, and to its user.
    await expect(verifyProof(world.deps, 'alice', other, proofOf(elsewhere))).rejects.toMatchObject({
      kind: 'forbidden',
      code: 'challenge_mismatch',
    });
    await expect(verifyProof(world.deps, 'alice', { ...file, size: file.size - 1 }, proofOf(elsewhere))).rejects.toMatchObject({
      code: 'challenge_mismatch',
    });
    await expect(verifyProof(world.deps, 'mallory', file, proofOf(elsewhere))).rejects.toMatchObject({
      code: 'challenge_mismatch',
    });
    // Good for 5 minutes, not a millisecond more.
    world.clock.advance(5 * MINUTE);
    await verifyProof(world.deps, 'alice', file, proofOf(onTime));
    world.clock.advance(1);
    await expect(verifyProof(world.deps, 'alice', file, proofOf(late))).rejects.toMatchObject({
      kind: 'forbidden',
      code: 'challenge_expired',
    });
  });
});

describe('SECURITY.md, Re-rolling a challenge', () => {
  it('a user’s ranges for a content are derived from user, content, size and the day: asking again shows the same ranges', async () => {
    const world = deployedWorld({ deliverEvents: false });
    const contentId = 'c'.repeat(64);
    const size = 10 * MiB;
    const first = await issueChallenge(world.deps, 'alice', contentId, size);
    world.clock.advance(DAY - 1);
    expect((await issueChallenge(world.deps, 'alice', contentId, size)).ranges).toEqual(first.ranges);
    world.clock.advance(1);
    expect((await issueChallenge(world.deps, 'alice', contentId, size)).ranges).not.toEqual(first.ranges);
    // The key: the service's secret, not anything a client knows.
    const secret = await world.deps.proofSecret();
    const key = { userId: 'alice', contentId, size, period: 0 };
    expect(challengeRanges(new Uint8Array(32).fill(8), key)).not.toEqual(challengeRanges(secret, key));
  });

  it('unmet after 30 s it has failed', async () => {
    const lookAfter = async (ms: number) => {
      const world = deployedWorld({ deliverEvents: false });
      const contentId = 'd'.repeat(64);
      for (let user = 0; user < 5; user++) await issueChallenge(world.deps, `looker-${user}`, contentId, 1000);
      world.clock.advance(ms);
      return outcome(issueChallenge(world.deps, 'next', contentId, 1000));
    };
    // Still in flight at 30 s: the five do not count as failed yet...
    expect(await lookAfter(30 * SECOND)).toBe('issued');
    // ...and have failed just after: five failed, the content is limited.
    expect(await lookAfter(30 * SECOND + 1)).toBe('proof_limited');
  });

  it('a new challenge is refused with 429 proof_limited until the day ends once the user has 20 open', async () => {
    const world = deployedWorld({ deliverEvents: false });
    world.clock.advance(DAY / 2);
    for (let index = 0; index < 20; index++) await issueChallenge(world.deps, 'prober', `${index}`.padStart(64, 'a'), 1000);
    const refused = issueChallenge(world.deps, 'prober', 'b'.repeat(64), 1000);
    await expect(refused).rejects.toMatchObject({ kind: 'limited', code: 'proof_limited' });
    await expect(refused).rejects.toMatchObject({ details: { retryAfterSeconds: DAY / 2 / SECOND } });
    world.clock.advance(DAY / 2 - 1);
    expect(await outcome(issueChallenge(world.deps, 'prober', 'b'.repeat(64), 1000))).toBe('proof_limited');
    world.clock.advance(1);
    expect(await outcome(issueChallenge(world.deps, 'prober', 'b'.repeat(64), 1000))).toBe('issued');
  });

  it('a new challenge is refused with 429 proof_limited until the day ends once the content has 5 failed, and with 503 proof_busy while it has 32 in flight', async () => {
    const world = deployedWorld({ deliverEvents: false });
    const contentId = 'e'.repeat(64);
    for (let user = 0; user < 4; user++) await issueChallenge(world.deps, `failed-${user}`, contentId, 1000);
    world.clock.advance(31 * SECOND);
    // Four failed: not yet limited. 32 in flight: the 33rd is busy.
    for (let user = 0; user < 32; user++) await issueChallenge(world.deps, `burst-${user}`, contentId, 1000);
    await expect(issueChallenge(world.deps, 'one-more', contentId, 1000)).rejects.toMatchObject({
      kind: 'busy',
      code: 'proof_busy',
    });
    world.clock.advance(31 * SECOND);
    const refused = issueChallenge(world.deps, 'one-more', contentId, 1000);
    await expect(refused).rejects.toMatchObject({ kind: 'limited', code: 'proof_limited' });
    await expect(refused).rejects.toMatchObject({ details: { retryAfterSeconds: (DAY - 62 * SECOND) / SECOND } });
    world.clock.advance(DAY - 62 * SECOND);
    expect(await outcome(issueChallenge(world.deps, 'one-more', contentId, 1000))).toBe('issued');
  });

  it('more accounts buy at most 36 unanswered looks at a content a day', async () => {
    expect(IN_FLIGHT_PER_CONTENT + DEPLOYED.proofFailuresPerContent - 1).toBe(36);
    /**
     * Looks that accounts which never answer get at one content in a day, asking in rounds: in
     * each, `ask(round)` new accounts ask (all of them: more accounts are free), then the clock
     * moves `wait(round)` ms.
     */
    const looks = async (ask: (round: number) => number, wait: (round: number) => number): Promise<number> => {
      const world = deployedWorld({ deliverEvents: false });
      const contentId = 'f'.repeat(64);
      const dayEnd = world.clock.now() + DAY;
      let accounts = 0;
      let shown = 0;
      for (let round = 0; world.clock.now() < dayEnd; round++) {
        const answers = await Promise.all(
          Array.from({ length: ask(round) }, () => outcome(issueChallenge(world.deps, `sybil-${accounts++}`, contentId, 1000))),
        );
        shown += answers.filter((answer) => answer === 'issued').length;
        if (answers.includes('proof_limited')) break;
        world.clock.advance(wait(round));
      }
      return shown;
    };
    // All at once, then again once they failed: 32.
    expect(
      await looks(
        () => 100,
        () => 31 * SECOND,
      ),
    ).toBe(32);
    // Four, left to fail, then a burst of 32: the most there is.
    expect(
      await looks(
        (round) => [4, 100][round] ?? 100,
        () => 31 * SECOND,
      ),
    ).toBe(36);
    // One at a time, or anything else: never more.
    expect(
      await looks(
        () => 1,
        () => 31 * SECOND,
      ),
    ).toBe(5);
    let seed = 12345;
    const random = (below: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    for (let schedule = 0; schedule < 40; schedule++) {
      expect(
        await looks(
          () => random(40),
          () => random(45) * SECOND,
        ),
      ).toBeLessThanOrEqual(36);
    }
  });

  it('a 90% holder with 36 accounts: ≤ 30% a day', () => {
    expect(passAny(0.9, 36)).toBeLessThanOrEqual(0.3);
    expect(percent(passAny(0.9, 36))).toBe(30);
  });
});

describe('SECURITY.md, What these defenses do not stop: someone who has the file, or nearly', () => {
  it('a party holding 90% of a file passes one challenge in a hundred; with one account it sees one a day (1%)', async () => {
    expect(percent(passOne(0.9))).toBe(1);
    // One account sees one challenge a day: asking again shows the same ranges.
    const world = deployedWorld({ deliverEvents: false });
    const first = await issueChallenge(world.deps, 'one-account', 'a'.repeat(64), 10 * MiB);
    for (let ask = 0; ask < 5; ask++) {
      world.clock.advance(DAY / 6);
      expect((await issueChallenge(world.deps, 'one-account', 'a'.repeat(64), 10 * MiB)).ranges).toEqual(first.ranges);
    }
  });

  it('one holding 99% passes 64% of the time', () => {
    expect(percent(passOne(0.99))).toBe(64);
  });

  it('five accounts that leave their challenges unanswered keep every other user’s first challenge at 429 until the day ends; users shown theirs already still prove', async () => {
    const world = deployedWorld({ deliverEvents: false });
    const file = stored(world, 100_000);
    for (let user = 0; user < 5; user++) await issueChallenge(world.deps, `blocker-${user}`, file.contentId, file.size);
    world.clock.advance(25 * SECOND);
    // Shown hers before the five failed; she answers much later.
    const shown = await issueChallenge(world.deps, 'honest', file.contentId, file.size);
    world.clock.advance(6 * SECOND);
    expect(await outcome(issueChallenge(world.deps, 'newcomer', file.contentId, file.size))).toBe('proof_limited');
    world.clock.advance(DAY - 31 * SECOND - 1);
    expect(await outcome(issueChallenge(world.deps, 'newcomer', file.contentId, file.size))).toBe('proof_limited');
    const again = await issueChallenge(world.deps, 'honest', file.contentId, file.size);
    expect(again.ranges).toEqual(shown.ranges);
    await verifyProof(world.deps, 'honest', file, { token: again.token, sha256: answerChallenge(file.bytes, again.ranges) });
    world.clock.advance(1);
    expect(await outcome(issueChallenge(world.deps, 'newcomer', file.contentId, file.size))).toBe('issued');
  });

  it('32 at once hold new provers of it back (503 proof_busy) for 30 s; left unanswered, they then count as failed (429)', async () => {
    const world = deployedWorld({ deliverEvents: false });
    const contentId = 'b'.repeat(64);
    for (let user = 0; user < 32; user++) await issueChallenge(world.deps, `burst-${user}`, contentId, 1000);
    expect(await outcome(issueChallenge(world.deps, 'prover', contentId, 1000))).toBe('proof_busy');
    world.clock.advance(30 * SECOND);
    expect(await outcome(issueChallenge(world.deps, 'prover', contentId, 1000))).toBe('proof_busy');
    world.clock.advance(1);
    expect(await outcome(issueChallenge(world.deps, 'prover', contentId, 1000))).toBe('proof_limited');
  });
});

describe('SECURITY.md, What these defenses do not stop: existence leaks and duplicate bytes', () => {
  /** A claim of `file` under `size` (one block either way: the digests still hash to the id), its challenge answered with nothing. */
  async function unproven(world: MemoryWorld, user: string, file: ReturnType<typeof localFile>, size: number) {
    const request = { ...requestFor(file, `${user}.bin`), size };
    const asked = expectStatus(await requestUpload(world.deps, user, request), 'challenge');
    const proof = { token: asked.challenge.token, sha256: randomBytes(32).toString('hex') };
    return requestUpload(world.deps, user, { ...request, proof });
  }

  it('always mode still leaks concurrent uploads: two accounts claiming different sizes at once, a miss lets the second in, a stored content makes it wait', async () => {
    const world = memoryWorld({ settings: { ...DEPLOYED, proofMode: 'always' } });
    const storedFile = localFile(randomBytes(300_000));
    const freshFile = localFile(randomBytes(300_000));
    expectStatus(await upload(world, 'alice', 'stored.bin', storedFile), 'complete');
    for (const file of [storedFile, freshFile]) {
      expect((await unproven(world, `first-${file.contentId}`, file, file.size)).status).toBe('upload');
    }
    expect((await unproven(world, 'second', freshFile, freshFile.size + 1)).status).toBe('upload');
    expect(await unproven(world, 'second', storedFile, storedFile.size + 1)).toMatchObject({ status: 'wait' });
  });

  it('under a wrong-size squatter, requesters of the true size do not wait for each other: each uploads into the same multipart upload', async () => {
    const world = deployedWorld();
    const file = localFile(randomBytes(2 * 8 * MiB + 1));
    expectStatus(await requestUpload(world.deps, 'mallory', { ...requestFor(file, 'm'), size: file.size + 1 }), 'upload');
    const bob = expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b')), 'upload');
    const carol = expectStatus(await requestUpload(world.deps, 'carol', requestFor(file, 'c')), 'upload');
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    expect(attempt?.multipartUploads).toHaveLength(1);
    const [layout] = attempt?.multipartUploads ?? [];
    for (const permit of [bob, carol]) {
      expect(permit.permit.mode).toBe('multipart');
      for (const part of permit.permit.parts) expect(part.url).toContain(layout?.uploadId ?? '?');
    }
  });
});

describe('SECURITY.md, Holding up an upload', () => {
  it('an honest client holding the bytes waits at most one lease (16 min) for a same-size squatter', async () => {
    expect(DEPLOYED.attemptLeaseSeconds).toBe(16 * 60);
    const world = deployedWorld();
    const file = localFile(randomBytes(5000));
    expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm')), 'upload');
    world.clock.advance(16 * MINUTE - 1);
    expect(await requestUpload(world.deps, 'bob', requestFor(file, 'b'))).toMatchObject({ status: 'wait' });
    world.clock.advance(1);
    expectStatus(await upload(world, 'bob', 'b', file), 'complete');
  });
});

describe('SECURITY.md, Direct access to storage', () => {
  it('presigned URLs live minutes: uploads 15, downloads 5', async () => {
    expect({ upload: DEPLOYED.uploadUrlTtlSeconds, download: DEPLOYED.downloadUrlTtlSeconds }).toEqual({
      upload: 15 * 60,
      download: 5 * 60,
    });
    const world = deployedWorld();
    const file = localFile(randomBytes(5000));
    const permitAt = async (name: string) =>
      expectStatus(await requestUpload(world.deps, name, requestFor(file, name)), 'upload');
    const late = await permitAt('late');
    const [latePart] = late.permit.parts;
    if (!latePart) throw new Error('a part was signed');
    world.clock.advance(15 * MINUTE + 1);
    expect(await world.blobs.send(latePart, file.bytes)).toMatchObject({ status: 403 });
    // A URL used within its 15 minutes is honoured.
    const onTime = await permitAt('late');
    const [part] = onTime.permit.parts;
    if (!part) throw new Error('a part was signed');
    world.clock.advance(15 * MINUTE);
    expect(await world.blobs.send(part, file.bytes)).toMatchObject({ status: 200 });
    await world.blobs.eventsSettled();
    expect(await world.catalog.getFile('late', 'late')).toMatchObject({ state: 'COMPLETE' });

    const download = async () => ({ headers: {}, ...(await getFileDownload(world.deps, 'late', 'late')).download });
    const fresh = await download();
    world.clock.advance(5 * MINUTE);
    expect((await world.blobs.send(fresh, undefined)).status).toBe(200);
    const stale = await download();
    world.clock.advance(5 * MINUTE + 1);
    expect((await world.blobs.send(stale, undefined)).status).toBe(403);
  });
});

describe('SECURITY.md, Malformed or hostile input', () => {
  const context = {} as Context;
  const event = (body: string): HttpEvent =>
    ({
      version: '2.0',
      routeKey: 'POST /x',
      rawPath: '/x',
      rawQueryString: '',
      headers: {},
      isBase64Encoded: false,
      body,
      requestContext: { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: { sub: 'alice' }, scopes: [] } } },
    }) as unknown as HttpEvent;

  it('bodies ≤ 2 MiB', async () => {
    expect(MAX_BODY_BYTES).toBe(2 * MiB);
    const handler = route({ body: z.string() }, async ({ body }) => json(200, { length: body.length }));
    // A JSON string of exactly 2 MiB (its quotes included), then one byte more.
    const exactly = JSON.stringify('x'.repeat(2 * MiB - 2));
    expect((await handler(event(exactly), context)).statusCode).toBe(200);
    const over = JSON.stringify('x'.repeat(2 * MiB - 1));
    const refused = await handler(event(over), context);
    expect(refused.statusCode).toBe(413);
    expect(JSON.parse(refused.body ?? '{}')).toMatchObject({ error: { code: 'body_too_large' } });
  });

  it('names ≤ 1,024 UTF-8 bytes', () => {
    expect(fileName.safeParse(`${'€'.repeat(341)}a`).success).toBe(true);
    expect(fileName.safeParse(`${'€'.repeat(341)}ab`).success).toBe(false);
  });
});

describe('SECURITY.md, Abuse of capacity and denial of service', () => {
  const context = {} as Context;
  const event = (sub: string): HttpEvent =>
    ({
      version: '2.0',
      routeKey: 'GET /x',
      rawPath: '/x',
      rawQueryString: '',
      headers: {},
      isBase64Encoded: false,
      requestContext: { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: { sub }, scopes: [] } } },
    }) as unknown as HttpEvent;

  it('the budget’s windows are fixed minutes, so one user can send twice the budget across a minute’s end', async () => {
    expect(DEPLOYED.requestsPerMinute).toBe(600);
    let now = Date.UTC(2026, 0, 1, 12, 0, 59);
    const budget = { limiter: new MemoryRateLimiter(), settings: DEPLOYED, now: () => now };
    const handler = route({ budget }, async () => json(200, {}));
    const statuses = async (count: number) =>
      Promise.all(Array.from({ length: count }, async () => (await handler(event('alice'), context)).statusCode));
    expect(new Set(await statuses(600))).toEqual(new Set([200]));
    expect(await statuses(1)).toEqual([429]);
    now += SECOND;
    // Two seconds, 1,200 requests answered.
    expect(new Set(await statuses(600))).toEqual(new Set([200]));
    expect(await statuses(1)).toEqual([429]);
  });
});

describe('SECURITY.md, the stack’s template', () => {
  // Template tests need no bundles (as test/cdk/stack.test.ts).
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const template = Template.fromStack(new HashdropStack(app, 'Claims', {}));
  const buckets = template.findResources('AWS::S3::Bucket');
  const blobBucket = Object.entries(buckets).find(([id]) => id.startsWith('Blobs'));
  const logBucket = Object.entries(buckets).find(([id]) => id.startsWith('AccessLogs'));

  it('the bucket blocks public access, denies non-TLS requests, encrypts at rest and enforces bucket-owner objects', () => {
    expect(blobBucket).toBeDefined();
    expect(blobBucket?.[1].Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    const blobPolicy = policies.find((policy) => JSON.stringify(policy.Properties.Bucket).includes(blobBucket?.[0] ?? '?'));
    expect(blobPolicy?.Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    );
  });

  it('server access logs are kept 90 days', () => {
    expect(logBucket).toBeDefined();
    expect(blobBucket?.[1].Properties.LoggingConfiguration).toMatchObject({ DestinationBucketName: { Ref: logBucket?.[0] } });
    expect(logBucket?.[1].Properties.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({ ExpirationInDays: 90, Status: 'Enabled' }),
    ]);
  });

  it('no versioning: stored bytes never change, and none are kept once deleted', () => {
    expect(blobBucket?.[1].Properties.VersioningConfiguration).toBeUndefined();
  });

  it('about twenty users at their full budget (10 requests/s each) use the whole stage (200 requests/s, bursts of 400)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
    });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const budgets = new Set(
      functions.flatMap((fn) => {
        const variables = fn.Properties.Environment?.Variables ?? {};
        return SETTING_ENV_VARS.requestsPerMinute in variables ? [Number(variables[SETTING_ENV_VARS.requestsPerMinute])] : [];
      }),
    );
    expect([...budgets]).toEqual([600]);
    const perUserPerSecond = 600 / 60;
    expect(perUserPerSecond).toBe(10);
    expect(200 / perUserPerSecond).toBe(20);
  });

  it('MFA and Cognito’s threat protection (Plus plan) are offered, not required', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
    });
    const [pool] = Object.values(template.findResources('AWS::Cognito::UserPool'));
    expect(pool?.Properties.UserPoolAddOns).toBeUndefined();
    expect(pool?.Properties.UserPoolTier ?? 'ESSENTIALS').not.toBe('PLUS');
  });

  it('there is no WAF in the stack', () => {
    const types = Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map((resource) => resource.Type);
    expect(types.filter((type) => type.startsWith('AWS::WAF'))).toEqual([]);
    expect(types).toContain('AWS::ApiGatewayV2::Stage');
  });

  it('the challenge key is generated by CloudFormation in Secrets Manager: no secret is in the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
      SecretString: Match.absent(),
    });
  });
});

describe('SECURITY.md, Secrets in configuration', () => {
  it('the function that reads the challenge key reads it at first use', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'hashdrop-claims-'));
    try {
      const file = join(folder, 'proof-secret');
      // Nothing is read when the function starts: the key need not exist yet.
      const secret = proofSecretSource({ file });
      const key = randomBytes(32).toString('hex');
      writeFileSync(file, key, { mode: 0o600 });
      expect(Buffer.from(await secret()).toString('utf8')).toBe(key);
      // Then once: a later change is not read again.
      writeFileSync(file, randomBytes(32).toString('hex'));
      expect(Buffer.from(await secret()).toString('utf8')).toBe(key);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
