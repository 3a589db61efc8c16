/** The composition root: a function's real stores, built from its parsed configuration. */
import { newId } from '#domain/ids';
import type { Deps } from '#domain/ports';
import { createDocumentClient, createS3Client } from './clients.ts';
import type { RuntimeConfig } from './config.ts';
import { DynamoCatalog } from './dynamo-catalog.ts';
import { proofSecretSource } from './proof-secret.ts';
import { S3BlobStore } from './s3-blob-store.ts';

export function createDeps(config: RuntimeConfig): Deps {
  return {
    catalog: new DynamoCatalog(createDocumentClient(config.aws), config.tables),
    blobs: new S3BlobStore(createS3Client(config.aws), config.bucket),
    settings: config.settings,
    now: Date.now,
    newId,
    proofSecret: proofSecretSource(config.proofSecret, config.aws),
  };
}
