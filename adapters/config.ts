/**
 * A function's runtime configuration, parsed and checked once per cold start. In Lambda it comes
 * from the environment the stack sets (`readConfig`); the local runner and the tests build the
 * same object directly, so nothing configures a handler by mutating `process.env`.
 *
 * Endpoints are optional: in AWS and in LocalStack the SDK itself honours AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_DYNAMODB; only the embedded local stack passes them.
 */
import {
  BUCKET,
  CONTENTS_TABLE,
  DEFAULTS,
  FILES_TABLE,
  LIMITS_TABLE,
  PROOF_SECRET,
  ROUTES,
  S3_FORCE_PATH_STYLE_ENV_VAR,
  SETTING_ENV_VARS,
} from '#deploy/definitions';
import type { ProofMode, Settings } from '#domain/ports';

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface AwsClientConfig {
  readonly region?: string;
  /** The function's own credentials; absent in Lambda, where the SDK takes the role's. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly endpoints?: { readonly s3?: string; readonly dynamodb?: string };
  readonly s3ForcePathStyle: boolean;
}

/** Where the proof-of-ownership key is: a Secrets Manager ARN in AWS, a file locally. */
export interface ProofSecretLocation {
  readonly arn?: string;
  readonly file?: string;
  /** Where to ask Secrets Manager instead of the ARN's region (AWS_ENDPOINT_URL_SECRETS_MANAGER, as the SDK reads it). */
  readonly endpoint?: string;
}

export interface RuntimeConfig {
  /** The function these dependencies serve (a construct id of deploy/definitions.ts). */
  readonly functionId: string;
  /** `limits`: the per-user counters (the request budget), which every API route function has. */
  readonly tables: { readonly contents: string; readonly files: string; readonly limits?: string };
  readonly bucket: string;
  readonly aws: AwsClientConfig;
  readonly proofSecret: ProofSecretLocation;
  readonly settings: Settings;
}

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
  if (!mode) throw new ConfigurationError(`${SETTING_ENV_VARS.proofMode} must be one of ${PROOF_MODES.join(', ')}`);
  return mode;
}

/** Settings from their optional environment overrides (deploy/definitions.ts SETTING_ENV_VARS). */
export function readSettings(env: Env): Settings {
  const names = SETTING_ENV_VARS;
  return {
    uploadUrlTtlSeconds: positiveInt(env, names.uploadUrlTtlSeconds, DEFAULTS.uploadUrlTtlSeconds),
    downloadUrlTtlSeconds: positiveInt(env, names.downloadUrlTtlSeconds, DEFAULTS.downloadUrlTtlSeconds),
    attemptLeaseSeconds: positiveInt(env, names.attemptLeaseSeconds, DEFAULTS.attemptLeaseSeconds),
    maxPartsPerBatch: DEFAULTS.maxPartsPerBatch,
    uploadTtlSeconds: positiveInt(env, names.uploadTtlSeconds, DEFAULTS.uploadTtlSeconds),
    gcGraceSeconds: wholeNumber(env, names.gcGraceSeconds, DEFAULTS.gcGraceSeconds),
    defaultQuotaBytes: positiveInt(env, names.defaultQuotaBytes, DEFAULTS.defaultQuotaBytes),
    requestsPerMinute: wholeNumber(env, names.requestsPerMinute, DEFAULTS.requestsPerMinute),
    proofMode: proofMode(env[names.proofMode]),
    proofTtlSeconds: positiveInt(env, names.proofTtlSeconds, DEFAULTS.proofTtlSeconds),
    proofPeriodSeconds: positiveInt(env, names.proofPeriodSeconds, DEFAULTS.proofPeriodSeconds),
    proofFailuresPerUser: positiveInt(env, names.proofFailuresPerUser, DEFAULTS.proofFailuresPerUser),
    proofFailuresPerContent: positiveInt(env, names.proofFailuresPerContent, DEFAULTS.proofFailuresPerContent),
  };
}

/** The configuration of function `functionId` from the environment Lambda gives it. */
export function readConfig(functionId: string, env: Env): RuntimeConfig {
  const proofSecretArn = env[PROOF_SECRET.arnEnvVar];
  const proofSecretFile = env[PROOF_SECRET.fileEnvVar];
  // The SDK's own order: the service's variable, then the global one.
  const secretsEndpoint = env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL;
  return {
    functionId,
    tables: {
      contents: requireEnv(env, CONTENTS_TABLE.envVar),
      files: requireEnv(env, FILES_TABLE.envVar),
      // An API function counts every request of its users (lambdas/http.ts): without the table it
      // fails here, at cold start, rather than at its first request.
      ...(ROUTES.some((route) => route.id === functionId) ? { limits: requireEnv(env, LIMITS_TABLE.envVar) } : {}),
    },
    bucket: requireEnv(env, BUCKET.envVar),
    aws: { s3ForcePathStyle: env[S3_FORCE_PATH_STYLE_ENV_VAR] === 'true' },
    proofSecret: {
      ...(proofSecretArn ? { arn: proofSecretArn } : {}),
      ...(proofSecretFile ? { file: proofSecretFile } : {}),
      ...(proofSecretArn && secretsEndpoint ? { endpoint: secretsEndpoint } : {}),
    },
    settings: readSettings(env),
  };
}

/**
 * The environment a deployed function would be given for `config`: the inverse of `readConfig`
 * plus the SDK's own variables (region, credentials, AWS_ENDPOINT_URL_*), so that a bundle run
 * with it builds exactly `config`. The local stack runs the deployed bundles with it.
 */
export function configToEnv(config: RuntimeConfig): Record<string, string> {
  const { aws, settings } = config;
  const env: Record<string, string> = {
    [CONTENTS_TABLE.envVar]: config.tables.contents,
    [FILES_TABLE.envVar]: config.tables.files,
    ...(config.tables.limits ? { [LIMITS_TABLE.envVar]: config.tables.limits } : {}),
    [BUCKET.envVar]: config.bucket,
    [S3_FORCE_PATH_STYLE_ENV_VAR]: String(aws.s3ForcePathStyle),
  };
  if (aws.region) env.AWS_REGION = aws.region;
  if (aws.credentials) {
    env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
  }
  if (aws.endpoints?.s3) env.AWS_ENDPOINT_URL_S3 = aws.endpoints.s3;
  if (aws.endpoints?.dynamodb) env.AWS_ENDPOINT_URL_DYNAMODB = aws.endpoints.dynamodb;
  if (config.proofSecret.arn) env[PROOF_SECRET.arnEnvVar] = config.proofSecret.arn;
  if (config.proofSecret.file) env[PROOF_SECRET.fileEnvVar] = config.proofSecret.file;
  if (config.proofSecret.endpoint) env.AWS_ENDPOINT_URL_SECRETS_MANAGER = config.proofSecret.endpoint;
  for (const [setting, name] of Object.entries(SETTING_ENV_VARS)) {
    env[name] = String(settings[setting as keyof typeof SETTING_ENV_VARS]);
  }
  return env;
}
