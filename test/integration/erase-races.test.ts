/**
 * Catalog.deleteUserRecords on DynamoDB Local, where it is not atomic (the in-memory catalog is,
 * so the contract suite cannot interleave it): a link that lands while the erased user's records
 * go must be left whole, counted, and the erasure must say it is not done.
 */
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '#adapters/clients';
import { DynamoCatalog } from '#adapters/dynamo-catalog';
import { FIRST_FILE_NAME, RESERVED_NAME_PREFIX, USAGE_ITEM_NAME } from '#deploy/definitions';
import { handlerConfig, LOCAL_CREDENTIALS } from '#local/stack';
import { db, fileItem, newUser, stack } from '../helpers.ts';

/** The file a concurrent link writes, with the usage ADD its transaction makes. */
async function linkBehindTheErasure(userId: string, size: number): Promise<void> {
  const now = Date.now();
  await db.send(
    new PutCommand({
      TableName: stack.tables.files,
      Item: {
        userId,
        name: 'late.bin',
        contentId: 'c'.repeat(64),
        size,
        state: 'COMPLETE',
        uploadId: 'u'.repeat(32),
        createdAt: now,
        updatedAt: now,
      },
    }),
  );
  await db.send(
    new UpdateCommand({
      TableName: stack.tables.files,
      Key: { userId, name: USAGE_ITEM_NAME },
      UpdateExpression: 'ADD #files :one, #bytes :size',
      ExpressionAttributeNames: { '#files': 'files', '#bytes': 'bytes' },
      ExpressionAttributeValues: { ':one': 1, ':size': size },
    }),
  );
}

describe('erasing a user’s records while a link of theirs lands', () => {
  it('keeps the usage item the link made anew, and reports the user not erased', async () => {
    const userId = newUser('erased');
    const config = handlerConfig(stack, 'EraseUser');
    const client = createDocumentClient({ ...config.aws, credentials: LOCAL_CREDENTIALS });
    let linked = false;
    // Right after the conditional delete of the usage item (the only usage delete there is), the link commits.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const answer = await next(args);
        const key = (args.input as { Key?: { name?: { S?: string } } }).Key;
        if (!linked && context.commandName === 'DeleteItemCommand' && key?.name?.S === USAGE_ITEM_NAME) {
          linked = true;
          await linkBehindTheErasure(userId, 1234);
        }
        return answer;
      },
      { step: 'build', name: 'linkBehindTheErasure' },
    );
    const catalog = new DynamoCatalog(client, config.tables);
    await catalog.setQuota(userId, 10_000);

    expect(await catalog.deleteUserRecords(userId)).toBe(false);
    expect(linked).toBe(true);
    expect(await fileItem(userId, 'late.bin')).toMatchObject({ state: 'COMPLETE' });
    expect(await catalog.getUsage(userId)).toEqual({ files: 1, bytes: 1234, savedBytes: 0 });
  });
});

/** The reserved items (usage, proof bookkeeping, rename marks) under a user's name. */
async function reservedItems(userId: string): Promise<string[]> {
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: stack.tables.files,
      KeyConditionExpression: 'userId = :u AND #name < :first',
      ExpressionAttributeNames: { '#name': 'name' },
      ExpressionAttributeValues: { ':u': userId, ':first': FIRST_FILE_NAME },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => String(item.name));
}

describe('erasing a user’s records with little time left', () => {
  it('stops when the time runs short, and the next call finishes', async () => {
    // A user may hold thousands of records (a consumed challenge each): one invocation may not do them all.
    const userId = newUser('many-records');
    for (let n = 0; n < 5; n++) {
      await db.send(
        new PutCommand({ TableName: stack.tables.files, Item: { userId, name: `${RESERVED_NAME_PREFIX}challenge:nonce-${n}` } }),
      );
    }
    const config = handlerConfig(stack, 'EraseUser');
    const catalog = new DynamoCatalog(createDocumentClient({ ...config.aws, credentials: LOCAL_CREDENTIALS }), config.tables);
    let checks = 0;
    expect(await catalog.deleteUserRecords(userId, () => ++checks <= 2)).toBe(false);
    expect(await reservedItems(userId)).toHaveLength(3);
    expect(await catalog.deleteUserRecords(userId)).toBe(true);
    expect(await reservedItems(userId)).toEqual([]);
  });
});
