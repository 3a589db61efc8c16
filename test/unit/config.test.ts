import { describe, expect, it } from 'vitest';
import { ConfigurationError, configToEnv, type RuntimeConfig, readConfig } from '#adapters/config';

const config: RuntimeConfig = {
  functionId: 'CreateUpload',
  tables: { contents: 'contents-table', files: 'files-table', limits: 'limits-table' },
  bucket: 'blob-bucket',
  aws: { s3ForcePathStyle: true },
  proofSecret: { arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:proof' },
  settings: {
    uploadUrlTtlSeconds: 60,
    downloadUrlTtlSeconds: 30,
    attemptLeaseSeconds: 90,
    maxPartsPerBatch: 100,
    uploadTtlSeconds: 3600,
    gcGraceSeconds: 0,
    defaultQuotaBytes: 1000,
    requestsPerMinute: 0,
    proofMode: 'always',
    proofTtlSeconds: 120,
    proofPeriodSeconds: 3600,
    proofFailuresPerUser: 7,
    proofFailuresPerContent: 3,
  },
};

describe('runtime configuration', () => {
  it('a deployed function given configToEnv(config) reads back exactly config', () => {
    expect(readConfig('CreateUpload', configToEnv(config))).toEqual(config);
  });

  it('passes region, credentials and endpoints through the SDK’s own variables', () => {
    const env = configToEnv({
      ...config,
      aws: {
        s3ForcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
        endpoints: { s3: 'http://127.0.0.1:1', dynamodb: 'http://127.0.0.1:2' },
      },
    });
    expect(env).toMatchObject({
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:2',
    });
  });

  it('refuses a missing table or a malformed setting at the first use, naming the variable', () => {
    const env = configToEnv(config);
    expect(() => readConfig('CreateUpload', { ...env, FILES_TABLE: undefined })).toThrow(ConfigurationError);
    expect(() => readConfig('CreateUpload', { ...env, HASHDROP_PROOF_MODE: 'sometimes' })).toThrow(/HASHDROP_PROOF_MODE/);
    expect(() => readConfig('CreateUpload', { ...env, HASHDROP_UPLOAD_TTL_SECONDS: '-1' })).toThrow(
      /HASHDROP_UPLOAD_TTL_SECONDS/,
    );
    expect(() => readConfig('CreateUpload', { ...env, HASHDROP_REQUESTS_PER_MINUTE: '1.5' })).toThrow(
      /HASHDROP_REQUESTS_PER_MINUTE/,
    );
  });

  it('an API function needs the Limits table (it counts every request); the others do not get it', () => {
    const env = configToEnv(config);
    expect(() => readConfig('GetUsage', { ...env, LIMITS_TABLE: undefined })).toThrow(/LIMITS_TABLE/);
    expect(readConfig('Sweeper', { ...env, LIMITS_TABLE: undefined }).tables).toEqual({
      contents: 'contents-table',
      files: 'files-table',
    });
  });

  it('the request budget defaults to 600 a minute per user; 0 turns it off', () => {
    const env = { ...configToEnv(config), HASHDROP_REQUESTS_PER_MINUTE: undefined };
    expect(readConfig('GetUsage', env).settings.requestsPerMinute).toBe(600);
    expect(readConfig('GetUsage', { ...env, HASHDROP_REQUESTS_PER_MINUTE: '0' }).settings.requestsPerMinute).toBe(0);
  });
});
