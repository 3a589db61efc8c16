/** The shapes the API returns, built from records in one place. */
import { type FileView, MAX_NAME_BYTES } from '#protocol/api';
import { decodeFileRef } from '#protocol/file-ref';
import { servedVersion } from './file-versions.ts';
import type { FileRecord } from './ports.ts';

export function fileView(file: FileRecord): FileView {
  return {
    name: file.name,
    size: file.size,
    contentId: file.contentId,
    state: file.state,
    ...(file.contentType ? { contentType: file.contentType } : {}),
    ...(file.failure ? { failure: file.failure } : {}),
    createdAt: new Date(file.createdAt).toISOString(),
    updatedAt: new Date(file.updatedAt).toISOString(),
  };
}

/**
 * A file as its owner sees it (listings, downloads): while a replacement uploads, the version it
 * replaces, with the replacement named (invariant 15).
 */
export function servedFileView(file: FileRecord): FileView {
  const served = servedVersion(file);
  if (served === file) return fileView(file);
  return {
    ...fileView(served),
    replacement: { contentId: file.contentId, size: file.size, uploadId: encodeUploadRef(file.name, file.uploadId) },
  };
}

/**
 * The public id of an upload: the file name and the upload's nonce. The user comes from the
 * token, so the id grants nothing by itself, and no lookup table is needed to resolve it.
 */
export function encodeUploadRef(name: string, uploadId: string): string {
  return `${Buffer.from(name, 'utf8').toString('base64url')}.${uploadId}`;
}

/**
 * The name and nonce of an upload id, or undefined if no upload could have it. The name part
 * must be the canonical reference of well-formed UTF-8 (a lenient decoder turns each stray byte
 * into a 3-byte U+FFFD) no longer than a name: otherwise it is a key DynamoDB refuses, not a 404.
 */
export function decodeUploadRef(ref: string): { name: string; uploadId: string } | undefined {
  const match = /^([A-Za-z0-9_-]+)\.([0-9a-f]{32})$/.exec(ref);
  if (!match?.[1] || !match[2]) return undefined;
  const name = decodeFileRef(match[1]);
  if (!name || Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return undefined;
  return { name, uploadId: match[2] };
}
