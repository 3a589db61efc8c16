/**
 * A client that claims one content and sends other bytes never makes that content READY, and
 * cannot disturb an honest upload of the real content. Storage refuses bytes that do not match the
 * SHA-256 their URL signs (as S3 does), so the liar asks for URLs signed for the bytes it sends
 * (the API signs the digests a client gives): this exercises hashdrop's own verification, the last
 * line of defence.
 */

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { UploadView } from '#protocol/api';
import { MiB } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import type { HashdropClient } from '#sdk/api';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';
import { clientFor, contentItem, fileItem, newUser, objectKeys, randomFile } from '../helpers.ts';

/**
 * Asks to upload `claimed` but sends `sent` (of the same size) in its place, through URLs signed
 * for the blocks of `sent`.
 */
async function uploadLying(client: HashdropClient, name: string, claimed: Buffer, sent: Buffer): Promise<UploadView> {
  const view = await client.requestUpload({
    name,
    size: claimed.length,
    contentId: hashBuffer(claimed).contentId,
    blockDigests: [],
  });
  if (view.status !== 'upload') throw new Error(`expected a permit, got ${view.status}`);
  const sentTree = hashBuffer(sent);
  const signed = await client.signParts(
    view.uploadId,
    sentTree.blockDigests.map((digest, index) => ({ partNumber: index + 1, sha256: bytesToHex(digest) })),
  );
  if (signed.status !== 'upload') throw new Error(`expected part permits, got ${signed.status}`);
  const { blockSize } = signed.permit;
  const parts = [];
  for (const part of signed.permit.parts) {
    const body = sent.subarray((part.partNumber - 1) * blockSize, part.partNumber * blockSize);
    const response = await fetch(part.url, { method: 'PUT', headers: part.headers, body: new Uint8Array(body) });
    expect(response.ok).toBe(true);
    parts.push({
      partNumber: part.partNumber,
      etag: response.headers.get('etag') ?? '',
      sha256: (sentTree.blockDigests[part.partNumber - 1] ?? Buffer.alloc(0)).toString('base64'),
    });
  }
  return client.completeUpload(view.uploadId, signed.permit.mode === 'multipart' ? parts : undefined);
}

describe('content poisoning', () => {
  it('a single PUT of other bytes fails the liar’s file and leaves nothing READY', async () => {
    const mallory = newUser('mallory');
    const real = randomFile(4000);
    const fake = randomFile(4000);
    const contentId = hashBuffer(real.bytes).contentId;

    // Sent to a URL signed for the real bytes, other bytes are refused by storage itself.
    const permit = await clientFor(mallory).requestUpload({
      name: 'trojan',
      size: real.bytes.length,
      contentId,
      blockDigests: hashBuffer(real.bytes).blockDigests.map(bytesToHex),
    });
    if (permit.status !== 'upload' || !permit.permit.parts[0]) throw new Error(`expected a permit, got ${permit.status}`);
    const { url, headers } = permit.permit.parts[0];
    expect((await fetch(url, { method: 'PUT', headers, body: new Uint8Array(fake.bytes) })).status).toBe(400);

    const view = await uploadLying(clientFor(mallory), 'trojan', real.bytes, fake.bytes);
    expect(view).toMatchObject({ status: 'failed', failure: 'content_mismatch' });
    expect(await fileItem(mallory, 'trojan')).toMatchObject({ state: 'FAILED', failure: 'content_mismatch' });
    expect(await contentItem(contentId)).toBeUndefined();
    expect(await objectKeys(`blobs/${contentId}/`)).toEqual([]);

    // The real content can still be uploaded, and it is the real bytes that others then get.
    const honest = await putFile(clientFor(newUser('honest')), real.path, { name: 'real' });
    expect(honest).toMatchObject({ state: 'COMPLETE', contentId, deduplicated: false });
    expect(await contentItem(contentId)).toMatchObject({ state: 'READY', refCount: 1 });
  });

  it('one bad part of a multipart upload fails it', async () => {
    const mallory = newUser('mallory');
    const real = randomFile(2 * 8 * MiB + 100);
    const fake = Buffer.from(real.bytes);
    fake.writeUInt8(fake.readUInt8(fake.length - 1) ^ 0xff, fake.length - 1);
    const contentId = hashBuffer(real.bytes).contentId;
    const view = await uploadLying(clientFor(mallory), 'trojan.mp4', real.bytes, fake);
    expect(view).toMatchObject({ status: 'failed', failure: 'content_mismatch' });
    expect(await contentItem(contentId)).toBeUndefined();
    expect(await objectKeys(`blobs/${contentId}/`)).toEqual([]);
  });

  it('an honest user waiting on the liar’s upload takes it over and completes', async () => {
    const mallory = newUser('mallory');
    const honest = newUser('honest');
    const real = randomFile(5000);
    const contentId = hashBuffer(real.bytes).contentId;
    const client = clientFor(mallory);
    const tree = hashBuffer(real.bytes);
    const request = {
      name: 'bait',
      size: real.bytes.length,
      contentId,
      blockDigests: tree.blockDigests.map(bytesToHex),
    };
    const permit = await client.requestUpload(request);
    expect(permit.status).toBe('upload');

    // The honest user arrives while mallory holds the upload: it waits rather than re-sending,
    // and (proof of ownership being on) without joining: no file is written for it yet.
    const honestPut = putFile(clientFor(honest), real.path, { name: 'mine' });
    await new Promise((done) => setTimeout(done, 300));
    expect(await fileItem(honest, 'mine')).toBeUndefined();

    if (permit.status !== 'upload') throw new Error('unreachable');
    const lie = new Uint8Array(real.bytes.length).fill(1);
    const signed = await client.signParts(permit.uploadId, [
      { partNumber: 1, sha256: createHash('sha256').update(lie).digest('hex') },
    ]);
    const part = signed.status === 'upload' ? signed.permit.parts[0] : undefined;
    if (!part) throw new Error('no part permit');
    expect((await fetch(part.url, { method: 'PUT', headers: part.headers, body: lie })).status).toBe(200);
    expect(await client.completeUpload(permit.uploadId)).toMatchObject({ status: 'failed' });

    const result = await honestPut;
    expect(result).toMatchObject({ state: 'COMPLETE', contentId, bytesSent: real.bytes.length });
    expect(await contentItem(contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    expect(await fileItem(mallory, 'bait')).toMatchObject({ state: 'FAILED' });
    expect(await objectKeys(`blobs/${contentId}/`)).toHaveLength(1);
  });
});
