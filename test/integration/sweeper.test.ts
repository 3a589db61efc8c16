/**
 * The sweeper against its own real local stack, with a TTL of seconds, no GC grace period and
 * the bucket's events switched off (as if S3 had lost them), so that its timer runs exactly as
 * under `npm start` without touching the uploads other test files have in flight on the shared
 * stack.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, ListPartsCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RESERVED_NAME_PREFIX } from '#deploy/definitions';
import type { ContentRecord, FileRecord } from '#domain/ports';
import { LOCAL_CREDENTIALS, type LocalStack, startLocalStack } from '#local/stack';
import type { UploadView } from '#protocol/api';
import { MiB } from '#protocol/content-id';
import { bytesToHex } from '#protocol/encoding';
import { HashdropClient } from '#sdk/api';
import { getFile } from '#sdk/download';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';

const LEASE_SECONDS = 4;
const UPLOAD_TTL_SECONDS = 4;

let stack: LocalStack;
let dataDir: string;
let s3: S3Client;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hashdrop-sweeper-'));
  stack = await startLocalStack({
    dataDir,
    persist: false,
    deliverBucketEvents: false,
    sweepIntervalSeconds: 1,
    settings: {
      attemptLeaseSeconds: LEASE_SECONDS,
      uploadUrlTtlSeconds: LEASE_SECONDS - 1,
      uploadTtlSeconds: UPLOAD_TTL_SECONDS,
      // No grace: an unreferenced content is collectable at once, the hardest case for links.
      gcGraceSeconds: 0,
      // Without proofs of ownership, requesters join uploads in progress: the sweeper must
      // drop those waiting files too. (With proofs, the race below would also be a proof race.)
      proofMode: 'off',
    },
  });
  const { s3Endpoint, dynamodbEndpoint, region } = stack.info;
  // The admin key (allowed everything, as the account owner in the console): the test arranges
  // and inspects the stores directly; the sweeper itself runs with its own role's permissions.
  s3 = new S3Client({ endpoint: s3Endpoint, region, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  db = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamodbEndpoint, region, credentials: LOCAL_CREDENTIALS }));
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const clientFor = (userId: string) => new HashdropClient({ endpoint: stack.info.endpoint, token: () => stack.mintToken(userId) });

async function contentItem(contentId: string): Promise<ContentRecord | undefined> {
  const { Item } = await db.send(
    new GetCommand({ TableName: stack.info.tables.contents, Key: { contentId }, ConsistentRead: true }),
  );
  return Item as ContentRecord | undefined;
}

async function filesOf(userId: string): Promise<FileRecord[]> {
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: stack.info.tables.files,
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return (Items as FileRecord[]).filter((item) => !String(item.name).startsWith(RESERVED_NAME_PREFIX));
}

async function scanAll(table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

async function objectKeys(contentId: string): Promise<string[]> {
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: stack.info.bucket, Prefix: `blobs/${contentId}/` }));
  return Contents.map((object) => object.Key ?? '');
}

function request(bytes: Buffer, name: string) {
  const tree = hashBuffer(bytes);
  return {
    tree,
    body: {
      name,
      size: bytes.length,
      contentId: tree.contentId,
      blockDigests: tree.blockDigests.map(bytesToHex),
    },
  };
}

function expectUpload(view: UploadView): Extract<UploadView, { status: 'upload' }> {
  if (view.status !== 'upload') throw new Error(`expected a permit, got ${view.status}`);
  return view;
}

const SWEPT = { timeout: 20_000, interval: 250 };

describe('sweeper', () => {
  it('drops an abandoned multipart upload: parts aborted, files and reservation gone, counts exact', async () => {
    const bytes = randomBytes(2 * 8 * MiB + 1);
    const { tree, body } = request(bytes, 'abandoned.bin');
    const uploader = `alice-${randomBytes(4).toString('hex')}`;
    const waiter = `bob-${randomBytes(4).toString('hex')}`;
    const view = expectUpload(await clientFor(uploader).requestUpload(body));
    const first = view.permit.parts[0];
    if (!first) throw new Error('no part permit');
    const sent = await fetch(first.url, {
      method: 'PUT',
      headers: first.headers,
      body: new Uint8Array(bytes.subarray(0, 8 * MiB)),
    });
    expect(sent.ok).toBe(true);
    expect(await clientFor(waiter).requestUpload({ ...body, name: 'same.bin' })).toMatchObject({ status: 'pending' });

    const reserved = await contentItem(tree.contentId);
    expect(reserved).toMatchObject({ state: 'PENDING', refCount: 2 });
    const attempt = reserved?.attempt;
    const uploadId = attempt?.multipartUploads?.[0]?.uploadId;
    if (!attempt || !uploadId) throw new Error('no multipart attempt');
    const parts = await s3.send(new ListPartsCommand({ Bucket: stack.info.bucket, Key: attempt.objectKey, UploadId: uploadId }));
    expect(parts.Parts ?? []).toHaveLength(1);

    await vi.waitFor(async () => expect(await contentItem(tree.contentId)).toBeUndefined(), SWEPT);
    expect(await filesOf(uploader)).toEqual([]);
    expect(await filesOf(waiter)).toEqual([]);
    await expect(
      s3.send(new ListPartsCommand({ Bucket: stack.info.bucket, Key: attempt.objectKey, UploadId: uploadId })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    expect(await objectKeys(tree.contentId)).toEqual([]);

    // Nothing is left in the way: the same content uploads afresh.
    const path = join(dataDir, 'again.bin');
    writeFileSync(path, bytes);
    const again = await putFile(clientFor(uploader), path, { name: 'abandoned.bin' });
    expect(again).toMatchObject({ state: 'COMPLETE', deduplicated: false });
    expect(await contentItem(tree.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
  });

  it('an abandoned overwrite leaves the file exactly as it was, and GC keeps its bytes (issue 12 point 2)', async () => {
    // Before: the put over `doc` released v1 in the same write as the new PENDING file, so with
    // no grace period the sweeper deleted v1's bytes while the upload was still in flight, and
    // dropping the abandoned upload left no `doc` at all.
    const user = `erin-${randomBytes(4).toString('hex')}`;
    const client = clientFor(user);
    const v1 = randomBytes(5000);
    const v2 = randomBytes(7000);
    const path = join(dataDir, `${user}-v1.bin`);
    writeFileSync(path, v1);
    expect(await putFile(client, path, { name: 'doc' })).toMatchObject({ state: 'COMPLETE' });
    const [before] = await filesOf(user);
    if (!before) throw new Error('v1 was stored');
    const v1Content = hashBuffer(v1).contentId;

    const { tree, body } = request(v2, 'doc');
    const replacing = expectUpload(await client.requestUpload(body));
    const downloadedBytes = async () => {
      const target = join(dataDir, `${user}-download.bin`);
      await getFile(client, 'doc', target);
      return readFileSync(target);
    };
    // In flight: the file is still v1, listed with its replacement, and both versions count.
    expect((await client.listFiles()).files).toEqual([
      expect.objectContaining({
        name: 'doc',
        contentId: v1Content,
        state: 'COMPLETE',
        replacement: expect.objectContaining({ contentId: tree.contentId, uploadId: replacing.uploadId }),
      }),
    ]);
    expect(await client.usage()).toMatchObject({ files: 1, bytes: v1.length + v2.length });
    expect((await downloadedBytes()).equals(v1)).toBe(true);

    // Abandoned: the sweeper ends it, and the name goes back to v1, record for record.
    await vi.waitFor(async () => expect(await contentItem(tree.contentId)).toBeUndefined(), SWEPT);
    expect(await filesOf(user)).toEqual([before]);
    expect(await client.usage()).toMatchObject({ files: 1, bytes: v1.length });
    // More sweeps with no grace period: v1 is referenced, so its bytes stay.
    await stack.sweep();
    await stack.sweep();
    expect(await contentItem(v1Content)).toMatchObject({ state: 'READY', refCount: 1 });
    expect((await downloadedBytes()).equals(v1)).toBe(true);
    await expect(client.uploadStatus(replacing.uploadId)).rejects.toMatchObject({ code: 'upload_not_found' });
  });

  it('publishes an upload whose bytes landed but whose completion never came', async () => {
    const bytes = randomBytes(4096);
    const { tree, body } = request(bytes, 'landed.bin');
    const user = `carol-${randomBytes(4).toString('hex')}`;
    const view = expectUpload(await clientFor(user).requestUpload(body));
    const part = view.permit.parts[0];
    if (!part) throw new Error('no permit');
    expect((await fetch(part.url, { method: 'PUT', headers: part.headers, body: new Uint8Array(bytes) })).ok).toBe(true);
    // No event (they are off here) and no completion call: only the sweeper can notice.

    // READY first, then the waiting file completes (a read in between would settle it too).
    await vi.waitFor(async () => {
      expect(await contentItem(tree.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
      expect(await filesOf(user)).toEqual([expect.objectContaining({ name: 'landed.bin', state: 'COMPLETE' })]);
    }, SWEPT);
    expect(await objectKeys(tree.contentId)).toHaveLength(1);
  });

  it('leaves an upload alone while it stores parts past the TTL', async () => {
    const partCount = 9;
    const bytes = randomBytes((partCount - 1) * 8 * MiB + 1);
    const { tree, body } = request(bytes, 'slow.bin');
    const client = clientFor(`dave-${randomBytes(4).toString('hex')}`);
    const view = expectUpload(await client.requestUpload(body));
    const deadline = Date.now() + (UPLOAD_TTL_SECONDS + 3) * 1000;
    // A slow upload: one part now and then, and URLs for the next; the server sees the parts
    // storage holds when it signs, and only that progress renews the lease.
    for (let partNumber = 1; partNumber < partCount && Date.now() < deadline; partNumber++) {
      const signed = expectUpload(await client.signParts(view.uploadId, [partNumber]));
      const part = signed.permit.parts[0];
      if (!part) throw new Error('no part permit');
      const block = bytes.subarray((partNumber - 1) * 8 * MiB, partNumber * 8 * MiB);
      expect((await fetch(part.url, { method: 'PUT', headers: part.headers, body: new Uint8Array(block) })).ok).toBe(true);
      await new Promise((done) => setTimeout(done, 800));
    }
    expectUpload(await client.signParts(view.uploadId, [partCount]));
    await stack.sweep();
    expect(await contentItem(tree.contentId)).toMatchObject({ state: 'PENDING', refCount: 1 });
  });

  it('sweeps an upload whose client only asks for URLs past the TTL, storing nothing', async () => {
    const bytes = randomBytes(8 * MiB + 1);
    const { tree, body } = request(bytes, 'idle.bin');
    const client = clientFor(`erin-${randomBytes(4).toString('hex')}`);
    const view = expectUpload(await client.requestUpload(body));
    const reserved = (await contentItem(tree.contentId))?.createdAt;
    const deadline = Date.now() + (LEASE_SECONDS + UPLOAD_TTL_SECONDS + 3) * 1000;
    let swept = false;
    while (Date.now() < deadline && !swept) {
      // Asking again, for the upload and for URLs, renews nothing (the old code renewed the lease
      // on each, for ever): only stored parts do. Once swept, the upload id is gone (404), and
      // asking again reserves the content afresh.
      await client.signParts(view.uploadId, [2]).catch(() => undefined);
      await client.requestUpload(body).catch(() => undefined);
      swept = (await contentItem(tree.contentId))?.createdAt !== reserved;
      await new Promise((done) => setTimeout(done, 300));
    }
    expect(swept).toBe(true);
  });

  it('collects a content once its last reference is gone: object first, then record', async () => {
    const bytes = randomBytes(3000);
    const path = join(dataDir, 'collect.bin');
    writeFileSync(path, bytes);
    const user = `erin-${randomBytes(4).toString('hex')}`;
    const put = await putFile(clientFor(user), path, { name: 'collect.bin' });
    expect(await objectKeys(put.contentId)).toHaveLength(1);
    await clientFor(user).deleteFile('collect.bin');
    await vi.waitFor(async () => expect(await contentItem(put.contentId)).toBeUndefined(), SWEPT);
    expect(await objectKeys(put.contentId)).toEqual([]);
    // Gone for good, so the next upload of these bytes sends them again.
    const again = await putFile(clientFor(user), path, { name: 'collect.bin' });
    expect(again).toMatchObject({ state: 'COMPLETE', deduplicated: false, bytesSent: bytes.length });
  });

  it('never deletes a blob someone links to: 200 rounds racing last-reference deletes, hits and sweeps', async () => {
    const CHAINS = 4;
    const ROUNDS_PER_CHAIN = 50;
    const users = [`race-a-${randomBytes(3).toString('hex')}`, `race-b-${randomBytes(3).toString('hex')}`];
    const stats = { rounds: 0, hits: 0, uploads: 0, collected: 0 };
    const sweepNow = async () => {
      stats.collected += (await stack.sweep()).collected;
    };

    const chains = Array.from({ length: CHAINS }, async (_, chain) => {
      const bytes = randomBytes(2048 + chain);
      const path = join(dataDir, `race-${chain}.bin`);
      writeFileSync(path, bytes);
      let holder = { user: users[0] ?? '', name: `chain${chain}-start` };
      await putFile(clientFor(holder.user), path, { name: holder.name });
      for (let round = 0; round < ROUNDS_PER_CHAIN; round++) {
        const next = { user: users[round % 2] ?? '', name: `chain${chain}-r${round}` };
        const link = () =>
          putFile(clientFor(next.user), path, { name: next.name, retry: { attempts: 20, baseDelayMs: 20, maxDelayMs: 200 } });
        let put: Awaited<ReturnType<typeof putFile>>;
        if (round % 5 === 4) {
          // Deterministic variant: the content is surely collected before the next upload.
          await clientFor(holder.user).deleteFile(holder.name);
          await sweepNow();
          put = await link();
        } else {
          // The race: the last reference goes while a hit links to the content and a sweep runs.
          [, put] = await Promise.all([clientFor(holder.user).deleteFile(holder.name), link(), sweepNow()]);
        }
        expect(put.state).toBe('COMPLETE');
        if (put.deduplicated) stats.hits++;
        else stats.uploads++;
        stats.rounds++;
        holder = next;
      }
      return { holder, bytes, contentId: hashBuffer(bytes).contentId };
    });
    const finals = await Promise.all(chains);
    await stack.sweep();

    expect(stats.rounds).toBe(CHAINS * ROUNDS_PER_CHAIN);
    expect(stats.hits, 'some rounds linked instantly').toBeGreaterThan(0);
    expect(stats.collected, 'some contents were collected mid-race').toBeGreaterThan(0);
    expect(stats.uploads).toBeGreaterThanOrEqual(stats.collected);

    // Every surviving file downloads its own bytes.
    for (const { holder, bytes, contentId } of finals) {
      expect(await contentItem(contentId)).toMatchObject({ state: 'READY', refCount: 1 });
      const out = join(dataDir, `${holder.name}.out`);
      await getFile(clientFor(holder.user), holder.name, out);
      expect(readFileSync(out).equals(bytes)).toBe(true);
    }
    // Whole-store invariants: refCount = counted files; no READY content without its object.
    const files = (await scanAll(stack.info.tables.files)).filter((item) => !String(item.name).startsWith(RESERVED_NAME_PREFIX));
    const contents = await scanAll(stack.info.tables.contents);
    for (const content of contents) {
      const referencing = files.filter((file) => file.contentId === content.contentId && file.state !== 'FAILED');
      expect(content.refCount, String(content.contentId)).toBe(referencing.length);
      if (content.state === 'READY') {
        const { Contents = [] } = await s3.send(
          new ListObjectsV2Command({ Bucket: stack.info.bucket, Prefix: String(content.objectKey) }),
        );
        expect(Contents, String(content.objectKey)).toHaveLength(1);
      }
    }
    for (const file of files.filter((item) => item.state === 'COMPLETE')) {
      expect(contents.find((content) => content.contentId === file.contentId)?.state).toBe('READY');
    }
  }, 240_000);
});
