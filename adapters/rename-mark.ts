import { RESERVED_NAME_PREFIX } from '#deploy/definitions';
import type { FileRecord } from '#domain/ports';

/**
 * The reserved item a rename leaves in its owner's partition, in the same transaction, to say that
 * the version `from` moved away rather than was deleted (Catalog.renamedAway): the stream reports
 * the rename's Delete as a removal like any other. Keyed by the version's upload and time (each
 * rename moves a version at a time strictly after its last change, domain/files.ts), never by its
 * name, which may take the whole 1,024 bytes of a sort key.
 */
const RENAME_MARK_PREFIX = `${RESERVED_NAME_PREFIX}moved#`;

export const renameMarkName = (from: Pick<FileRecord, 'uploadId' | 'updatedAt'>): string =>
  `${RENAME_MARK_PREFIX}${from.uploadId}#${from.updatedAt}`;

export const isRenameMark = (name: string): boolean => name.startsWith(RENAME_MARK_PREFIX);
