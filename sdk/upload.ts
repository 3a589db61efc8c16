/**
 * Uploading a file from disk under Node (the CLI, servers): the shared state machine
 * (sdk/upload-machine.ts) with Node's platform parts: the file is hashed on every core by worker
 * threads, each part is read into a lane's reused buffer and checked against the digest it was
 * hashed to (the file may have changed since), and parts travel over node:http(s).
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { HashdropClient } from './api.ts';
import { answerChallenge, readBlock } from './files.ts';
import { hashFileParallel } from './hash-pool.ts';
import { sha256 } from './hashing.ts';
import { fetchPut, nodePut, type StoragePut } from './storage-put.ts';
import { type PutResult, UploadFailedError, type UploadOptions, type UploadSource, upload } from './upload-machine.ts';

export { type PutResult, UploadFailedError, type UploadProgress } from './upload-machine.ts';

export interface PutOptions extends UploadOptions {
  /** Name to store the file under; defaults to the file's base name. */
  readonly name?: string;
  /** Hash threads. @default all cores */
  readonly hashWorkers?: number;
  /** How part bytes reach storage. @default node:http(s), or the client's fetch if it was given one */
  readonly storagePut?: StoragePut;
}

/** Node's side of an upload: the file at `path`. */
function fileSource(client: HashdropClient, path: string, size: number, options: PutOptions): UploadSource<Uint8Array> {
  return {
    size,
    label: path,
    hash: (onProgress) =>
      hashFileParallel(path, {
        ...(options.hashWorkers ? { workers: options.hashWorkers } : {}),
        ...(onProgress ? { onProgress } : {}),
      }),
    newLane: (blockSize) => {
      // One buffer per lane: an upload's memory stays at its concurrency times the block size.
      const slot = Buffer.allocUnsafe(blockSize);
      return async (partNumber, digest) => {
        const block = await readBlock(path, size, partNumber, slot);
        if (!Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).equals(sha256(block))) {
          throw new UploadFailedError('file_changed', `${path} changed while it was being uploaded`);
        }
        return block;
      };
    },
    answerChallenge: (ranges) => answerChallenge(path, ranges),
    put: options.storagePut ?? (client.customFetch ? fetchPut(client.fetchImpl) : nodePut),
  };
}

export async function putFile(client: HashdropClient, path: string, options: PutOptions = {}): Promise<PutResult> {
  const { size } = await stat(path);
  return upload(client, fileSource(client, path, size, options), options.name ?? basename(path), options);
}
