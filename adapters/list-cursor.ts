/**
 * The opaque cursor of a file listing: the last (user, name) key of the page, so every Catalog
 * accepts and refuses the same cursors. It is bound to its user: another user's cursor, or one
 * pointing below the first file name (at the reserved usage item), is refused.
 *
 * A cursor comes back from the client, so it is checked like any input before it reaches a
 * query: DynamoDB refuses (a 500, had it got there) a start key over its 1,024-byte sort key
 * limit or outside the query's key condition (a name not under the listing's prefix). The edge
 * checks its form with the rest of the query (lambdas/schemas.ts, `readCursor`), before anything
 * is counted or read; the catalog checks it again, and that it is the caller's (`decodeCursor`).
 */
import { FIRST_FILE_NAME } from '#deploy/definitions';
import { ValidationError } from '#domain/errors';
import { MAX_NAME_BYTES } from '#protocol/api';

/** A lone UTF-16 surrogate (JSON can carry one as an escape): no stored name holds one. */
const LONE_SURROGATE = /\p{Cs}/u;

export function encodeCursor(userId: string, name: string): string {
  return Buffer.from(JSON.stringify({ userId, name })).toString('base64url');
}

/** Whether `name` can be where a listing of `prefix` (if any) stopped. */
function isStartKey(name: string, prefix: string | undefined): boolean {
  return (
    name >= FIRST_FILE_NAME &&
    !LONE_SURROGATE.test(name) &&
    Buffer.byteLength(name, 'utf8') <= MAX_NAME_BYTES &&
    (prefix === undefined || name.startsWith(prefix))
  );
}

/** The user and name of a cursor that a listing of `prefix` (if any) could have issued, else undefined. */
export function readCursor(cursor: string, prefix?: string): { readonly userId: string; readonly name: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'userId' in parsed &&
      'name' in parsed &&
      typeof parsed.userId === 'string' &&
      typeof parsed.name === 'string' &&
      isStartKey(parsed.name, prefix)
    ) {
      return { userId: parsed.userId, name: parsed.name };
    }
  } catch {
    // fall through: malformed
  }
  return undefined;
}

/** The name the next page of `userId`'s listing (of `prefix`, if given) starts after. */
export function decodeCursor(cursor: string, userId: string, prefix?: string): string {
  const read = readCursor(cursor, prefix);
  if (read?.userId === userId) return read.name;
  throw new ValidationError('invalid_cursor', 'the cursor is not one this listing returned');
}
