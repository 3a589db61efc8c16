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
