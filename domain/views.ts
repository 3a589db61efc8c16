/** The shapes the API returns, built from records in one place. */
import type { FileView } from '#protocol/api';
import type { FileRecord } from './ports.ts';

export function fileView(file: FileRecord): FileView {
  return {
    name: file.name,
    size: file.size,
    contentId: file.contentId,
    state: file.state,
    ...(file.failure ? { failure: file.failure } : {}),
    createdAt: new Date(file.createdAt).toISOString(),
    updatedAt: new Date(file.updatedAt).toISOString(),
  };
}

/**
 * The public id of an upload: the file name and the upload's nonce. The user comes from the
 * token, so the id grants nothing by itself, and no lookup table is needed to resolve it.
 */
export function encodeUploadRef(name: string, uploadId: string): string {
  return `${Buffer.from(name, 'utf8').toString('base64url')}.${uploadId}`;
}

export function decodeUploadRef(ref: string): { name: string; uploadId: string } | undefined {
  const match = /^([A-Za-z0-9_-]+)\.([0-9a-f]{32})$/.exec(ref);
  if (!match?.[1] || !match[2]) return undefined;
  const name = Buffer.from(match[1], 'base64url').toString('utf8');
  return name.length > 0 ? { name, uploadId: match[2] } : undefined;
}
