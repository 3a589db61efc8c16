/**
 * SECURITY.md claims that only the real local stack can show (the others:
 * test/unit/security-claims.test.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stack } from '../helpers.ts';

describe('SECURITY.md, Secrets in configuration', () => {
  it('locally the challenge key lives in proof-secret beside the stack’s data (.hashdrop/ for npm start), mode 600, and reaches one function', () => {
    expect(basename(stack.proofSecretFile)).toBe('proof-secret');
    expect(statSync(stack.proofSecretFile).mode & 0o777).toBe(0o600);
    // At least 32 bytes of key.
    expect(Buffer.byteLength(readFileSync(stack.proofSecretFile, 'utf8').trim())).toBeGreaterThanOrEqual(32);
    // Only the function whose role may read it is told where it is, as only its ARN reaches one function in AWS.
    expect(stack.proofSecretReaders).toEqual(['CreateUpload']);
  });
});
