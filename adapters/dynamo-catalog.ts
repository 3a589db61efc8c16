/**
 * The Catalog on two DynamoDB tables (docs/design.md §3).
 *
 * Invariant 2 (docs/design.md: refCount equals the counted files pointing at a content, usage the
 * user's counted files) holds because every change of a file's content or countedness happens in
 * one TransactWriteItems with the matching refCount and usage changes, conditioned on the state
 * that was read. A lost race surfaces as StaleWriteError.
 */
import { randomBytes } from 'node:crypto';
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
import {
  CONTENTS_TABLE,
  FILE_EVENTS,
  FILES_TABLE,
  FIRST_FILE_NAME,
  RESERVED_NAME_PREFIX,
  USAGE_ITEM_NAME,
} from '#deploy/definitions';
import { StaleWriteError } from '#domain/errors';
import { completedUpload, endedUpload, referenceChanges, usageChange } from '#domain/file-versions';
import type {
  Catalog,
  ChallengeKey,
  ChallengeLimits,
  ContentRecord,
  ContentState,
  FileOwner,
  FilePage,
  FileRecord,
  FileState,
  LinkChange,
  QuotaGuard,
  RenameChange,
  SweepCandidate,
  UploadAttempt,
  UploaderMark,
  Usage,
} from '#domain/ports';
import { type ContentionOptions, retryContention, writeFailureOf } from './dynamo-contention.ts';
import { decodeCursor, encodeCursor } from './list-cursor.ts';
import { isRenameMark, renameMarkName } from './rename-mark.ts';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const TTL_ATTRIBUTE = FILES_TABLE.timeToLiveAttribute ?? 'expiresAt';

const PENDING_INDEX = FILES_TABLE.indexes[0]?.indexName ?? 'pendingByContent';

const SWEEP_INDEX = CONTENTS_TABLE.indexes[0]?.indexName ?? 'sweepDue';

/** The sweep index's partitions: a content id's first hex digit (deploy/definitions.ts CONTENTS_TABLE). */
const SWEEP_SHARDS = [...'0123456789abcdef'];
const sweepShardOf = (contentId: string): string => contentId.charAt(0);

/** The attributes that mark a content due for the sweeper at `at` (docs/design.md §5). */
const sweepMark = (contentId: string, at: number) => ({ sweepShard: sweepShardOf(contentId), sweepAt: at });

/** A content item as the domain sees it: the sweep mark is this adapter's bookkeeping. */
function toContent(item: Record<string, unknown>): ContentRecord {
  const { sweepShard: _shard, sweepAt: _due, ...content } = item;
  return content as unknown as ContentRecord;
}

/** How many times a file change that reads before it writes tries again after losing a race. */
const FILE_CHANGE_ROUNDS = 3;

interface UsageDelta {
  readonly files: number;
  readonly bytes: number;
  readonly savedBytes?: number;
}

/**
 * A key condition, update, condition or filter expression with the values of its `:placeholders`.
 * Every `#name` in the text stands for the attribute `name` (as `state` is a reserved word).
 */
interface Expression {
  readonly text: string;
  readonly values: Readonly<Record<string, unknown>>;
}

const expression = (text: string, values: Record<string, unknown> = {}): Expression => ({ text, values });

/** One map of the parts' values; a placeholder bound to two different values is a bug. */
function valuesOf(parts: readonly Expression[]): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const [placeholder, value] of parts.flatMap((part) => Object.entries(part.values))) {
    if (placeholder in merged && merged[placeholder] !== value) {
      throw new Error(`expression placeholder ${placeholder} bound twice`);
    }
    merged[placeholder] = value;
  }
  return merged;
}

/** All parts hold. A part with OR is parenthesised, so that AND cannot bind into it. */
function allOf(...parts: Expression[]): Expression {
  return {
    text: parts.map(({ text }) => (/\sOR\s/i.test(text) ? `(${text})` : text)).join(' AND '),
    values: valuesOf(parts),
  };
}

type ExpressionField = 'KeyConditionExpression' | 'UpdateExpression' | 'ConditionExpression' | 'FilterExpression';

/**
 * The request fields for some expressions: each one's text, and the names and values of all
 * their placeholders (left out when there are none: DynamoDB refuses an empty map).
 */
function withExpressions<F extends ExpressionField>(
  fields: Record<F, Expression>,
): Record<F, string> & {
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  const entries = Object.entries<Expression>(fields);
  const texts = Object.fromEntries(entries.map(([field, { text }]) => [field, text])) as Record<F, string>;
  const names: Record<string, string> = {};
  for (const [, { text }] of entries) for (const [name, attribute = ''] of text.matchAll(/#(\w+)/g)) names[name] = attribute;
  const values = valuesOf(entries.map(([, part]) => part));
  return {
    ...texts,
    ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
  };
}

/**
 * The item is in `state`. The placeholder is named after the state (`:pending`), so that a SET of
 * another state can sit beside it.
 */
function stateIs(state: ContentState | FileState): Expression {
  const placeholder = `:${state.toLowerCase()}`;
  return expression(`#state = ${placeholder}`, { [placeholder]: state });
}

/** `attribute = :attribute`, for an attribute whose name is no reserved word. */
const equals = (attribute: string, value: unknown): Expression =>
  expression(`${attribute} = :${attribute}`, { [`:${attribute}`]: value });

/** No item exists under the key yet. */
const noItem = (partitionKey: 'userId' | 'contentId'): Expression => expression(`attribute_not_exists(${partitionKey})`);

const UNREFERENCED = expression('refCount = :zero', { ':zero': 0 });

/** A content that may have a proof upload (docs/design.md §4; QUARANTINED: a repair, §1). */
const STATE_WITH_PROOF_UPLOADS = expression('#state IN (:ready, :quarantined)', {
  ':ready': 'READY',
  ':quarantined': 'QUARANTINED',
});

/** A content that may have an attempt at all. */
const STATE_WITH_ATTEMPTS = expression('#state IN (:pending, :ready, :quarantined)', {
  ':pending': 'PENDING',
  ':ready': 'READY',
  ':quarantined': 'QUARANTINED',
});

/** A content's look at a proof challenge that is neither met nor failed yet (docs/design.md §4). */
const LOOK_IN_FLIGHT = expression('#state = :young', { ':young': 'young' });

/** The content's current upload attempt is this one. */
const attemptIs = (attemptId: string): Expression => expression('attempt.id = :attemptId', { ':attemptId': attemptId });

/** The lease of the content's current attempt is over. */
const leaseExpired = (now: number): Expression => expression('attempt.leaseUntil < :now', { ':now': now });

/** No upload attempt holds the content: none, or its lease is over. */
const noLiveAttempt = (now: number): Expression =>
  expression('attribute_not_exists(attempt) OR attempt.leaseUntil < :now', { ':now': now });

/** The file under its name is still exactly the one read. */
const unchanged = (file: FileRecord): Expression =>
  allOf(equals('uploadId', file.uploadId), stateIs(file.state), equals('contentId', file.contentId));

/** The file under its name still waits for this content, in the same upload. */
const stillPending = (owner: Pick<FileOwner, 'uploadId'>, contentId: string): Expression =>
  allOf(stateIs('PENDING'), equals('contentId', contentId), equals('uploadId', owner.uploadId));

/**
 * Growth of a user's bytes stays within the quota (DynamoDB conditions cannot add, so the limit
 * is precomputed), and the user's own quota is still the one the decision read.
 */
const withinQuota = (quota: QuotaGuard, growth: number): Expression =>
  allOf(
    expression('attribute_not_exists(#bytes) OR #bytes <= :limit', { ':limit': quota.maxBytes - growth }),
    quota.override === undefined
      ? expression('attribute_not_exists(quotaBytes)')
      : expression('quotaBytes = :override', { ':override': quota.override }),
  );

/**
 * A failed condition: the state read is stale. Contention (a transaction conflict, throttling) is
 * not one: the client retries it (dynamo-contention.ts) and past its tries it arrives here as a
 * ContentionError, which is thrown on, never read as a lost race's `false`.
 */
const isConditionFailure = (error: unknown): boolean => writeFailureOf(error) === 'condition';

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

export class DynamoCatalog implements Catalog {
  /** `options`: how contention is retried and counted on `db` (dynamo-contention.ts). */
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { readonly contents: string; readonly files: string },
    options: ContentionOptions = {},
  ) {
    retryContention(db, options);
  }

  async getContent(contentId: string): Promise<ContentRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.contents, Key: { contentId }, ConsistentRead: true }),
    );
    return Item ? toContent(Item) : undefined;
  }

  async getFile(userId: string, name: string): Promise<FileRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tables.files, Key: { userId, name }, ConsistentRead: true }),
    );
    return Item ? toFile(Item) : undefined;
  }

  async listFiles(userId: string, options: { prefix?: string; limit: number; cursor?: string }): Promise<FilePage> {
    const after = options.cursor ? decodeCursor(options.cursor, userId, options.prefix) : undefined;
    const { Items = [], LastEvaluatedKey } = await this.db.send(
      new QueryCommand({
        TableName: this.tables.files,
        ...withExpressions({
          // Reserved items (usage, answered challenges) sort before every file name.
          KeyConditionExpression: options.prefix
            ? expression('userId = :u AND begins_with(#name, :p)', { ':u': userId, ':p': options.prefix })
            : expression('userId = :u AND #name >= :first', { ':u': userId, ':first': FIRST_FILE_NAME }),
        }),
        Limit: options.limit,
        ExclusiveStartKey: after === undefined ? undefined : { userId, name: after },
      }),
    );
    return {
      files: Items.map(toFile),
      ...(LastEvaluatedKey ? { cursor: encodeCursor(userId, String(LastEvaluatedKey.name)) } : {}),
    };
  }

  async linkFile({ file, previous, content, quota, savedBytes }: LinkChange): Promise<void> {
    const now = file.updatedAt;
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tables.files,
          Item: fileItem(file),
          // Exactly the file we decided on is replaced, so its reference is released exactly once.
          ...withExpressions({
            ConditionExpression: previous
              ? allOf(equals('uploadId', previous.uploadId), stateIs(previous.state))
              : noItem('userId'),
          }),
        },
      },
    ];
    const references = referenceChanges(previous, file);
    const linked = references.get(file.contentId);
    references.delete(file.contentId);
    if (content.op === 'create') {
      // The new record's refCount counts the file already. Due for the sweeper at once: it looks
      // when the reservation may be abandoned (domain/sweeper.ts nextLook).
      items.push({
        Put: {
          TableName: this.tables.contents,
          Item: { ...content.record, ...sweepMark(content.record.contentId, content.record.createdAt) },
          ...withExpressions({ ConditionExpression: noItem('contentId') }),
        },
      });
    } else if (linked === 1) {
      // Requiring the state makes a link to a content being deleted impossible: invariant 3 (docs/design.md).
      items.push(this.referenceChange(file.contentId, 1, now, stateIs(content.requireState)));
    } else {
      // Referenced already (the same upload asked again): the state is required all the same.
      items.push({
        ConditionCheck: {
          TableName: this.tables.contents,
          Key: { contentId: file.contentId },
          ...withExpressions({ ConditionExpression: stateIs(content.requireState) }),
        },
      });
    }
    items.push(...this.referenceUpdates(references, now));
    const usage = this.usageUpdate(file.userId, { ...usageChange(previous, file), savedBytes: savedBytes ?? 0 }, now, quota);
    items.push(...this.optional(usage));
    await conditional(() => this.transact(items), 'link file');
  }

  /** The change of a user's usage item that goes into a file change's transaction; growth stays within the quota. */
  private usageUpdate(userId: string, delta: UsageDelta, now: number, quota?: QuotaGuard): TransactItem | undefined {
    if (delta.files === 0 && delta.bytes === 0 && !delta.savedBytes) return undefined;
    const update = expression('ADD #files :files, #bytes :bytes, savedBytes :saved SET updatedAt = :now', {
      ':files': delta.files,
      ':bytes': delta.bytes,
      ':saved': delta.savedBytes ?? 0,
      ':now': now,
    });
    return {
      Update: {
        TableName: this.tables.files,
        Key: { userId, name: USAGE_ITEM_NAME },
        ...(quota && delta.bytes > 0
          ? withExpressions({ UpdateExpression: update, ConditionExpression: withinQuota(quota, delta.bytes) })
          : withExpressions({ UpdateExpression: update })),
      },
    };
  }

  private optional(item: TransactItem | undefined): TransactItem[] {
    return item ? [item] : [];
  }

  /** What a file going away changes besides itself: its contents' references and its owner's usage. */
  private releaseFile(file: FileRecord | undefined, now: number): TransactItem[] {
    if (!file) return [];
    return [
      ...this.referenceUpdates(referenceChanges(file, undefined), now),
      ...this.optional(this.usageUpdate(file.userId, usageChange(file, undefined), now)),
    ];
  }

  /** One update per content; like a release, each only requires that the content exists (in any state). */
  private referenceUpdates(references: ReadonlyMap<string, number>, now: number): TransactItem[] {
    return [...references].map(([contentId, delta]) =>
      this.referenceChange(contentId, delta, now, expression('attribute_exists(contentId)')),
    );
  }

  /**
   * The items of a waiting file's change from `before` (as read) to `after` (absent: deleted),
   * conditioned on it still waiting in the same upload (and on `condition`), with the reference
   * and usage changes between the two. `release`, if given, is the update of the content the
   * upload waited for (with conditions of its own); it must release that content's reference.
   */
  private pendingFileChange(
    before: FileRecord,
    after: FileRecord | undefined,
    now: number,
    options: { readonly condition?: Expression; readonly release?: TransactItem } = {},
  ): TransactItem[] {
    const condition = allOf(stillPending(before, before.contentId), ...(options.condition ? [options.condition] : []));
    const key = { userId: before.userId, name: before.name };
    const fileWrite: TransactItem = after
      ? { Put: { TableName: this.tables.files, Item: fileItem(after), ...withExpressions({ ConditionExpression: condition }) } }
      : { Delete: { TableName: this.tables.files, Key: key, ...withExpressions({ ConditionExpression: condition }) } };
    const references = referenceChanges(before, after);
    if (options.release) references.delete(before.contentId);
    return [
      fileWrite,
      ...(options.release ? [options.release] : []),
      ...this.referenceUpdates(references, now),
      ...this.optional(this.usageUpdate(before.userId, usageChange(before, after), now)),
    ];
  }

  /**
   * The content update that adds or releases one reference (and may end its upload attempt), if
   * `condition` holds. A release marks the content due for the sweeper in the same write: it may
   * have left it unreferenced (docs/design.md §5), and nothing else could tell the sweeper so.
   */
  private referenceChange(
    contentId: string,
    delta: number,
    now: number,
    condition: Expression,
    options: { endAttempt?: boolean } = {},
  ): TransactItem {
    const mark = delta < 0 ? ', sweepShard = :sweepShard, sweepAt = :now' : '';
    return {
      Update: {
        TableName: this.tables.contents,
        Key: { contentId },
        ...withExpressions({
          UpdateExpression: expression(
            `${options.endAttempt ? 'REMOVE attempt ' : ''}ADD refCount :delta SET updatedAt = :now${mark}`,
            {
              ':delta': delta,
              ':now': now,
              ...(delta < 0 ? { ':sweepShard': sweepShardOf(contentId) } : {}),
            },
          ),
          ConditionExpression: condition,
        }),
      },
    };
  }

  private transact(items: TransactItem[]): Promise<unknown> {
    return this.db.send(new TransactWriteCommand({ TransactItems: items }));
  }

  async renameFile({ from, to, overwritten }: RenameChange): Promise<void> {
    const now = to.updatedAt;
    const items: TransactItem[] = [
      {
        Delete: {
          TableName: this.tables.files,
          Key: { userId: from.userId, name: from.name },
          // updatedAt too: the removed image must be the version the rename mark names.
          ...withExpressions({ ConditionExpression: allOf(unchanged(from), equals('updatedAt', from.updatedAt)) }),
        },
      },
      {
        Put: {
          TableName: this.tables.files,
          Item: fileItem(to),
          ...withExpressions({ ConditionExpression: overwritten ? unchanged(overwritten) : noItem('userId') }),
        },
      },
      {
        Put: {
          TableName: this.tables.files,
          Item: {
            userId: from.userId,
            name: renameMarkName(from),
            to: to.name,
            [TTL_ATTRIBUTE]: Math.ceil(now / 1000) + FILE_EVENTS.renameMarkSeconds,
          },
        },
      },
    ];
    items.push(...this.releaseFile(overwritten, now));
    await conditional(() => this.transact(items), 'rename file');
  }

  async renamedAway(file: FileRecord): Promise<boolean> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tables.files,
        Key: { userId: file.userId, name: renameMarkName(file) },
        // The mark was written with the removal: a consistent read sees it whenever the removal is seen.
        ConsistentRead: true,
        ProjectionExpression: 'userId',
      }),
    );
    return Item !== undefined;
  }

  async deleteFile(file: FileRecord, now: number): Promise<void> {
    const items: TransactItem[] = [
      {
        Delete: {
          TableName: this.tables.files,
          Key: { userId: file.userId, name: file.name },
          ...withExpressions({ ConditionExpression: unchanged(file) }),
        },
      },
      ...this.releaseFile(file, now),
    ];
    await conditional(() => this.transact(items), 'delete file');
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
        ...withExpressions({
          UpdateExpression:
            quotaBytes === undefined
              ? expression('REMOVE quotaBytes')
              : expression('SET quotaBytes = :quota', { ':quota': quotaBytes }),
        }),
      }),
    );
  }

  async deleteUserRecords(userId: string, haveTime: () => boolean = () => true): Promise<boolean> {
    if (await this.hasFiles(userId)) return false;
    // A file linked since the query counts in usage (its link's transaction wrote both), so the
    // condition refuses; one linked after the delete creates the item anew (ADD), counted.
    const usageGone = await attempted(() =>
      this.db.send(
        new DeleteCommand({
          TableName: this.tables.files,
          Key: { userId, name: USAGE_ITEM_NAME },
          ...withExpressions({
            ConditionExpression: allOf(
              expression('attribute_not_exists(#files) OR #files = :zero', { ':zero': 0 }),
              expression('attribute_not_exists(#bytes) OR #bytes = :zero', { ':zero': 0 }),
            ),
          }),
        }),
      ),
    );
    if (!usageGone) return false;
    for await (const item of this.reservedItemsOf(userId)) {
      const name = String(item.name);
      // The usage item went under its condition above: one here is a link's since (its ADD made
      // it anew, counting that file), which must stay. Rename marks stay until they expire (3
      // days): they hold an upload nonce and a time, no name, and the stream may still need them
      // to tell a rename's source from a delete (a retried or replayed record).
      if (name === USAGE_ITEM_NAME || isRenameMark(name)) continue;
      // Out of time: the usage item is gone (its condition holds again next time), the rest resumes.
      if (!haveTime()) return false;
      const challenge = this.challengeOfRecord(userId, name);
      if (challenge) await this.forgetLook(challenge);
      await this.db.send(new DeleteCommand({ TableName: this.tables.files, Key: { userId, name } }));
    }
    // A file linked while the records went is the user's still: not erased.
    return !(await this.hasFiles(userId));
  }

  /** Whether any file (in any state) is under the user's name, read consistently. */
  private async hasFiles(userId: string): Promise<boolean> {
    const { Items: files = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.tables.files,
        ConsistentRead: true,
        ...withExpressions({
          KeyConditionExpression: expression('userId = :u AND #name >= :first', { ':u': userId, ':first': FIRST_FILE_NAME }),
        }),
        Limit: 1,
      }),
    );
    return files.length > 0;
  }

  /** Every item under a reserved name (RESERVED_NAME_PREFIX, sorting before every file) in a user's partition. */
  private async *reservedItemsOf(userId: string): AsyncIterable<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await this.db.send(
        new QueryCommand({
          TableName: this.tables.files,
          ConsistentRead: true,
          ...withExpressions({
            KeyConditionExpression: expression('userId = :u AND #name < :first', { ':u': userId, ':first': FIRST_FILE_NAME }),
          }),
          ProjectionExpression: 'userId, #name',
          ExclusiveStartKey: start,
        }),
      );
      yield* Items;
      start = LastEvaluatedKey;
    } while (start);
  }

  /** The challenge a user's record is of (the inverse of challengeRecordKey), if the name is one's. */
  private challengeOfRecord(userId: string, name: string): ChallengeKey | undefined {
    const prefix = `${RESERVED_NAME_PREFIX}proof:`;
    if (!name.startsWith(prefix)) return undefined;
    const [contentId = '', size, period] = name.slice(prefix.length).split(':');
    return { userId, contentId, size: Number(size), period: Number(period) };
  }

  /**
   * The look of an erased user's challenge names them in the content's partition: it goes, and a
   * content count that counted it (in flight or failed) forgets it, as a met challenge's does.
   */
  private async forgetLook(key: ChallengeKey): Promise<void> {
    const { Attributes: look } = await this.db.send(
      new DeleteCommand({ TableName: this.tables.files, Key: this.lookKey(key), ReturnValues: 'ALL_OLD' }),
    );
    const contentCount = this.openCountKey(this.contentPartition(key.contentId), key.period);
    if (look?.state === 'young' || look?.state === 'failed') await this.uncount(contentCount, look.state);
  }

  async setAttempt(
    contentId: string,
    attempt: UploadAttempt,
    expectedAttemptId: string | undefined,
    options: { readonly ready?: boolean } = {},
  ): Promise<void> {
    await conditional(
      () =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tables.contents,
            Key: { contentId },
            ...withExpressions({
              UpdateExpression: expression('SET attempt = :attempt, updatedAt = :now', {
                ':attempt': attempt,
                ':now': Date.now(),
              }),
              // An attempt with the expected id is a PENDING content's, or a READY or QUARANTINED
              // one's proof upload (of a QUARANTINED one: a repair).
              ConditionExpression: expectedAttemptId
                ? allOf(attemptIs(expectedAttemptId), STATE_WITH_ATTEMPTS)
                : allOf(
                    options.ready ? STATE_WITH_PROOF_UPLOADS : stateIs('PENDING'),
                    expression('attribute_not_exists(attempt)'),
                  ),
            }),
          }),
        ),
      'set upload attempt',
    );
  }

  markReady(contentId: string, objectKey: string, now: number, size: number, uploader?: UploaderMark): Promise<boolean> {
    return this.updateContentIf(
      contentId,
      expression(
        `SET #state = :ready, objectKey = :key, #size = :size, updatedAt = :now${uploader ? ', uploader = :uploader' : ''} REMOVE attempt`,
        {
          ':ready': 'READY',
          ':key': objectKey,
          ':size': size,
          ':now': now,
          ...(uploader ? { ':uploader': { uploadId: uploader.uploadId } } : {}),
        },
      ),
      stateIs('PENDING'),
    );
  }

  /** Updates a content item only if `condition` holds: false if it did not. */
  private updateContentIf(contentId: string, update: Expression, condition: Expression): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.contents,
          Key: { contentId },
          ...withExpressions({ UpdateExpression: update, ConditionExpression: condition }),
        }),
      ),
    );
  }

  /** Deletes a content item only if `condition` holds: false if it did not. */
  private deleteContentIf(contentId: string, condition: Expression): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new DeleteCommand({
          TableName: this.tables.contents,
          Key: { contentId },
          ...withExpressions({ ConditionExpression: condition }),
        }),
      ),
    );
  }

  quarantine(contentId: string, objectKey: string, now: number): Promise<boolean> {
    return this.updateContentIf(
      contentId,
      expression('SET #state = :quarantined, updatedAt = :now', { ':quarantined': 'QUARANTINED', ':now': now }),
      allOf(stateIs('READY'), equals('objectKey', objectKey)),
    );
  }

  repairQuarantined(contentId: string, badKey: string, attemptId: string, verifiedKey: string, now: number): Promise<boolean> {
    return this.updateContentIf(
      contentId,
      // Due for the sweeper at once: a QUARANTINED content was off the index (deferSweep), and its
      // last reference may have gone while it was, which would leave it READY and never collected.
      expression(
        'SET #state = :ready, objectKey = :verified, updatedAt = :now, sweepShard = :sweepShard, sweepAt = :now REMOVE attempt',
        { ':ready': 'READY', ':verified': verifiedKey, ':now': now, ':sweepShard': sweepShardOf(contentId) },
      ),
      allOf(stateIs('QUARANTINED'), equals('objectKey', badKey), attemptIs(attemptId)),
    );
  }

  async completeFile(owner: FileOwner, contentId: string, now: number): Promise<boolean> {
    // Most files replace nothing: one conditional update, with no read before it.
    if (await this.completeAlone(owner, contentId, now)) return true;
    for (let round = 0; round < FILE_CHANGE_ROUNDS; round++) {
      const file = await this.getFile(owner.userId, owner.name);
      if (file?.state !== 'PENDING' || file.contentId !== contentId || file.uploadId !== owner.uploadId) return false;
      // A replacement releases the version it replaced in the same write (file-versions.ts).
      const completed = file.previous
        ? await attempted(() => this.transact(this.pendingFileChange(file, completedUpload(file, now), now)))
        : await this.completeAlone(owner, contentId, now);
      if (completed) return true;
    }
    return false;
  }

  /** A file that replaced nothing (no `previous` to release) completes with a single update. */
  private completeAlone(owner: FileOwner, contentId: string, now: number): Promise<boolean> {
    return attempted(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.files,
          Key: { userId: owner.userId, name: owner.name },
          ...withExpressions({
            UpdateExpression: expression('SET #state = :complete, updatedAt = :now REMOVE pendingContentId', {
              ':complete': 'COMPLETE',
              ':now': now,
            }),
            ConditionExpression: allOf(stillPending(owner, contentId), expression('attribute_not_exists(previous)')),
          }),
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
          ...withExpressions({ KeyConditionExpression: equals('pendingContentId', contentId) }),
          ExclusiveStartKey: startKey,
        }),
      );
      files.push(...(page.Items ?? []).map(toFile));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return files;
  }

  /**
   * Only a failed condition sends it round again, after reading what changed: the owner file
   * (replaced meanwhile: its reference is released already, so the attempt just ends) or the
   * attempt (ended or replaced: not this upload's to fail any more; renewed or shared: the same
   * upload under a new id, failed as it is now). Contention is no such sign: it is retried by the
   * client and, if it persists, thrown, so that the event is retried rather than the file left
   * PENDING and counted without an attempt.
   */
  async failAttempt(contentId: string, attempt: UploadAttempt, failure: string, now: number): Promise<void> {
    const { owner } = attempt;
    let current = attempt;
    for (let round = 0; round < FILE_CHANGE_ROUNDS; round++) {
      const file = await this.getFile(owner.userId, owner.name);
      if (file?.state !== 'PENDING' || file.contentId !== contentId || file.uploadId !== owner.uploadId) {
        await this.endAttempt(contentId, current.id, now);
        return;
      }
      const release = this.referenceChange(contentId, -1, now, attemptIs(current.id), { endAttempt: true });
      const change = this.pendingFileChange(file, endedUpload(file, now, failure), now, { release });
      if (await attempted(() => this.transact(change))) return;
      const latest = (await this.getContent(contentId))?.attempt;
      if (latest?.objectKey !== attempt.objectKey) return;
      current = latest;
    }
    throw new StaleWriteError('fail attempt: its file and attempt kept changing; the event will be retried');
  }

  endAttempt(contentId: string, attemptId: string, now: number, options: { onlyIfExpired?: boolean } = {}): Promise<boolean> {
    return this.updateContentIf(
      contentId,
      expression('REMOVE attempt SET updatedAt = :now', { ':now': now }),
      options.onlyIfExpired ? allOf(attemptIs(attemptId), leaseExpired(now)) : attemptIs(attemptId),
    );
  }

  failPendingFile(file: FileRecord, failure: string, now: number): Promise<boolean> {
    return attempted(() => this.transact(this.pendingFileChange(file, endedUpload(file, now, failure), now)));
  }

  cancelPendingFile(file: FileRecord, now: number): Promise<boolean> {
    return attempted(() => this.transact(this.pendingFileChange(file, endedUpload(file, now, undefined), now)));
  }

  deleteUnreferencedPending(contentId: string): Promise<boolean> {
    return this.deleteContentIf(contentId, allOf(UNREFERENCED, stateIs('PENDING')));
  }

  /**
   * The due entries of the sparse sweep index, shard by shard, oldest first, each item then read
   * consistently (the index is eventually consistent and keys only): two reads per candidate,
   * none for any other content. Every release marks its content in the same transaction (a
   * conditional ADD cannot tell the writer the count reached 0, so it marks on every release and
   * the sweeper clears the mark lazily: deferSweep).
   */
  async *sweepCandidates(now: number): AsyncIterable<SweepCandidate> {
    for (const shard of SWEEP_SHARDS) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.tables.contents,
            IndexName: SWEEP_INDEX,
            ...withExpressions({
              KeyConditionExpression: expression('sweepShard = :shard AND sweepAt <= :now', { ':shard': shard, ':now': now }),
            }),
            ExclusiveStartKey: startKey,
          }),
        );
        for (const key of page.Items ?? []) {
          const { Item } = await this.db.send(
            new GetCommand({ TableName: this.tables.contents, Key: { contentId: key.contentId }, ConsistentRead: true }),
          );
          // Gone, or its mark moved or cleared since the index was read: not due (any more).
          if (typeof Item?.sweepAt !== 'number' || Item.sweepAt > now) continue;
          yield { content: toContent(Item), due: Item.sweepAt };
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
  }

  deferSweep(contentId: string, seenDue: number, until: number | undefined): Promise<boolean> {
    const markUnchanged = expression('sweepAt = :seenDue', { ':seenDue': seenDue });
    if (until !== undefined) {
      return this.updateContentIf(contentId, expression('SET sweepAt = :until', { ':until': until }), markUnchanged);
    }
    return this.updateContentIf(
      contentId,
      expression('REMOVE sweepShard, sweepAt'),
      // Never off the index while unreferenced: the sweeper would not see it again.
      allOf(
        markUnchanged,
        expression('#state = :quarantined OR (#state = :ready AND refCount > :zero)', {
          ':quarantined': 'QUARANTINED',
          ':ready': 'READY',
          ':zero': 0,
        }),
      ),
    );
  }

  /** The pending index is sparse (only waiting files carry its key), so scanning it is cheap. */
  async *stalePendingFiles(before: number): AsyncIterable<FileRecord> {
    for await (const item of this.scan<Record<string, unknown>>({
      TableName: this.tables.files,
      IndexName: PENDING_INDEX,
      ...withExpressions({ FilterExpression: expression('updatedAt < :before', { ':before': before }) }),
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
    // The content must still be idle: the sweeper never drops a moving upload.
    const release = this.referenceChange(file.contentId, -1, now, allOf(STATE_WITH_ATTEMPTS, noLiveAttempt(now)));
    const condition = expression('updatedAt < :staleBefore', { ':staleBefore': staleBefore });
    return attempted(() =>
      this.transact(this.pendingFileChange(file, endedUpload(file, now, undefined), now, { condition, release })),
    );
  }

  beginDelete(contentId: string, seenUpdatedAt: number, now: number): Promise<boolean> {
    return this.updateContentIf(
      contentId,
      expression('SET #state = :deleting, updatedAt = :now', { ':deleting': 'DELETING', ':now': now }),
      allOf(stateIs('READY'), UNREFERENCED, expression('updatedAt = :seen', { ':seen': seenUpdatedAt })),
    );
  }

  deleteDeleting(contentId: string): Promise<boolean> {
    return this.deleteContentIf(contentId, stateIs('DELETING'));
  }

  consumeChallenge(userId: string, nonce: string, expiresAt: number): Promise<boolean> {
    // Kept until the challenge expires (the table's TTL attribute), after which it is refused anyway.
    return this.createOnce({
      userId,
      name: `${RESERVED_NAME_PREFIX}challenge:${nonce}`,
      [TTL_ATTRIBUTE]: Math.ceil(expiresAt / 1000),
    });
  }

  /**
   * Creates `item` if no item has its key: true if this call created it. The item carries a
   * token of this call, and the condition lets the same token through: the SDK resends a request
   * whose answer it lost (a reset connection, a 5xx), and that resend must not read this call's
   * own first write as another's, a lost race (the first of two concurrent calls would then
   * report false, like the second).
   */
  private createOnce(item: Record<string, unknown>): Promise<boolean> {
    const writer = randomBytes(16).toString('hex');
    return attempted(() =>
      this.db.send(
        new PutCommand({
          TableName: this.tables.files,
          Item: { ...item, writer },
          ...withExpressions({
            ConditionExpression: expression('attribute_not_exists(userId) OR #writer = :writer', { ':writer': writer }),
          }),
        }),
      ),
    );
  }

  /**
   * Plain conditional updates, not a transaction: many users answering for one content at once
   * would make transactions on its count conflict. The counts go up before the challenge is
   * recorded, so that a crash in between can only over-count (until the period ends), never let
   * a look go uncounted; a loser of a race takes its increments back.
   */
  async openChallenge(
    key: ChallengeKey,
    limits: ChallengeLimits,
    now: number,
    expiresAt: number,
  ): Promise<'opened' | 'open' | 'busy' | 'limited'> {
    const record = this.challengeRecordKey(key);
    // Each step's calls run at once: three round trips for a first issue, one for another.
    const [{ Item }] = await Promise.all([
      this.db.send(new GetCommand({ TableName: this.tables.files, Key: record, ConsistentRead: true })),
      this.failStaleLooks(key, limits.staleBefore),
    ]);
    if (Item) return 'open';
    const ttl = Math.ceil(expiresAt / 1000);
    const userCount = this.openCountKey(key.userId, key.period);
    const contentCount = this.openCountKey(this.contentPartition(key.contentId), key.period);
    const [countedUser, countedLook] = await Promise.all([
      attempted(() =>
        this.addTo(
          userCount,
          { open: 1 },
          ttl,
          expression('attribute_not_exists(#open) OR #open < :limit', { ':limit': limits.perUser }),
        ),
      ),
      attempted(() =>
        this.addTo(
          contentCount,
          { young: 1 },
          ttl,
          allOf(
            expression('attribute_not_exists(#young) OR #young < :inFlight', { ':inFlight': limits.inFlightPerContent }),
            expression('attribute_not_exists(#failed) OR #failed < :failed', { ':failed': limits.failedPerContent }),
          ),
        ),
      ),
    ]);
    if (!countedUser || !countedLook) {
      await Promise.all([
        countedUser ? this.uncount(userCount, 'open') : undefined,
        countedLook ? this.uncount(contentCount, 'young') : undefined,
      ]);
      if (!countedUser) return 'limited';
      const { Item: counts } = await this.db.send(
        new GetCommand({ TableName: this.tables.files, Key: contentCount, ConsistentRead: true }),
      );
      return Number(counts?.failed ?? 0) >= limits.failedPerContent ? 'limited' : 'busy';
    }
    // A crash between the two leaves one without the other: either can only over-count.
    // The look alone decides who opened the challenge. Two requests of the user put both items
    // at once, so each may win one of them: deciding by both answered 'open' to both (about one
    // pair in ten on DynamoDB Local), and nobody owned the counts kept. The record is the same
    // item whoever writes it.
    const [looked] = await Promise.all([
      this.createOnce({ ...this.lookKey(key), openedAt: now, state: 'young', [TTL_ATTRIBUTE]: ttl }),
      this.createOnce({ ...record, answers: 0, met: false, [TTL_ATTRIBUTE]: ttl }),
    ]);
    if (!looked) {
      // Opened concurrently by another request of the same user: that one counted it.
      await Promise.all([this.uncount(userCount, 'open'), this.uncount(contentCount, 'young')]);
      return 'open';
    }
    return 'opened';
  }

  /** The content's looks still in flight but opened before `staleBefore` fail: each once. */
  private async failStaleLooks(key: ChallengeKey, staleBefore: number): Promise<void> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.tables.files,
        ConsistentRead: true,
        ...withExpressions({
          KeyConditionExpression: expression('userId = :partition AND begins_with(#name, :looks)', {
            ':partition': this.contentPartition(key.contentId),
            ':looks': `${RESERVED_NAME_PREFIX}look:${key.period}:`,
          }),
          FilterExpression: allOf(LOOK_IN_FLIGHT, expression('openedAt < :before', { ':before': staleBefore })),
        }),
      }),
    );
    const contentCount = this.openCountKey(this.contentPartition(key.contentId), key.period);
    for (const item of Items) {
      const failed = await attempted(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tables.files,
            Key: { userId: item.userId, name: item.name },
            ...withExpressions({
              UpdateExpression: expression('SET #state = :failed', { ':failed': 'failed' }),
              ConditionExpression: LOOK_IN_FLIGHT,
            }),
          }),
        ),
      );
      if (failed) await this.addTo(contentCount, { young: -1, failed: 1 }, undefined, expression('attribute_exists(userId)'));
    }
  }

  async countAnswer(key: ChallengeKey, maxAnswers: number): Promise<'counted' | 'limited' | 'unopened'> {
    const record = this.challengeRecordKey(key);
    const counted = await attempted(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.files,
          Key: record,
          ...withExpressions({
            UpdateExpression: expression('ADD #answers :one', { ':one': 1 }),
            ConditionExpression: allOf(
              expression('attribute_exists(userId)'),
              expression('#met = :true OR #answers < :max', { ':true': true, ':max': maxAnswers }),
            ),
          }),
        }),
      ),
    );
    if (counted) return 'counted';
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tables.files, Key: record, ConsistentRead: true }));
    return Item ? 'limited' : 'unopened';
  }

  async closeChallenge(key: ChallengeKey): Promise<boolean> {
    const closed = await attempted(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.files,
          Key: this.challengeRecordKey(key),
          ...withExpressions({
            UpdateExpression: expression('SET #met = :true', { ':true': true }),
            ConditionExpression: allOf(expression('attribute_exists(userId)'), expression('#met = :false', { ':false': false })),
          }),
        }),
      ),
    );
    if (!closed) return false;
    const [{ Attributes: look }] = await Promise.all([
      this.db.send(new DeleteCommand({ TableName: this.tables.files, Key: this.lookKey(key), ReturnValues: 'ALL_OLD' })),
      this.uncount(this.openCountKey(key.userId, key.period), 'open'),
    ]);
    const contentCount = this.openCountKey(this.contentPartition(key.contentId), key.period);
    if (look?.state === 'young' || look?.state === 'failed') await this.uncount(contentCount, look.state);
    return true;
  }

  /**
   * Proof bookkeeping lives in the Files table under reserved names (docs/design.md §3): the
   * challenge and the user's open count in the user's partition; the content's counts and its
   * unmet looks in a partition of its own, `\u0000content:<contentId>` (no user id has a control
   * character), so that one query finds the looks to fail.
   */
  private challengeRecordKey(key: ChallengeKey) {
    return { userId: key.userId, name: `${RESERVED_NAME_PREFIX}proof:${key.contentId}:${key.size}:${key.period}` };
  }

  private contentPartition(contentId: string): string {
    return `${RESERVED_NAME_PREFIX}content:${contentId}`;
  }

  private lookKey(key: ChallengeKey) {
    return {
      userId: this.contentPartition(key.contentId),
      name: `${RESERVED_NAME_PREFIX}look:${key.period}:${key.size}:${key.userId}`,
    };
  }

  private openCountKey(partition: string, period: number) {
    return { userId: partition, name: `${RESERVED_NAME_PREFIX}proofs:${period}` };
  }

  /** ADDs `deltas` to a count (and sets its expiry, if given) under `condition`. */
  private addTo(
    counter: { userId: string; name: string },
    deltas: Record<string, number>,
    ttl: number | undefined,
    condition: Expression,
  ): Promise<unknown> {
    const adds = Object.entries(deltas).map(([name, delta]) => ({
      text: `#${name} :${name}Delta`,
      value: [`:${name}Delta`, delta] as const,
    }));
    const update = expression(
      `ADD ${adds.map((add) => add.text).join(', ')}${ttl === undefined ? '' : ` SET #${TTL_ATTRIBUTE} = :ttl`}`,
      Object.fromEntries([...adds.map((add) => add.value), ...(ttl === undefined ? [] : [[':ttl', ttl]])]),
    );
    return this.db.send(
      new UpdateCommand({
        TableName: this.tables.files,
        Key: counter,
        ...withExpressions({ UpdateExpression: update, ConditionExpression: condition }),
      }),
    );
  }

  /** One fewer in a count; never creates one (it would have no expiry). */
  private async uncount(counter: { userId: string; name: string }, attribute: 'open' | 'young' | 'failed'): Promise<void> {
    await attempted(() => this.addTo(counter, { [attribute]: -1 }, undefined, expression('attribute_exists(userId)')));
  }
}
