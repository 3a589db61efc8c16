/** The protocol's tree hash on Node's SHA-256 (the functions run on Node.js in Lambda). */
import { createHash } from 'node:crypto';
import { treeHashing } from '#protocol/tree-hash';

export const { sha256, contentIdFromBlockDigests, hashBuffer, hashStream, contentIdFromS3Checksum } = treeHashing(() =>
  createHash('sha256'),
);
