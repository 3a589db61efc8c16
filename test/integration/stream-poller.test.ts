/**
 * The local stand-in for Lambda's stream event source (local/stream-poller.ts) on the shared
 * stack's DynamoDB Local: a restarted `npm start` (a persisted .hashdrop/) resumes the Files
 * table's stream where it stopped, handing over no record twice and skipping none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { RESERVED_NAME_PREFIX } from '#deploy/definitions';
import { LOCAL_CREDENTIALS } from '#local/stack';
import { startStreamPoller } from '#local/stream-poller';
import { db, newUser, stack } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'hashdrop-stream-poller-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function filesStreamArn(): Promise<string> {
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: stack.region, credentials: LOCAL_CREDENTIALS });
  const { Table } = await client.send(new DescribeTableCommand({ TableName: stack.tables.files }));
  client.destroy();
  if (!Table?.LatestStreamArn) throw new Error('the Files table has no stream');
  return Table.LatestStreamArn;
}

/** A poller handing over the names of `userId`'s items only (the shared table sees every test's writes). */
async function pollerFor(userId: string, checkpointFile: string) {
  const seen: string[] = [];
  const poller = startStreamPoller({
    endpoint: stack.dynamodbEndpoint,
    region: stack.region,
    credentials: LOCAL_CREDENTIALS,
    streamArn: await filesStreamArn(),
    checkpointFile,
    handle: async (event) => {
      for (const record of event.Records) {
        if (record.dynamodb?.Keys?.userId?.S === userId) seen.push(record.dynamodb.Keys.name?.S ?? '');
      }
      return { batchItemFailures: [] };
    },
  });
  return { poller, seen };
}

// Reserved names: the shared stack's own FileEvents function skips them, so no event is sent for them.
const put = (userId: string, name: string) =>
  db.send(new PutCommand({ TableName: stack.tables.files, Item: { userId, name: `${RESERVED_NAME_PREFIX}${name}` } }));

describe('the local stream poller across a restart', () => {
  it('resumes after the last record it read: none handed over twice, none skipped', async () => {
    const userId = newUser('poller');
    const checkpoint = join(dir, 'checkpoint.json');
    const first = await pollerFor(userId, checkpoint);
    await put(userId, 'before-stop');
    await first.poller.caughtUp();
    await first.poller.stop();
    expect(first.seen).toEqual([`${RESERVED_NAME_PREFIX}before-stop`]);

    await put(userId, 'while-stopped');
    const second = await pollerFor(userId, checkpoint);
    await put(userId, 'after-restart');
    await second.poller.caughtUp();
    await second.poller.stop();
    expect(second.seen).toEqual([`${RESERVED_NAME_PREFIX}while-stopped`, `${RESERVED_NAME_PREFIX}after-restart`]);
  });
});
