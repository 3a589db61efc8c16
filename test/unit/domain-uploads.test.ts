/**
 * requestUpload's decision table, completion and publishing, on the in-memory adapters with a
 * clock the test moves. The same paths run against the real local stack in test/integration;
 * here each row of the table is one small test that runs in milliseconds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BusyError, ConflictError, QuotaExceededError, ValidationError } from '#domain/errors';
import { ProofError, RANGE_COUNT } from '#domain/proof';
import { completeUpload, requestUpload, signParts, uploadStatus } from '#domain/uploads';
import { MiB } from '#protocol/content-id';
import {
  answerChallenge,
  ask,
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

const MINUTE = 60 * SECOND;

/** A two-block file: the smallest that is a multipart upload. */
const multipartFile = (): LocalFile => localFile(randomBytes(8 * MiB + 1000));
const smallFile = (size = 5000): LocalFile => localFile(randomBytes(size));

/** Everything the catalog and storage hold about one content and one user's file, for "nothing was written" checks. */
async function snapshot(world: MemoryWorld, userId: string, name: string, contentId: string) {
  return {
    content: await world.catalog.getContent(contentId),
    file: await world.catalog.getFile(userId, name),
    usage: await world.catalog.getUsage(userId),
    objects: world.blobs.keys(),
  };
}

describe('requestUpload: a miss', () => {
  it('reserves the content with an attempt owned by the new file and answers with a signed PUT', async () => {
    const world = memoryWorld();
    const file = smallFile();
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt')), 'upload');
    expect(view.permit).toMatchObject({ mode: 'single', partCount: 1 });
    expect(view.permit.parts).toHaveLength(1);
    expect(view.permit.parts[0]?.headers).toEqual({
      'x-amz-checksum-sha256': Buffer.from(file.blockDigests[0] ?? '', 'hex').toString('base64'),
      'if-none-match': '*',
    });
    const stored = await world.catalog.getFile('alice', 'a.txt');
    expect(stored).toMatchObject({ state: 'PENDING', contentId: file.contentId, size: file.size });
    const content = await world.catalog.getContent(file.contentId);
    expect(content).toMatchObject({ state: 'PENDING', refCount: 1, size: file.size });
    expect(content?.attempt?.owner).toEqual({ userId: 'alice', name: 'a.txt', uploadId: stored?.uploadId });
    expect(content?.attempt?.leaseUntil).toBe(world.clock.now() + world.deps.settings.attemptLeaseSeconds * SECOND);
    expect(await world.catalog.getUsage('alice')).toEqual({ files: 1, bytes: file.size, savedBytes: 0 });
    expect(world.blobs.keys()).toEqual([]);
  });

  it('a file of more than one block gets a multipart upload with one signed part per block', async () => {
    const world = memoryWorld();
    const file = multipartFile();
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'big.bin')), 'upload');
    expect(view.permit).toMatchObject({ mode: 'multipart', partCount: 2, blockSize: 8 * MiB });
    expect(view.permit.parts.map((part) => part.partNumber)).toEqual([1, 2]);
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    expect(attempt?.multipartUploads).toEqual([
      { blockSize: 8 * MiB, uploadId: expect.any(String), createdAt: world.deps.now() },
    ]);
    expect(world.blobs.uploadsOf(attempt?.objectKey ?? '')).toEqual([attempt?.multipartUploads?.[0]?.uploadId]);
    // The whole digest list is kept with the attempt, in binary.
    expect(Buffer.from(attempt?.blockDigests ?? []).toString('hex')).toBe(file.blockDigests.join(''));
  });

  it('the bytes sent and completed make the content READY and the file COMPLETE', async () => {
    const world = memoryWorld();
    const file = multipartFile();
    const done = expectStatus(await upload(world, 'alice', 'big.bin', file), 'complete');
    expect(done.file).toMatchObject({ name: 'big.bin', state: 'COMPLETE', size: file.size });
    const content = await world.catalog.getContent(file.contentId);
    expect(content).toMatchObject({ state: 'READY', refCount: 1 });
    expect(content?.attempt).toBeUndefined();
    expect(world.blobs.keys()).toEqual([content?.objectKey]);
    // S3's composite checksum of the parts is the content id itself.
    expect((await world.blobs.head(content?.objectKey ?? ''))?.checksumSha256).toBe(
      `${Buffer.from(file.contentId, 'hex').toString('base64')}-2`,
    );
  });

  it("in 'always' proof mode, even a miss is challenged first; the proven request gets its permit", async () => {
    const world = memoryWorld({ settings: { proofMode: 'always' } });
    const file = smallFile();
    const first = await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt'));
    expect(first.status).toBe('challenge');
    expect(await world.catalog.getContent(file.contentId)).toBeUndefined();
    expectStatus(await ask(world, 'alice', 'a.txt', file), 'upload');
  });
});

describe('requestUpload: a hit', () => {
  it('without proofs, links the file at once: no bytes travel, the saved bytes are counted', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = smallFile();
    await upload(world, 'alice', 'a.txt', file);
    const objects = world.blobs.keys();
    const view = expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.txt')), 'complete');
    expect(view.deduplicated).toBe(true);
    expect(await world.catalog.getFile('bob', 'b.txt')).toMatchObject({ state: 'COMPLETE', contentId: file.contentId });
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ refCount: 2 });
    expect(await world.catalog.getUsage('bob')).toEqual({ files: 1, bytes: file.size, savedBytes: file.size });
    expect(world.blobs.keys()).toEqual(objects);
  });

  it('with proofs, answers a challenge and writes nothing; the right answer links the file', async () => {
    const world = memoryWorld();
    const file = smallFile(300_000);
    await upload(world, 'alice', 'a.txt', file);
    const before = await snapshot(world, 'bob', 'b.txt', file.contentId);
    const challenged = expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.txt')), 'challenge');
    expect(challenged.challenge.ranges).toHaveLength(RANGE_COUNT);
    for (const range of challenged.challenge.ranges) expect(range.start + range.length).toBeLessThanOrEqual(file.size);
    expect(await snapshot(world, 'bob', 'b.txt', file.contentId)).toEqual(before);

    const proof = { token: challenged.challenge.token, sha256: answerChallenge(file.bytes, challenged.challenge.ranges) };
    const view = expectStatus(await requestUpload(world.deps, 'bob', { ...requestFor(file, 'b.txt'), proof }), 'complete');
    expect(view.deduplicated).toBe(true);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ refCount: 2 });

    // A proof is good once: a replay (even for another name) is refused.
    const replay = requestUpload(world.deps, 'bob', { ...requestFor(file, 'c.txt'), proof });
    await expect(replay).rejects.toMatchObject({ code: 'challenge_used', kind: 'forbidden' });
  });

  it('refuses a wrong answer, and an answer to a challenge issued to someone else', async () => {
    const world = memoryWorld();
    const file = smallFile(300_000);
    await upload(world, 'alice', 'a.txt', file);
    const challenged = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm.txt')), 'challenge');
    const guess = { token: challenged.challenge.token, sha256: createHash('sha256').update('guess').digest('hex') };
    await expect(requestUpload(world.deps, 'mallory', { ...requestFor(file, 'm.txt'), proof: guess })).rejects.toMatchObject({
      code: 'proof_failed',
    });
    const right = { token: challenged.challenge.token, sha256: answerChallenge(file.bytes, challenged.challenge.ranges) };
    const stolen = requestUpload(world.deps, 'eve', { ...requestFor(file, 'e.txt'), proof: right });
    await expect(stolen).rejects.toBeInstanceOf(ProofError);
    expect(await world.catalog.getFile('mallory', 'm.txt')).toBeUndefined();
    expect(await world.catalog.getFile('eve', 'e.txt')).toBeUndefined();
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ refCount: 1 });
  });

  it('refuses a challenge answered after it expired', async () => {
    const world = memoryWorld();
    const file = smallFile(300_000);
    await upload(world, 'alice', 'a.txt', file);
    const challenged = expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.txt')), 'challenge');
    world.clock.advance(world.deps.settings.proofTtlSeconds * SECOND + 1);
    const proof = { token: challenged.challenge.token, sha256: answerChallenge(file.bytes, challenged.challenge.ranges) };
    await expect(requestUpload(world.deps, 'bob', { ...requestFor(file, 'b.txt'), proof })).rejects.toMatchObject({
      code: 'challenge_expired',
    });
  });

  it('an empty file needs no proof: there is nothing to prove', async () => {
    const world = memoryWorld();
    const empty = localFile(new Uint8Array());
    await upload(world, 'alice', 'empty', empty);
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(empty, 'empty')), 'complete');
  });
});

describe('requestUpload: a content another upload is sending', () => {
  it("with proofs, a second user waits while the first one's lease is live, and nothing is written", async () => {
    const world = memoryWorld();
    const file = smallFile();
    expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt')), 'upload');
    const before = await snapshot(world, 'bob', 'b.txt', file.contentId);
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.txt')), 'wait');
    expect(await snapshot(world, 'bob', 'b.txt', file.contentId)).toEqual(before);
  });

  it('without proofs, a second user joins the upload and completes when the bytes are published', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = smallFile();
    const first = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt')), 'upload');
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.txt')), 'pending');
    expectStatus(await requestUpload(world.deps, 'carol', requestFor(file, 'c.txt')), 'pending');
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'PENDING', refCount: 3 });

    // Only the bytes reach storage; its ObjectCreated event publishes them (no completion call).
    await sendBytes(world, first, file);
    await world.blobs.eventsSettled();
    for (const [user, name] of [
      ['alice', 'a.txt'],
      ['bob', 'b.txt'],
      ['carol', 'c.txt'],
    ] as const) {
      expect((await world.catalog.getFile(user, name))?.state).toBe('COMPLETE');
    }
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 3 });
  });

  it('with proofs, a user who waited proves ownership once the content is READY', async () => {
    const world = memoryWorld();
    const file = smallFile(200_000);
    const first = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt')), 'upload');
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.txt')), 'wait');
    await sendBytes(world, first, file);
    await world.blobs.eventsSettled();
    // Sending the bytes proved Alice's ownership; Bob has proven nothing yet.
    expect((await world.catalog.getFile('alice', 'a.txt'))?.state).toBe('COMPLETE');
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.txt')), 'challenge');
    const view = expectStatus(await ask(world, 'bob', 'b.txt', file), 'complete');
    expect(view.deduplicated).toBe(true);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ refCount: 2 });
  });

  it('once the attempt is one lease old, a requester of its size joins, whatever was stored: the upload and its parts are kept', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(2 * 8 * MiB + 1000));
    const stalled = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    const onlyFirst = { ...stalled, permit: { ...stalled.permit, parts: stalled.permit.parts.slice(0, 1) } };
    const [kept] = await sendBytes(world, onlyFirst, file);
    const reserved = (await world.catalog.getContent(file.contentId))?.attempt;
    // During the attempt's first lease Bob waits: the bytes travel once.
    world.clock.advance(world.deps.settings.attemptLeaseSeconds * SECOND - 1);
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.bin')), 'wait');
    // Then he joins, although Alice stored a part (progress renews her lease, not his wait).
    world.clock.advance(1);
    const joined = expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.bin')), 'upload');
    const content = await world.catalog.getContent(file.contentId);
    // The same attempt (key, multipart upload, owner), now shared; Alice's part is kept and listed.
    expect(content?.attempt).toMatchObject({
      objectKey: reserved?.objectKey,
      multipartUploads: reserved?.multipartUploads,
      owner: reserved?.owner,
      shared: true,
    });
    expect(content?.refCount).toBe(2);
    expect(joined.permit.uploadedParts?.map((part) => part.partNumber)).toEqual([1]);
    expect(joined.permit.parts.map((part) => part.partNumber)).toEqual([2, 3]);
    // Alice, still uploading, gets URLs for her blocks: nobody's parts or permits were destroyed.
    const resigned = expectStatus(await signParts(world.deps, 'alice', stalled.uploadId, [2]), 'upload');
    const rest = await sendBytes(world, resigned, file);
    const last = await sendBytes(world, { ...joined, permit: { ...joined.permit, parts: joined.permit.parts.slice(1) } }, file);
    const parts = [kept, ...rest, ...last].flatMap((part) => (part ? [part] : []));

    // The upload was shared, so completing proves nothing by itself: Bob is told to ask again at
    // once, is challenged, and proves.
    const done = await completeUpload(world.deps, 'bob', joined.uploadId, parts);
    expect(done).toMatchObject({ status: 'pending', retryAfterSeconds: 0 });
    expectStatus(await ask(world, 'bob', 'b.bin', file), 'complete');
    expectStatus(await ask(world, 'alice', 'a.bin', file), 'complete');
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 2 });
  });
});

describe('requestUpload: the same request again', () => {
  it('answers with the same upload and attempt; asking renews no lease, storing parts does', async () => {
    const world = memoryWorld();
    const file = multipartFile();
    const first = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    world.clock.advance(5 * MINUTE);
    const again = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    expectStatus(await signParts(world.deps, 'alice', again.uploadId, [1, 2]), 'upload');
    expect(again.uploadId).toBe(first.uploadId);
    expect((await world.catalog.getContent(file.contentId))?.attempt).toEqual(attempt);

    const onlyFirst = { ...again, permit: { ...again.permit, parts: again.permit.parts.slice(0, 1) } };
    await sendBytes(world, onlyFirst, file);
    expectStatus(await signParts(world.deps, 'alice', again.uploadId, [2]), 'upload');
    const renewed = (await world.catalog.getContent(file.contentId))?.attempt;
    expect(renewed).toMatchObject({ objectKey: attempt?.objectKey, partsSeen: 1 });
    expect(renewed?.leaseUntil).toBe(world.clock.now() + world.deps.settings.attemptLeaseSeconds * SECOND);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ refCount: 1 });
    expect(await world.catalog.getUsage('alice')).toMatchObject({ files: 1, bytes: file.size });
  });

  it('resumes a multipart upload: the parts storage holds are listed, only the others are signed', async () => {
    const world = memoryWorld();
    const file = multipartFile();
    const first = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    const onlyFirst = { ...first, permit: { ...first.permit, parts: first.permit.parts.slice(0, 1) } };
    const [sent] = await sendBytes(world, onlyFirst, file);
    const resumed = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    expect(resumed.permit.uploadedParts).toEqual([
      {
        partNumber: 1,
        etag: sent?.etag,
        size: 8 * MiB,
        sha256: Buffer.from(file.blockDigests[0] ?? '', 'hex').toString('base64'),
      },
    ]);
    expect(resumed.permit.parts.map((part) => part.partNumber)).toEqual([2]);
    const rest = await sendBytes(world, resumed, file);
    const done = await completeUpload(world.deps, 'alice', resumed.uploadId, [...(sent ? [sent] : []), ...rest]);
    expectStatus(done, 'complete');
  });

  it('a completed upload asked again is complete', async () => {
    const world = memoryWorld();
    const file = smallFile();
    await upload(world, 'alice', 'a.txt', file);
    expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt')), 'complete');
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ refCount: 1 });
  });
});

describe('requestUpload: refusals', () => {
  it('409 size_mismatch for a known content id with another size; nothing written', async () => {
    const world = memoryWorld();
    const file = smallFile();
    await upload(world, 'alice', 'a.txt', file);
    const before = await snapshot(world, 'bob', 'b.txt', file.contentId);
    const lie = requestUpload(world.deps, 'bob', { ...requestFor(file, 'b.txt'), size: file.size + 1 });
    await expect(lie).rejects.toBeInstanceOf(ConflictError);
    await expect(lie).rejects.toMatchObject({ code: 'size_mismatch', kind: 'conflict' });
    expect(await snapshot(world, 'bob', 'b.txt', file.contentId)).toEqual(before);
  });

  it('400 for block digests that do not hash to the content id', async () => {
    const world = memoryWorld();
    const file = smallFile();
    const other = smallFile();
    const request = { ...requestFor(file, 'a.txt'), blockDigests: other.blockDigests };
    // Checked before the decision starts: requestUpload throws rather than returning a rejection.
    await expect(Promise.resolve().then(() => requestUpload(world.deps, 'alice', request))).rejects.toMatchObject({
      code: 'block_digests_mismatch',
    });
    await expect(Promise.resolve().then(() => requestUpload(world.deps, 'alice', request))).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await world.catalog.getContent(file.contentId)).toBeUndefined();
  });

  it('413 quota_exceeded before anything is written, for a miss and for a hit alike', async () => {
    const world = memoryWorld({ settings: { defaultQuotaBytes: 10_000, proofMode: 'off' } });
    await upload(world, 'alice', 'first', smallFile(6000));
    const miss = smallFile(6000);
    const before = await snapshot(world, 'alice', 'second', miss.contentId);
    const refused = requestUpload(world.deps, 'alice', requestFor(miss, 'second'));
    await expect(refused).rejects.toBeInstanceOf(QuotaExceededError);
    await expect(refused).rejects.toMatchObject({ code: 'quota_exceeded', kind: 'too_large' });
    expect(await snapshot(world, 'alice', 'second', miss.contentId)).toEqual(before);

    const hit = smallFile(6000);
    await upload(world, 'bob', 'bobs', hit);
    await expect(requestUpload(world.deps, 'alice', requestFor(hit, 'second'))).rejects.toBeInstanceOf(QuotaExceededError);
    expect(await world.catalog.getContent(hit.contentId)).toMatchObject({ refCount: 1 });

    // The user's own quota applies instead of the default.
    await world.catalog.setQuota('alice', 20_000);
    expectStatus(await requestUpload(world.deps, 'alice', requestFor(hit, 'second')), 'complete');
  });

  it('503 content_deleting for a content the sweeper is deleting', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = smallFile();
    await upload(world, 'alice', 'a.txt', file);
    const stored = await world.catalog.getFile('alice', 'a.txt');
    if (!stored) throw new Error('uploaded');
    await world.catalog.deleteFile(stored, world.clock.now());
    const content = await world.catalog.getContent(file.contentId);
    expect(await world.catalog.beginDelete(file.contentId, content?.updatedAt ?? 0, world.clock.now())).toBe(true);
    const busy = requestUpload(world.deps, 'bob', requestFor(file, 'b.txt'));
    await expect(busy).rejects.toBeInstanceOf(BusyError);
    await expect(busy).rejects.toMatchObject({ code: 'content_deleting', kind: 'busy' });
  });
});

describe('completion and publishing', () => {
  /**
   * Other bytes than the content under its attempt's key (by default of the same size). No URL can
   * store them (describe 'part URLs' below): they are written around every guard, as only a path
   * outside hashdrop could, to test the last line of defence, verification.
   */
  async function dishonest(
    world: MemoryWorld,
    options: { sentSize?: number; beforeSending?: (claimed: ReturnType<typeof smallFile>) => Promise<unknown> } = {},
  ) {
    const claimed = smallFile(5000);
    const sent = randomBytes(options.sentSize ?? 5000);
    const view = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(claimed, 'm.bin')), 'upload');
    await options.beforeSending?.(claimed);
    const attempt = (await world.catalog.getContent(claimed.contentId))?.attempt;
    if (!attempt) throw new Error('the content was reserved');
    world.blobs.putObject(attempt.objectKey, sent, { checksumSha256: createHash('sha256').update(sent).digest('base64') });
    return { claimed, view };
  }

  it('bytes that are not the content: the attempt fails, the file is FAILED, the object and reservation go', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const { claimed, view } = await dishonest(world);
    const done = expectStatus(await completeUpload(world.deps, 'mallory', view.uploadId, undefined), 'failed');
    expect(done.failure).toBe('content_mismatch');
    expect(await world.catalog.getFile('mallory', 'm.bin')).toMatchObject({ state: 'FAILED', failure: 'content_mismatch' });
    expect(await world.catalog.getContent(claimed.contentId)).toBeUndefined();
    expect(world.blobs.keys()).toEqual([]);
    expect(await world.catalog.getUsage('mallory')).toMatchObject({ files: 0, bytes: 0 });
  });

  it('the same, found by the ObjectCreated event alone; a waiting file stays and may upload itself', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const { claimed } = await dishonest(world, {
      beforeSending: async (claimed) =>
        expectStatus(await requestUpload(world.deps, 'bob', requestFor(claimed, 'b.bin')), 'pending'),
    });
    await world.blobs.eventsSettled();
    expect(await world.catalog.getFile('mallory', 'm.bin')).toMatchObject({ state: 'FAILED' });
    const content = await world.catalog.getContent(claimed.contentId);
    expect(content).toMatchObject({ state: 'PENDING', refCount: 1 });
    expect(content?.attempt).toBeUndefined();
    // Bob's next request takes the upload over at once: the failed attempt holds no lease.
    expectStatus(await upload(world, 'bob', 'b.bin', claimed), 'complete');
  });

  it('bytes of another size fail too: they are checked against the id under their own size', async () => {
    const world = memoryWorld({ deliverEvents: false });
    const { view } = await dishonest(world, { sentSize: 4000 });
    const done = expectStatus(await completeUpload(world.deps, 'mallory', view.uploadId, undefined), 'failed');
    expect(done.failure).toBe('content_mismatch');
    expect(await world.catalog.getUsage('mallory')).toMatchObject({ files: 0, bytes: 0 });
  });

  it('completing before the bytes arrived is a 409 that changes nothing', async () => {
    const world = memoryWorld();
    const file = smallFile();
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt')), 'upload');
    const early = completeUpload(world.deps, 'alice', view.uploadId, undefined);
    await expect(early).rejects.toMatchObject({ code: 'object_not_uploaded' });
    expect(await world.catalog.getFile('alice', 'a.txt')).toMatchObject({ state: 'PENDING' });
  });

  it('a multipart completion must list every part in order', async () => {
    const world = memoryWorld();
    const file = multipartFile();
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    const parts = await sendBytes(world, view, file);
    await expect(completeUpload(world.deps, 'alice', view.uploadId, parts.slice(0, 1))).rejects.toMatchObject({
      code: 'invalid_parts',
    });
    await expect(completeUpload(world.deps, 'alice', view.uploadId, [...parts].reverse())).rejects.toMatchObject({
      code: 'invalid_parts',
    });
    const [one, two] = parts;
    if (!one || !two) throw new Error('two parts were sent');
    const forged = [one, { ...two, etag: '"00000000000000000000000000000000"' }];
    await expect(completeUpload(world.deps, 'alice', view.uploadId, forged)).rejects.toMatchObject({ code: 'invalid_parts' });
    expectStatus(await completeUpload(world.deps, 'alice', view.uploadId, parts), 'complete');
  });

  it("the ObjectCreated event and the client's completion racing publish once", async () => {
    const world = memoryWorld();
    const file = smallFile();
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt')), 'upload');
    await sendBytes(world, view, file);
    // The event is delivered while the completion runs.
    const [done] = await Promise.all([
      completeUpload(world.deps, 'alice', view.uploadId, undefined),
      world.blobs.eventsSettled(),
    ]);
    expectStatus(done, 'complete');
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    expect(world.blobs.keys()).toHaveLength(1);
  });

  it('uploadStatus reports a file as it stands; someone else cannot see or sign for it', async () => {
    const world = memoryWorld();
    const file = smallFile();
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt')), 'upload');
    expectStatus(await uploadStatus(world.deps, 'alice', view.uploadId), 'pending');
    await expect(uploadStatus(world.deps, 'bob', view.uploadId)).rejects.toMatchObject({ code: 'upload_not_found' });
    await expect(signParts(world.deps, 'bob', view.uploadId, [])).rejects.toMatchObject({ code: 'upload_not_found' });
    await sendBytes(world, view, file);
    await world.blobs.eventsSettled();
    expectStatus(await uploadStatus(world.deps, 'alice', view.uploadId), 'complete');
  });
});
