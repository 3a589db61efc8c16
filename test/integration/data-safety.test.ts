/**
 * Issue 12, points 1, 3 and 5, as an adversarial client of the real API plays them, against the
 * strict local stack (the local S3 verifies signatures, signed lengths, checksums and conditional
 * writes, and the local IAM evaluates each function's role and the bucket policy). Each attack
 * worked on the code before the fix: the comments say how.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it, vi } from 'vitest';
import type { FunctionId } from '#deploy/definitions';
import { MULTIPART_UPLOAD_LIFETIME_DAYS } from '#domain/uploads';
import { functionCredentials } from '#local/iam/credentials';
import type { UploadRequest, UploadView } from '#protocol/api';
import { MiB } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import { hashBuffer } from '#sdk/hashing';
import { nodePut } from '#sdk/storage-put';
import { putFile } from '#sdk/upload';
import { clientFor, contentItem, db, fileItem, newUser, randomFile, rawRequest, s3, stack, usageItem } from '../helpers.ts';

const BLOCK = 8 * MiB;
const LEASE_MS = stack.attemptLeaseSeconds * 1000;
const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function requestFor(bytes: Buffer, name: string): UploadRequest {
  const tree = hashBuffer(bytes);
  return { name, size: bytes.length, contentId: tree.contentId, blockDigests: tree.blockDigests.map(bytesToHex) };
}

function expectUpload(view: UploadView): Extract<UploadView, { status: 'upload' }> {
  if (view.status !== 'upload') throw new Error(`expected a permit, got ${JSON.stringify(view)}`);
  return view;
}

const put = (url: string, headers: Record<string, string>, body: Uint8Array) =>
  fetch(url, { method: 'PUT', headers, body: new Uint8Array(body) });

/** The bytes a download of the user's file returns (the object storage serves for it). */
async function downloaded(userId: string, name: string): Promise<Buffer> {
  const { url } = (await clientFor(userId).getFile(name)).download;
  return Buffer.from(await (await fetch(url)).arrayBuffer());
}

/** An S3 client that signs with a function's own key: what its role (and the bucket policy) allow. */
function s3As(functionId: FunctionId): S3Client {
  return new S3Client({
    endpoint: stack.s3Endpoint,
    region: stack.region,
    credentials: functionCredentials(functionId),
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  return promise.then(
    () => 200,
    (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode ?? 0,
  );
}

describe('point 1: a READY content’s bytes never change', () => {
  it('no second URL for the attempt’s key is signed for other bytes, and the verified object is never overwritten', async () => {
    const mallory = newUser('mallory');
    const real = randomFile(4000);
    const fake = randomFile(4000);
    const request = requestFor(real.bytes, 'bait.txt');
    const view = expectUpload(await clientFor(mallory).requestUpload(request));
    const [honestPart] = view.permit.parts;
    if (!honestPart) throw new Error('no part permit');

    // The attack: a second URL for her own attempt's key, signed for the fake bytes' digest.
    // (The old API signed whatever digest it was given.)
    const forged = await rawRequest('POST', `/v1/uploads/${view.uploadId}/parts`, {
      userId: mallory,
      body: JSON.stringify({ parts: [{ partNumber: 1, sha256: sha256Hex(fake.bytes) }] }),
    });
    const forgedPermit = (forged.body as { permit?: { parts?: { url: string; headers: Record<string, string> }[] } }).permit
      ?.parts?.[0];

    // She uploads the real bytes, and the content is READY; another owner links to it.
    expect((await put(honestPart.url, honestPart.headers, real.bytes)).status).toBe(200);
    await clientFor(mallory).completeUpload(view.uploadId);
    await vi.waitFor(async () => expect(await contentItem(request.contentId)).toMatchObject({ state: 'READY' }));
    const owner = newUser('owner');
    expect(await putFile(clientFor(owner), real.path, { name: 'mine.txt' })).toMatchObject({ deduplicated: true });

    // Then she writes the verified object again through the first URL, and through the second.
    const again = (await put(honestPart.url, honestPart.headers, real.bytes)).status;
    const other = (await put(honestPart.url, honestPart.headers, fake.bytes)).status;
    if (forgedPermit) await put(forgedPermit.url, forgedPermit.headers, fake.bytes);
    // No more URLs for a content that awaits no bytes.
    const more = await rawRequest('POST', `/v1/uploads/${view.uploadId}/parts`, { userId: mallory, body: '{"partNumbers":[1]}' });
    await new Promise((done) => setTimeout(done, 500)); // any ObjectCreated event of hers is handled

    // Everyone who owns the content still downloads the verified bytes.
    expect(sha256Hex(await downloaded(owner, 'mine.txt'))).toBe(sha256Hex(real.bytes));
    expect(await contentItem(request.contentId)).toMatchObject({ state: 'READY' });
    expect(forged.status).toBe(400);
    expect([again, other, more.status]).toEqual([412, 400, 409]);
  });

  it('the bucket policy refuses a PutObject or a completion under blobs/ without If-None-Match, whoever signs it', async () => {
    const key = `blobs/${'0'.repeat(64)}/${createHash('md5').update(newUser()).digest('hex')}`;
    const body = Buffer.from('unconditional');
    const checksum = createHash('sha256').update(body).digest('base64');
    // A URL signed by a function whose role may put objects, as the old API signed them.
    const signer = s3As('SignParts');
    const plain = await getSignedUrl(signer, new PutObjectCommand({ Bucket: stack.bucket, Key: key, ChecksumSHA256: checksum }), {
      expiresIn: 60,
      unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
    });
    expect((await put(plain, { 'x-amz-checksum-sha256': checksum }, body)).status).toBe(403);
    const once = await getSignedUrl(
      signer,
      new PutObjectCommand({ Bucket: stack.bucket, Key: key, ChecksumSHA256: checksum, IfNoneMatch: '*' }),
      { expiresIn: 60, unhoistableHeaders: new Set(['x-amz-checksum-sha256']) },
    );
    expect((await put(once, { 'x-amz-checksum-sha256': checksum, 'if-none-match': '*' }, body)).status).toBe(200);

    // A multipart upload: creating it and sending parts take no condition (exempt), completing does.
    const completer = s3As('CompleteUpload');
    const multipartKey = `${key}0`;
    const { UploadId } = await completer.send(new CreateMultipartUploadCommand({ Bucket: stack.bucket, Key: multipartKey }));
    const { ETag } = await completer.send(
      new UploadPartCommand({ Bucket: stack.bucket, Key: multipartKey, UploadId, PartNumber: 1, Body: body }),
    );
    const complete = (condition: { IfNoneMatch?: string }) =>
      completer.send(
        new CompleteMultipartUploadCommand({
          Bucket: stack.bucket,
          Key: multipartKey,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
          ...condition,
        }),
      );
    expect(await statusOf(complete({}))).toBe(403);
    expect(await statusOf(complete({ IfNoneMatch: '*' }))).toBe(200);
  });

  it('an object that changes after READY is re-verified: quarantined, never served, then repaired by an upload of the true bytes', async () => {
    const alice = newUser('alice');
    const real = randomFile(5000);
    const request = requestFor(real.bytes, 'photo.jpg');
    expect(await putFile(clientFor(alice), real.path, { name: 'photo.jpg' })).toMatchObject({ state: 'COMPLETE' });
    const objectKey = (await contentItem(request.contentId))?.objectKey ?? '';

    // Around every guard hashdrop signs: the account owner's own unconditional write (the local
    // IAM lets the admin key do anything; in AWS the bucket policy refuses even this). The old
    // event handler answered "ready" for this key without looking at the bytes.
    const fake = randomFile(5000).bytes;
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: objectKey, Body: fake }));

    await vi.waitFor(async () => expect(await contentItem(request.contentId)).toMatchObject({ state: 'QUARANTINED' }), {
      timeout: 15_000,
      interval: 200,
    });
    expect(await fileItem(alice, 'photo.jpg')).toMatchObject({ state: 'COMPLETE' });
    const download = await rawRequest('GET', `/v1/files/${Buffer.from('photo.jpg').toString('base64url')}`, { userId: alice });
    expect(download).toMatchObject({ status: 409, body: { error: { code: 'content_quarantined' } } });
    // The next client that holds the true bytes uploads them (nothing to prove against): they
    // verify and repair the content, the bytes that failed are deleted, and Alice's file serves
    // the true bytes again.
    expect(await putFile(clientFor(newUser('bob')), real.path, { name: 'photo.jpg' })).toMatchObject({
      state: 'COMPLETE',
      bytesSent: real.bytes.length,
    });
    const repaired = await contentItem(request.contentId);
    expect(repaired).toMatchObject({ state: 'READY', refCount: 2 });
    expect(repaired?.objectKey).not.toBe(objectKey);
    await expect(s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: objectKey }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    expect((await downloaded(alice, 'photo.jpg')).equals(real.bytes)).toBe(true);
  });

  it('a client whose write-once PUT answers 412 on a retry counts the bytes as stored', async () => {
    // The write lands but its answer is lost; the retry finds the object there (412): done.
    const file = randomFile(3000);
    let first = true;
    const flaky = async (url: string, headers: Record<string, string>, body: Uint8Array) => {
      const response = await nodePut(url, headers, body);
      if (first) {
        first = false;
        throw new TypeError('connection reset after the body was sent');
      }
      return response;
    };
    const result = await putFile(clientFor(newUser('mobile')), file.path, {
      name: 'retried.bin',
      storagePut: flaky,
      retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 20 },
    });
    expect(result).toMatchObject({ state: 'COMPLETE', deduplicated: false });
  });
});

describe('point 3: nobody who knows only the hash (or the digests and a wrong size) holds up an upload', () => {
  for (const [label, size] of [
    ['a single PUT', 5000],
    ['a multipart upload', 2 * BLOCK + 1],
  ] as const) {
    it(`a wrong-size reservation does not block the true size (${label}); the squatter’s file fails, its usage released`, async () => {
      const mallory = newUser('mallory');
      const real = randomFile(size);
      const request = requestFor(real.bytes, 'squat.bin');
      // Size + 1 with the true digests (the old API also took a bare hash: blockDigests []).
      expect((await clientFor(mallory).requestUpload({ ...request, size: size + 1 })).status).toBe('upload');
      // The old code answered every honest uploader 409 size_mismatch from here on.
      const started = Date.now();
      const honest = await putFile(clientFor(newUser('honest')), real.path, { name: 'mine.bin' });
      expect(honest).toMatchObject({ state: 'COMPLETE', contentId: request.contentId, bytesSent: size });
      expect(Date.now() - started).toBeLessThan(LEASE_MS);
      expect(await contentItem(request.contentId)).toMatchObject({ state: 'READY', size });
      expect(await fileItem(mallory, 'squat.bin')).toMatchObject({ state: 'FAILED', failure: 'size_mismatch' });
      expect(await usageItem(mallory)).toMatchObject({ files: 0, bytes: 0 });
    });
  }

  it('a squatter of size 0 (it costs no quota) or with a bare hash reserves nothing', async () => {
    const mallory = newUser('mallory');
    const real = randomFile(6000);
    const request = requestFor(real.bytes, 'zero.bin');
    for (const squat of [
      { ...request, size: 0 },
      { ...request, size: 0, blockDigests: [] },
      { ...request, blockDigests: [] },
    ]) {
      const answer = await rawRequest('POST', '/v1/uploads', { userId: mallory, body: JSON.stringify(squat) });
      expect(answer.status, JSON.stringify(squat).slice(0, 80)).toBe(400);
    }
    expect(await contentItem(request.contentId)).toBeUndefined();
    const honest = await putFile(clientFor(newUser('honest')), real.path, { name: 'mine.bin' });
    expect(honest).toMatchObject({ state: 'COMPLETE', bytesSent: 6000 });
  });

  it('asking for URLs and for the upload without storing a byte keeps no lease: the honest client is in within one lease', async () => {
    const mallory = newUser('mallory');
    const real = randomFile(2 * BLOCK + 1);
    const request = requestFor(real.bytes, 'hold.bin');
    const reserved = expectUpload(await clientFor(mallory).requestUpload(request));
    // Mallory keeps asking, every 300 ms, under her name and under fresh ones: the old code
    // renewed her lease on each request, so the honest client waited until it gave up.
    let asking = true;
    const keepAsking = (async () => {
      for (let round = 0; asking; round++) {
        await clientFor(mallory)
          .signParts(reserved.uploadId, [1, 2, 3])
          .catch(() => undefined);
        await clientFor(mallory)
          .requestUpload(request)
          .catch(() => undefined);
        await clientFor(mallory)
          .requestUpload({ ...request, name: `hold-${round}.bin` })
          .catch(() => undefined);
        await new Promise((done) => setTimeout(done, 300));
      }
    })();
    try {
      const started = Date.now();
      const honest = await putFile(clientFor(newUser('honest')), real.path, { name: 'mine.bin', maxWaitMs: 3 * LEASE_MS });
      expect(honest).toMatchObject({ state: 'COMPLETE', bytesSent: real.bytes.length });
      expect(Date.now() - started).toBeLessThan(LEASE_MS + 10_000);
    } finally {
      asking = false;
      await keepAsking;
    }
    expect(await contentItem(request.contentId)).toMatchObject({ state: 'READY' });
    expect(await fileItem(mallory, 'hold.bin')).toMatchObject({ state: 'PENDING' });
  }, 60_000);

  it('storing one real block per lease holds an honest uploader off for one lease at most', async () => {
    // Before: every newly stored part renewed the lease that same-size requesters waited for, so
    // a client holding k blocks, storing one just before each lease lapsed, kept the honest one
    // waiting about k leases (here: until after Mallory's last block, 3 leases in).
    const mallory = newUser('mallory');
    const real = randomFile(3 * BLOCK + 1);
    const request = requestFor(real.bytes, 'trickle.bin');
    const reserved = expectUpload(await clientFor(mallory).requestUpload(request));
    const started = Date.now();
    let blocksStored = 0;
    const trickle = (async () => {
      for (const partNumber of [1, 2, 3]) {
        await new Promise((done) => setTimeout(done, started + partNumber * (LEASE_MS - 2000) - Date.now()));
        const signed = expectUpload(await clientFor(mallory).signParts(reserved.uploadId, [partNumber]));
        const [part] = signed.permit.parts;
        if (!part) throw new Error('no part permit');
        const block = real.bytes.subarray((partNumber - 1) * BLOCK, partNumber * BLOCK);
        expect((await put(part.url, part.headers, block)).status).toBe(200);
        blocksStored = partNumber;
        // Asking again lets the server see the stored part: the old code renewed the lease here.
        await clientFor(mallory).signParts(reserved.uploadId, [4]);
      }
    })();
    try {
      const honest = await putFile(clientFor(newUser('honest')), real.path, { name: 'mine.bin', maxWaitMs: 6 * LEASE_MS });
      expect(honest).toMatchObject({ state: 'COMPLETE' });
      // In after the first lease: Mallory had not stored her last block yet (two leases later).
      expect(blocksStored).toBeLessThan(3);
    } finally {
      await trickle.catch(() => undefined);
    }
    expect(await contentItem(request.contentId)).toMatchObject({ state: 'READY' });
  }, 120_000);

  it('a multipart upload storage aborted (the bucket’s lifecycle rule) is replaced: the upload completes', async () => {
    const alice = newUser('alice');
    const real = randomFile(2 * BLOCK + 1);
    const request = requestFor(real.bytes, 'old.bin');
    const view = expectUpload(await clientFor(alice).requestUpload(request));
    const [first] = view.permit.parts;
    if (!first) throw new Error('no part permit');
    expect((await put(first.url, first.headers, real.bytes.subarray(0, BLOCK))).status).toBe(200);
    const attempt = (await contentItem(request.contentId))?.attempt;
    const aborted = attempt?.multipartUploads?.[0]?.uploadId ?? '';
    // What S3's AbortIncompleteMultipartUpload rule does after two days, with the admin key: the
    // upload, made two days ago, is gone. (Younger ones S3 stops listing only while a completion
    // assembles them, and the server waits for those instead: domain/uploads.ts.)
    await db.send(
      new UpdateCommand({
        TableName: stack.tables.contents,
        Key: { contentId: request.contentId },
        UpdateExpression: 'SET attempt.multipartUploads[0].createdAt = :then',
        ExpressionAttributeValues: { ':then': Date.now() - MULTIPART_UPLOAD_LIFETIME_DAYS * 24 * 60 * 60 * 1000 },
      }),
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: stack.bucket, Key: attempt?.objectKey ?? '', UploadId: aborted }));
    const done = await putFile(clientFor(alice), real.path, { name: 'old.bin' });
    expect(done).toMatchObject({ state: 'COMPLETE', bytesSent: real.bytes.length });
    expect((await contentItem(request.contentId))?.state).toBe('READY');
  });

  it('a take-over by a hash-only client is refused, and one with the digests keeps the parts the owner stored', async () => {
    const alice = newUser('alice');
    const real = randomFile(3 * BLOCK + 1);
    const request = requestFor(real.bytes, 'movie.mp4');
    const view = expectUpload(await clientFor(alice).requestUpload(request));
    for (const part of view.permit.parts.slice(0, 2)) {
      const block = real.bytes.subarray((part.partNumber - 1) * BLOCK, part.partNumber * BLOCK);
      expect((await put(part.url, part.headers, block)).status).toBe(200);
    }
    // She asks again, as a resuming client does (the server sees her two parts), then stalls past her lease.
    expectUpload(await clientFor(alice).requestUpload(request));
    const attempt = (await contentItem(request.contentId))?.attempt;
    const uploadId = attempt?.multipartUploads?.[0]?.uploadId;
    await new Promise((done) => setTimeout(done, LEASE_MS + 500));

    // The old code let a bare hash take the upload over, and aborted Alice's multipart upload.
    const mallory = newUser('mallory');
    const hashOnly = await rawRequest('POST', '/v1/uploads', {
      userId: mallory,
      body: JSON.stringify({ ...request, name: 'grab.mp4', blockDigests: [] }),
    });
    expect(hashOnly.status).toBe(400);
    // With the digests, she joins the same upload: Alice's parts stay.
    const joined = expectUpload(await clientFor(mallory).requestUpload({ ...request, name: 'grab.mp4' }));
    expect(joined.permit.uploadedParts?.map((part) => part.partNumber)).toEqual([1, 2]);
    const listed = await s3.send(new ListPartsCommand({ Bucket: stack.bucket, Key: attempt?.objectKey, UploadId: uploadId }));
    expect((listed.Parts ?? []).map((part) => part.PartNumber)).toEqual([1, 2]);

    // Alice resumes: she sends only what storage lacks.
    const resumed = await putFile(clientFor(alice), real.path, { name: 'movie.mp4' });
    expect(resumed).toMatchObject({ state: 'COMPLETE' });
    expect(resumed.bytesSent).toBe(real.bytes.length - 2 * BLOCK);
  }, 60_000);
});

describe('point 5: storage holds no more than the claimed size', () => {
  it('a part body longer or shorter than its block is refused, and no URL is signed for a body of the client’s choosing', async () => {
    const mallory = newUser('mallory');
    // A 9 MiB claim: parts of 8 MiB and 1 MiB.
    const real = randomFile(9 * MiB);
    const request = requestFor(real.bytes, 'nine.bin');
    const view = expectUpload(await clientFor(mallory).requestUpload(request));
    const [first, second] = view.permit.parts;
    if (!first || !second) throw new Error('two part permits');
    const junk = randomFile(64 * MiB).bytes;

    // The old API signed a part URL for the junk's own digest: 64 MiB stored for a 9 MiB claim.
    const forged = await rawRequest('POST', `/v1/uploads/${view.uploadId}/parts`, {
      userId: mallory,
      body: JSON.stringify({ parts: [{ partNumber: 2, sha256: sha256Hex(junk) }] }),
    });
    const forgedPart = (forged.body as { permit?: { parts?: { url: string; headers: Record<string, string> }[] } }).permit
      ?.parts?.[0];
    if (forgedPart) await put(forgedPart.url, forgedPart.headers, junk);
    expect(forged.status).toBe(400);

    // The real URLs take exactly their block: more or fewer bytes are refused.
    const lastBlock = real.bytes.subarray(BLOCK);
    for (const body of [junk, Buffer.concat([lastBlock, Buffer.alloc(1)]), lastBlock.subarray(1)]) {
      expect([400, 403]).toContain((await put(second.url, second.headers, body)).status);
    }
    expect([400, 403]).toContain((await put(first.url, first.headers, junk)).status);

    const attempt = (await contentItem(request.contentId))?.attempt;
    const listed = await s3.send(
      new ListPartsCommand({ Bucket: stack.bucket, Key: attempt?.objectKey, UploadId: attempt?.multipartUploads?.[0]?.uploadId }),
    );
    const stored = (listed.Parts ?? []).reduce((sum, part) => sum + (part.Size ?? 0), 0);
    expect(stored).toBeLessThanOrEqual(request.size);
    expect(stored).toBe(0);
  });
});
