/**
 * Files-table records as the domain builds them (domain/uploads.ts, domain/files.ts, with the
 * helpers of domain/file-versions.ts), for the tests of file events and their schema.
 */
import { fallbackOf } from '#domain/file-versions';
import type { FileRecord } from '#domain/ports';

export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
export const hex = (digit: string): string => digit.repeat(64);

/** Alice's COMPLETE `a.bin`, uploaded a while before T0. */
export const complete = (overrides: Partial<FileRecord> = {}): FileRecord => ({
  userId: 'alice',
  name: 'a.bin',
  contentId: hex('a'),
  size: 10,
  state: 'COMPLETE',
  uploadId: 'u-old',
  createdAt: T0 - 5000,
  updatedAt: T0 - 5000,
  ...overrides,
});

/** A new upload under `existing`'s name (as domain/uploads.ts builds it), keeping its version. */
export function upload(existing: FileRecord | undefined, overrides: Partial<FileRecord> = {}): FileRecord {
  const fallback = fallbackOf(existing);
  return {
    ...complete({ contentId: hex('b'), size: 20, state: 'PENDING', uploadId: 'u-new', createdAt: T0 - 1000 }),
    updatedAt: T0 - 1000,
    ...(fallback ? { previous: fallback } : {}),
    ...overrides,
  };
}

/** domain/files.ts renameFile's moved record. */
export function moved(from: FileRecord, to: string, at = from.updatedAt + 1): FileRecord {
  const { failedUpload: _f, renamed: _r, ...version } = from;
  return { ...version, name: to, updatedAt: at, renamed: { from: from.name, at } };
}
