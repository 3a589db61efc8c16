/**
 * The opaque cursor of a file listing: the last (user, name) key of the page, so every Catalog
 * accepts and refuses the same cursors. It is bound to its user: another user's cursor, or one
 * pointing below the first file name (at the reserved usage item), is refused.
 */
import { FIRST_FILE_NAME } from '#deploy/definitions';
import { ValidationError } from '#domain/errors';

export function encodeCursor(userId: string, name: string): string {
  return Buffer.from(JSON.stringify({ userId, name })).toString('base64url');
}

/** The name the next page starts after. */
export function decodeCursor(cursor: string, userId: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'userId' in parsed &&
      'name' in parsed &&
      parsed.userId === userId &&
      typeof parsed.name === 'string' &&
      parsed.name >= FIRST_FILE_NAME
    ) {
      return parsed.name;
    }
  } catch {
    // fall through: malformed
  }
  throw new ValidationError('invalid_cursor', 'the cursor is not one this listing returned');
}
