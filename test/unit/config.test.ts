import { describe, expect, it } from 'vitest';
import { ConfigurationError, configToEnv, type RuntimeConfig, readConfig } from '#adapters/config';

const config: RuntimeConfig = {
  functionId: 'CreateUpload',
  tables: { contents: 'contents-table', files: 'files-table' },
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
  });
});
