/**
 * Proof of ownership against the real local stack (default mode: on-hit). Knowing a content's
 * id and size must not be enough to obtain the file.
 */

import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issueChallenge, RANGE_COUNT } from '#domain/proof';
import { completeUpload, requestUpload } from '#domain/uploads';
import type { ByteRange } from '#protocol/api';
import { bytesToHex } from '#protocol/encoding';
import { ApiError, HashdropClient, type UploadRequest, type UploadView } from '#sdk/api';
import { answerChallenge } from '#sdk/files';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';
import {
  clientFor,
  contentItem,
  fileItem,
  filesOf,
  newUser,
  objectKeys,
  randomFile,
  stack,
  testDeps,
  token,
} from '../helpers.ts';

type Challenged = Extract<UploadView, { status: 'challenge' }>;

async function storedFile(size = 300_000, owner = newUser('owner')) {
  const file = randomFile(size);
  const put = await putFile(clientFor(owner), file.path, { name: `secret-${file.path.slice(-6)}.pdf` });
  const tree = hashBuffer(file.bytes);
  // Every block's digest: what a client that hashed the file sends.
  const blockDigests = tree.blockDigests.map(bytesToHex);
  const request: UploadRequest = { name: 'got-it.pdf', size, contentId: put.contentId, blockDigests };
  return { owner, file, put, tree, request };
}

/** The answer of a client that holds `bytes` only where `held` says so (zeros elsewhere). */
function partialAnswer(bytes: Buffer, held: (offset: number) => boolean, ranges: readonly ByteRange[]): string {
  const hash = createHash('sha256');
  for (const range of ranges) {
    const part = Buffer.from(bytes.subarray(range.start, range.start + range.length));
    for (let offset = 0; offset < part.length; offset++) if (!held(range.start + offset)) part[offset] = 0;
    hash.update(part);
  }
  return hash.digest('hex');
}

async function challenge(client: HashdropClient, request: UploadRequest): Promise<Challenged['challenge']> {
  const view = await client.requestUpload(request);
  if (view.status !== 'challenge') throw new Error(`expected a challenge, got ${view.status}`);
  return view.challenge;
}

async function refusal(call: Promise<unknown>): Promise<{ status: number; code: string }> {
  const error = await apiError(call);
  return { status: error.status, code: error.code };
}

async function apiError(call: Promise<unknown>): Promise<ApiError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected a refusal, got ${String(error)}`);
  return error;
}

/** Seconds until the current proof period (a UTC day by default) ends. */
const secondsToPeriodEnd = (): number => Math.ceil((86_400_000 - (Date.now() % 86_400_000)) / 1000);

describe('proof of ownership', () => {
  it('answers a hit with a challenge of byte ranges and writes nothing until it is met', async () => {
    const { request, put } = await storedFile();
    const thief = newUser('thief');
    const issued = await challenge(clientFor(thief), request);
    expect(issued.ranges).toHaveLength(RANGE_COUNT);
    expect(issued.ranges.every((range) => range.start >= 0 && range.start + range.length <= request.size)).toBe(true);
    expect(await fileItem(thief, request.name)).toBeUndefined();
    expect(await contentItem(put.contentId)).toMatchObject({ refCount: 1 });
  });

  it('refuses a client that knows only the content id and size', async () => {
    const { request, put } = await storedFile();
    const thief = newUser('thief');
    const issued = await challenge(clientFor(thief), request);
    // Its best guess: some hash. It cannot compute the right one without the bytes.
    const guess = { token: issued.token, sha256: randomBytes(32).toString('hex') };
    expect(await refusal(clientFor(thief).requestUpload({ ...request, proof: guess }))).toEqual({
      status: 403,
      code: 'proof_failed',
    });
    expect(await filesOf(thief)).toEqual([]);
    expect(await contentItem(put.contentId)).toMatchObject({ refCount: 1 });
  });

  it('links the file for a client that holds the bytes, without sending them', async () => {
    const { request, file } = await storedFile();
    const holder = newUser('holder');
    const issued = await challenge(clientFor(holder), request);
    const proof = { token: issued.token, sha256: await answerChallenge(file.path, issued.ranges) };
    const view = await clientFor(holder).requestUpload({ ...request, proof });
    expect(view).toMatchObject({ status: 'complete', deduplicated: true });
    // The SDK does the same transparently.
    const put = await putFile(clientFor(holder), file.path, { name: 'again.pdf' });
    expect(put).toMatchObject({ state: 'COMPLETE', deduplicated: true, bytesSent: 0 });
  });

  it('refuses a replayed, tampered, expired or other user’s challenge', async () => {
    const { request, file, put } = await storedFile();
    const alice = newUser('alice');
    const issued = await challenge(clientFor(alice), request);
    const answer = await answerChallenge(file.path, issued.ranges);
    const proof = { token: issued.token, sha256: answer };

    // Another user cannot use alice's challenge, even with the right answer.
    expect(await refusal(clientFor(newUser('bob')).requestUpload({ ...request, proof }))).toEqual({
      status: 403,
      code: 'challenge_mismatch',
    });
    // Tampered: a changed claim or a changed signature.
    const [body = '', signature = ''] = issued.token.split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify({ ...claims, user: 'mallory' })).toString('base64url')}.${signature}`;
    expect(await refusal(clientFor(alice).requestUpload({ ...request, proof: { ...proof, token: forged } }))).toEqual({
      status: 403,
      code: 'invalid_challenge',
    });
    const resigned = `${body}.${Buffer.from(randomBytes(32)).toString('base64url')}`;
    expect(await refusal(clientFor(alice).requestUpload({ ...request, proof: { ...proof, token: resigned } }))).toEqual({
      status: 403,
      code: 'invalid_challenge',
    });
    // The genuine answer works once; replayed, it is refused.
    expect(await clientFor(alice).requestUpload({ ...request, proof })).toMatchObject({ status: 'complete' });
    expect(await refusal(clientFor(alice).requestUpload({ ...request, name: 'twice.pdf', proof }))).toEqual({
      status: 403,
      code: 'challenge_used',
    });
    // Expired: a challenge issued (by the server's own key) longer ago than its lifetime.
    const deps = testDeps();
    const old = await issueChallenge({ ...deps, now: () => Date.now() - 3600_000 }, alice, put.contentId, request.size);
    const late = { token: old.token, sha256: await answerChallenge(file.path, old.ranges) };
    expect(await refusal(clientFor(alice).requestUpload({ ...request, name: 'late.pdf', proof: late }))).toEqual({
      status: 403,
      code: 'challenge_expired',
    });
    expect((await filesOf(alice)).map((f) => f.name)).toEqual(['got-it.pdf']);
  });

  it('makes a requester wait for an upload in progress instead of joining it unproven', async () => {
    const uploader = newUser('uploader');
    const file = randomFile(4000);
    const tree = hashBuffer(file.bytes);
    const request = {
      name: 'new.bin',
      size: file.bytes.length,
      contentId: tree.contentId,
      blockDigests: tree.blockDigests.map(bytesToHex),
    };
    expect(await clientFor(uploader).requestUpload(request)).toMatchObject({ status: 'upload' });
    const other = newUser('other');
    expect(await clientFor(other).requestUpload(request)).toEqual({ status: 'wait', retryAfterSeconds: 1 });
    expect(await filesOf(other)).toEqual([]);
    expect(await contentItem(tree.contentId)).toMatchObject({ state: 'PENDING', refCount: 1 });
  });

  it('a requester who only claimed the content never gets it from someone else’s upload', async () => {
    const file = randomFile(6000);
    const tree = hashBuffer(file.bytes);
    const blockDigests = tree.blockDigests.map(bytesToHex);
    const request = { name: 'claimed.bin', size: file.bytes.length, contentId: tree.contentId, blockDigests };
    // The attacker reserves the content first (a miss needs no proof) and never sends a byte.
    const attacker = newUser('attacker');
    const claimed = await clientFor(attacker).requestUpload(request);
    expect(claimed).toMatchObject({ status: 'upload' });
    if (claimed.status !== 'upload') throw new Error('unreachable');

    // The owner of the bytes waits out the attacker's lease, takes the upload over and sends them.
    const owner = newUser('owner');
    const put = await putFile(clientFor(owner), file.path, { name: 'mine.bin' });
    expect(put).toMatchObject({ state: 'COMPLETE', bytesSent: file.bytes.length });
    expect(await contentItem(tree.contentId)).toMatchObject({ state: 'READY' });

    // The attacker's file did not complete with it: asked again, it is challenged, and fails.
    expect(await fileItem(attacker, 'claimed.bin')).toMatchObject({ state: 'PENDING' });
    const again = await clientFor(attacker).requestUpload(request);
    expect(again.status).toBe('challenge');
    if (again.status !== 'challenge') throw new Error('unreachable');
    const guess = { token: again.challenge.token, sha256: randomBytes(32).toString('hex') };
    expect(await refusal(clientFor(attacker).requestUpload({ ...request, proof: guess }))).toEqual({
      status: 403,
      code: 'proof_failed',
    });
    expect(await refusal(clientFor(attacker).getFile('claimed.bin'))).toEqual({ status: 409, code: 'file_not_ready' });
    expect((await clientFor(attacker).uploadStatus(claimed.uploadId)).status).toBe('pending');
  }, 60_000);

  it('in "always" mode challenges misses and hits alike, so an answer reveals nothing', async () => {
    const deps = testDeps();
    const always = { ...deps, settings: { ...deps.settings, proofMode: 'always' as const } };
    const { request: hit } = await storedFile();
    const fresh = randomFile(5000);
    const missTree = hashBuffer(fresh.bytes);
    const miss = {
      name: 'fresh.bin',
      size: fresh.bytes.length,
      contentId: missTree.contentId,
      blockDigests: missTree.blockDigests.map(bytesToHex),
    };
    const user = newUser('prober');

    const hitView = await requestUpload(always, user, hit);
    const missView = await requestUpload(always, user, miss);
    expect(hitView.status).toBe('challenge');
    expect(missView.status).toBe('challenge');
    expect(Object.keys(hitView).sort()).toEqual(Object.keys(missView).sort());
    if (missView.status !== 'challenge') throw new Error('unreachable');
    expect(missView.challenge.ranges).toHaveLength(1);
    expect(await contentItem(missTree.contentId)).toBeUndefined();

    // A made-up answer is refused before anything is decided or written.
    const madeUp = { token: 'e30.AAAA', sha256: randomBytes(32).toString('hex') };
    await expect(requestUpload(always, user, { ...miss, proof: madeUp })).rejects.toMatchObject({ code: 'invalid_challenge' });
    expect(await contentItem(missTree.contentId)).toBeUndefined();

    // Answered, the miss gets its upload permit (its bytes will be verified when they land).
    const proof = { token: missView.challenge.token, sha256: await answerChallenge(fresh.path, missView.challenge.ranges) };
    expect(await requestUpload(always, user, { ...miss, proof })).toMatchObject({ status: 'upload' });
  });
});

describe('proof of ownership cannot be re-rolled', () => {
  it('shows a user the same ranges however often she asks, each time under a new token', async () => {
    const { request } = await storedFile(2_000_000);
    const client = clientFor(newUser('reroller'));
    const first = await challenge(client, request);
    expect(first.ranges).toHaveLength(RANGE_COUNT);
    for (let ask = 0; ask < 10; ask++) {
      const again = await challenge(client, { ...request, name: `try-${ask}.pdf` });
      expect(again.ranges).toEqual(first.ranges);
      expect(again.token).not.toBe(first.token);
    }
    // Another user is shown other ranges.
    expect((await challenge(clientFor(newUser('other')), request)).ranges).not.toEqual(first.ranges);
  });

  it('asks for 44 ranges spread over the file: a client holding its first 90% fails unless all miss the rest', async () => {
    const { request, file, put } = await storedFile(2_000_000);
    const holder = newUser('ninety');
    const issued = await challenge(clientFor(holder), request);
    expect(issued.ranges).toHaveLength(44);
    const held = (offset: number) => offset < 0.9 * request.size;
    const inPart = issued.ranges.every((range) => range.start + range.length <= 0.9 * request.size);
    const answer = { token: issued.token, sha256: partialAnswer(file.bytes, held, issued.ranges) };
    const outcome = clientFor(holder).requestUpload({ ...request, proof: answer });
    // 0.9^44 < 1%: nearly always some range reaches the missing tenth, and the answer is refused.
    if (inPart) expect(await outcome).toMatchObject({ status: 'complete' });
    else expect(await refusal(outcome)).toEqual({ status: 403, code: 'proof_failed' });
    expect(await contentItem(put.contentId)).toMatchObject({ refCount: inPart ? 2 : 1 });
  });

  it('after 5 users leave a content’s challenge unmet past 30 s, the next gets 429 proof_limited; those who looked may still prove', async () => {
    const { request, file } = await storedFile();
    // Five users were shown their challenge a minute ago and never answered: they failed.
    const deps = testDeps();
    const aMinuteAgo = { ...deps, now: () => Date.now() - 60_000 };
    const lookers = Array.from({ length: 5 }, () => newUser('looker'));
    const shown = [];
    for (const looker of lookers) shown.push(await issueChallenge(aMinuteAgo, looker, request.contentId, request.size));
    const limited = await apiError(clientFor(newUser('sixth')).requestUpload(request));
    expect({ status: limited.status, code: limited.code }).toEqual({ status: 429, code: 'proof_limited' });
    // retry-after: until the proof period (a day) ends.
    expect(limited.retryAfterSeconds).toBeGreaterThan(0);
    expect(limited.retryAfterSeconds).toBeLessThanOrEqual(secondsToPeriodEnd() + 1);
    expect(limited.retryable).toBe(false);

    // A user who looked still gets her challenge (the same ranges) and may meet it...
    const [looker = ''] = lookers;
    const again = await challenge(clientFor(looker), request);
    expect(again.ranges).toEqual(shown[0]?.ranges);
    const proof = { token: again.token, sha256: await answerChallenge(file.path, again.ranges) };
    expect(await clientFor(looker).requestUpload({ ...request, proof })).toMatchObject({ status: 'complete' });
    // ...and a challenge met late no longer counts as failed: one more user may look.
    await challenge(clientFor(newUser('sixth')), request);
  });

  it('32 challenges of one content being answered at once: one more gets 503 proof_busy (retried) until one is met', async () => {
    const { request, file } = await storedFile();
    const burst = Array.from({ length: 32 }, () => newUser('burst'));
    const shown = await Promise.all(burst.map((user) => challenge(clientFor(user), request)));
    const busy = await apiError(clientFor(newUser('one-more')).requestUpload(request));
    expect({ status: busy.status, code: busy.code, retryable: busy.retryable }).toEqual({
      status: 503,
      code: 'proof_busy',
      retryable: true,
    });
    const [first] = shown;
    if (!first) throw new Error('unreachable');
    const proof = { token: first.token, sha256: await answerChallenge(file.path, first.ranges) };
    expect(await clientFor(burst[0] ?? '').requestUpload({ ...request, proof })).toMatchObject({ status: 'complete' });
    // putFile retries it like any 503: here it simply proves.
    expect(await putFile(clientFor(newUser('one-more')), file.path, { name: 'mine.pdf' })).toMatchObject({
      state: 'COMPLETE',
      bytesSent: 0,
    });
  });

  it('after 20 challenges a user left unmet, she gets 429 for any other; the SDK reports it without retrying', async () => {
    const owner = newUser('owner');
    const stored = [];
    for (let index = 0; index < 21; index++) stored.push(await storedFile(20_000, owner));
    const prober = newUser('prober');
    const shown = [];
    for (const { request } of stored.slice(0, 20)) shown.push(await challenge(clientFor(prober), request));
    const [first, last] = [stored[0], stored[20]];
    if (!first || !last) throw new Error('unreachable');
    expect(await refusal(clientFor(prober).requestUpload(last.request))).toEqual({ status: 429, code: 'proof_limited' });
    // A challenge she was shown is shown again; another user is not limited by her.
    expect((await challenge(clientFor(prober), first.request)).ranges).toEqual(shown[0]?.ranges);
    await challenge(clientFor(newUser('bystander')), last.request);

    // putFile asks once and reports the limit (it would last hours: no retry in place).
    let asked = 0;
    const counting = new HashdropClient({
      endpoint: stack.endpoint,
      token: () => token(prober),
      fetch: (input, init) => {
        if (String(input).endsWith('/v1/uploads')) asked++;
        return fetch(input, init);
      },
    });
    const error = await apiError(putFile(counting, last.file.path, { name: 'mine.pdf' }));
    expect(error.code).toBe('proof_limited');
    expect(asked).toBe(1);
  }, 120_000);

  it('an unmet challenge takes 5 answers, then 429 even for the right one: a missing byte cannot be guessed', async () => {
    const { request, file, put } = await storedFile();
    const guesser = newUser('guesser');
    for (let answer = 0; answer < 5; answer++) {
      const issued = await challenge(clientFor(guesser), request);
      const guess = { token: issued.token, sha256: randomBytes(32).toString('hex') };
      expect(await refusal(clientFor(guesser).requestUpload({ ...request, proof: guess }))).toEqual({
        status: 403,
        code: 'proof_failed',
      });
    }
    const issued = await challenge(clientFor(guesser), request);
    const right = { token: issued.token, sha256: await answerChallenge(file.path, issued.ranges) };
    expect(await refusal(clientFor(guesser).requestUpload({ ...request, proof: right }))).toEqual({
      status: 429,
      code: 'proof_limited',
    });
    expect(await filesOf(guesser)).toEqual([]);
    expect(await contentItem(put.contentId)).toMatchObject({ refCount: 1 });
  });
});

describe('"always" mode: nothing before a valid proof depends on what storage holds', () => {
  /** The domain on the test stack's stores, in 'always' mode (the shared stack runs 'on-hit'). */
  function alwaysDeps() {
    const deps = testDeps();
    return { ...deps, settings: { ...deps.settings, proofMode: 'always' as const } };
  }

  /** A stored content and one nobody stored, of the same size. */
  async function storedAndFresh() {
    const stored = await storedFile(300_000);
    const fresh = randomFile(300_000);
    const tree = hashBuffer(fresh.bytes);
    const request = { ...stored.request, contentId: tree.contentId, blockDigests: tree.blockDigests.map(bytesToHex) };
    return { stored, fresh: { file: fresh, request } };
  }

  /** What two answers must share: the status, the fields, the permit's form (not ids, URLs or times). */
  function shapeOf(view: UploadView): unknown {
    if (view.status === 'upload') {
      const { mode, blockSize, partCount, parts } = view.permit;
      return {
        status: view.status,
        keys: Object.keys(view).sort(),
        state: view.file.state,
        size: view.file.size,
        mode,
        blockSize,
        partCount,
        parts: parts.length,
      };
    }
    if (view.status === 'challenge')
      return { status: view.status, keys: Object.keys(view.challenge).sort(), ranges: view.challenge.ranges.length };
    return { status: view.status };
  }

  async function outcome(call: Promise<UploadView>): Promise<unknown> {
    return call.then(shapeOf, (error: { code?: string }) => ({ refused: error.code }));
  }

  it('answers a request, a wrong answer, a replay and a wrong size alike, stored or not', async () => {
    const always = alwaysDeps();
    const { stored, fresh } = await storedAndFresh();
    const prober = newUser('prober');
    const results = [];
    for (const [label, request] of [
      ['stored', stored.request],
      ['fresh', fresh.request],
    ] as const) {
      const asked = await requestUpload(always, prober, { ...request, name: `${label}.bin` });
      if (asked.status !== 'challenge') throw new Error(`expected a challenge, got ${asked.status}`);
      const wrong = { token: asked.challenge.token, sha256: randomBytes(32).toString('hex') };
      const answered = await requestUpload(always, prober, { ...request, name: `${label}.bin`, proof: wrong });
      const replayed = await outcome(requestUpload(always, prober, { ...request, name: `${label}-2.bin`, proof: wrong }));
      const status = answered.status === 'upload' ? shapeOf(await clientFor(prober).uploadStatus(answered.uploadId)) : undefined;
      // A wrong size (the content's own block digests, as its id requires) is challenged like any claim.
      const wrongSize = await outcome(
        requestUpload(always, prober, { ...request, name: `${label}-size.bin`, size: request.size - 1 }),
      );
      results.push({ asked: shapeOf(asked), answered: shapeOf(answered), replayed, status, wrongSize });
    }
    const [ofStored, ofFresh] = results;
    expect(ofStored).toEqual(ofFresh);
    expect(ofStored).toMatchObject({
      asked: { status: 'challenge' },
      answered: { status: 'upload', state: 'PENDING' },
      replayed: { refused: 'challenge_used' },
      status: { status: 'pending' },
      wrongSize: { status: 'challenge' },
    });
    // Nothing was linked to the stored content.
    expect(await fileItem(prober, 'stored.bin')).toMatchObject({ state: 'PENDING' });
    expect((await filesOf(prober)).filter((file) => file.state === 'COMPLETE')).toEqual([]);
  });

  it('a client whose answer failed uploads the bytes: verified, linked to the stored copy, the upload deleted', async () => {
    const always = alwaysDeps();
    const { request, file, put } = await storedFile(300_000);
    const holder = newUser('holder');
    const asked = await requestUpload(always, holder, request);
    if (asked.status !== 'challenge') throw new Error(`expected a challenge, got ${asked.status}`);
    const wrong = { token: asked.challenge.token, sha256: randomBytes(32).toString('hex') };
    const permit = await requestUpload(always, holder, { ...request, proof: wrong });
    if (permit.status !== 'upload') throw new Error(`expected an upload, got ${permit.status}`);
    const objects = await objectKeys(`blobs/${put.contentId}/`);
    const [part] = permit.permit.parts;
    if (!part) throw new Error('expected a part URL');
    const sent = await fetch(part.url, { method: 'PUT', headers: part.headers, body: new Uint8Array(file.bytes) });
    expect(sent.status).toBe(200);
    expect(await completeUpload(always, holder, permit.uploadId, undefined)).toMatchObject({ status: 'complete' });
    expect(await fileItem(holder, request.name)).toMatchObject({ state: 'COMPLETE', contentId: put.contentId });
    expect(await contentItem(put.contentId)).toMatchObject({ state: 'READY', refCount: 2 });
    // The S3 event of the uploaded copy may be publishing it at the same time: whichever of the two
    // links the file first answers, and the other ends the attempt a moment later.
    await expect.poll(async () => (await contentItem(put.contentId))?.attempt).toBeUndefined();
    // The uploaded copy is gone (once its S3 event too has been handled); the stored one stays.
    await expect.poll(() => objectKeys(`blobs/${put.contentId}/`)).toEqual(objects);
  });

  it('the limits count stored and unstored contents alike', async () => {
    const always = alwaysDeps();
    const { stored, fresh } = await storedAndFresh();
    const aMinuteAgo = { ...always, now: () => Date.now() - 60_000 };
    const refusals = [];
    for (const request of [stored.request, fresh.request]) {
      for (let user = 0; user < always.settings.proofFailuresPerContent; user++) {
        await requestUpload(aMinuteAgo, newUser('looker'), request);
      }
      refusals.push(await outcome(requestUpload(always, newUser('sixth'), request)));
    }
    expect(refusals).toEqual([{ refused: 'proof_limited' }, { refused: 'proof_limited' }]);
  });
});
