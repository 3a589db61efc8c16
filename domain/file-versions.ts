/**
 * A file's versions (docs/design.md §2): what a file record references and counts, and how an
 * upload over an existing name ends. Pure functions over records, shared by the domain and both
 * catalogs, so that every file change derives its reference and usage changes the same way.
 *
 * An upload over a COMPLETE file does not replace it: the new PENDING record keeps the version it
 * replaces as `previous`, still referenced and counted, and still the one served (invariant 15).
 * Only when the upload completes is `previous` released; if the upload fails or is abandoned, the
 * record becomes that version again, exactly as it was.
 */
import type { FileRecord, FileVersion } from './ports.ts';

/** The version a file's readers see: a replacement in flight serves the version it replaces. */
export function servedVersion(file: FileRecord): FileRecord {
  const { previous } = file;
  if (file.state === 'COMPLETE' || !previous) return file;
  return { userId: file.userId, name: file.name, ...previous, state: 'COMPLETE' };
}

/** The version a new upload over `existing` (as read) falls back to until it completes. */
export function fallbackOf(existing: FileRecord | undefined): FileVersion | undefined {
  if (existing?.state === 'COMPLETE') {
    // `renamed` is left behind: it marks the record's last change, and a restored version is a change of its own.
    const { contentId, size, uploadId, createdAt, updatedAt, contentType, deduplicated } = existing;
    return {
      contentId,
      size,
      uploadId,
      createdAt,
      updatedAt,
      ...(contentType ? { contentType } : {}),
      ...(deduplicated ? { deduplicated } : {}),
    };
  }
  // A replacement of a replacement falls back to the same COMPLETE version; a FAILED file has none.
  return existing?.state === 'PENDING' ? existing.previous : undefined;
}

/**
 * The contents a record references, one entry each: its own unless it FAILED, and the version
 * it falls back to (invariant 2 counts both).
 */
export function referencedContents(file: FileRecord | undefined): string[] {
  if (!file) return [];
  return [...(file.state !== 'FAILED' ? [file.contentId] : []), ...(file.previous ? [file.previous.contentId] : [])];
}

/** What a record adds to its owner's usage: one file, and the bytes of every version it keeps. */
export function usageOfFile(file: FileRecord | undefined): { readonly files: number; readonly bytes: number } {
  if (!file || (file.state === 'FAILED' && !file.previous)) return { files: 0, bytes: 0 };
  return { files: 1, bytes: (file.state !== 'FAILED' ? file.size : 0) + (file.previous?.size ?? 0) };
}

/**
 * The reference changes of a file change from `before` to `after` (either may be absent): +1 for
 * each content `after` references that `before` did not, -1 for the reverse. Contents referenced
 * by both are left out.
 */
export function referenceChanges(before: FileRecord | undefined, after: FileRecord | undefined): Map<string, number> {
  const changes = new Map<string, number>();
  for (const contentId of referencedContents(after)) changes.set(contentId, (changes.get(contentId) ?? 0) + 1);
  for (const contentId of referencedContents(before)) changes.set(contentId, (changes.get(contentId) ?? 0) - 1);
  for (const [contentId, delta] of changes) if (delta === 0) changes.delete(contentId);
  return changes;
}

/** The usage change of a file change from `before` to `after`. */
export function usageChange(
  before: FileRecord | undefined,
  after: FileRecord | undefined,
): { readonly files: number; readonly bytes: number } {
  const added = usageOfFile(after);
  const removed = usageOfFile(before);
  return { files: added.files - removed.files, bytes: added.bytes - removed.bytes };
}

/**
 * The record once its PENDING upload ended without completing (failed, or abandoned: `failure`
 * undefined): the version it replaced, exactly as it was, or else (a new name) the FAILED file,
 * or for an abandoned new name nothing. A restored version remembers the failure of the upload
 * that ended, so that the upload's own id still tells its client why (GET /v1/uploads/{id}).
 */
export function endedUpload(file: FileRecord, now: number, failure: string | undefined): FileRecord | undefined {
  const { previous } = file;
  if (previous) {
    return {
      userId: file.userId,
      name: file.name,
      ...previous,
      state: 'COMPLETE',
      ...(failure
        ? { failedUpload: { uploadId: file.uploadId, contentId: file.contentId, size: file.size, failure, failedAt: now } }
        : {}),
    };
  }
  if (failure === undefined) return undefined;
  const { previous: _none, failedUpload: _old, ...rest } = file;
  return { ...rest, state: 'FAILED', failure, updatedAt: now };
}

/** The record once its PENDING upload completed: the replaced version released. */
export function completedUpload(file: FileRecord, now: number): FileRecord {
  const { previous: _released, failedUpload: _old, ...rest } = file;
  return { ...rest, state: 'COMPLETE', updatedAt: now };
}

/**
 * The upload `uploadId` as a record, from the record under its name: the record itself while it
 * is that upload, a FAILED record if that upload failed and the name went back to the version
 * it was replacing, and undefined if the name has moved on (the upload was superseded or dropped).
 */
export function uploadOf(file: FileRecord | undefined, uploadId: string): FileRecord | undefined {
  if (!file) return undefined;
  if (file.uploadId === uploadId) return file;
  const failed = file.failedUpload;
  if (failed?.uploadId !== uploadId) return undefined;
  return {
    userId: file.userId,
    name: file.name,
    contentId: failed.contentId,
    size: failed.size,
    state: 'FAILED',
    uploadId,
    failure: failed.failure,
    createdAt: failed.failedAt,
    updatedAt: failed.failedAt,
  };
}
