/**
 * Until the local S3 of local/s3/ replaces s3rver: s3rver knows one account with one key, and
 * refuses any other signature. It learns each function's own key here, so that the functions sign
 * with their own credentials already; s3rver checks those signatures but evaluates no policy.
 */
import { createRequire } from 'node:module';
import { FUNCTION_IDS, functionCredentials } from './credentials.ts';

interface S3rverAccount {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
}

export function teachS3rverFunctionKeys(): void {
  // s3rver ships no types and exports its account registry only from this internal module.
  const module = createRequire(import.meta.url)('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT?: S3rverAccount };
  const account = module.DUMMY_ACCOUNT;
  if (!account) throw new Error('s3rver has no DUMMY_ACCOUNT: its internals changed');
  for (const functionId of FUNCTION_IDS) {
    const { accessKeyId, secretAccessKey } = functionCredentials(functionId);
    account.createKeyPair(accessKeyId, secretAccessKey);
  }
}
