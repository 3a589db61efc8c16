/**
 * Proof of ownership (domain/proof.ts) on the in-memory stores with a test clock: challenges are
 * fixed per user, content, size and period; 44 ranges; open challenges limited per user and per
 * content; answers limited per challenge; the reads a proof costs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { deleteFile } from '#domain/files';
import type { Settings } from '#domain/ports';
import {
  challengeMetByUpload,
  challengeRanges,
  checkAnswer,
  FAILED_AFTER_SECONDS,
  IN_FLIGHT_PER_CONTENT,
  issueChallenge,
  MAX_ANSWERS,
  periodOf,
  RANGE_COUNT,
  RANGE_LENGTH,
  spansOf,
  verifyProof,
} from '#domain/proof';
import { completeUpload, requestUpload, signParts, uploadStatus } from '#domain/uploads';
import type { ByteRange, UploadView } from '#protocol/api';
import {
  answerChallenge,
  expectStatus,
  type LocalFile,
  localFile,
  type MemoryWorld,
  memoryWorld,
  requestFor,
  SECOND,
  sendBytes,
  upload,
} from '../support/memory-deps.ts';

const DAY = 24 * 60 * 60 * SECOND;

/**
 * A content's object, as after an upload: what a proof reads. (The worlds deliver no storage
 * events: there is no content record, and publishing would delete the object as an orphan.)
 */
function stored(world: MemoryWorld, size: number) {
  const file = localFile(randomBytes(size));
  const objectKey = `blobs/${file.contentId}/${'0'.repeat(32)}`;
  world.blobs.putObject(objectKey, file.bytes);
  return { ...file, objectKey };
}

async function rejection(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error,
  );
}

/** Records the ranged GETs a proof makes. */
function countingReads(world: MemoryWorld): ByteRange[] {
  const gets: ByteRange[] = [];
  const read = world.blobs.read.bind(world.blobs);
  world.blobs.read = (key, range) => {
    if (range) gets.push(range);
    return read(key, range);
  };
  return gets;
}

describe('proof-of-ownership challenges', () => {
  it('are fixed per user, content, size and period: asking again shows the same ranges under a new token', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const file = stored(world, 3_000_000);
    const first = await issueChallenge(world.deps, 'mallory', file.contentId, file.size);
    expect(first.ranges).toHaveLength(RANGE_COUNT);
    for (let ask = 0; ask < 20; ask++) {
      world.clock.advance(60 * SECOND);
      const again = await issueChallenge(world.deps, 'mallory', file.contentId, file.size);
      expect(again.ranges).toEqual(first.ranges);
      expect(again.token).not.toBe(first.token);
    }
    // Another user, another size or the next period: other ranges.
    expect((await issueChallenge(world.deps, 'trent', file.contentId, file.size)).ranges).not.toEqual(first.ranges);
    expect((await issueChallenge(world.deps, 'mallory', file.contentId, file.size - 1)).ranges).not.toEqual(first.ranges);
    world.clock.advance(DAY);
    expect((await issueChallenge(world.deps, 'mallory', file.contentId, file.size)).ranges).not.toEqual(first.ranges);
  });

  it('ask for 44 ranges of 16 KiB inside the file, or for a small file whole', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const secret = await world.deps.proofSecret();
    const key = { userId: 'u', contentId: 'c'.repeat(64), size: 10 * 1024 ** 3, period: 1 };
    const ranges = challengeRanges(secret, key);
    expect(ranges).toHaveLength(44);
    for (const range of ranges) {
      expect(range.length).toBe(RANGE_LENGTH);
      expect(range.start + range.length).toBeLessThanOrEqual(key.size);
    }
    // Spread over the file, not bunched: every tenth of a 10 GiB file gets some.
    const tenths = new Set(ranges.map((range) => Math.floor((range.start / key.size) * 10)));
    expect(tenths.size).toBeGreaterThanOrEqual(8);
    expect(challengeRanges(secret, { ...key, size: RANGE_LENGTH })).toEqual([{ start: 0, length: RANGE_LENGTH }]);
    expect(challengeRanges(secret, { ...key, size: 1 })).toEqual([{ start: 0, length: 1 }]);
    expect(challengeRanges(secret, { ...key, size: 0 })).toEqual([]);
  });

  it('a client holding 90% of a file (any contiguous 90%) passes fewer than 1% of its users’ challenges', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const secret = await world.deps.proofSecret();
    const size = 64 * 1024 * 1024;
    const trials = 4000;
    // The missing tenth anywhere: at the start, in the middle, at the end.
    for (const holeStart of [0, 0.45 * size, 0.9 * size]) {
      const holeEnd = holeStart + 0.1 * size;
      let passed = 0;
      for (let user = 0; user < trials; user++) {
        const ranges = challengeRanges(secret, { userId: `account-${user}`, contentId: 'c'.repeat(64), size, period: 7 });
        if (ranges.every((range) => range.start + range.length <= holeStart || range.start >= holeEnd)) passed++;
      }
      // Expected 0.9^44 ≈ 0.97% at most; 4,000 draws put 1.5% about five standard deviations above it.
      expect(passed / trials).toBeLessThan(0.015);
    }
  });

  it('read a large file with a few GETs of nearby ranges, a small one with one GET', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const big = stored(world, 20 * 1024 * 1024);
    const small = stored(world, 3 * 1024 * 1024);
    for (const [file, most] of [
      [big, RANGE_COUNT],
      [small, 1],
    ] as const) {
      const gets = countingReads(world);
      const challenge = await issueChallenge(world.deps, 'holder', file.contentId, file.size);
      const proof = { token: challenge.token, sha256: answerChallenge(file.bytes, challenge.ranges) };
      await verifyProof(world.deps, 'holder', file, proof);
      expect(gets).toEqual(spansOf(challenge.ranges).sort((a, b) => a.start - b.start));
      expect(gets.length).toBeGreaterThanOrEqual(1);
      expect(gets.length).toBeLessThanOrEqual(most);
      // Never more than the ranges plus the merged gaps between them.
      const read = gets.reduce((sum, range) => sum + range.length, 0);
      expect(read).toBeLessThanOrEqual(file === small ? file.size : RANGE_COUNT * (RANGE_LENGTH + 64 * 1024));
    }
  });

  it('a holder’s answer proves ownership; a wrong one does not, and each token is answered once', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const file = stored(world, 500_000);
    const challenge = await issueChallenge(world.deps, 'holder', file.contentId, file.size);
    const wrong = { token: challenge.token, sha256: randomBytes(32).toString('hex') };
    await expect(verifyProof(world.deps, 'holder', file, wrong)).rejects.toMatchObject({ code: 'proof_failed' });
    // The same token again, now with the right answer: refused, it was answered.
    const right = { token: challenge.token, sha256: answerChallenge(file.bytes, challenge.ranges) };
    await expect(verifyProof(world.deps, 'holder', file, right)).rejects.toMatchObject({ code: 'challenge_used' });
    // Asked again: the same ranges, a new token, the same right answer.
    const again = await issueChallenge(world.deps, 'holder', file.contentId, file.size);
    await verifyProof(world.deps, 'holder', file, { token: again.token, sha256: right.sha256 });
  });
});

describe('limits on unmet challenges', () => {
  it('after 5 users leave a content’s challenge unmet past 30 s, a sixth gets 429 proof_limited until the period ends', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const file = stored(world, 200_000);
    for (let user = 0; user < world.deps.settings.proofFailuresPerContent; user++) {
      await issueChallenge(world.deps, `looker-${user}`, file.contentId, file.size);
    }
    // While they may still be answering, they are in flight, not failed: see the test below.
    world.clock.advance((FAILED_AFTER_SECONDS + 1) * SECOND);
    const refused = await rejection(issueChallenge(world.deps, 'sixth', file.contentId, file.size));
    const periodEnd = (periodOf(world.deps.settings, world.clock.now()) + 1) * DAY;
    expect(refused).toMatchObject({
      kind: 'limited',
      code: 'proof_limited',
      details: { retryAfterSeconds: Math.ceil((periodEnd - world.clock.now()) / 1000) },
    });
    // Those who looked already still get their (same) challenge and may answer it...
    const looker = await issueChallenge(world.deps, 'looker-0', file.contentId, file.size);
    await verifyProof(world.deps, 'looker-0', file, { token: looker.token, sha256: answerChallenge(file.bytes, looker.ranges) });
    // ...and a challenge met late no longer counts as failed: one more user may look.
    await issueChallenge(world.deps, 'sixth', file.contentId, file.size);
    world.clock.advance((FAILED_AFTER_SECONDS + 1) * SECOND);
    await expect(issueChallenge(world.deps, 'seventh', file.contentId, file.size)).rejects.toMatchObject({
      code: 'proof_limited',
    });
    // The next period counts afresh.
    world.clock.advance(periodEnd - world.clock.now());
    await issueChallenge(world.deps, 'seventh', file.contentId, file.size);
  });

  it(`${IN_FLIGHT_PER_CONTENT} challenges of one content being answered at once: one more is busy (503, retried) until one is met`, async () => {
    const world = memoryWorld({ deliverEvents: false });
    const file = stored(world, 200_000);
    const shown = await Promise.all(
      Array.from({ length: IN_FLIGHT_PER_CONTENT }, (_, user) =>
        issueChallenge(world.deps, `burst-${user}`, file.contentId, file.size),
      ),
    );
    await expect(issueChallenge(world.deps, 'one-more', file.contentId, file.size)).rejects.toMatchObject({
      kind: 'busy',
      code: 'proof_busy',
    });
    const [first] = shown;
    if (!first) throw new Error('unreachable');
    await verifyProof(world.deps, 'burst-0', file, { token: first.token, sha256: answerChallenge(file.bytes, first.ranges) });
    await issueChallenge(world.deps, 'one-more', file.contentId, file.size);
  });

  it('after 20 challenges a user left unmet, her next new one gets 429; those she holds are still shown', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const files = Array.from({ length: world.deps.settings.proofFailuresPerUser + 1 }, () => stored(world, 20_000));
    const shown = [];
    for (const file of files.slice(0, -1)) shown.push(await issueChallenge(world.deps, 'prober', file.contentId, file.size));
    const last = files.at(-1);
    if (!last) throw new Error('unreachable');
    await expect(issueChallenge(world.deps, 'prober', last.contentId, last.size)).rejects.toMatchObject({
      code: 'proof_limited',
    });
    const first = files[0];
    if (!first) throw new Error('unreachable');
    expect((await issueChallenge(world.deps, 'prober', first.contentId, first.size)).ranges).toEqual(shown[0]?.ranges);
    // Others are not limited by her.
    await issueChallenge(world.deps, 'someone-else', last.contentId, last.size);
  });

  it(`an unmet challenge takes ${MAX_ANSWERS} answers, then 429: a missing byte cannot be guessed against the server`, async () => {
    const world = memoryWorld({ deliverEvents: false });
    const file = stored(world, 100_000);
    for (let answer = 0; answer < MAX_ANSWERS; answer++) {
      const challenge = await issueChallenge(world.deps, 'guesser', file.contentId, file.size);
      const guess = { token: challenge.token, sha256: randomBytes(32).toString('hex') };
      await expect(verifyProof(world.deps, 'guesser', file, guess)).rejects.toMatchObject({ code: 'proof_failed' });
    }
    const challenge = await issueChallenge(world.deps, 'guesser', file.contentId, file.size);
    const right = { token: challenge.token, sha256: answerChallenge(file.bytes, challenge.ranges) };
    await expect(verifyProof(world.deps, 'guesser', file, right)).rejects.toMatchObject({ code: 'proof_limited' });
  });

  it('a met challenge takes any number of answers: the same user may link the content under many names', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const file = stored(world, 100_000);
    for (let answer = 0; answer < MAX_ANSWERS + 3; answer++) {
      const challenge = await issueChallenge(world.deps, 'owner', file.contentId, file.size);
      await verifyProof(world.deps, 'owner', file, {
        token: challenge.token,
        sha256: answerChallenge(file.bytes, challenge.ranges),
      });
    }
  });

  it('an upload of the bytes meets the challenge shown for them (always mode challenges misses too)', async () => {
    const world = memoryWorld({ settings: { proofFailuresPerUser: 1 }, deliverEvents: false });
    const file = localFile(randomBytes(1000));
    const challenge = await issueChallenge(world.deps, 'uploader', file.contentId, file.size);
    // A miss: there is nothing to check the answer against.
    const answer = { token: challenge.token, sha256: answerChallenge(file.bytes, challenge.ranges) };
    expect(await checkAnswer(world.deps, 'uploader', file, answer)).toBe(false);
    const next = localFile(randomBytes(1000));
    await expect(issueChallenge(world.deps, 'uploader', next.contentId, next.size)).rejects.toMatchObject({
      code: 'proof_limited',
    });
    await challengeMetByUpload(world.deps, 'uploader', file);
    await issueChallenge(world.deps, 'uploader', next.contentId, next.size);
  });
});

/** A view's shape with what differs between any two requests (ids, URLs, times) left out. */
function shapeOf(view: UploadView): unknown {
  switch (view.status) {
    case 'upload':
      return {
        status: view.status,
        keys: Object.keys(view).sort(),
        file: { ...view.file, name: undefined, contentId: undefined, createdAt: undefined, updatedAt: undefined },
        permit: { ...view.permit, parts: view.permit.parts.map((part) => part.partNumber), expiresAt: undefined },
      };
    case 'challenge':
      return { status: view.status, keys: Object.keys(view.challenge).sort(), ranges: view.challenge.ranges.length };
    default:
      return { ...view, uploadId: undefined, file: undefined };
  }
}

describe("'always' mode: nothing before a valid proof depends on what storage holds", () => {
  /** A stored content (alice's) and one nobody stored, of the same size. */
  async function world(settings: Partial<Settings> = {}) {
    const w = memoryWorld({ settings: { proofMode: 'always', ...settings } });
    const stored = localFile(randomBytes(300_000));
    const fresh = localFile(randomBytes(300_000));
    expectStatus(await upload(w, 'alice', 'stored.bin', stored), 'complete');
    return { w, stored, fresh };
  }

  const requestOf = (file: LocalFile, name: string, size = file.size) => ({ ...requestFor(file, name), size });

  it('challenges a stored content, one nobody stored and a stored one claimed with a wrong size alike', async () => {
    const { w, stored, fresh } = await world();
    const views = await Promise.all([
      requestUpload(w.deps, 'prober', requestOf(stored, 'a')),
      requestUpload(w.deps, 'prober', requestOf(fresh, 'b')),
    ]);
    expect(shapeOf(views[0] as UploadView)).toEqual(shapeOf(views[1] as UploadView));
    expect(views[0]?.status).toBe('challenge');
    // A wrong size (with the content's own block digests, as the id requires) is not refused with
    // 409 before a proof: it is challenged like any claim, and its answer gets a permit (whose URLs
    // no bytes can ever satisfy: each signs a true block's digest with another length).
    const claim = requestOf(stored, 'c', 299_999);
    const challenged = expectStatus(await requestUpload(w.deps, 'prober', claim), 'challenge');
    const proof = { token: challenged.challenge.token, sha256: randomBytes(32).toString('hex') };
    const permit = expectStatus(await requestUpload(w.deps, 'prober', { ...claim, proof }), 'upload');
    expect(permit.file).toMatchObject({ size: 299_999, state: 'PENDING' });
    expect(await uploadStatus(w.deps, 'prober', permit.uploadId)).toMatchObject({ status: 'pending' });
  });

  it('answers a wrong answer with an upload permit whether or not the content is stored; nothing is linked', async () => {
    const { w, stored, fresh } = await world();
    const answerWrong = async (file: LocalFile, name: string) => {
      const view = expectStatus(await requestUpload(w.deps, 'prober', requestOf(file, name)), 'challenge');
      const proof = { token: view.challenge.token, sha256: randomBytes(32).toString('hex') };
      return { proof, view: await requestUpload(w.deps, 'prober', { ...requestOf(file, name), proof }) };
    };
    const hit = await answerWrong(stored, 'hit.bin');
    const miss = await answerWrong(fresh, 'miss.bin');
    expect(hit.view.status).toBe('upload');
    expect(shapeOf(hit.view)).toEqual(shapeOf(miss.view));
    expect(await w.catalog.getFile('prober', 'hit.bin')).toMatchObject({ state: 'PENDING' });
    // Asked about, both uploads are pending alike; a replayed token is refused alike.
    const hitUpload = expectStatus(hit.view, 'upload');
    const missUpload = expectStatus(miss.view, 'upload');
    expect(shapeOf(await uploadStatus(w.deps, 'prober', hitUpload.uploadId))).toEqual(
      shapeOf(await uploadStatus(w.deps, 'prober', missUpload.uploadId)),
    );
    for (const [file, proof] of [
      [stored, hit.proof],
      [fresh, miss.proof],
    ] as const) {
      await expect(requestUpload(w.deps, 'prober', { ...requestOf(file, 'again.bin'), proof })).rejects.toMatchObject({
        code: 'challenge_used',
      });
    }
  });

  it('a client whose answer failed uploads the bytes: verified, its file links to the stored copy, the upload is deleted', async () => {
    const { w, stored } = await world();
    const view = expectStatus(await requestUpload(w.deps, 'bob', requestOf(stored, 'b.bin')), 'challenge');
    const wrong = { token: view.challenge.token, sha256: randomBytes(32).toString('hex') };
    const permit = expectStatus(await requestUpload(w.deps, 'bob', { ...requestOf(stored, 'b.bin'), proof: wrong }), 'upload');
    const objects = w.blobs.keys(`blobs/${stored.contentId}/`);
    await sendBytes(w, permit, stored);
    const done = await completeUpload(w.deps, 'bob', permit.uploadId, undefined);
    await w.blobs.eventsSettled();
    expect(done).toMatchObject({ status: 'complete' });
    expect(await w.catalog.getFile('bob', 'b.bin')).toMatchObject({ state: 'COMPLETE', contentId: stored.contentId });
    expect(await w.catalog.getContent(stored.contentId)).toMatchObject({ state: 'READY', refCount: 2 });
    expect((await w.catalog.getContent(stored.contentId))?.attempt).toBeUndefined();
    expect(w.blobs.keys(`blobs/${stored.contentId}/`)).toEqual(objects);
  });

  it('a proof upload of a multipart content resumes, signs more parts and completes like a miss', async () => {
    const w = memoryWorld({ settings: { proofMode: 'always' } });
    const stored = localFile(randomBytes(2 * 8 * 1024 * 1024 + 5));
    expectStatus(await upload(w, 'alice', 'big.bin', stored), 'complete');
    const objects = w.blobs.keys(`blobs/${stored.contentId}/`);
    const asked = expectStatus(await requestUpload(w.deps, 'bob', requestOf(stored, 'b.bin')), 'challenge');
    const wrong = { token: asked.challenge.token, sha256: randomBytes(32).toString('hex') };
    const first = expectStatus(await requestUpload(w.deps, 'bob', { ...requestOf(stored, 'b.bin'), proof: wrong }), 'upload');
    expect(first.permit).toMatchObject({ mode: 'multipart', partCount: 3 });
    expect(first.permit.parts.map((part) => part.partNumber)).toEqual([1, 2, 3]);
    // Asked again (a resume), the same upload; the third part's URL again from /parts.
    const resumed = expectStatus(await requestUpload(w.deps, 'bob', requestOf(stored, 'b.bin')), 'upload');
    expect(resumed.uploadId).toBe(first.uploadId);
    const third = expectStatus(await signParts(w.deps, 'bob', first.uploadId, [3]), 'upload');
    const twoFirst = { ...first, permit: { ...first.permit, parts: first.permit.parts.slice(0, 2) } };
    const parts = [...(await sendBytes(w, twoFirst, stored)), ...(await sendBytes(w, third, stored))];
    expect(parts.map((part) => part.partNumber)).toEqual([1, 2, 3]);
    expect(await completeUpload(w.deps, 'bob', first.uploadId, parts)).toMatchObject({ status: 'complete' });
    await w.blobs.eventsSettled();
    expect(await w.catalog.getFile('bob', 'b.bin')).toMatchObject({ state: 'COMPLETE' });
    expect(w.blobs.keys(`blobs/${stored.contentId}/`)).toEqual(objects);
  });

  it('a second unproven requester waits while a proof upload is live, as for a miss someone is uploading', async () => {
    const { w, stored, fresh } = await world();
    const unproven = async (file: LocalFile, user: string) => {
      const view = expectStatus(await requestUpload(w.deps, user, requestOf(file, 'x.bin')), 'challenge');
      const proof = { token: view.challenge.token, sha256: randomBytes(32).toString('hex') };
      return requestUpload(w.deps, user, { ...requestOf(file, 'x.bin'), proof });
    };
    expect((await unproven(stored, 'first')).status).toBe('upload');
    expect((await unproven(fresh, 'first')).status).toBe('upload');
    expect(await unproven(stored, 'second')).toEqual(await unproven(fresh, 'second'));
    expect(await unproven(stored, 'third')).toEqual({ status: 'wait', retryAfterSeconds: 1 });
  });

  it('a quarantined content is answered like one nobody stored: a challenge, then a permit for an unproven answer', async () => {
    // Before: an unproven answer for a quarantined content got 'wait' for as long as it stayed
    // quarantined, which told it apart from a content storage does not hold.
    const { w, stored, fresh } = await world();
    const objectKey = (await w.catalog.getContent(stored.contentId))?.objectKey ?? '';
    const other = randomBytes(stored.size);
    w.blobs.putObject(objectKey, other, { checksumSha256: createHash('sha256').update(other).digest('base64') });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await w.blobs.eventsSettled();
    errors.mockRestore();
    expect(await w.catalog.getContent(stored.contentId)).toMatchObject({ state: 'QUARANTINED' });
    const answered = async (file: LocalFile, user: string) => {
      const view = expectStatus(await requestUpload(w.deps, user, requestOf(file, 'q.bin')), 'challenge');
      const proof = { token: view.challenge.token, sha256: randomBytes(32).toString('hex') };
      return requestUpload(w.deps, user, { ...requestOf(file, 'q.bin'), proof });
    };
    const [quarantined, notStored] = [await answered(stored, 'prober'), await answered(fresh, 'prober')];
    expect(quarantined.status).toBe('upload');
    expect(shapeOf(quarantined)).toEqual(shapeOf(notStored));
  });

  it('a content being deleted is challenged too, and an answer waits until it is gone (then a miss)', async () => {
    const { w, stored } = await world();
    await deleteFile(w.deps, 'alice', 'stored.bin');
    const read = await w.catalog.getContent(stored.contentId);
    expect(await w.catalog.beginDelete(stored.contentId, read?.updatedAt ?? 0, w.clock.now())).toBe(true);
    const view = expectStatus(await requestUpload(w.deps, 'prober', requestOf(stored, 'd.bin')), 'challenge');
    const proof = { token: view.challenge.token, sha256: randomBytes(32).toString('hex') };
    expect(await requestUpload(w.deps, 'prober', { ...requestOf(stored, 'd.bin'), proof })).toEqual({
      status: 'wait',
      retryAfterSeconds: 1,
    });
  });

  it('the limits count stored and unstored contents alike', async () => {
    const { w, stored, fresh } = await world();
    for (const file of [stored, fresh]) {
      for (let user = 0; user < w.deps.settings.proofFailuresPerContent; user++) {
        expectStatus(await requestUpload(w.deps, `looker-${user}`, requestOf(file, 'l.bin')), 'challenge');
      }
      w.clock.advance((FAILED_AFTER_SECONDS + 1) * SECOND);
      await expect(requestUpload(w.deps, 'sixth', requestOf(file, 'l.bin'))).rejects.toMatchObject({ code: 'proof_limited' });
    }
  });

  it('an honest uploader meets the challenges it was shown: one open challenge allowed, any number of new files', async () => {
    const w = memoryWorld({ settings: { proofMode: 'always', proofFailuresPerUser: 1 } });
    for (let index = 0; index < 3; index++) {
      expectStatus(await upload(w, 'carol', `new-${index}.bin`, localFile(randomBytes(20_000))), 'complete');
    }
  });
});
