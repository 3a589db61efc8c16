/**
 * File events end to end (issue 14 point 6): a local stack of its own, sharing the test run's
 * DynamoDB, reads the Files table's stream as Lambda would and delivers each event to an app's
 * backend, here a small HTTP server of the test's. It receives file.completed for a miss and for
 * another user's instant upload of the same bytes, file.renamed (and no file.deleted for the
 * rename's source), file.deleted, and upload.failed for a cancelled upload.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentTelemetry } from '#adapters/telemetry';
import { type LocalStack, startLocalStack } from '#local/stack';
import { bytesToHex } from '#protocol/encoding';
import type { FileEvent, FileEventEnvelope } from '#protocol/events';
import { HashdropClient } from '#sdk/api';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';
import { newUser, randomFile, stack as shared } from '../helpers.ts';
import { eventSchemaCheck } from '../support/event-schema.ts';

let local: LocalStack;
let backend: Server;
let dataDir: string;
const received: FileEventEnvelope[] = [];

beforeAll(async () => {
  backend = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as FileEventEnvelope);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => backend.listen(0, '127.0.0.1', done));
  dataDir = mkdtempSync(join(tmpdir(), 'hashdrop-file-events-'));
  local = await startLocalStack({
    dataDir,
    persist: false,
    dynamodbTarget: shared.dynamodbEndpoint,
    telemetry: silentTelemetry(),
    eventsWebhookUrl: `http://127.0.0.1:${(backend.address() as AddressInfo).port}/hooks/hashdrop`,
    printEvent: () => undefined,
  });
}, 240_000);

afterAll(async () => {
  await local?.stop();
  await new Promise((done) => backend?.close(done));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const clientFor = (userId: string) => new HashdropClient({ endpoint: local.info.endpoint, token: () => local.mintToken(userId) });

const schema = eventSchemaCheck();

/**
 * The events of `userId` received so far, once every change made so far has been delivered. Every
 * body received is what the published schema (docs/events.schema.json) describes.
 */
async function eventsOf(userId: string): Promise<FileEvent[]> {
  await local.fileEventsSettled();
  for (const envelope of received) expect(schema.envelope(envelope), JSON.stringify(envelope)).toBeUndefined();
  return received.filter((envelope) => envelope.detail.userId === userId).map((envelope) => envelope.detail);
}

describe('file events for an app’s backend', () => {
  it('file.completed for a miss and for another user’s instant upload, then rename and delete', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const file = randomFile(70_000);
    const miss = await putFile(clientFor(alice), file.path, { name: 'photo.jpg' });
    await local.eventsSettled();
    const hit = await putFile(clientFor(bob), file.path, { name: 'copy.jpg' });
    expect(hit).toMatchObject({ deduplicated: true });

    const [completed] = await eventsOf(alice);
    expect(completed).toMatchObject({
      type: 'file.completed',
      version: '1',
      name: 'photo.jpg',
      size: 70_000,
      contentId: miss.contentId,
      deduplicated: false,
    });
    expect(await eventsOf(bob)).toEqual([
      expect.objectContaining({ type: 'file.completed', name: 'copy.jpg', contentId: miss.contentId, deduplicated: true }),
    ]);
    // The envelope is an EventBridge event's.
    const envelope = received.find((entry) => entry.detail.userId === bob);
    expect(envelope).toMatchObject({ source: 'hashdrop', 'detail-type': 'file.completed', id: envelope?.detail.eventId });

    await clientFor(bob).renameFile('copy.jpg', 'album/copy.jpg');
    await clientFor(bob).deleteFile('album/copy.jpg');
    const bobs = await eventsOf(bob);
    expect(bobs.map((event) => event.type)).toEqual(['file.completed', 'file.renamed', 'file.deleted']);
    expect(bobs[1]).toMatchObject({ from: 'copy.jpg', to: 'album/copy.jpg', contentId: miss.contentId });
    expect(bobs[2]).toMatchObject({ name: 'album/copy.jpg', contentId: miss.contentId });
    // Every event once, each with its own id.
    expect(new Set(bobs.map((event) => event.eventId)).size).toBe(3);
  });

  it('upload.failed for a cancelled upload', async () => {
    const carol = newUser('carol');
    const { bytes } = randomFile(9000);
    const tree = hashBuffer(bytes);
    const client = clientFor(carol);
    const started = await client.requestUpload({
      name: 'draft.bin',
      size: bytes.length,
      contentId: tree.contentId,
      blockDigests: tree.blockDigests.map(bytesToHex),
    });
    if (started.status !== 'upload') throw new Error(`expected an upload permit: ${started.status}`);
    await client.cancelUpload(started.uploadId);
    expect(await eventsOf(carol)).toEqual([
      expect.objectContaining({
        type: 'upload.failed',
        name: 'draft.bin',
        failure: 'upload_abandoned',
        contentId: tree.contentId,
      }),
    ]);
  });
});
