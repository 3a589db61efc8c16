/**
 * The events of one change of a Files-table item (docs/events.md), derived from the item's images
 * before and after it, as the table's stream reports them: a transactional outbox. The stream
 * holds exactly the committed changes, so no committed change goes unreported and no event
 * reports a change that did not commit, whichever function made it and wherever it died.
 *
 * Pure: the one fact images cannot tell, whether a removed file was renamed away or deleted, is
 * asked of the catalog by the caller (Catalog.renamedAway) and passed in. Reserved items (usage,
 * ledger, rename marks) are not files: the caller leaves them out.
 *
 * The rules follow how records change (domain/file-versions.ts, docs/design.md §3):
 * - a PENDING upload U ends without completing when the item no longer holds U: FAILED (its
 *   `failure`), back to the version it replaced (`failedUpload`'s failure, else abandoned), gone
 *   (abandoned: cancelled, swept or deleted) or replaced by another upload or a rename (superseded);
 * - a COMPLETE version is new when the item held no version of that upload COMPLETE before and the
 *   change is not the return of the version an upload replaced: `file.completed`, or
 *   `file.renamed` when the item carries a rename mark it did not carry before;
 * - the served COMPLETE version going away with the item is `file.deleted`, unless it moved.
 */
import type { FileEvent, FileEventType } from '#protocol/events';
import { FILE_EVENT_VERSION } from '#protocol/events';
import { servedVersion } from './file-versions.ts';
import type { FileRecord } from './ports.ts';

export interface ChangeContext {
  /** Unique per change and the same on every delivery of it (a stream record's eventID). */
  readonly changeId: string;
  /** When the change was committed, epoch ms. */
  readonly committedAt: number;
  /** The item was removed by a rename (its mark exists), not a delete. Only asked when it was removed. */
  readonly renamedAway?: boolean;
}

/** What an event says besides the envelope fields every event carries. */
type EventBody<E extends FileEvent> = E extends FileEvent ? Omit<E, 'version' | 'eventId' | 'time'> : never;

/** The COMPLETE version an item serves, if any: its own, or the one its upload in flight replaces. */
function served(file: FileRecord | undefined): FileRecord | undefined {
  if (!file) return undefined;
  if (file.state === 'COMPLETE') return file;
  return file.state === 'PENDING' && file.previous ? servedVersion(file) : undefined;
}

/** Whether `after` carries a rename mark `before` did not: this change is the rename. */
function isNewRename(before: FileRecord | undefined, after: FileRecord): boolean {
  const mark = after.renamed;
  if (!mark) return false;
  return !(before?.uploadId === after.uploadId && before.renamed?.at === mark.at && before.renamed.from === mark.from);
}

/** Why the PENDING upload of `before` ended in the change to `after`, or undefined if it did not end. */
function endedUploadFailure(before: FileRecord, after: FileRecord | undefined): string | undefined {
  if (!after) return 'upload_abandoned';
  if (after.uploadId === before.uploadId) return after.state === 'FAILED' ? (after.failure ?? 'upload_failed') : undefined;
  if (after.state === 'COMPLETE' && after.uploadId === before.previous?.uploadId) {
    // Back to the version it replaced: failed (the restored version remembers why) or abandoned.
    return after.failedUpload?.uploadId === before.uploadId ? after.failedUpload.failure : 'upload_abandoned';
  }
  return 'upload_superseded';
}

/** Whether `after` is the return of the version `before`'s upload was replacing (no new version). */
const isRestore = (before: FileRecord | undefined, after: FileRecord): boolean =>
  before?.state === 'PENDING' && after.uploadId === before.previous?.uploadId;

/** Whether `after` is a COMPLETE version the item did not hold COMPLETE before. */
function isNewCompletion(before: FileRecord | undefined, after: FileRecord): boolean {
  if (after.state !== 'COMPLETE' || isRestore(before, after)) return false;
  return !(before?.uploadId === after.uploadId && before.state === 'COMPLETE');
}

function bodies(before: FileRecord | undefined, after: FileRecord | undefined, context: ChangeContext): EventBody<FileEvent>[] {
  const found: EventBody<FileEvent>[] = [];
  const replaced = served(before);
  if (before?.state === 'PENDING') {
    const failure = endedUploadFailure(before, after);
    if (failure) {
      const { userId, name, size, contentId, uploadId } = before;
      found.push({ type: 'upload.failed', userId, name, size, contentId, uploadId, failure });
    }
  }
  if (after && isNewRename(before, after) && after.renamed) {
    const { userId, name, size, contentId, uploadId } = after;
    const replacedContentId = replaced?.contentId;
    found.push({
      type: 'file.renamed',
      userId,
      from: after.renamed.from,
      to: name,
      size,
      contentId,
      uploadId,
      ...(replacedContentId ? { replacedContentId } : {}),
    });
  } else if (after && isNewCompletion(before, after)) {
    const { userId, name, size, contentId, contentType, uploadId } = after;
    found.push({
      type: 'file.completed',
      userId,
      name,
      size,
      contentId,
      ...(contentType ? { contentType } : {}),
      uploadId,
      deduplicated: after.deduplicated === true,
      ...(replaced ? { replacedContentId: replaced.contentId } : {}),
    });
  }
  if (!after && replaced && !context.renamedAway) {
    const { userId, name, size, contentId, uploadId } = replaced;
    found.push({ type: 'file.deleted', userId, name, size, contentId, uploadId });
  }
  return found;
}

/**
 * The events of a Files-table item's change from `before` to `after` (either absent), in the order
 * a consumer should apply them: an upload's end before the version that took its place.
 */
export function fileEvents(before: FileRecord | undefined, after: FileRecord | undefined, context: ChangeContext): FileEvent[] {
  const time = new Date(context.committedAt).toISOString();
  return bodies(before, after, context).map(
    (body) => ({ ...body, version: FILE_EVENT_VERSION, eventId: eventIdOf(context.changeId, body.type), time }) as FileEvent,
  );
}

/** One change yields at most one event of each type: the change's id and the type name it. */
export const eventIdOf = (changeId: string, type: FileEventType): string => `${changeId}:${type}`;

/**
 * Whether the removal of `before` must be checked against the catalog's rename marks: only a
 * COMPLETE file can be renamed (a PENDING one with a replacement in flight is refused).
 */
export const mayBeRenameSource = (before: FileRecord | undefined, after: FileRecord | undefined): before is FileRecord =>
  !after && before?.state === 'COMPLETE';
