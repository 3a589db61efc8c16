/**
 * The Catalog in memory, with the semantics of DynamoCatalog (adapters/dynamo-catalog.ts): every
 * condition of its conditional writes, the same StaleWriteError or boolean answer on a lost race,
 * refCount and usage changes in the same change as the file, the same listing order and cursors.
 * test/contract/catalog-contract.ts holds both to one specification.
 *
 * Atomicity: each write checks every condition and then applies every change with no `await` in
 * between, so on the JavaScript event loop it is as atomic as a DynamoDB transaction. Arguments
 * are copied when a method is called (DynamoDB serialises them when the request is sent) and
 * records are copied in and out, so no caller can change what is stored behind the store's back.
 *
 * Known differences from DynamoDB, none of which the domain relies on:
 * - the pending index and its scans are strongly consistent here, eventually consistent there;
 * - no TransactionConflict: concurrent transactions on the same items never fail spuriously;
 * - no 1 MB page limit on listings;
 * - files, usage items and answered challenges live in separate maps, so a reserved name
 *   (`\u0000…`, refused at the HTTP edge) is never mistaken for a file;
 * - answered challenges and the proof ledger (open challenges, their answers and counts) are
 *   kept for the store's lifetime (DynamoDB's TTL removes them some time after they expire; an
 *   expired challenge is refused by the domain either way, and each period has its own counts);
 * - openChallenge is atomic here; DynamoCatalog counts before it records, so a crash in between
 *   over-counts by one until the period ends, and a content's looks are found by scanning;
 * - setAttempt stamps `updatedAt` from the `clock` option (DynamoCatalog: always the wall clock).
 */
import { FILE_EVENTS } from '#deploy/definitions';
import { StaleWriteError } from '#domain/errors';
import { completedUpload, endedUpload, referenceChanges, usageChange } from '#domain/file-versions';
import type {
  Catalog,
  ChallengeKey,
  ChallengeLimits,
  ContentRecord,
  FileOwner,
  FilePage,
  FileRecord,
  LinkChange,
  QuotaGuard,
  RenameChange,
  SweepCandidate,
  UploadAttempt,
  UploaderMark,
  Usage,
} from '#domain/ports';
import { decodeCursor, encodeCursor } from './list-cursor.ts';
import { renameMarkName } from './rename-mark.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The usage item as DynamoDB holds it: ADD creates each counter on first use, setQuota may create the item alone. */
interface UsageItem {
  files?: number;
  bytes?: number;
  savedBytes?: number;
  quotaBytes?: number;
  updatedAt?: number;
}

interface UsageDelta {
  readonly files: number;
  readonly bytes: number;
  readonly savedBytes?: number;
}

/** A change that passed its checks: applied only once every check of the same write passed. */
type Apply = () => void;

export interface MemoryCatalogOptions {
  /**
   * The clock `setAttempt` stamps `updatedAt` with. The port gives setAttempt no `now`, and
   * DynamoCatalog uses the wall clock there; tests with an injected clock pass the same clock.
   */
  readonly clock?: () => number;
  /**
   * Runs before each write's checks, named by method: a test may throw here to inject a fault,
   * or await to let a competing change land between the domain's read and its write.
   */
  readonly beforeWrite?: (method: string) => void | Promise<void>;
}

function withoutUndefined(value: unknown): unknown {
  // Binary attributes (an attempt's block digests) are kept as they are.
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .map(([key, field]) => [key, withoutUndefined(field)]),
  );
}

/** A copy to keep: DynamoDB drops undefined attributes, nested ones too (removeUndefinedValues). */
function stored<T extends object>(value: T): T {
  return withoutUndefined(value) as T;
}

/** DynamoDB orders string sort keys by their UTF-8 bytes, not by UTF-16 code units as `<` does. */
const renameMarkId = (file: FileRecord): string => `${file.userId}\u0000${renameMarkName(file)}`;

function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const challengeId = (key: ChallengeKey): string => JSON.stringify([key.userId, key.contentId, key.size, key.period]);

function stale(what: string): StaleWriteError {
  return new StaleWriteError(`${what}: state changed concurrently`);
}

export class MemoryCatalog implements Catalog {
  private readonly contents = new Map<string, ContentRecord>();
  /** Contents due for the sweeper, and since when (DynamoCatalog's sparse `sweepDue` index). */
  private readonly sweepMarks = new Map<string, number>();
  /** userId → name → file. */
  private readonly files = new Map<string, Map<string, FileRecord>>();
  private readonly usage = new Map<string, UsageItem>();
  /** `${userId}\u0000${nonce}` of every answered challenge. */
  private readonly challenges = new Set<string>();
  /**
   * Every opened proof challenge (challengeId): its answers, whether it was met, and how its
   * content counts it until then (in flight, or failed); open counts by `${userId}\u0000${period}`.
   */
  private readonly challengeLedger = new Map<
    string,
    { answers: number; met: boolean; look: { openedAt: number; state: 'young' | 'failed' } }
  >();
  private readonly openByUser = new Map<string, number>();
  /**
   * `${userId}\u0000${renameMarkName(from)}` of every version a rename moved away (DynamoCatalog's
   * reserved mark items), with the epoch ms after which it is gone.
   */
  private readonly renameMarks = new Map<string, number>();
  private readonly clock: () => number;
  private readonly beforeWrite: (method: string) => void | Promise<void>;

  constructor(options: MemoryCatalogOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.beforeWrite = options.beforeWrite ?? (() => undefined);
  }

  // Reads.

  async getContent(contentId: string): Promise<ContentRecord | undefined> {
    const content = this.contents.get(contentId);
    return content && structuredClone(content);
  }

  async getFile(userId: string, name: string): Promise<FileRecord | undefined> {
    const file = this.fileAt(userId, name);
    return file && structuredClone(file);
  }

  async listFiles(userId: string, options: { prefix?: string; limit: number; cursor?: string }): Promise<FilePage> {
    const after = options.cursor ? decodeCursor(options.cursor, userId, options.prefix) : undefined;
    // DynamoDB refuses a Limit below 1 rather than returning an empty page.
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new Error('listFiles: limit must be a positive integer');
    const { prefix } = options;
    const names = [...(this.files.get(userId)?.keys() ?? [])]
      .filter((name) => (prefix ? name.startsWith(prefix) : true))
      .filter((name) => after === undefined || compareKeys(name, after) > 0)
      .sort(compareKeys);
    const page = names.slice(0, options.limit);
    const files = page.flatMap((name) => {
      const file = this.fileAt(userId, name);
      return file ? [structuredClone(file)] : [];
    });
    // Like a DynamoDB Query, a page that reached its limit carries a cursor even when it is the last.
    const last = page.length === options.limit ? page[page.length - 1] : undefined;
    return { files, ...(last !== undefined ? { cursor: encodeCursor(userId, last) } : {}) };
  }

  async getUsage(userId: string): Promise<Usage> {
    const item = this.usage.get(userId) ?? {};
    return {
      files: item.files ?? 0,
      bytes: item.bytes ?? 0,
      savedBytes: item.savedBytes ?? 0,
      ...(item.quotaBytes !== undefined ? { quotaBytes: item.quotaBytes } : {}),
    };
  }

  async pendingFiles(contentId: string): Promise<FileRecord[]> {
    return this.allFiles()
      .filter((file) => file.state === 'PENDING' && file.contentId === contentId)
      .map((file) => structuredClone(file));
  }

  // The sweeper's scans: a snapshot when the scan starts, as a scan's first page is.

  /** Like DynamoCatalog's sweep index: marks set on reservation and on every release, oldest due first. */
  async *sweepCandidates(now: number): AsyncIterable<SweepCandidate> {
    const due = [...this.sweepMarks].filter(([, at]) => at <= now).sort(([, a], [, b]) => a - b);
    for (const [contentId] of due) {
      const content = this.contents.get(contentId);
      const at = this.sweepMarks.get(contentId);
      // The record went (its index entry with it), or its mark moved since: not due any more.
      if (!content) this.sweepMarks.delete(contentId);
      if (!content || at === undefined || at > now) continue;
      yield { content: structuredClone(content), due: at };
    }
  }

  async deferSweep(contentId: string, seenDue: number, until: number | undefined): Promise<boolean> {
    await this.beforeWrite('deferSweep');
    const content = this.contents.get(contentId);
    if (!content || this.sweepMarks.get(contentId) !== seenDue) return false;
    if (until !== undefined) {
      this.sweepMarks.set(contentId, until);
      return true;
    }
    // Never off the index while unreferenced: the sweeper would not see it again.
    const clearable = content.state === 'QUARANTINED' || (content.state === 'READY' && content.refCount > 0);
    if (clearable) this.sweepMarks.delete(contentId);
    return clearable;
  }

  async *stalePendingFiles(before: number): AsyncIterable<FileRecord> {
    const files = this.allFiles().filter((file) => file.state === 'PENDING' && file.updatedAt < before);
    for (const file of structuredClone(files)) yield file;
  }

  // File changes, each one transaction with its references and usage: invariant 2 (docs/design.md).

  async linkFile(change: LinkChange): Promise<void> {
    const { file, previous, content, quota, savedBytes } = structuredClone(change);
    await this.beforeWrite('linkFile');
    const now = file.updatedAt;
    const changes: Apply[] = [];
    const current = this.fileAt(file.userId, file.name);
    // Exactly the file the caller decided on is replaced, so its reference is released exactly once.
    const expected = previous ? current?.uploadId === previous.uploadId && current.state === previous.state : !current;
    if (!expected) throw stale('link file');
    changes.push(() => this.putFile(file));

    const references = referenceChanges(previous, file);
    const target = this.contents.get(file.contentId);
    if (content.op === 'create') {
      if (target) throw stale('link file');
      // The new record's refCount counts the file already.
      references.delete(file.contentId);
      changes.push(() => {
        this.contents.set(file.contentId, stored(content.record));
        this.sweepMarks.set(file.contentId, content.record.createdAt);
      });
    } else if (target?.state !== content.requireState) {
      // Requiring the state makes a link to a content being deleted impossible: invariant 3 (docs/design.md).
      throw stale('link file');
    }
    changes.push(...this.referenceUpdates(references, now, 'link file'));
    const delta = { ...usageChange(previous, file), savedBytes: savedBytes ?? 0 };
    changes.push(this.usageUpdate(file.userId, delta, now, 'link file', quota));
    for (const apply of changes) apply();
  }

  async renameFile(change: RenameChange): Promise<void> {
    const { from, to, overwritten } = structuredClone(change);
    await this.beforeWrite('renameFile');
    if (from.userId === to.userId && from.name === to.name) {
      // DynamoDB refuses a transaction that touches one item twice (a ValidationException, not a lost race).
      throw new Error('renameFile: a file cannot be renamed onto itself');
    }
    const now = to.updatedAt;
    const changes: Apply[] = [];
    this.checkUnchanged(from, 'rename file');
    if (this.fileAt(from.userId, from.name)?.updatedAt !== from.updatedAt) throw stale('rename file');
    changes.push(() => this.removeFile(from.userId, from.name));
    changes.push(() => this.renameMarks.set(renameMarkId(from), now + FILE_EVENTS.renameMarkSeconds * 1000));
    if (overwritten) this.checkUnchanged({ ...overwritten, userId: to.userId, name: to.name }, 'rename file');
    else if (this.fileAt(to.userId, to.name)) throw stale('rename file');
    changes.push(() => this.putFile(to));
    changes.push(...this.releaseFile(overwritten, now, 'rename file'));
    for (const apply of changes) apply();
  }

  async renamedAway(file: FileRecord): Promise<boolean> {
    const until = this.renameMarks.get(renameMarkId(file));
    return until !== undefined && until > this.clock();
  }

  async deleteFile(file: FileRecord, now: number): Promise<void> {
    const read = structuredClone(file);
    await this.beforeWrite('deleteFile');
    this.checkUnchanged(read, 'delete file');
    const changes: Apply[] = [() => this.removeFile(read.userId, read.name), ...this.releaseFile(read, now, 'delete file')];
    for (const apply of changes) apply();
  }

  async setQuota(userId: string, quotaBytes: number | undefined): Promise<void> {
    await this.beforeWrite('setQuota');
    // Like an unconditional UpdateItem: creates the usage item if there is none.
    const item = this.usage.get(userId) ?? {};
    if (quotaBytes === undefined) delete item.quotaBytes;
    else item.quotaBytes = quotaBytes;
    this.usage.set(userId, item);
  }

  async deleteUserRecords(userId: string): Promise<boolean> {
    await this.beforeWrite('deleteUserRecords');
    const usage = this.usage.get(userId);
    if ((this.files.get(userId)?.size ?? 0) > 0 || (usage?.files ?? 0) !== 0 || (usage?.bytes ?? 0) !== 0) return false;
    this.usage.delete(userId);
    for (const key of this.challenges) if (key.startsWith(`${userId}\u0000`)) this.challenges.delete(key);
    // A content's counts are its looks here: the erased user's go with their challenges.
    for (const id of this.challengeLedger.keys()) if ((JSON.parse(id) as [string])[0] === userId) this.challengeLedger.delete(id);
    for (const key of this.openByUser.keys()) if (key.startsWith(`${userId}\u0000`)) this.openByUser.delete(key);
    // Rename marks stay until they expire, as DynamoCatalog's: no name in them, and the stream may still need them.
    return true;
  }

  async consumeChallenge(userId: string, nonce: string, _expiresAt: number): Promise<boolean> {
    await this.beforeWrite('consumeChallenge');
    const key = `${userId}\u0000${nonce}`;
    if (this.challenges.has(key)) return false;
    this.challenges.add(key);
    return true;
  }

  async openChallenge(
    key: ChallengeKey,
    limits: ChallengeLimits,
    now: number,
    _expiresAt: number,
  ): Promise<'opened' | 'open' | 'busy' | 'limited'> {
    await this.beforeWrite('openChallenge');
    const id = challengeId(key);
    if (this.challengeLedger.has(id)) return 'open';
    const looks = this.contentLooks(key);
    for (const look of looks) if (look.state === 'young' && look.openedAt < limits.staleBefore) look.state = 'failed';
    const userCount = `${key.userId}\u0000${key.period}`;
    const user = this.openByUser.get(userCount) ?? 0;
    const count = (state: 'young' | 'failed') => looks.filter((look) => look.state === state).length;
    if (user >= limits.perUser || count('failed') >= limits.failedPerContent) return 'limited';
    if (count('young') >= limits.inFlightPerContent) return 'busy';
    this.openByUser.set(userCount, user + 1);
    this.challengeLedger.set(id, { answers: 0, met: false, look: { openedAt: now, state: 'young' } });
    return 'opened';
  }

  /** The unmet challenges of key's content in key's period. */
  private contentLooks(key: ChallengeKey): { openedAt: number; state: 'young' | 'failed' }[] {
    const looks = [];
    for (const [id, record] of this.challengeLedger) {
      const [, contentId, , period] = JSON.parse(id) as [string, string, number, number];
      if (contentId === key.contentId && period === key.period && !record.met) looks.push(record.look);
    }
    return looks;
  }

  async countAnswer(key: ChallengeKey, maxAnswers: number): Promise<'counted' | 'limited' | 'unopened'> {
    await this.beforeWrite('countAnswer');
    const record = this.challengeLedger.get(challengeId(key));
    if (!record) return 'unopened';
    if (!record.met && record.answers >= maxAnswers) return 'limited';
    record.answers += 1;
    return 'counted';
  }

  async closeChallenge(key: ChallengeKey): Promise<boolean> {
    await this.beforeWrite('closeChallenge');
    const record = this.challengeLedger.get(challengeId(key));
    if (!record || record.met) return false;
    record.met = true;
    const userCount = `${key.userId}\u0000${key.period}`;
    this.openByUser.set(userCount, (this.openByUser.get(userCount) ?? 0) - 1);
    return true;
  }

  // Upload attempts.

  async setAttempt(
    contentId: string,
    attempt: UploadAttempt,
    expectedAttemptId: string | undefined,
    options: { readonly ready?: boolean } = {},
  ): Promise<void> {
    const next = structuredClone(attempt);
    await this.beforeWrite('setAttempt');
    const content = this.contents.get(contentId);
    const current = content?.attempt;
    const expected = expectedAttemptId ? current?.id === expectedAttemptId : current === undefined;
    const proofUploads = content?.state === 'READY' || content?.state === 'QUARANTINED';
    const state = expectedAttemptId
      ? content?.state === 'PENDING' || proofUploads
      : options.ready
        ? proofUploads
        : content?.state === 'PENDING';
    if (!state || !expected) throw stale('set upload attempt');
    this.updateContent(contentId, { attempt: stored(next), updatedAt: this.clock() });
  }

  async markReady(contentId: string, objectKey: string, now: number, size: number, uploader?: UploaderMark): Promise<boolean> {
    const owner = uploader && { uploadId: uploader.uploadId };
    await this.beforeWrite('markReady');
    const content = this.contents.get(contentId);
    if (content?.state !== 'PENDING') return false;
    this.updateContent(contentId, { state: 'READY', objectKey, size, updatedAt: now, ...(owner ? { uploader: owner } : {}) }, [
      'attempt',
    ]);
    return true;
  }

  async quarantine(contentId: string, objectKey: string, now: number): Promise<boolean> {
    await this.beforeWrite('quarantine');
    const content = this.contents.get(contentId);
    if (content?.state !== 'READY' || content.objectKey !== objectKey) return false;
    this.updateContent(contentId, { state: 'QUARANTINED', updatedAt: now });
    return true;
  }

  async repairQuarantined(
    contentId: string,
    badKey: string,
    attemptId: string,
    verifiedKey: string,
    now: number,
  ): Promise<boolean> {
    await this.beforeWrite('repairQuarantined');
    const content = this.contents.get(contentId);
    if (content?.state !== 'QUARANTINED' || content.objectKey !== badKey || content.attempt?.id !== attemptId) return false;
    this.updateContent(contentId, { state: 'READY', objectKey: verifiedKey, updatedAt: now }, ['attempt']);
    // Due at once, as DynamoCatalog marks it: a QUARANTINED content was off the index, and its
    // last reference may have gone meanwhile.
    this.sweepMarks.set(contentId, now);
    return true;
  }

  async completeFile(owner: FileOwner, contentId: string, now: number): Promise<boolean> {
    const { userId, name, uploadId } = structuredClone(owner);
    await this.beforeWrite('completeFile');
    const file = this.fileAt(userId, name);
    if (file?.state !== 'PENDING' || file.contentId !== contentId || file.uploadId !== uploadId) return false;
    this.applyFileChange(file, completedUpload(file, now), now, 'complete file');
    return true;
  }

  async failAttempt(contentId: string, attempt: UploadAttempt, failure: string, now: number): Promise<void> {
    const { id, owner } = structuredClone(attempt);
    await this.beforeWrite('failAttempt');
    const record = this.contents.get(contentId);
    const file = this.fileAt(owner.userId, owner.name);
    const ownerWaits = file?.state === 'PENDING' && file.contentId === contentId && file.uploadId === owner.uploadId;
    if (record?.attempt?.id === id && ownerWaits && file) {
      this.endAttemptNow(contentId, id, now, {});
      this.applyFileChange(file, endedUpload(file, now, failure), now, 'fail attempt');
      return;
    }
    // The owner file was replaced meanwhile (its reference already released): just end the attempt.
    this.endAttemptNow(contentId, id, now, {});
  }

  async endAttempt(
    contentId: string,
    attemptId: string,
    now: number,
    options: { onlyIfExpired?: boolean } = {},
  ): Promise<boolean> {
    await this.beforeWrite('endAttempt');
    return this.endAttemptNow(contentId, attemptId, now, options);
  }

  async failPendingFile(file: FileRecord, failure: string, now: number): Promise<boolean> {
    const read = structuredClone(file);
    await this.beforeWrite('failPendingFile');
    const current = this.fileAt(read.userId, read.name);
    const waits = current?.state === 'PENDING' && current.contentId === read.contentId && current.uploadId === read.uploadId;
    if (!waits || !current || !this.contents.has(read.contentId)) return false;
    this.applyFileChange(current, endedUpload(current, now, failure), now, 'fail pending file');
    return true;
  }

  async cancelPendingFile(file: FileRecord, now: number): Promise<boolean> {
    const read = structuredClone(file);
    await this.beforeWrite('cancelPendingFile');
    const current = this.fileAt(read.userId, read.name);
    const waits = current?.state === 'PENDING' && current.contentId === read.contentId && current.uploadId === read.uploadId;
    if (!waits || !current || !this.contents.has(read.contentId)) return false;
    this.applyFileChange(current, endedUpload(current, now, undefined), now, 'cancel pending file');
    return true;
  }

  async deleteUnreferencedPending(contentId: string): Promise<boolean> {
    await this.beforeWrite('deleteUnreferencedPending');
    const content = this.contents.get(contentId);
    if (content?.refCount !== 0 || content.state !== 'PENDING') return false;
    this.contents.delete(contentId);
    return true;
  }

  async dropPendingFile(file: FileRecord, now: number, staleBefore: number): Promise<boolean> {
    const read = structuredClone(file);
    await this.beforeWrite('dropPendingFile');
    const current = this.fileAt(read.userId, read.name);
    const fileIsStale =
      current?.state === 'PENDING' &&
      current.contentId === read.contentId &&
      current.uploadId === read.uploadId &&
      current.updatedAt < staleBefore;
    const content = this.contents.get(read.contentId);
    // The sweeper never drops a moving upload: not while the content has a live attempt.
    const contentIsIdle =
      (content?.state === 'PENDING' || content?.state === 'READY' || content?.state === 'QUARANTINED') &&
      (!content.attempt || content.attempt.leaseUntil < now);
    if (!fileIsStale || !contentIsIdle || !content || !current) return false;
    this.applyFileChange(current, endedUpload(current, now, undefined), now, 'drop pending file');
    return true;
  }

  async beginDelete(contentId: string, seenUpdatedAt: number, now: number): Promise<boolean> {
    await this.beforeWrite('beginDelete');
    const content = this.contents.get(contentId);
    if (content?.state !== 'READY' || content.refCount !== 0 || content.updatedAt !== seenUpdatedAt) return false;
    this.updateContent(contentId, { state: 'DELETING', updatedAt: now });
    return true;
  }

  async deleteDeleting(contentId: string): Promise<boolean> {
    await this.beforeWrite('deleteDeleting');
    if (this.contents.get(contentId)?.state !== 'DELETING') return false;
    this.contents.delete(contentId);
    return true;
  }

  // Pieces of writes. Each check throws before anything changes; each change runs only after all checks.

  private fileAt(userId: string, name: string): FileRecord | undefined {
    return this.files.get(userId)?.get(name);
  }

  private allFiles(): FileRecord[] {
    // The pending index's sort key is userId; ties in name order, as the base table's.
    return [...this.files.values()]
      .flatMap((byName) => [...byName.values()])
      .sort((a, b) => compareKeys(a.userId, b.userId) || compareKeys(a.name, b.name));
  }

  private putFile(file: FileRecord): void {
    const byName = this.files.get(file.userId) ?? new Map<string, FileRecord>();
    byName.set(file.name, stored(file));
    this.files.set(file.userId, byName);
  }

  private removeFile(userId: string, name: string): void {
    const byName = this.files.get(userId);
    byName?.delete(name);
    if (byName?.size === 0) this.files.delete(userId);
  }

  /** Sets `fields` (and removes `removed`) on an existing content. */
  private updateContent(
    contentId: string,
    fields: Partial<Mutable<ContentRecord>>,
    removed: readonly (keyof ContentRecord)[] = [],
  ): void {
    const content = this.contents.get(contentId);
    if (!content) throw new Error(`updateContent: no content ${contentId} (a check was missed)`);
    const next: Partial<Mutable<ContentRecord>> = { ...content, ...fields };
    for (const field of removed) delete next[field];
    this.contents.set(contentId, stored(next as ContentRecord));
  }

  /** The file under `file`'s name must still be exactly the one read (DynamoCatalog's `unchanged`). */
  private checkUnchanged(file: FileRecord, what: string): void {
    const current = this.fileAt(file.userId, file.name);
    if (current?.uploadId !== file.uploadId || current.state !== file.state || current.contentId !== file.contentId) {
      throw stale(what);
    }
  }

  private addReference(contentId: string, delta: number, now: number): Apply {
    return () => {
      const content = this.contents.get(contentId);
      if (content) this.updateContent(contentId, { refCount: content.refCount + delta, updatedAt: now });
      // A release may leave it unreferenced: due for the sweeper (docs/design.md §5).
      if (content && delta < 0) this.sweepMarks.set(contentId, now);
    };
  }

  /** What a file going away changes besides itself: its contents' references and its owner's usage. */
  private releaseFile(file: FileRecord | undefined, now: number, what: string): Apply[] {
    if (!file) return [];
    return [
      ...this.referenceUpdates(referenceChanges(file, undefined), now, what),
      this.usageUpdate(file.userId, usageChange(file, undefined), now, what),
    ];
  }

  /** One change per content: each must exist (in any state), as DynamoCatalog's condition says. */
  private referenceUpdates(references: ReadonlyMap<string, number>, now: number, what: string): Apply[] {
    return [...references].map(([contentId, delta]) => {
      if (!this.contents.has(contentId)) throw stale(what);
      return this.addReference(contentId, delta, now);
    });
  }

  /**
   * A file's record goes from `before` (as stored) to `after` (absent: deleted), with the
   * reference and usage changes between the two. Checks first, then every change.
   */
  private applyFileChange(before: FileRecord, after: FileRecord | undefined, now: number, what: string): void {
    const changes: Apply[] = [
      ...this.referenceUpdates(referenceChanges(before, after), now, what),
      this.usageUpdate(before.userId, usageChange(before, after), now, what),
      () => (after ? this.putFile(after) : this.removeFile(before.userId, before.name)),
    ];
    for (const apply of changes) apply();
  }

  /**
   * The usage change of a file change. Growth is conditioned on the quota as read, exactly as
   * DynamoCatalog conditions it: usage with no byte counter yet passes whatever the growth.
   */
  private usageUpdate(userId: string, delta: UsageDelta, now: number, what: string, quota?: QuotaGuard): Apply {
    if (delta.files === 0 && delta.bytes === 0 && !delta.savedBytes) return () => undefined;
    const item = this.usage.get(userId);
    if (quota && delta.bytes > 0) {
      const withinQuota = item?.bytes === undefined || item.bytes <= quota.maxBytes - delta.bytes;
      const sameOverride = item?.quotaBytes === quota.override;
      if (!withinQuota || !sameOverride) throw stale(what);
    }
    return () => {
      const next = { ...(this.usage.get(userId) ?? {}) };
      next.files = (next.files ?? 0) + delta.files;
      next.bytes = (next.bytes ?? 0) + delta.bytes;
      next.savedBytes = (next.savedBytes ?? 0) + (delta.savedBytes ?? 0);
      next.updatedAt = now;
      this.usage.set(userId, next);
    };
  }

  private endAttemptNow(contentId: string, attemptId: string, now: number, options: { onlyIfExpired?: boolean }): boolean {
    const attempt = this.contents.get(contentId)?.attempt;
    if (attempt?.id !== attemptId || (options.onlyIfExpired && !(attempt.leaseUntil < now))) return false;
    this.updateContent(contentId, { updatedAt: now }, ['attempt']);
    return true;
  }
}
