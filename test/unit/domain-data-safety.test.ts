/**
 * Issue 12, points 1, 3 and 5 on the in-memory adapters (whose storage enforces signed checksums,
 * signed lengths and If-None-Match as S3 does): a READY content's bytes never change; nobody who
 * lacks the bytes holds up an upload of them; no URL stores more than its block. The same attacks
 * run against the real local stack in test/integration/data-safety.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deleteFile, getFileDownload } from '#domain/files';
import { sweep } from '#domain/sweeper';
import {
  cancelUpload,
  completeUpload,
  MULTIPART_UPLOAD_LIFETIME_DAYS,
  requestUpload,
  signParts,
  uploadStatus,
} from '#domain/uploads';
import { MiB } from '#protocol/content-id';
import {
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

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');
const blockOf = (file: LocalFile, partNumber: number): Buffer =>
  Buffer.from(file.bytes.subarray((partNumber - 1) * 8 * MiB, partNumber * 8 * MiB));

/** Rejections of calls that may throw before returning a promise. */
const rejectionOf = (run: () => Promise<unknown>): Promise<unknown> =>
  Promise.resolve()
    .then(run)
    .then(
      () => undefined,
      (error: unknown) => error,
    );

afterEach(() => {
  vi.restoreAllMocks();
});

const leaseOf = (world: MemoryWorld): number => world.deps.settings.attemptLeaseSeconds * SECOND;

describe('part URLs (points 1 and 5)', () => {
  it('are asked for by part number and signed for the digest of that block from the stored list', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(2 * 8 * MiB + 10));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    const signed = expectStatus(await signParts(world.deps, 'alice', view.uploadId, [3, 1]), 'upload');
    expect(signed.permit.parts.map((part) => [part.partNumber, part.headers['x-amz-checksum-sha256']])).toEqual([
      [3, Buffer.from(file.blockDigests[2] ?? '', 'hex').toString('base64')],
      [1, Buffer.from(file.blockDigests[0] ?? '', 'hex').toString('base64')],
    ]);
    const error = await rejectionOf(() => signParts(world.deps, 'alice', view.uploadId, [4]));
    expect(error).toMatchObject({ code: 'invalid_part_number', kind: 'invalid' });
  });

  it('fix the length of their block: a longer or a shorter body is refused, nothing stored', async () => {
    const world = memoryWorld();
    // A 9 MiB claim: one block of 8 MiB and one of 1 MiB.
    const file = localFile(randomBytes(9 * MiB));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.bin')), 'upload');
    const [first, second] = view.permit.parts;
    if (!first || !second) throw new Error('two parts were signed');
    const last = blockOf(file, 2);
    for (const body of [Buffer.concat([last, randomBytes(64 * MiB)]), last.subarray(0, MiB - 1)]) {
      expect(await world.blobs.send(second, body)).toMatchObject({ status: 403 });
    }
    expect(await world.blobs.send(first, randomBytes(64 * MiB))).toMatchObject({ status: 403 });
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    const uploadId = attempt?.multipartUploads?.[0]?.uploadId ?? '';
    expect(await world.blobs.listParts(attempt?.objectKey ?? '', uploadId)).toEqual([]);
    expect(await world.blobs.send(second, last)).toMatchObject({ status: 200 });
  });

  it('are signed for none but a waiting file of the caller, and never once the content is READY', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(5000));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt')), 'upload');
    await expect(signParts(world.deps, 'mallory', view.uploadId, [1])).rejects.toMatchObject({ code: 'upload_not_found' });
    await sendBytes(world, view, file);
    await world.blobs.eventsSettled();
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY' });
    await expect(signParts(world.deps, 'alice', view.uploadId, [1])).rejects.toMatchObject({ code: 'upload_not_active' });
  });

  it('are write-once for a single PUT: the verified object cannot be replaced through its own URL (412)', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(5000));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a.txt')), 'upload');
    const [part] = view.permit.parts;
    if (!part) throw new Error('a part was signed');
    expect(part.headers).toMatchObject({ 'if-none-match': '*' });
    expect(await world.blobs.send(part, file.bytes)).toMatchObject({ status: 200 });
    await world.blobs.eventsSettled();
    expect(await world.blobs.send(part, file.bytes)).toMatchObject({ status: 412 });
    // Without the header the signature does not hold.
    expect(
      await world.blobs.send(part, file.bytes, { 'x-amz-checksum-sha256': part.headers['x-amz-checksum-sha256'] ?? '' }),
    ).toMatchObject({
      status: 403,
    });
  });
});

describe('a READY content whose bytes change (point 1)', () => {
  async function tampered(settings: Parameters<typeof memoryWorld>[0] = {}, size = 5000) {
    const world = memoryWorld(settings);
    const file = localFile(randomBytes(size));
    await upload(world, 'alice', 'a.txt', file);
    const content = await world.catalog.getContent(file.contentId);
    // Around every guard (no URL hashdrop signs can do this): the account owner's own write.
    const other = randomBytes(size);
    world.blobs.putObject(content?.objectKey ?? '', other, { checksumSha256: sha256(other) });
    await world.blobs.eventsSettled();
    return { world, file };
  }

  it('is quarantined and logged as an integrity incident; its files keep their references', async () => {
    const { world, file } = await tampered();
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'QUARANTINED', refCount: 1 });
    expect(await world.catalog.getFile('alice', 'a.txt')).toMatchObject({ state: 'COMPLETE' });
    expect(world.telemetry.lines).toContainEqual({
      level: 'error',
      message: 'integrity_incident',
      fields: expect.objectContaining({ contentId: file.contentId, reason: 'content_mismatch', action: 'quarantined' }),
    });
    expect(world.telemetry.total('IntegrityIncidents')).toBe(1);
  });

  it('is never served: downloads refuse it, and nobody links to it: a new request uploads the bytes instead', async () => {
    const { world, file } = await tampered();
    await expect(getFileDownload(world.deps, 'alice', 'a.txt')).rejects.toMatchObject({ code: 'content_quarantined' });
    // Answered like a miss (no challenge: the stored bytes cannot be proven against).
    const view = expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b.txt')), 'upload');
    expect(view.permit).toMatchObject({ mode: 'single', partCount: 1 });
    expect(await world.catalog.getFile('bob', 'b.txt')).toMatchObject({ state: 'PENDING' });
    await expect(getFileDownload(world.deps, 'bob', 'b.txt')).rejects.toMatchObject({ code: 'file_not_ready' });
  });

  it('is repaired by the next upload of its true bytes: READY again with them, the bad object deleted', async () => {
    const { world, file } = await tampered();
    const bad = (await world.catalog.getContent(file.contentId))?.objectKey;
    expectStatus(await upload(world, 'bob', 'b.txt', file), 'complete');
    const content = await world.catalog.getContent(file.contentId);
    expect(content).toMatchObject({ state: 'READY', refCount: 2 });
    expect(content?.attempt).toBeUndefined();
    expect(content?.objectKey).not.toBe(bad);
    expect(world.blobs.keys(`blobs/${file.contentId}/`)).toEqual([content?.objectKey]);
    // Alice's file, linked to the content all along, serves the true bytes again.
    const download = await getFileDownload(world.deps, 'alice', 'a.txt');
    const served = await world.blobs.read(content?.objectKey ?? '');
    const chunks: Uint8Array[] = [];
    for await (const chunk of served ?? []) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(Buffer.from(file.bytes))).toBe(true);
    expect(download.file.contentId).toBe(file.contentId);
    expect(world.telemetry.lines).toContainEqual({
      level: 'warn',
      message: 'integrity_repaired',
      fields: { contentId: file.contentId, objectKey: content?.objectKey, replaced: bad },
    });
  });

  it('bytes that do not verify repair nothing: the uploader fails, the content stays quarantined', async () => {
    const { world, file } = await tampered();
    const view = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm.txt')), 'upload');
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    if (!attempt) throw new Error('a repair upload was started');
    const other = randomBytes(5000);
    world.blobs.putObject(attempt.objectKey, other, { checksumSha256: sha256(other) });
    await world.blobs.eventsSettled();
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'QUARANTINED' });
    expect(expectStatus(await uploadStatus(world.deps, 'mallory', view.uploadId), 'failed').failure).toBe('content_mismatch');
  });

  it('nobody waits for a repair: a holder of the bytes joins one in progress and repairs at once', async () => {
    // Before: a repair upload made every other requester wait while its lease was live, so a
    // client with the digest list alone, cancelling and asking again before each lease ended,
    // kept the content quarantined for ever.
    const { world, file } = await tampered();
    const squatter = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm.txt')), 'upload');
    await cancelUpload(world.deps, 'mallory', squatter.uploadId);
    expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm.txt')), 'upload');
    // Bob joins Mallory's repair upload at once and sends the bytes: the content is READY again.
    expect((await upload(world, 'bob', 'b.txt', file)).status).not.toBe('wait');
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY' });
    expectStatus(await ask(world, 'bob', 'b.txt', file), 'complete');
    // Mallory, who sent nothing, must still prove she holds the bytes.
    expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm.txt')), 'challenge');
  });

  it('a shared repair whose every file cancelled ends with the last cancel, its multipart upload aborted', async () => {
    const { world, file } = await tampered({}, 8 * MiB + 1000);
    const first = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm1')), 'upload');
    const second = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm2')), 'upload');
    await sendBytes(world, { ...first, permit: { ...first.permit, parts: first.permit.parts.slice(0, 1) } }, file);
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    expect(attempt?.shared).toBe(true);
    await cancelUpload(world.deps, 'mallory', first.uploadId);
    expect(world.blobs.uploadsOf(attempt?.objectKey ?? '')).toHaveLength(1);
    await cancelUpload(world.deps, 'mallory', second.uploadId);
    expect(world.blobs.uploadsOf(attempt?.objectKey ?? '')).toEqual([]);
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'QUARANTINED', refCount: 1 });
    expect((await world.catalog.getContent(file.contentId))?.attempt).toBeUndefined();
    expect(await world.catalog.getUsage('mallory')).toMatchObject({ files: 0, bytes: 0 });
  });

  it('a repair of a content nobody references any more leaves it due for garbage collection', async () => {
    // Before: a quarantined content was off the sweep index, and the repair did not put it back,
    // so a repair landing after the last release left it READY, unreferenced and never collected.
    const { world, file } = await tampered({ settings: { gcGraceSeconds: 0 } });
    await deleteFile(world.deps, 'alice', 'a.txt');
    const repair = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm.txt')), 'upload');
    await deleteFile(world.deps, 'mallory', 'm.txt');
    world.clock.advance(1000);
    await sweep(world.deps);
    await sendBytes(world, repair, file);
    await world.blobs.eventsSettled();
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 0 });
    world.clock.advance(1000);
    expect((await sweep(world.deps)).collected).toBe(1);
    expect(world.blobs.keys(`blobs/${file.contentId}/`)).toEqual([]);
  });

  it('an abandoned repair upload is swept: its multipart upload aborted, its file gone with its usage', async () => {
    const { world, file } = await tampered({}, 8 * MiB + 1000);
    expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm.bin')), 'upload');
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    expect(world.blobs.uploadsOf(attempt?.objectKey ?? '')).toHaveLength(1);
    const { uploadTtlSeconds, attemptLeaseSeconds } = world.deps.settings;
    world.clock.advance((Math.max(uploadTtlSeconds, attemptLeaseSeconds) + 1) * 1000);
    const report = await sweep(world.deps);
    expect(report).toMatchObject({ multipartAborted: 1, pendingFilesDropped: 1 });
    expect(world.blobs.uploadsOf(attempt?.objectKey ?? '')).toEqual([]);
    expect(await world.catalog.getFile('mallory', 'm.bin')).toBeUndefined();
    expect(await world.catalog.getUsage('mallory')).toMatchObject({ files: 0, bytes: 0 });
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'QUARANTINED', refCount: 1 });
  });

  it('an event delivered again for intact bytes changes nothing', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(5000));
    await upload(world, 'alice', 'a.txt', file);
    const before = await world.catalog.getContent(file.contentId);
    const { publishObject } = await import('#domain/publish');
    expect(await publishObject(world.deps, before?.objectKey ?? '')).toBe('ready');
    expect(await world.catalog.getContent(file.contentId)).toEqual(before);
  });
});

describe('nobody who lacks the bytes holds up an upload (point 3)', () => {
  it('a hash-only or partial digest list reserves nothing', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(2 * 8 * MiB + 1));
    for (const [blockDigests, code] of [
      [[], 'missing_block_digests'],
      [file.blockDigests.slice(0, 2), 'missing_block_digests'],
      [[...file.blockDigests, file.blockDigests[0] ?? ''], 'too_many_block_digests'],
    ] as const) {
      const error = await rejectionOf(() => requestUpload(world.deps, 'mallory', { ...requestFor(file, 'm'), blockDigests }));
      expect(error).toMatchObject({ code, kind: 'invalid' });
    }
    expect(await world.catalog.getContent(file.contentId)).toBeUndefined();
  });

  it('a claim of size 0 for a non-empty content is refused outright', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(5000));
    const error = await rejectionOf(() => requestUpload(world.deps, 'mallory', { ...requestFor(file, 'm'), size: 0 }));
    expect(error).toMatchObject({ code: 'block_digests_mismatch' });
    expect(await world.catalog.getContent(file.contentId)).toBeUndefined();
  });

  for (const [label, bytes] of [
    ['a single PUT', 5000],
    ['a multipart upload', 2 * 8 * MiB + 1],
  ] as const) {
    it(`a wrong-size reservation does not hold up the true size (${label}); the false claim fails once the bytes land`, async () => {
      const world = memoryWorld();
      const file = localFile(randomBytes(bytes));
      const squatter = expectStatus(
        await requestUpload(world.deps, 'mallory', { ...requestFor(file, 'm'), size: file.size + 1 }),
        'upload',
      );
      // Mallory's URLs are signed for the true digests and her false lengths: storage takes nothing.
      const last = squatter.permit.parts.at(-1);
      if (!last) throw new Error('parts were signed');
      expect((await world.blobs.send(last, file.bytes.subarray(-(file.size % (8 * MiB))))).status).toBe(403);

      // An honest uploader of the true size does not wait for her lease: it uploads at once.
      expectStatus(await upload(world, 'bob', 'b', file), 'complete');
      expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', size: file.size, refCount: 1 });
      expect(await world.catalog.getFile('mallory', 'm')).toMatchObject({ state: 'FAILED', failure: 'size_mismatch' });
      expect(await world.catalog.getUsage('mallory')).toMatchObject({ files: 0, bytes: 0 });
      // A READY content's size is proven: the false size is refused from now on.
      await expect(
        requestUpload(world.deps, 'mallory', { ...requestFor(file, 'm2'), size: file.size + 1 }),
      ).rejects.toMatchObject({ code: 'size_mismatch' });
    });
  }

  it('asking for URLs without storing anything does not keep a reservation: within one lease, the honest uploader is in', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(2 * 8 * MiB + 1));
    const squatter = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm')), 'upload');
    const step = 30 * SECOND;
    let view = await requestUpload(world.deps, 'bob', requestFor(file, 'b'));
    for (let waited = 0; view.status === 'wait'; waited += step) {
      expect(waited).toBeLessThanOrEqual(leaseOf(world));
      // Mallory asks again and again, for URLs and for the upload: that renews nothing.
      await signParts(world.deps, 'mallory', squatter.uploadId, [1, 2, 3]);
      await requestUpload(world.deps, 'mallory', requestFor(file, 'm'));
      world.clock.advance(step);
      view = await requestUpload(world.deps, 'bob', requestFor(file, 'b'));
    }
    const joined = expectStatus(view, 'upload');
    // Mallory keeps asking, from another name too: Bob uploads and completes all the same.
    await requestUpload(world.deps, 'mallory', requestFor(file, 'm-again'));
    const parts = await sendBytes(world, joined, file);
    await signParts(world.deps, 'mallory', squatter.uploadId, [1]);
    const done = await completeUpload(world.deps, 'bob', joined.uploadId, parts);
    expect(done).toMatchObject({ status: 'pending', retryAfterSeconds: 0 });
    expectStatus(await ask(world, 'bob', 'b', file), 'complete');
    // Mallory's files never complete: they wait to prove what she cannot.
    expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm')), 'challenge');
    expect(await world.catalog.getFile('mallory', 'm')).toMatchObject({ state: 'PENDING' });
  });

  it('storing one real block per lease does not hold an uploader off for more than one lease', async () => {
    // Before: each newly stored part renewed the lease, and a same-size requester waited while
    // the lease was live, so a client holding k blocks kept the honest one waiting about k leases.
    const world = memoryWorld();
    const file = localFile(randomBytes(5 * 8 * MiB + 1));
    const squatter = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm')), 'upload');
    const lease = leaseOf(world);
    let view = await requestUpload(world.deps, 'bob', requestFor(file, 'b'));
    for (let partNumber = 1; view.status === 'wait'; partNumber++) {
      expect(partNumber).toBeLessThanOrEqual(2);
      // Mallory stores one of the blocks she holds just before each lease would lapse.
      world.clock.advance(lease - 10 * SECOND);
      const signed = expectStatus(await signParts(world.deps, 'mallory', squatter.uploadId, [partNumber]), 'upload');
      await sendBytes(world, signed, file);
      expectStatus(await signParts(world.deps, 'mallory', squatter.uploadId, [partNumber + 1]), 'upload');
      world.clock.advance(10 * SECOND);
      view = await requestUpload(world.deps, 'bob', requestFor(file, 'b'));
    }
    // One lease after the attempt started, Bob joins: Mallory's stored block is kept and listed.
    const joined = expectStatus(view, 'upload');
    expect(joined.permit.uploadedParts?.map((part) => part.partNumber)).toEqual([1]);
    const parts = await sendBytes(world, joined, file);
    const held = await world.blobs.listParts(
      (await world.catalog.getContent(file.contentId))?.attempt?.objectKey ?? '',
      (await world.catalog.getContent(file.contentId))?.attempt?.multipartUploads?.[0]?.uploadId ?? '',
    );
    const first = held?.find((part) => part.partNumber === 1);
    if (!first?.sha256) throw new Error('part 1 is stored');
    const all = [{ partNumber: 1, etag: first.etag, sha256: first.sha256 }, ...parts];
    expect(await completeUpload(world.deps, 'bob', joined.uploadId, all)).toMatchObject({ status: 'pending' });
    expectStatus(await ask(world, 'bob', 'b', file), 'complete');
  });

  it('a multipart upload storage aborted (the bucket’s two-day lifecycle rule) is replaced, not handed out', async () => {
    // Before: the attempt kept listing the aborted upload, and every URL signed for it failed with
    // NoSuchUpload, so the content could not be uploaded until the sweeper ended the attempt.
    const world = memoryWorld();
    const file = localFile(randomBytes(2 * 8 * MiB + 1));
    const first = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a')), 'upload');
    await sendBytes(world, { ...first, permit: { ...first.permit, parts: first.permit.parts.slice(0, 1) } }, file);
    const attempt = (await world.catalog.getContent(file.contentId))?.attempt;
    const aborted = attempt?.multipartUploads?.[0]?.uploadId ?? '';
    // The rule aborts uploads this old (younger ones S3 stops listing only while assembling them).
    world.clock.advance(MULTIPART_UPLOAD_LIFETIME_DAYS * 24 * 60 * 60 * 1000);
    await world.blobs.abortMultipartUpload(attempt?.objectKey ?? '', aborted);
    const again = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a')), 'upload');
    const layouts = (await world.catalog.getContent(file.contentId))?.attempt?.multipartUploads ?? [];
    expect(layouts).toHaveLength(1);
    expect(layouts[0]?.uploadId).not.toBe(aborted);
    expect(again.permit.uploadedParts).toBeUndefined();
    expect(again.permit.parts.map((part) => part.partNumber)).toEqual([1, 2, 3]);
    const parts = await sendBytes(world, again, file);
    expectStatus(await completeUpload(world.deps, 'alice', again.uploadId, parts), 'complete');
  });

  it('a joiner never destroys parts another client stored: the owner resumes and completes with them', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(3 * 8 * MiB + 1));
    const owner = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a')), 'upload');
    const firstTwo = await sendBytes(
      world,
      { ...owner, permit: { ...owner.permit, parts: owner.permit.parts.slice(0, 2) } },
      file,
    );
    expectStatus(await signParts(world.deps, 'alice', owner.uploadId, [3]), 'upload');
    world.clock.advance(leaseOf(world) + 1);
    // A client with the digests but not the bytes joins Alice's stalled upload; storage keeps her parts.
    const joiner = expectStatus(await requestUpload(world.deps, 'mallory', requestFor(file, 'm')), 'upload');
    expect(joiner.permit.uploadedParts?.map((part) => part.partNumber)).toEqual([1, 2]);
    // Alice comes back: her parts are there, and she sends only the rest.
    const resumed = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a')), 'upload');
    expect(resumed.permit.uploadedParts?.map((part) => part.partNumber)).toEqual([1, 2]);
    expect(resumed.permit.parts.map((part) => part.partNumber)).toEqual([3, 4]);
    const rest = await sendBytes(world, resumed, file);
    const done = await completeUpload(world.deps, 'alice', resumed.uploadId, [...firstTwo, ...rest]);
    // The upload was shared, so Alice proves she holds the bytes (two more round trips), and completes.
    expect(done).toMatchObject({ status: 'pending', retryAfterSeconds: 0 });
    expectStatus(await ask(world, 'alice', 'a', file), 'complete');
  });

  it('claims of the same block count with another block size get a layout of their own; neither waits for the other', async () => {
    const world = memoryWorld();
    // 5,001 blocks under two sizes: 8 MiB blocks for one, 16 MiB for the other. No bytes are sent
    // (these would be 39 and 78 GiB), so the digests stand for a content nobody holds.
    const digests = Array.from({ length: 5001 }, () => randomBytes(32));
    const contentId = createHash('sha256').update(Buffer.concat(digests)).digest('hex');
    const blockDigests = digests.map((digest) => digest.toString('hex'));
    const small = { name: 'a', size: 5000 * 8 * MiB + 1, contentId, blockDigests };
    const large = { name: 'b', size: 5000 * 16 * MiB + 1, contentId, blockDigests };
    const first = expectStatus(await requestUpload(world.deps, 'alice', small), 'upload');
    const second = expectStatus(await requestUpload(world.deps, 'bob', large), 'upload');
    expect([first.permit.blockSize, second.permit.blockSize]).toEqual([8 * MiB, 16 * MiB]);
    const attempt = (await world.catalog.getContent(contentId))?.attempt;
    expect(attempt?.multipartUploads?.map((layout) => layout.blockSize)).toEqual([8 * MiB, 16 * MiB]);
    expect(world.blobs.uploadsOf(attempt?.objectKey ?? '')).toHaveLength(2);
  });

  it('without proofs, waiting files of a disproved size fail and the others complete when the bytes land', async () => {
    const world = memoryWorld({ settings: { proofMode: 'off' } });
    const file = localFile(randomBytes(5000));
    const first = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a')), 'upload');
    expectStatus(await requestUpload(world.deps, 'bob', requestFor(file, 'b')), 'pending');
    const liar = await requestUpload(world.deps, 'mallory', { ...requestFor(file, 'm'), size: 4999 });
    expect(liar.status).toBe('upload');
    await sendBytes(world, first, file);
    await world.blobs.eventsSettled();
    expect(await world.catalog.getFile('bob', 'b')).toMatchObject({ state: 'COMPLETE' });
    expect(await world.catalog.getFile('mallory', 'm')).toMatchObject({ state: 'FAILED', failure: 'size_mismatch' });
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({ state: 'READY', refCount: 2, size: 5000 });
  });
});

describe('clients', () => {
  it('an uploader whose completion was cut off after READY completes without a challenge when it asks again', async () => {
    let cutOff = false;
    const world = memoryWorld({
      beforeWrite: (method) => {
        // The publisher dies between making the content READY and completing the uploader's file.
        if (method === 'completeFile' && !cutOff) {
          cutOff = true;
          throw new Error('the function timed out');
        }
      },
    });
    const file = localFile(randomBytes(5000));
    const view = expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a')), 'upload');
    await sendBytes(world, view, file);
    await expect(world.blobs.eventsSettled()).rejects.toThrow();
    const pending = await world.catalog.getFile('alice', 'a');
    expect(await world.catalog.getContent(file.contentId)).toMatchObject({
      state: 'READY',
      uploader: { uploadId: pending?.uploadId },
    });
    expect(await world.catalog.getFile('alice', 'a')).toMatchObject({ state: 'PENDING' });
    expectStatus(await requestUpload(world.deps, 'alice', requestFor(file, 'a')), 'complete');
  });

  it('an uploader alone completes without a challenge: sending the bytes proved it holds them', async () => {
    const world = memoryWorld();
    const file = localFile(randomBytes(2 * 8 * MiB + 1));
    const view = await ask(world, 'alice', 'a', file);
    const parts = await sendBytes(world, expectStatus(view, 'upload'), file);
    expectStatus(await completeUpload(world.deps, 'alice', expectStatus(view, 'upload').uploadId, parts), 'complete');
  });
});
