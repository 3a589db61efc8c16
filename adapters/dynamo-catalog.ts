/**
 * The Catalog on two DynamoDB tables (DESIGN §3).
 *
 * Invariant 2 (refCount equals the files pointing at a content) holds because every change of a
 * file's content or countedness happens in one TransactWriteItems with the matching refCount
 * changes, conditioned on the state that was read. A lost race surfaces as StaleWriteError.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  type ScanCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { FILES_TABLE, FIRST_FILE_NAME, RESERVED_NAME_PREFIX, USAGE_ITEM_NAME } from '#deploy/definitions';
import { StaleWriteError, ValidationError } from '#domain/errors';
import type {
  Catalog,
  ContentRecord,
  FileOwner,
  FilePage,
  FileRecord,
  LinkChange,
  QuotaGuard,
  RenameChange,
  UploadAttempt,
  Usage,
} from '#domain/ports';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const TTL_ATTRIBUTE = FILES_TABLE.timeToLiveAttribute ?? 'expiresAt';

const PENDING_INDEX = FILES_TABLE.indexes[0]?.indexName ?? 'pendingByContent';

/** A file counts towards its content's refCount unless it failed. */
const counts = (file: FileRecord | undefined): file is FileRecord => file !== undefined && file.state !== 'FAILED';

/** What a file adds to its owner's usage. */
const usageOf = (file: FileRecord | undefined) => (counts(file) ? { files: 1, bytes: file.size } : { files: 0, bytes: 0 });

interface UsageDelta {
  readonly files: number;
  readonly bytes: number;
  readonly savedBytes?: number;
}

function isConditionFailure(error: unknown): boolean {
  if (error instanceof ConditionalCheckFailedException) return true;
  if (error instanceof TransactionCanceledException) {
    return (error.CancellationReasons ?? []).some(
      (reason) => reason.Code === 'ConditionalCheckFailed' || reason.Code === 'TransactionConflict',
    );
  }
  return error instanceof Error && error.name === 'TransactionConflictException';
}

/** Runs a conditional write; a failed condition becomes StaleWriteError. */
async function conditional<T>(write: () => Promise<T>, what: string): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isConditionFailure(error)) throw new StaleWriteError(`${what}: state changed concurrently`, { cause: error });
    throw error;
  }
}

/** Like `conditional`, but a failed condition is an expected answer: false. */
async function attempted(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

function fileItem(file: FileRecord): Record<string, unknown> {
  return { ...file, ...(file.state === 'PENDING' ? { pendingContentId: file.contentId } : {}) };
}

function toFile(item: Record<string, unknown>): FileRecord {
  const { pendingContentId: _index, ...file } = item;
  return file as unknown as FileRecord;
}

interface Cursor {
  readonly userId: string;
  readonly name: string;
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ userId: key.userId, name: key.name })).toString('base64url');
}

function decodeCursor(cursor: string, userId: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'userId' in parsed &&
      'name' in parsed &&
      parsed.userId === userId &&
      typeof parsed.name === 'string' &&
      parsed.name >= FIRST_FILE_NAME
    ) {
      return { userId, name: parsed.name };
    }
  } catch {
    // fall through: malformed
  }
  throw new ValidationError('invalid_cursor', 'the cursor is not one this listing returned');
}

export class DynamoCatalog implements Catalog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { readonly contents: string; readonly files: string },
  ) {}

  async getContent(contentId: string): Promise<ContentRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.contents, Key: { contentId }, ConsistentRead: true }),
    );
    return Item as ContentRecord | undefined;
  }

  async getFile(userId: string, name: string): Promise<FileRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.files, Key: { userId, name }, ConsistentRead: true }),
    );
    return Item ? toFile(Item) : undefined;
  }

  async listFiles(userId: string, options: { prefix?: string; limit: number; cursor?: string }): Promise<FilePage> {
    const start = options.cursor ? decodeCursor(options.cursor, userId) : undefined;
    const { Items = [], LastEvaluatedKey } = await this.db.send(
      new QueryCommand({
        TableName: this.tables.files,
        // Reserved items (usage, answered challenges) sort before every file name.
        KeyConditionExpression: options.prefix ? 'userId = :u AND begins_with(#name, :p)' : 'userId = :u AND #name >= :first',
        ExpressionAttributeNames: { '#name': 'name' },
        ExpressionAttributeValues: {
          ':u': userId,
          ...(options.prefix ? { ':p': options.prefix } : { ':first': FIRST_FILE_NAME }),
        },
        Limit: options.limit,
        ExclusiveStartKey: start ? { ...start } : undefined,
      }),
    );
    return { files: Items.map(toFile), ...(LastEvaluatedKey ? { cursor: encodeCursor(LastEvaluatedKey) } : {}) };
  }

  async linkFile({ file, previous, content, quota, savedBytes }: LinkChange): Promise<void> {
    const now = file.updatedAt;
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tables.files,
          Item: fileItem(file),
          // Exactly the file we decided on is replaced, so its reference is released exactly once.
          ConditionExpression: previous ? 'uploadId = :prevUpload AND #state = :prevState' : 'attribute_not_exists(userId)',
          ...(previous
            ? {
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':prevUpload': previous.uploadId, ':prevState': previous.state },
              }
            : {}),
        },
      },
    ];
    const alreadyCounted = counts(previous) && previous.contentId === file.contentId;
    if (content.op === 'create') {
      items.push({
        Put: {
          TableName: this.tables.contents,
          Item: content.record,
          ConditionExpression: 'attribute_not_exists(contentId)',
        },
      });
    } else if (alreadyCounted) {
      items.push({
        ConditionCheck: {
          TableName: this.tables.contents,
          Key: { contentId: file.contentId },
          ConditionExpression: '#state = :required',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':required': content.requireState },
        },
      });
    } else {
      // Requiring the state makes a link to a content being deleted impossible (invariant 3).
      items.push({
        Update: {
          TableName: this.tables.contents,
          Key: { contentId: file.contentId },
          UpdateExpression: 'ADD refCount :one SET updatedAt = :now',
          ConditionExpression: '#state = :required',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':one': 1, ':now': now, ':required': content.requireState },
        },
      });
    }
    if (counts(previous) && !alreadyCounted) items.push(this.releaseReference(previous.contentId, now));
    const added = usageOf(file);
    const released = usageOf(previous);
    const usage = this.usageUpdate(
      file.userId,
      { files: added.files - released.files, bytes: added.bytes - released.bytes, savedBytes: savedBytes ?? 0 },
      now,
      quota,
    );
    items.push(...this.optional(usage));
    await conditional(() => this.db.send(new TransactWriteCommand({ TransactItems: items })), 'link file');
  }

  /**
   * The change of a user's usage item that goes into a file change's transaction. Growth is
   * conditioned on the quota (DynamoDB conditions cannot add, so the limit is precomputed) and
   * on the user's own quota being the one the decision read.
   */
  private usageUpdate(userId: string, delta: UsageDelta, now: number, quota?: QuotaGuard): TransactItem | undefined {
    if (delta.files === 0 && delta.bytes === 0 && !delta.savedBytes) return undefined;
    const guarded = quota && delta.bytes > 0;
    return {
      Update: {
        TableName: this.tables.files,
        Key: { userId, name: USAGE_ITEM_NAME },
        UpdateExpression: 'ADD #files :files, #bytes :bytes, savedBytes :saved SET updatedAt = :now',
        ...(guarded
          ? {
              ConditionExpression: `(attribute_not_exists(#bytes) OR #bytes <= :limit) AND ${
                quota.override === undefined ? 'attribute_not_exists(quotaBytes)' : 'quotaBytes = :override'
              }`,
            }
          : {}),
        ExpressionAttributeNames: { '#files': 'files', '#bytes': 'bytes' },
        ExpressionAttributeValues: {
          ':files': delta.files,
          ':bytes': delta.bytes,
          ':saved': delta.savedBytes ?? 0,
          ':now': now,
          ...(guarded ? { ':limit': quota.maxBytes - delta.bytes } : {}),
          ...(guarded && quota.override !== undefined ? { ':override': quota.override } : {}),
        },
      },
    };
  }

  private optional(item: TransactItem | undefined): TransactItem[] {
    return item ? [item] : [];
  }

  /** The usage change of one counted file of `size` bytes going away. */
  private usageRelease(userId: string, size: number, now: number): TransactItem | undefined {
    return this.usageUpdate(userId, { files: -1, bytes: -size }, now);
  }

  /** What a counted file going away changes besides itself: its content's reference and its owner's usage. */
  private releaseFile(file: FileRecord | undefined, now: number): TransactItem[] {
    if (!counts(file)) return [];
    return [this.releaseReference(file.contentId, now), ...this.optional(this.usageRelease(file.userId, file.size, now))];
  }

  /** The content update that releases one reference. */
  private releaseReference(contentId: string, now: number): TransactItem {
    return {
      Update: {
        TableName: this.tables.contents,
        Key: { contentId },
        UpdateExpression: 'ADD refCount :minusOne SET updatedAt = :now',
        ConditionExpression: 'attribute_exists(contentId)',
        ExpressionAttributeValues: { ':minusOne': -1, ':now': now },
      },
    };
  }

  /** A condition that the file under its name is still exactly the one read. */
  private unchanged(file: FileRecord) {
    return {
      ConditionExpression: 'uploadId = :upload AND #state = :state AND contentId = :content',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':upload': file.uploadId, ':state': file.state, ':content': file.contentId },
    };
  }

  async renameFile({ from, to, overwritten }: RenameChange): Promise<void> {
    const now = to.updatedAt;
    const items: TransactItem[] = [
      { Delete: { TableName: this.tables.files, Key: { userId: from.userId, name: from.name }, ...this.unchanged(from) } },
      {
        Put: {
          TableName: this.tables.files,
          Item: fileItem(to),
          ...(overwritten ? this.unchanged(overwritten) : { ConditionExpression: 'attribute_not_exists(userId)' }),
        },
      },
    ];
    items.push(...this.releaseFile(overwritten, now));
    await conditional(() => this.db.send(new TransactWriteCommand({ TransactItems: items })), 'rename file');
  }

  async deleteFile(file: FileRecord, now: number): Promise<void> {
    const items: TransactItem[] = [
      { Delete: { TableName: this.tables.files, Key: { userId: file.userId, name: file.name }, ...this.unchanged(file) } },
      ...this.releaseFile(file, now),
    ];
    await conditional(() => this.db.send(new TransactWriteCommand({ TransactItems: items })), 'delete file');
  }

  async getUsage(userId: string): Promise<Usage> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.files, Key: { userId, name: USAGE_ITEM_NAME }, ConsistentRead: true }),
    );
    const item = (Item ?? {}) as Partial<Usage>;
    return {
      files: item.files ?? 0,
      bytes: item.bytes ?? 0,
      savedBytes: item.savedBytes ?? 0,
      ...(item.quotaBytes !== undefined ? { quotaBytes: item.quotaBytes } : {}),
    };
  }

  async setQuota(userId: string, quotaBytes: number | undefined): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.files,
        Key: { userId, name: USAGE_ITEM_NAME },
        ...(quotaBytes === undefined
          ? { UpdateExpression: 'REMOVE quotaBytes' }
          : { UpdateExpression: 'SET quotaBytes = :quota', ExpressionAttributeValues: { ':quota': quotaBytes } }),
      }),
    );
  }

  async setAttempt(contentId: string, attempt: UploadAttempt, expectedAttemptId: string | undefined): Promise<void> {
    await conditional(
      () =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tables.contents,
            Key: { contentId },
            UpdateExpression: 'SET attempt = :attempt, updatedAt = :now',
            ConditionExpression: expectedAttemptId
              ? '#state = :pending AND attempt.id = :expected'
              : '#state = :pending AND attribute_not_exists(attempt)',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: {
              ':attempt': attempt,
              ':now': Date.now(),
              ':pending': 'PENDING',
              ...(expectedAttemptId ? { ':expected': expectedAttemptId } : {}),
            },
          }),
        ),
      'set upload attempt',
    );
  }

  markReady(contentId: string, objectKey: string, now: number): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.contents,
          Key: { contentId },
          UpdateExpression: 'SET #state = :ready, objectKey = :key, updatedAt = :now REMOVE attempt',
          ConditionExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':ready': 'READY', ':pending': 'PENDING', ':key': objectKey, ':now': now },
        }),
      ),
    );
  }

  completeFile(owner: FileOwner, contentId: string, now: number): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.files,
          Key: { userId: owner.userId, name: owner.name },
          UpdateExpression: 'SET #state = :complete, updatedAt = :now REMOVE pendingContentId',
          ConditionExpression: '#state = :pending AND contentId = :content AND uploadId = :upload',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':complete': 'COMPLETE',
            ':pending': 'PENDING',
            ':content': contentId,
            ':upload': owner.uploadId,
            ':now': now,
          },
        }),
      ),
    );
  }

  async pendingFiles(contentId: string): Promise<FileRecord[]> {
    const files: FileRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tables.files,
          IndexName: PENDING_INDEX,
          KeyConditionExpression: 'pendingContentId = :content',
          ExpressionAttributeValues: { ':content': contentId },
          ExclusiveStartKey: startKey,
        }),
      );
      files.push(...(page.Items ?? []).map(toFile));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return files;
  }

  async failAttempt(
    { contentId, size }: Pick<ContentRecord, 'contentId' | 'size'>,
    attempt: UploadAttempt,
    failure: string,
    now: number,
  ): Promise<void> {
    const usage = this.usageRelease(attempt.owner.userId, size, now);
    const releaseAndFail = (): Promise<unknown> =>
      this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tables.contents,
                Key: { contentId },
                UpdateExpression: 'REMOVE attempt ADD refCount :minusOne SET updatedAt = :now',
                ConditionExpression: 'attempt.id = :attempt',
                ExpressionAttributeValues: { ':attempt': attempt.id, ':minusOne': -1, ':now': now },
              },
            },
            {
              Update: {
                TableName: this.tables.files,
                Key: { userId: attempt.owner.userId, name: attempt.owner.name },
                UpdateExpression: 'SET #state = :failed, failure = :failure, updatedAt = :now REMOVE pendingContentId',
                ConditionExpression: '#state = :pending AND contentId = :content AND uploadId = :upload',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: {
                  ':failed': 'FAILED',
                  ':pending': 'PENDING',
                  ':failure': failure,
                  ':content': contentId,
                  ':upload': attempt.owner.uploadId,
                  ':now': now,
                },
              },
            },
            ...this.optional(usage),
          ],
        }),
      );
    if (await attempted(releaseAndFail)) return;
    // The owner file was replaced meanwhile (its reference already released): just end the attempt.
    await this.endAttempt(contentId, attempt.id, now);
  }

  endAttempt(contentId: string, attemptId: string, now: number, options: { onlyIfExpired?: boolean } = {}): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.contents,
          Key: { contentId },
          UpdateExpression: 'REMOVE attempt SET updatedAt = :now',
          ConditionExpression: options.onlyIfExpired
            ? 'attempt.id = :attempt AND attempt.leaseUntil < :now'
            : 'attempt.id = :attempt',
          ExpressionAttributeValues: { ':attempt': attemptId, ':now': now },
        }),
      ),
    );
  }

  deleteUnreferencedPending(contentId: string): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new DeleteCommand({
          TableName: this.tables.contents,
          Key: { contentId },
          ConditionExpression: 'refCount = :zero AND #state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':zero': 0, ':pending': 'PENDING' },
        }),
      ),
    );
  }

  /**
   * A consistent scan of the contents table. The table holds one small item per distinct content
   * and the sweeper runs hourly, so a filtered scan costs little; a sparse index would need the
   * refCount reaching 0 to be visible to the writer, which DynamoDB's ADD does not offer.
   */
  async *sweepCandidates(): AsyncIterable<ContentRecord> {
    yield* this.scan<ContentRecord>({
      TableName: this.tables.contents,
      ConsistentRead: true,
      FilterExpression: '#state <> :ready OR refCount <= :zero',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':ready': 'READY', ':zero': 0 },
    });
  }

  /** The pending index is sparse (only waiting files carry its key), so scanning it is cheap. */
  async *stalePendingFiles(before: number): AsyncIterable<FileRecord> {
    for await (const item of this.scan<Record<string, unknown>>({
      TableName: this.tables.files,
      IndexName: PENDING_INDEX,
      FilterExpression: 'updatedAt < :before',
      ExpressionAttributeValues: { ':before': before },
    })) {
      yield toFile(item);
    }
  }

  private async *scan<T>(input: ScanCommandInput): AsyncIterable<T> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new ScanCommand({ ...input, ExclusiveStartKey: startKey }));
      for (const item of page.Items ?? []) yield item as T;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  dropPendingFile(file: FileRecord, now: number, staleBefore: number): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.tables.files,
                Key: { userId: file.userId, name: file.name },
                ConditionExpression:
                  '#state = :pending AND contentId = :content AND uploadId = :upload AND updatedAt < :staleBefore',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: {
                  ':pending': 'PENDING',
                  ':content': file.contentId,
                  ':upload': file.uploadId,
                  ':staleBefore': staleBefore,
                },
              },
            },
            {
              Update: {
                TableName: this.tables.contents,
                Key: { contentId: file.contentId },
                UpdateExpression: 'ADD refCount :minusOne SET updatedAt = :now',
                ConditionExpression: '#state = :pending AND (attribute_not_exists(attempt) OR attempt.leaseUntil < :now)',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':minusOne': -1, ':now': now, ':pending': 'PENDING' },
              },
            },
            ...this.optional(this.usageRelease(file.userId, file.size, now)),
          ],
        }),
      ),
    );
  }

  beginDelete(contentId: string, seenUpdatedAt: number, now: number): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.contents,
          Key: { contentId },
          UpdateExpression: 'SET #state = :deleting, updatedAt = :now',
          ConditionExpression: '#state = :ready AND refCount = :zero AND updatedAt = :seen',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':deleting': 'DELETING',
            ':ready': 'READY',
            ':zero': 0,
            ':seen': seenUpdatedAt,
            ':now': now,
          },
        }),
      ),
    );
  }

  deleteDeleting(contentId: string): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new DeleteCommand({
          TableName: this.tables.contents,
          Key: { contentId },
          ConditionExpression: '#state = :deleting',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':deleting': 'DELETING' },
        }),
      ),
    );
  }

  consumeChallenge(userId: string, nonce: string, expiresAt: number): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new PutCommand({
          TableName: this.tables.files,
          // Kept until the challenge expires (the table's TTL attribute), after which it is refused anyway.
          Item: { userId, name: `${RESERVED_NAME_PREFIX}challenge:${nonce}`, [TTL_ATTRIBUTE]: Math.ceil(expiresAt / 1000) },
          ConditionExpression: 'attribute_not_exists(userId)',
        }),
      ),
    );
  }
}
