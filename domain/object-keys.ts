/** Every stored content lives under this prefix; only it triggers the object-created handler. */
export const BLOB_PREFIX = 'blobs/';

/**
 * Object keys are `blobs/<contentId>/<attemptId>`: one per upload attempt (see UploadAttempt), so
 * that an abandoned or dishonest attempt can never overwrite or race the bytes of another. A
 * content's verified object is recorded on the content; the others are deleted as duplicates.
 */
export function objectKeyFor(contentId: string, attemptId: string): string {
  return `${BLOB_PREFIX}${contentId}/${attemptId}`;
}

const OBJECT_KEY = new RegExp(`^${BLOB_PREFIX}([0-9a-f]{64})/([0-9a-f]{32})$`);

export function parseObjectKey(key: string): { contentId: string; attemptId: string } | undefined {
  const match = OBJECT_KEY.exec(key);
  return match?.[1] && match[2] ? { contentId: match[1], attemptId: match[2] } : undefined;
}

/**
 * Where an erased user's export is kept (domain/erase-user.ts): outside BLOB_PREFIX, so no content
 * event fires for it, and under a prefix of its own that the bucket expires (lib/constructs/blob-bucket.ts).
 */
export const EXPORT_PREFIX = 'exports/';

/** `exports/<base64url of the user id>/<ISO time>.json`: whatever the user id holds, it stays in its folder. */
export function exportKeyFor(userId: string, exportedAt: string): string {
  return `${EXPORT_PREFIX}${Buffer.from(userId, 'utf8').toString('base64url')}/${exportedAt}.json`;
}
