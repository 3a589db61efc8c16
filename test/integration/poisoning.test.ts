/**
 * A client that claims one content cannot store other bytes under it. Every part URL is signed
 * for the digest of its own block, taken from the list the server keeps with the upload (which
 * hashes to the content id), and for the block's length; a client names part numbers, never
 * digests. Storage (the strict local S3, as S3) refuses any other body, so a liar's upload stores
 * nothing and honest uploads of the real content go on. (Verification before READY stays as the
 * last line of defence: test/unit/domain-uploads.test.ts writes other bytes around every guard.)
 */

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MiB } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';
import { clientFor, contentItem, fileItem, newUser, objectKeys, randomFile, rawRequest } from '../helpers.ts';

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Mallory's reservation of `real` (she has its digests, as anyone who ever hashed it). */
async function reserve(mallory: string, name: string, real: Buffer) {
  const tree = hashBuffer(real);
  const view = await clientFor(mallory).requestUpload({
    name,
    size: real.length,
    contentId: tree.contentId,
    blockDigests: tree.blockDigests.map(bytesToHex),
  });
  if (view.status !== 'upload') throw new Error(`expected a permit, got ${view.status}`);
  return { view, tree };
}

describe('content poisoning', () => {
  it('a single PUT: no URL is signed for other bytes, and storage refuses them through the real one', async () => {
    const mallory = newUser('mallory');
    const real = randomFile(4000);
    const fake = randomFile(4000);
    const { view, tree } = await reserve(mallory, 'trojan', real.bytes);

    // Asking for a URL signed for the fake bytes' digest (what the API used to sign) is refused.
    const forged = await rawRequest('POST', `/v1/uploads/${view.uploadId}/parts`, {
      userId: mallory,
      body: JSON.stringify({ parts: [{ partNumber: 1, sha256: sha256Hex(fake.bytes) }] }),
    });
    expect(forged.status).toBe(400);
    // What can be had is signed for the real block only.
    const signed = await clientFor(mallory).signParts(view.uploadId, [1]);
    const part = signed.status === 'upload' ? signed.permit.parts[0] : undefined;
    if (!part) throw new Error('no part permit');
    expect(part.headers['x-amz-checksum-sha256']).toBe(Buffer.from(tree.blockDigests[0] ?? []).toString('base64'));
    expect((await fetch(part.url, { method: 'PUT', headers: part.headers, body: new Uint8Array(fake.bytes) })).status).toBe(400);
    expect(await objectKeys(`blobs/${tree.contentId}/`)).toEqual([]);

    // The real content uploads, and it is the real bytes that others then get.
    const honest = await putFile(clientFor(newUser('honest')), real.path, { name: 'real' });
    expect(honest).toMatchObject({ state: 'COMPLETE', contentId: tree.contentId, deduplicated: false });
    expect(await contentItem(tree.contentId)).toMatchObject({ state: 'READY', size: 4000 });
  });

  it('a multipart upload: a corrupted block is refused by storage, part by part', async () => {
    const mallory = newUser('mallory');
    const real = randomFile(2 * 8 * MiB + 100);
    const { view, tree } = await reserve(mallory, 'trojan.mp4', real.bytes);
    const fake = Buffer.from(real.bytes.subarray(8 * MiB, 16 * MiB));
    fake.writeUInt8(fake.readUInt8(0) ^ 0xff, 0);
    const part = view.permit.parts.find((permit) => permit.partNumber === 2);
    if (!part) throw new Error('no permit for part 2');
    expect((await fetch(part.url, { method: 'PUT', headers: part.headers, body: new Uint8Array(fake) })).status).toBe(400);
    const parts = [1, 2, 3].map((partNumber) => ({
      partNumber,
      etag: '"0"',
      sha256: Buffer.from(tree.blockDigests[partNumber - 1] ?? []).toString('base64'),
    }));
    // Nothing can be assembled: storage holds no such parts.
    await expect(clientFor(mallory).completeUpload(view.uploadId, parts)).rejects.toMatchObject({ code: 'invalid_parts' });
    expect(await fileItem(mallory, 'trojan.mp4')).toMatchObject({ state: 'PENDING' });
    expect(await objectKeys(`blobs/${tree.contentId}/`)).toEqual([]);
  });
});
