/**
 * A user's files once uploaded: list, download, rename, delete, usage. Rename and delete change
 * references in the same write as the file: invariant 2 (docs/design.md); contents nobody
 * references any more are left to the sweeper, after a grace period: invariant 3 (docs/design.md).
 */
import type { FileDownload, FileListing, FileView, UsageView } from '#protocol/api';
import { displaysInline } from '#protocol/content-type';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { servedVersion } from './file-versions.ts';
import type { Deps, FileRecord, Usage } from './ports.ts';
import { withRetries } from './retries.ts';
import { fileView, servedFileView } from './views.ts';

export async function listFiles(
  deps: Deps,
  userId: string,
  options: { prefix?: string; limit: number; cursor?: string },
): Promise<FileListing> {
  const page = await deps.catalog.listFiles(userId, options);
  return { files: page.files.map(servedFileView), ...(page.cursor ? { cursor: page.cursor } : {}) };
}

/**
 * Metadata and a short-lived presigned GET of the content's object; bytes never pass through
 * Lambda. While a replacement uploads, the version it replaces is the one served (invariant 15).
 * `inline` is granted only to media a browser renders without running anything
 * (protocol/content-type.ts); everything else downloads as an attachment.
 */
export async function getFileDownload(
  deps: Deps,
  userId: string,
  name: string,
  options: { readonly disposition?: 'inline' | 'attachment' } = {},
): Promise<FileDownload> {
  const record = await deps.catalog.getFile(userId, name);
  if (!record) throw new NotFoundError('file_not_found', 'no such file');
  const file = servedVersion(record);
  const content = file.state === 'COMPLETE' ? await deps.catalog.getContent(file.contentId) : undefined;
  // Bytes that failed a check after they were verified are never served: invariant 7 (docs/design.md).
  if (content?.state === 'QUARANTINED') {
    throw new ConflictError('content_quarantined', 'this file failed an integrity check and is unavailable');
  }
  // A COMPLETE file's content is READY: invariant 1 (docs/design.md); anything else is not downloadable yet.
  if (!content?.objectKey || content.state !== 'READY') {
    throw new ConflictError('file_not_ready', `the file is ${file.state.toLowerCase()}, not downloadable`);
  }
  const ttl = deps.settings.downloadUrlTtlSeconds;
  const fileName = name.slice(name.lastIndexOf('/') + 1);
  const inline = options.disposition === 'inline' && displaysInline(file.contentType);
  const request = await deps.blobs.presignGet(content.objectKey, {
    fileName,
    expiresInSeconds: ttl,
    contentType: file.contentType,
    inline,
  });
  return {
    file: servedFileView(record),
    download: {
      url: request.url,
      method: 'GET',
      expiresAt: new Date(deps.now() + ttl * 1000).toISOString(),
      disposition: inline ? 'inline' : 'attachment',
    },
  };
}

async function ownFile(deps: Deps, userId: string, name: string): Promise<FileRecord> {
  const file = await deps.catalog.getFile(userId, name);
  if (!file) throw new NotFoundError('file_not_found', 'no such file');
  return file;
}

export interface RenameRequest {
  readonly to: string;
  /** Replace a file already under the new name (releasing its content). */
  readonly overwrite: boolean;
}

/** Atomically moves a COMPLETE file to a new name; its content's refCount does not change. */
export function renameFile(deps: Deps, userId: string, from: string, request: RenameRequest): Promise<FileView> {
  if (request.to === from) throw new ValidationError('same_name', 'the new name is the current one');
  return withRetries(async () => {
    const [file, target] = await Promise.all([ownFile(deps, userId, from), deps.catalog.getFile(userId, request.to)]);
    // An upload in progress is owned by its name (its attempt and upload id point at it), and so
    // is the version it replaces: both stay until the upload ends.
    if (file.state === 'PENDING' && file.previous) {
      throw new ConflictError('replacement_in_progress', 'an upload is replacing this file; wait for it, or delete the file');
    }
    if (file.state !== 'COMPLETE') throw new ConflictError('file_not_complete', `the file is ${file.state.toLowerCase()}`);
    if (target && !request.overwrite) {
      throw new ConflictError('file_exists', 'a file already has that name; ask to overwrite it');
    }
    // A failed replacement's id named the old name: it does not move. The rename mark tells the
    // Files table's stream that this change is a rename (domain/file-events.ts). The time is
    // strictly after the source's, so that each version at each name is one rename source at most
    // (the catalog's mark of a moved-away source is keyed by it).
    const { failedUpload: _stays, renamed: _before, ...version } = file;
    const at = Math.max(deps.now(), file.updatedAt + 1);
    const moved: FileRecord = { ...version, name: request.to, updatedAt: at, renamed: { from, at } };
    await deps.catalog.renameFile({ from: file, to: moved, overwritten: target });
    return fileView(moved);
  });
}

/** Deletes a file and releases its content in one write; the bytes go later, if nobody else owns them. */
export function deleteFile(deps: Deps, userId: string, name: string): Promise<void> {
  return withRetries(async () => {
    const file = await ownFile(deps, userId, name);
    await deps.catalog.deleteFile(file, deps.now());
  });
}

/** The quota that applies to a user: their own, else the default. */
export const quotaBytesOf = (deps: Pick<Deps, 'settings'>, usage: Usage): number =>
  usage.quotaBytes ?? deps.settings.defaultQuotaBytes;

export async function usageOf(deps: Deps, userId: string): Promise<UsageView> {
  const usage = await deps.catalog.getUsage(userId);
  return { files: usage.files, bytes: usage.bytes, savedBytes: usage.savedBytes, quotaBytes: quotaBytesOf(deps, usage) };
}
