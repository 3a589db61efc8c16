/**
 * Erasing a user (GDPR; README, Operations): the export of their files, then every file, upload
 * and per-user record gone, each file through the transaction its owner's own request would use,
 * so that invariants 2, 3 and 15 (docs/design.md) hold throughout and the contents nobody else
 * owns are left unreferenced for the sweeper, which deletes them after the grace period.
 *
 * - A PENDING upload ends as its owner's cancel (DELETE /v1/uploads/{id}) ends it: its reference
 *   and usage released, its attempt and multipart uploads ended if no other file waits for them;
 *   a replacement goes back to the version it was replacing, which is then deleted like any file.
 * - A COMPLETE or FAILED file is deleted as DELETE /v1/files/{ref} deletes it.
 * - Only once no file is left do the usage item and the proof bookkeeping go
 *   (Catalog.deleteUserRecords), so usage never undercounts a file that still exists: an upload
 *   the user starts meanwhile is found by the next pass, and after a few passes the run stops and
 *   reports what remained rather than chase it.
 *
 * Idempotent and resumable: every step reads the state anew, so a run cut short (a crash, the
 * function's time running out) is finished by running it again, and a run over an erased user
 * changes nothing.
 */
import type { FileView } from '#protocol/api';
import { BusyError } from './errors.ts';
import { exportKeyFor } from './object-keys.ts';
import type { Deps, FileRecord } from './ports.ts';
import { withRetries } from './retries.ts';
import { cancelPendingUpload } from './uploads.ts';
import { fileView } from './views.ts';

/** Files read per listing page: DynamoDB's 1 MB page holds about this many records. */
const PAGE_SIZE = 1000;

/** Passes over the listing before a run gives up on files that keep appearing (a user still uploading). */
const DEFAULT_MAX_PASSES = 3;

/**
 * Steps on one name before it is left for the next pass: a replacement is cancelled (back to the
 * version it replaced), then that version deleted; a third is an upload started meanwhile.
 */
const STEPS_PER_NAME = 3;

/** One of a user's files as exported: as its owner's listing shows it, with the version a replacement keeps. */
export type ExportedFile = FileView & {
  /** A PENDING replacement's kept version (invariant 15): still the user's file until the upload ends. */
  readonly previous?: {
    readonly contentId: string;
    readonly size: number;
    readonly contentType?: string;
    readonly createdAt: string;
    readonly updatedAt: string;
  };
};

function exportedFile(file: FileRecord): ExportedFile {
  const { previous } = file;
  return {
    ...fileView(file),
    ...(previous
      ? {
          previous: {
            contentId: previous.contentId,
            size: previous.size,
            ...(previous.contentType ? { contentType: previous.contentType } : {}),
            createdAt: new Date(previous.createdAt).toISOString(),
            updatedAt: new Date(previous.updatedAt).toISOString(),
          },
        }
      : {}),
  };
}

/** Every file of the user, in every state (COMPLETE, PENDING, FAILED), in name order. */
export async function exportUserFiles(deps: Deps, userId: string): Promise<ExportedFile[]> {
  const files: ExportedFile[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.catalog.listFiles(userId, { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) });
    files.push(...page.files.map(exportedFile));
    cursor = page.cursor;
  } while (cursor);
  return files;
}

/** How long the link to a saved export works. */
const EXPORT_LINK_SECONDS = 15 * 60;

export interface SavedExport {
  /** `exports/<base64url of the user id>/<time>.json`: no user id can escape its folder. */
  readonly key: string;
  /** A presigned GET of the export (EXPORT_LINK_SECONDS), for the operator's command to fetch. */
  readonly url: string;
  readonly files: number;
}

/**
 * Writes the user's export (`{ userId, exportedAt, files }`) to storage, write-once: however many
 * files the user has, the function's answer stays small (Lambda answers at most 6 MB).
 */
export async function saveUserExport(deps: Deps, userId: string): Promise<SavedExport> {
  const files = await exportUserFiles(deps, userId);
  const exportedAt = new Date(deps.now()).toISOString();
  const key = exportKeyFor(userId, exportedAt);
  const body = new TextEncoder().encode(`${JSON.stringify({ userId, exportedAt, files }, null, 1)}\n`);
  await deps.blobs.putDocument(key, body, 'application/json');
  const link = await deps.blobs.presignGet(key, {
    fileName: `hashdrop-export-${exportedAt}.json`,
    expiresInSeconds: EXPORT_LINK_SECONDS,
    contentType: 'application/json',
  });
  return { key, url: link.url, files: files.length };
}

export interface EraseOptions {
  /**
   * Whether there is time for one more file; false stops the run where it is (the Lambda
   * function's remaining time), leaving the rest for the next run. @default always
   */
  readonly haveTime?: () => boolean;
  /** @default 3 */
  readonly maxPasses?: number;
}

export interface EraseReport {
  readonly userId: string;
  /** File records deleted (a cancelled replacement's kept version counts here too). */
  readonly deleted: number;
  /** Uploads in progress ended as a cancel ends them. */
  readonly cancelled: number;
  /**
   * Files still there when the run stopped: those it had listed and not erased (time ran out, or
   * the user kept uploading), and at least one more while the listing went on. 0 once `done`.
   */
  readonly remaining: number;
  /** Nothing of the user is left: no file, no usage item, no proof bookkeeping. */
  readonly done: boolean;
}

/** Erases every file of the user, then their per-user records; see the module comment. */
export async function eraseUser(deps: Deps, userId: string, options: EraseOptions = {}): Promise<EraseReport> {
  const haveTime = options.haveTime ?? (() => true);
  const counts = { deleted: 0, cancelled: 0 };
  const report = (remaining: number, done: boolean): EraseReport => {
    const result = { userId, ...counts, remaining, done };
    deps.telemetry.log('info', 'user_erased', { ...result });
    return result;
  };
  let left = 0;
  for (let pass = 1; pass <= (options.maxPasses ?? DEFAULT_MAX_PASSES); pass++) {
    left = 0;
    let cursor: string | undefined;
    do {
      const page = await deps.catalog.listFiles(userId, { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) });
      for (const [index, file] of page.files.entries()) {
        if (!haveTime()) return report(left + page.files.length - index + (page.cursor ? 1 : 0), false);
        if (!(await eraseName(deps, file, counts))) left++;
      }
      cursor = page.cursor;
    } while (cursor);
    if (!haveTime()) return report(Math.max(left, 1), false);
    if (await deps.catalog.deleteUserRecords(userId, haveTime)) return report(0, true);
  }
  // Files kept appearing: what is there now.
  const { files, cursor } = await deps.catalog.listFiles(userId, { limit: PAGE_SIZE });
  return report(Math.max(files.length + (cursor ? 1 : 0), left, 1), false);
}

/**
 * Erases the file under `file`'s name, each step in the transaction the owner's own request
 * would use, on a fresh read. True once the name holds nothing.
 */
async function eraseName(deps: Deps, file: FileRecord, counts: { deleted: number; cancelled: number }): Promise<boolean> {
  for (let step = 0; step < STEPS_PER_NAME; step++) {
    const erased = await withRetries(async () => {
      const current = await deps.catalog.getFile(file.userId, file.name);
      if (!current) return true;
      if (current.state === 'PENDING') {
        await cancelPendingUpload(deps, current);
        counts.cancelled++;
      } else {
        await deps.catalog.deleteFile(current, deps.now());
        counts.deleted++;
      }
      return false;
    }).catch((error: unknown) => {
      // Contention past withRetries' rounds: the name is left for the next pass or run.
      if (error instanceof BusyError) return undefined;
      throw error;
    });
    if (erased === undefined) return false;
    if (erased) return true;
  }
  return (await deps.catalog.getFile(file.userId, file.name)) === undefined;
}
