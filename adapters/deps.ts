/** The composition root: a function's real stores, built from its parsed configuration. */

import { LIMITS_TABLE } from '#deploy/definitions';
import { newId } from '#domain/ids';
import type { Deps, RateLimiter } from '#domain/ports';
import { createDocumentClient, createS3Client } from './clients.ts';
import { ConfigurationError, type RuntimeConfig } from './config.ts';
import { DynamoCatalog } from './dynamo-catalog.ts';
import { DynamoRateLimiter } from './dynamo-rate-limiter.ts';
import { proofSecretSource } from './proof-secret.ts';
import { S3BlobStore } from './s3-blob-store.ts';
import { type InvocationTelemetry, ReadableTelemetry } from './telemetry.ts';

/** The limiter of a function given no Limits table (not an API function): counting anything is a deployment error. */
const noLimitsTable = async (): Promise<never> => {
  throw new ConfigurationError(`this function counts per-user limits but ${LIMITS_TABLE.envVar} is not set`);
};
const NO_LIMITER: RateLimiter = { take: noLimitsTable, peek: noLimitsTable };

/** A function's Deps, with telemetry its entry can run invocations in (lambdas/lambda-entry.ts, the local stack). */
export type FunctionDeps = Deps & { readonly telemetry: InvocationTelemetry };

/**
 * `telemetry`: Powertools in Lambda (lambdas/lambda-entry.ts); by default readable lines, for the
 * local stack and scripts.
 */
export function createDeps(config: RuntimeConfig, telemetry: InvocationTelemetry = new ReadableTelemetry()): FunctionDeps {
  const db = createDocumentClient(config.aws);
  return {
    catalog: new DynamoCatalog(db, config.tables, { telemetry }),
    limiter: config.tables.limits ? new DynamoRateLimiter(db, config.tables.limits) : NO_LIMITER,
    blobs: new S3BlobStore(createS3Client(config.aws), config.bucket),
    settings: config.settings,
    now: Date.now,
    newId,
    // The DynamoDB client's credential provider: resolved and refreshed by the SDK, as for every call.
    proofSecret: proofSecretSource(config.proofSecret, () => db.config.credentials()),
    telemetry,
  };
}
