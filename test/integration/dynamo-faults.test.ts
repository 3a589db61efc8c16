/**
 * DynamoDB as it behaves in AWS under load, on DynamoDB Local, which never cancels a transaction
 * for a conflict nor throttles: a client middleware (on the wire side of the contention retry,
 * adapters/dynamo-contention.ts) cancels some TransactWriteItems with TransactionConflict and
 * throttles some requests, as DynamoDB does before writing anything, or resends a request whose
 * answer was lost, as the SDK does. The domain runs with the real adapters on the shared stack:
 * every upload completes or fails with a stable code, and nothing is left inconsistent
 * (invariant 2, docs/design.md §6).
 */
import { randomBytes } from 'node:crypto';
import { ProvisionedThroughputExceededException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { createDocumentClient } from '#adapters/clients';
import { createDeps } from '#adapters/deps';
import { DynamoCatalog } from '#adapters/dynamo-catalog';
import { ReadableTelemetry } from '#adapters/telemetry';
import { ContentionError, DomainError } from '#domain/errors';
import type { ChallengeKey, Deps } from '#domain/ports';
import { completeUpload, requestUpload } from '#domain/uploads';
import { handlerConfig, LOCAL_CREDENTIALS } from '#local/stack';
import type { UploadView } from '#protocol/api';
import { bytesToHex } from '#protocol/encoding';
import { hashBuffer } from '#sdk/hashing';
import { contentItem, filesOf, newUser, stack, stackDeps } from '../helpers.ts';
import { seededRandom } from '../support/seeded-random.ts';

/** What a request looks like where the fault middleware sits (after serialization). */
interface Sent {
  readonly command: string;
  /** The item's `name` of a PutItem, as sent (the challenge ledger's reserved names say which item). */
  readonly putName?: string;
}

type Fault = 'conflict' | 'throttle' | 'resend' | undefined;

/**
 * A DynamoDB client of the stack whose requests pass `decide` first, at the build step: inside
 * the contention retry, which sees the injected errors as DynamoDB's own, and outside the SDK's
 * own retries, which do not retry them again. `hold` may delay a request before it is sent.
 */
function faultyClient(decide: (sent: Sent) => Fault, hold?: (sent: Sent) => Promise<void>): DynamoDBDocumentClient {
  const config = handlerConfig(stack, 'CreateUpload');
  const db = createDocumentClient({ ...config.aws, credentials: LOCAL_CREDENTIALS });
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Item?: { name?: { S?: string } } };
      const sent: Sent = { command: context.commandName ?? '', putName: input.Item?.name?.S };
      await hold?.(sent);
      const fault = decide(sent);
      const $metadata = { httpStatusCode: 400 };
      if (fault === 'conflict') {
        throw new TransactionCanceledException({
          message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]',
          $metadata,
          CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
        });
      }
      if (fault === 'throttle') {
        throw new ProvisionedThroughputExceededException({
          message: 'Rate of requests exceeds the allowed throughput',
          $metadata,
        });
      }
      const answer = await next(args);
      // Sent again after its answer was lost: what the SDK does after a reset connection or a 5xx.
      return fault === 'resend' ? next(args) : answer;
    },
    { step: 'build', name: 'injectDynamoFaults' },
  );
  return db;
}

/** Deps of the stack's stores on `db` (the admin key: this file is about contention, not IAM; iam.test.ts is). */
function depsOn(db: DynamoDBDocumentClient, telemetry: ReadableTelemetry): Deps {
  const config = handlerConfig(stack, 'CreateUpload', { attemptLeaseSeconds: stack.attemptLeaseSeconds, proofMode: 'off' });
  const deps = createDeps({ ...config, aws: { ...config.aws, credentials: LOCAL_CREDENTIALS } }, telemetry);
  return { ...deps, catalog: new DynamoCatalog(db, config.tables, { telemetry }) };
}

describe('the proof ledger when requests race or are sent twice (DynamoCatalog.openChallenge)', () => {
  const limits = { perUser: 3, inFlightPerContent: 2, failedPerContent: 2, staleBefore: 0 };
  const keyOf = (): ChallengeKey => ({
    userId: newUser('prover'),
    contentId: bytesToHex(randomBytes(32)),
    size: 4096,
    period: 1,
  });
  const isLook = (sent: Sent) => sent.command === 'PutItemCommand' && (sent.putName?.includes('look:') ?? false);
  const isRecord = (sent: Sent) => sent.command === 'PutItemCommand' && (sent.putName?.includes('proof:') ?? false);

  it('two requests of one user that each win one of the two items: exactly one opened it', async () => {
    // The first request to put its items wins the look; its record is held until the second
    // request's record is in, so each wins one item. Deciding by both answered 'open' to both.
    let firstLookDone: () => void = () => undefined;
    const lookDone = new Promise<void>((done) => {
      firstLookDone = done;
    });
    let secondRecordDone: () => void = () => undefined;
    const recordDone = new Promise<void>((done) => {
      secondRecordDone = done;
    });
    let looks = 0;
    let records = 0;
    const db = faultyClient(
      () => undefined,
      async (sent) => {
        if (isLook(sent) && looks++ === 1) await lookDone;
        if (isRecord(sent) && records++ === 0) await recordDone;
      },
    );
    db.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Item?: { name?: { S?: string } } };
        const sent: Sent = { command: context.commandName ?? '', putName: input.Item?.name?.S };
        try {
          return await next(args);
        } finally {
          if (isLook(sent)) firstLookDone();
          if (isRecord(sent) && records === 2) secondRecordDone();
        }
      },
      { step: 'build', name: 'observeLedgerPuts' },
    );
    const catalog = new DynamoCatalog(db, handlerConfig(stack, 'CreateUpload').tables);
    const key = keyOf();
    const results = await Promise.all([
      catalog.openChallenge(key, limits, Date.now(), Date.now() + 60_000),
      catalog.openChallenge(key, limits, Date.now(), Date.now() + 60_000),
    ]);
    expect({ looks, records }).toEqual({ looks: 2, records: 2 });
    expect(results.sort()).toEqual(['open', 'opened']);
  });

  it('a look the SDK sends again after losing its answer is still this request’s: opened, not open', async () => {
    const catalog = new DynamoCatalog(
      faultyClient((sent) => (isLook(sent) ? 'resend' : undefined)),
      handlerConfig(stack, 'CreateUpload').tables,
    );
    const key = keyOf();
    expect(await catalog.openChallenge(key, limits, Date.now(), Date.now() + 60_000)).toBe('opened');
    expect(await catalog.openChallenge(key, limits, Date.now(), Date.now() + 60_000)).toBe('open');
  });

  it('a consumed challenge sent again by the SDK is consumed by this call; another call is refused', async () => {
    const resent = (sent: Sent) => (sent.command === 'PutItemCommand' ? 'resend' : undefined);
    const catalog = new DynamoCatalog(faultyClient(resent), handlerConfig(stack, 'CreateUpload').tables);
    const userId = newUser('prover');
    const nonce = bytesToHex(randomBytes(16));
    expect(await catalog.consumeChallenge(userId, nonce, Date.now() + 60_000)).toBe(true);
    expect(await catalog.consumeChallenge(userId, nonce, Date.now() + 60_000)).toBe(false);
  });
});

/** The code a caller gets for `error` at the HTTP edge (lambdas/http.ts), or undefined for a 500. */
function stableCode(error: unknown): string | undefined {
  if (error instanceof ContentionError) return 'contention';
  return error instanceof DomainError ? error.code : undefined;
}

type Outcome = { readonly status: 'COMPLETE' } | { readonly status: 'refused'; readonly code: string };

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * One client's upload through the domain, as the SDK drives it: ask, store the bytes with the
 * permit, complete, poll while pending. A 503 is asked again (as the SDK does) a few times, then
 * it is the outcome; any error without a stable code fails the test.
 */
async function upload(deps: Deps, userId: string, name: string, bytes: Buffer): Promise<Outcome> {
  const tree = hashBuffer(bytes);
  const request = { name, size: bytes.length, contentId: tree.contentId, blockDigests: tree.blockDigests.map(bytesToHex) };
  let busy = 0;
  for (let round = 0; round < 80; round++) {
    try {
      let view: UploadView = await requestUpload(deps, userId, request);
      if (view.status === 'upload') {
        const [part] = view.permit.parts;
        if (!part) throw new Error('a permit without a part');
        const stored = await fetch(part.url, { method: part.method, headers: part.headers, body: new Uint8Array(bytes) });
        // 412: storage holds the object already (another uploader's PUT).
        if (!stored.ok && stored.status !== 412) throw new Error(`storage answered ${stored.status}`);
        view = await completeUpload(deps, userId, view.uploadId, undefined);
      }
      if (view.status === 'complete') return { status: 'COMPLETE' };
      if (view.status === 'failed') return { status: 'refused', code: view.failure };
    } catch (error) {
      const code = stableCode(error);
      if (code === undefined) throw error;
      if (code !== 'contention' || ++busy > 3) return { status: 'refused', code };
    }
    await pause(100 + Math.random() * 150);
  }
  throw new Error(`${userId}/${name} neither completed nor failed`);
}

/**
 * Invariant 2 and no orphan: each content's refCount is the counted files pointing at it (a
 * PENDING replacement's previous version included), each user's usage is their counted files,
 * and every PENDING file has its content.
 */
async function expectConsistent(users: readonly string[], contentIds: readonly string[]): Promise<void> {
  // Read without faults: the stores as they are.
  const { catalog } = stackDeps();
  const references = new Map<string, number>(contentIds.map((id) => [id, 0]));
  for (const user of users) {
    const files = await filesOf(user);
    const counted = files.filter((file) => file.state === 'PENDING' || file.state === 'COMPLETE');
    for (const file of counted) references.set(file.contentId, (references.get(file.contentId) ?? 0) + 1);
    for (const file of counted) {
      if (file.previous) references.set(file.previous.contentId, (references.get(file.previous.contentId) ?? 0) + 1);
    }
    const usage = await catalog.getUsage(user);
    expect({ user, files: usage.files, bytes: usage.bytes }).toEqual({
      user,
      files: counted.length,
      bytes: counted.reduce((sum, file) => sum + file.size + (file.previous?.size ?? 0), 0),
    });
    for (const file of files.filter((waiting) => waiting.state === 'PENDING')) {
      expect(await contentItem(file.contentId), `the content of ${user}/${file.name}`).toBeDefined();
    }
  }
  for (const [contentId, count] of references) {
    const content = await contentItem(contentId);
    expect({ contentId, refCount: content?.refCount ?? 0 }).toEqual({ contentId, refCount: count });
  }
}

/** One conflict in three transactions and one throttle in ten requests, from a fixed seed. */
function faultPlan(seed: number) {
  const random = seededRandom(seed);
  const injected = { conflicts: 0, throttles: 0 };
  const decide = (sent: Sent): Fault => {
    if (sent.command === 'TransactWriteItemsCommand' && random() < 1 / 3) {
      injected.conflicts++;
      return 'conflict';
    }
    if (random() < 0.1) {
      injected.throttles++;
      return 'throttle';
    }
    return undefined;
  };
  return { injected, decide };
}

const SETTLED = { timeout: 20_000, interval: 500 };

describe('contention injected into DynamoDB, under concurrency', () => {
  it('32 uploads by one user at once (every one writes their usage item): all complete or answer contention; counts exact', async () => {
    const telemetry = new ReadableTelemetry({ write: () => undefined });
    const { injected, decide } = faultPlan(14);
    const deps = depsOn(faultyClient(decide), telemetry);
    const user = newUser('burst');
    const files = Array.from({ length: 32 }, (_, index) => ({ name: `burst/${index}.bin`, bytes: randomBytes(1000 + index) }));

    const outcomes = await Promise.all(files.map(({ name, bytes }) => upload(deps, user, name, bytes)));

    const refused = outcomes.filter((outcome) => outcome.status === 'refused');
    expect(refused.every((outcome) => outcome.status === 'refused' && outcome.code === 'contention')).toBe(true);
    expect(outcomes.filter((outcome) => outcome.status === 'COMPLETE').length).toBeGreaterThanOrEqual(28);
    expect(injected.conflicts).toBeGreaterThan(0);
    expect(injected.throttles).toBeGreaterThan(0);
    // Every injected fault was seen and counted as such (DynamoDB Local adds none of its own here).
    expect(telemetry.total('TransactionConflicts')).toBe(injected.conflicts);
    expect(telemetry.total('Throttles')).toBe(injected.throttles);
    const contentIds = files.map(({ bytes }) => hashBuffer(bytes).contentId);
    await vi.waitFor(() => expectConsistent([user], contentIds), SETTLED);
  });

  it('32 users uploading one new content at once (every one writes its refCount): all complete or answer contention; counts exact', async () => {
    const telemetry = new ReadableTelemetry({ write: () => undefined });
    const { injected, decide } = faultPlan(1414);
    const deps = depsOn(faultyClient(decide), telemetry);
    const users = Array.from({ length: 32 }, () => newUser('crowd'));
    const bytes = randomBytes(64 * 1024);

    const outcomes = await Promise.all(users.map((user) => upload(deps, user, 'popular.bin', bytes)));

    const refused = outcomes.filter((outcome) => outcome.status === 'refused');
    expect(refused.every((outcome) => outcome.status === 'refused' && outcome.code === 'contention')).toBe(true);
    expect(outcomes.filter((outcome) => outcome.status === 'COMPLETE').length).toBeGreaterThanOrEqual(28);
    expect(telemetry.total('TransactionConflicts')).toBe(injected.conflicts);
    expect(telemetry.total('Throttles')).toBe(injected.throttles);
    expect(injected.conflicts).toBeGreaterThan(0);
    const { contentId } = hashBuffer(bytes);
    await vi.waitFor(() => expectConsistent(users, [contentId]), SETTLED);
    const content = await contentItem(contentId);
    expect(content).toMatchObject({ state: 'READY' });
  });
});
