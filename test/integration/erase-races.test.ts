/**
 * Catalog.deleteUserRecords on DynamoDB Local, where it is not atomic (the in-memory catalog is,
 * so the contract suite cannot interleave it): a link that lands while the erased user's records
 * go must be left whole, counted, and the erasure must say it is not done.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '#adapters/clients';
import { DynamoCatalog } from '#adapters/dynamo-catalog';
import { USAGE_ITEM_NAME } from '#deploy/definitions';
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
