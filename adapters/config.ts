/**
 * Runtime configuration from the environment, read once and checked at cold start.
 * Endpoints are not configured here: the AWS SDK itself honours AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_DYNAMODB, so LocalStack and the embedded stack need
 * no code path of their own.
 */
import { BUCKET, CONTENTS_TABLE, DEFAULTS, FILES_TABLE } from '#deploy/definitions';
import type { ProofMode, Settings } from '#domain/ports';

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

type Env = Record<string, string | undefined>;

export function requireEnv(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigurationError(`environment variable ${name} is not set`);
  return value;
}

function wholeNumber(env: Env, name: string, fallback: number, minimum = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < minimum) throw new ConfigurationError(`${name} must be an integer ≥ ${minimum}`);
  return value;
}

const positiveInt = (env: Env, name: string, fallback: number): number => wholeNumber(env, name, fallback, 1);

const PROOF_MODES: readonly ProofMode[] = ['off', 'on-hit', 'always'];

function proofMode(raw: string | undefined): ProofMode {
  if (raw === undefined || raw === '') return 'on-hit';
  const mode = PROOF_MODES.find((candidate) => candidate === raw);
  if (!mode) throw new ConfigurationError(`HASHDROP_PROOF_MODE must be one of ${PROOF_MODES.join(', ')}`);
  return mode;
}

export interface RuntimeConfig {
  readonly contentsTable: string;
  readonly filesTable: string;
  readonly bucket: string;
  /** Path-style S3 URLs (LocalStack and s3rver on loopback). */
  readonly s3ForcePathStyle: boolean;
  readonly settings: Settings;
}

export function readConfig(env: Env = process.env): RuntimeConfig {
  return {
    contentsTable: requireEnv(env, CONTENTS_TABLE.envVar),
    filesTable: requireEnv(env, FILES_TABLE.envVar),
    bucket: requireEnv(env, BUCKET.envVar),
    s3ForcePathStyle: env.HASHDROP_S3_FORCE_PATH_STYLE === 'true',
    settings: {
      uploadUrlTtlSeconds: positiveInt(env, 'HASHDROP_UPLOAD_URL_TTL_SECONDS', DEFAULTS.uploadUrlTtlSeconds),
      downloadUrlTtlSeconds: positiveInt(env, 'HASHDROP_DOWNLOAD_URL_TTL_SECONDS', DEFAULTS.downloadUrlTtlSeconds),
      attemptLeaseSeconds: positiveInt(env, 'HASHDROP_ATTEMPT_LEASE_SECONDS', DEFAULTS.attemptLeaseSeconds),
      maxPartsPerBatch: DEFAULTS.maxPartsPerBatch,
      uploadTtlSeconds: positiveInt(env, 'HASHDROP_UPLOAD_TTL_SECONDS', DEFAULTS.uploadTtlSeconds),
      gcGraceSeconds: wholeNumber(env, 'HASHDROP_GC_GRACE_SECONDS', DEFAULTS.gcGraceSeconds),
      defaultQuotaBytes: positiveInt(env, 'HASHDROP_DEFAULT_QUOTA_BYTES', DEFAULTS.defaultQuotaBytes),
      proofMode: proofMode(env.HASHDROP_PROOF_MODE),
      proofTtlSeconds: positiveInt(env, 'HASHDROP_PROOF_TTL_SECONDS', DEFAULTS.proofTtlSeconds),
    },
  };
}
