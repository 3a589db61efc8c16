import { newId } from '#domain/ids';
import type { Deps } from '#domain/ports';
import { createDocumentClient, createS3Client } from './clients.ts';
import { readConfig } from './config.ts';
import { DynamoCatalog } from './dynamo-catalog.ts';
import { proofSecretSource } from './proof-secret.ts';
import { S3BlobStore } from './s3-blob-store.ts';

/** The real stores, configured from the environment. */
export function createDeps(env: Record<string, string | undefined> = process.env): Deps {
  const config = readConfig(env);
  return {
    catalog: new DynamoCatalog(createDocumentClient(), { contents: config.contentsTable, files: config.filesTable }),
    blobs: new S3BlobStore(createS3Client({ forcePathStyle: config.s3ForcePathStyle }), config.bucket),
    settings: config.settings,
    now: Date.now,
    newId,
    proofSecret: proofSecretSource(env),
  };
}
