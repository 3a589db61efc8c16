/**
 * Proof of ownership against the real local stack (default mode: on-hit). Knowing a content's
 * id and size must not be enough to obtain the file.
 */

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issueChallenge, RANGE_COUNT } from '#domain/proof';
import { requestUpload } from '#domain/uploads';
import { bytesToHex } from '#protocol/encoding';
import { ApiError, type HashdropClient, type UploadRequest, type UploadView } from '#sdk/api';
import { answerChallenge } from '#sdk/files';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';
import { clientFor, contentItem, fileItem, filesOf, newUser, randomFile, testDeps } from '../helpers.ts';

type Challenged = Extract<UploadView, { status: 'challenge' }>;

async function storedFile(size = 300_000) {
  const owner = newUser('owner');
  const file = randomFile(size);
  const put = await putFile(clientFor(owner), file.path, { name: 'secret.pdf' });
  const tree = hashBuffer(file.bytes);
  const request: UploadRequest = { name: 'got-it.pdf', size, contentId: put.contentId, blockDigests: [] };
  return { owner, file, put, tree, request };
}

async function challenge(client: HashdropClient, request: UploadRequest): Promise<Challenged['challenge']> {
  const view = await client.requestUpload(request);
  if (view.status !== 'challenge') throw new Error(`expected a challenge, got ${view.status}`);
  return view.challenge;
}

async function refusal(call: Promise<unknown>): Promise<{ status: number; code: string }> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected a refusal, got ${String(error)}`);
  return { status: error.status, code: error.code };
}

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
    const request = { name: 'claimed.bin', size: file.bytes.length, contentId: tree.contentId, blockDigests: [] };
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
    const miss = { name: 'fresh.bin', size: fresh.bytes.length, contentId: missTree.contentId, blockDigests: [] };
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
