/** Reading a user's files: list and download. */
import { ConflictError, NotFoundError } from './errors.ts';
import type { Deps } from './ports.ts';
import { type FileView, fileView } from './views.ts';

export interface FileListing {
  readonly files: FileView[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  readonly cursor?: string;
}

export async function listFiles(
  deps: Deps,
  userId: string,
  options: { prefix?: string; limit: number; cursor?: string },
): Promise<FileListing> {
  const page = await deps.catalog.listFiles(userId, options);
  return { files: page.files.map(fileView), ...(page.cursor ? { cursor: page.cursor } : {}) };
}

export interface FileDownload {
  readonly file: FileView;
  readonly download: { readonly url: string; readonly method: 'GET'; readonly expiresAt: string };
}

/** Metadata and a short-lived presigned GET of the content's object; bytes never pass through Lambda. */
export async function getFileDownload(deps: Deps, userId: string, name: string): Promise<FileDownload> {
  const file = await deps.catalog.getFile(userId, name);
  if (!file) throw new NotFoundError('file_not_found', 'no such file');
  const content = file.state === 'COMPLETE' ? await deps.catalog.getContent(file.contentId) : undefined;
  // A COMPLETE file's content is READY (invariant 1); anything else is not downloadable yet.
  if (!content?.objectKey || content.state !== 'READY') {
    throw new ConflictError('file_not_ready', `the file is ${file.state.toLowerCase()}, not downloadable`);
  }
  const ttl = deps.settings.downloadUrlTtlSeconds;
  const fileName = name.slice(name.lastIndexOf('/') + 1);
  const request = await deps.blobs.presignGet(content.objectKey, { fileName, expiresInSeconds: ttl });
  return {
    file: fileView(file),
    download: { url: request.url, method: 'GET', expiresAt: new Date(deps.now() + ttl * 1000).toISOString() },
  };
}
