/** Test files the page and the test both know byte for byte: AES-256-CTR of zeros under a key drawn from a seed. */
import { createCipheriv, createHash } from 'node:crypto';

export function seededBytes(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}
