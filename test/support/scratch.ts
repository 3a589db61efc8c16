/** Throw-away files and ids for tests; needs no local stack. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const scratch = mkdtempSync(join(tmpdir(), 'hashdrop-files-'));

/** A user id no other test uses. */
export const newUser = (label = 'user'): string => `${label}-${randomBytes(6).toString('hex')}`;

/** Writes `size` random bytes to a new file. */
export function randomFile(size: number): { path: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  const path = join(scratch, randomBytes(8).toString('hex'));
  writeFileSync(path, bytes);
  return { path, bytes };
}

export function scratchPath(name: string): string {
  return join(scratch, `${randomBytes(4).toString('hex')}-${name}`);
}
