/**
 * Erasing a user against a real local stack of its own (its own DynamoDB Local: its sweeps must
 * not collect the shared stack's contents), with a GC grace of seconds: the operator's command
 * (scripts/user-erasure.ts) drives the EraseUser function, which runs with its own role's
 * permissions under the local IAM, as in AWS.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportedFile } from '#domain/erase-user';
import type { EraseUserEvent } from '#lambdas/erase-user';
import { LOCAL_CREDENTIALS, type LocalStack, startLocalStack } from '#local/stack';
import { HashdropClient } from '#sdk/api';
import { getFile } from '#sdk/download';
import { putFile } from '#sdk/upload';
import { runErasure } from '../../scripts/user-erasure.ts';

const GRACE_SECONDS = 2;

let stack: LocalStack;
let dataDir: string;
let s3: S3Client;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hashdrop-erase-'));
  stack = await startLocalStack({ dataDir, persist: false, settings: { gcGraceSeconds: GRACE_SECONDS } });
  s3 = new S3Client({
    endpoint: stack.info.s3Endpoint,
    region: stack.info.region,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
  });
  // A stack of its own (DynamoDB Local's JVM among it) starts slowly beside the other integration files.
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const clientFor = (userId: string) => new HashdropClient({ endpoint: stack.info.endpoint, token: () => stack.mintToken(userId) });

async function stored(key: string): Promise<boolean> {
  return s3.send(new HeadObjectCommand({ Bucket: stack.info.bucket, Key: key })).then(
    () => true,
    (error: unknown) => {
      if (error instanceof Error && error.name === 'NotFound') return false;
      throw error;
    },
  );
}

function localFile(size: number): string {
  const path = join(dataDir, `file-${randomBytes(4).toString('hex')}`);
  writeFileSync(path, randomBytes(size));
  return path;
}

/** The object key of each of a user's files, read through the admin's view of the stack (the export has none). */
async function objectKeyOf(contentId: string): Promise<string> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { DynamoDBDocumentClient, GetCommand } = await import('@aws-sdk/lib-dynamodb');
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.info.dynamodbEndpoint, region: stack.info.region, credentials: LOCAL_CREDENTIALS }),
  );
  const { Item } = await db.send(
    new GetCommand({ TableName: stack.info.tables.contents, Key: { contentId }, ConsistentRead: true }),
  );
  return String(Item?.objectKey);
}

describe('erasing a user', () => {
  it('exports exactly their files, erases them; a sweep after the grace deletes only the contents nobody else owns', async () => {
    const [alice, bob] = [`alice-${randomBytes(4).toString('hex')}`, `bob-${randomBytes(4).toString('hex')}`];
    const shared = localFile(3000);
    const onlyAlice = localFile(4000);
    await putFile(clientFor(bob), shared, { name: 'theirs.bin' });
    await putFile(clientFor(alice), shared, { name: 'copy.bin' });
    await putFile(clientFor(alice), onlyAlice, { name: 'mine/only.bin' });
    const aliceFiles = (await clientFor(alice).listFiles()).files;
    const sharedFile = aliceFiles.find((file) => file.name === 'copy.bin');
    const onlyFile = aliceFiles.find((file) => file.name === 'mine/only.bin');
    if (!sharedFile || !onlyFile) throw new Error('alice’s files are missing');
    const sharedKey = await objectKeyOf(sharedFile.contentId);
    const onlyKey = await objectKeyOf(onlyFile.contentId);

    const events: EraseUserEvent[] = [];
    const lines: string[] = [];
    const out = join(dataDir, 'export.json');
    const erase = (options: { dryRun?: boolean; yes?: boolean; expectFiles?: number }) =>
      runErasure(
        (event) => {
          events.push(event);
          return stack.eraseUser(event);
        },
        { userId: alice, out, log: (line) => lines.push(line), ...options },
      );

    // A dry run changes nothing: it says what the user has.
    const dry = await erase({ dryRun: true });
    expect(dry.plan).toMatchObject({ files: 2, byState: { COMPLETE: 2 }, bytes: 7000 });
    expect(events).toEqual([{ userId: alice, action: 'erase', dryRun: true }]);
    // Without --yes: exported, nothing erased.
    expect((await erase({})).erased).toBeUndefined();
    expect((await clientFor(alice).listFiles()).files).toHaveLength(2);

    // --yes alone, or with another count (a mistyped id naming another user), erases nothing.
    await expect(erase({ yes: true })).rejects.toThrow(/--yes needs --files 2/);
    await expect(erase({ yes: true, expectFiles: 3 })).rejects.toThrow(/has 2 files, not 3/);
    expect((await clientFor(alice).listFiles()).files).toHaveLength(2);

    const outcome = await erase({ yes: true, expectFiles: 2 });
    expect(outcome.erased).toEqual({ deleted: 2, cancelled: 0, remaining: 0, done: true });
    const exported = JSON.parse(readFileSync(out, 'utf8')) as { userId: string; files: ExportedFile[] };
    expect(exported.userId).toBe(alice);
    expect(exported.files.map(({ name, size, contentId, state }) => ({ name, size, contentId, state }))).toEqual(
      aliceFiles.map(({ name, size, contentId, state }) => ({ name, size, contentId, state })),
    );
    expect(outcome.exported?.key).toMatch(/^exports\/[A-Za-z0-9_-]+\/.+\.json$/);

    // Alice's calls find nothing of hers.
    expect((await clientFor(alice).listFiles()).files).toEqual([]);
    expect(await clientFor(alice).usage()).toMatchObject({ files: 0, bytes: 0, savedBytes: 0 });

    // Within the grace period, nothing is collected; after it, only what Alice alone owned.
    await stack.sweep();
    expect(await stored(onlyKey)).toBe(true);
    await new Promise((done) => setTimeout(done, (GRACE_SECONDS + 1) * 1000));
    await stack.sweep();
    expect(await stored(onlyKey)).toBe(false);
    expect(await stored(sharedKey)).toBe(true);
    // Bob's file is untouched and still downloads, byte for byte.
    const copy = join(dataDir, 'bob-copy');
    await getFile(clientFor(bob), 'theirs.bin', copy);
    expect(readFileSync(copy).equals(readFileSync(shared))).toBe(true);

    // Erasing again finds nothing and changes nothing.
    expect((await erase({ yes: true, expectFiles: 0 })).erased).toEqual({ deleted: 0, cancelled: 0, remaining: 0, done: true });
  });

  it('refuses an event that is not one (no user id, an unknown field) before touching anything', async () => {
    await expect(stack.eraseUser({ action: 'erase' })).rejects.toMatchObject({ code: 'invalid_event' });
    await expect(stack.eraseUser({ userId: 'x', action: 'erase', everyone: true })).rejects.toMatchObject({
      code: 'invalid_event',
    });
    await expect(stack.eraseUser({ userId: '', action: 'erase' })).rejects.toMatchObject({ code: 'invalid_event' });
  });
});
