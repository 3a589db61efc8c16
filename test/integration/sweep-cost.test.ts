/**
 * A sweep's cost follows its candidates, not the table (issue 14 point 5, docs/design.md §5): on
 * DynamoDB Local, in tables of this file's own, a sweep over 1,000 contents of which 10 are due
 * reads 20 items (each due entry of the sparse sweepDue index and its item), counted on the wire,
 * and the next sweep reads none.
 */
import { randomBytes } from 'node:crypto';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#adapters/clients';
import { DynamoCatalog } from '#adapters/dynamo-catalog';
import { silentTelemetry } from '#adapters/telemetry';
import { CONTENTS_TABLE, FILES_TABLE } from '#deploy/definitions';
import type { ContentRecord } from '#domain/ports';
import { sweep } from '#domain/sweeper';
import { createTableCommand, handlerConfig, LOCAL_CREDENTIALS } from '#local/stack';
import { bytesToHex } from '#protocol/encoding';
import { db, stack, stackDeps } from '../helpers.ts';

const suffix = randomBytes(4).toString('hex');
const tables = { contents: `hashdrop-contents-cost-${suffix}`, files: `hashdrop-files-cost-${suffix}` };

/** Items DynamoDB returned to the client (a Query's or Scan's evaluated items, a Get's item), and requests by command. */
const read = { items: 0, requests: new Map<string, number>() };

function countingClient(): DynamoDBDocumentClient {
  const config = handlerConfig(stack, 'Sweeper');
  // The admin key: these tables are not the stack's, so no role of it is granted them.
  const client = createDocumentClient({ ...config.aws, credentials: LOCAL_CREDENTIALS });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const output = result.output as { ScannedCount?: number; Count?: number; Item?: unknown; Items?: unknown[] };
      const command = context.commandName ?? '';
      read.requests.set(command, (read.requests.get(command) ?? 0) + 1);
      read.items += output.ScannedCount ?? output.Count ?? output.Items?.length ?? (output.Item ? 1 : 0);
      return result;
    },
    { step: 'initialize', name: 'countItemsRead' },
  );
  return client;
}

const TOTAL = 1000;
const DUE = 10;

beforeAll(async () => {
  const admin = db;
  await admin.send(createTableCommand(CONTENTS_TABLE, tables.contents));
  await admin.send(createTableCommand(FILES_TABLE, tables.files));
  const now = Date.now();
  const contents = Array.from({ length: TOTAL }, (_, index) => {
    const contentId = bytesToHex(randomBytes(32));
    const record: ContentRecord = {
      contentId,
      size: 1000,
      state: 'READY',
      refCount: 1,
      objectKey: `blobs/${contentId}/${index}`,
      createdAt: now - 60_000,
      updatedAt: now - 60_000,
    };
    // The first DUE lost a reference a minute ago (a release marks its content in the same write);
    // still referenced, the sweeper has nothing to do but clear the mark.
    return index < DUE ? { ...record, sweepShard: contentId.charAt(0), sweepAt: now - 60_000 } : record;
  });
  for (let start = 0; start < contents.length; start += 25) {
    const batch = contents.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
    await admin.send(new BatchWriteCommand({ RequestItems: { [tables.contents]: batch } }));
  }
});

afterAll(async () => {
  await db.send(new DeleteTableCommand({ TableName: tables.contents }));
  await db.send(new DeleteTableCommand({ TableName: tables.files }));
});

describe('a sweep over 1,000 contents of which 10 are due', () => {
  it('reads the 10 candidates (their index entries and items) and nothing else; the next sweep reads nothing', async () => {
    const telemetry = silentTelemetry();
    const deps = { ...stackDeps('Sweeper'), telemetry, catalog: new DynamoCatalog(countingClient(), tables) };

    const first = await sweep(deps);
    expect(first).toMatchObject({ itemsRead: DUE, deferred: DUE, collected: 0, expired: 0 });
    expect(read.items).toBe(2 * DUE);
    // A Query per shard of the sweep index, a Scan of the sparse index of waiting files (none
    // here), and per candidate a consistent Get and its mark cleared.
    expect(Object.fromEntries(read.requests)).toEqual({
      QueryCommand: 16,
      ScanCommand: 1,
      GetItemCommand: DUE,
      UpdateItemCommand: DUE,
    });
    expect(telemetry.total('SweepItemsRead')).toBe(DUE);

    read.items = 0;
    read.requests.clear();
    expect(await sweep(deps)).toMatchObject({ itemsRead: 0, deferred: 0 });
    expect(read.items).toBe(0);
    expect(Object.fromEntries(read.requests)).toEqual({ QueryCommand: 16, ScanCommand: 1 });
  });
});
