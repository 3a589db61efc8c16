/**
 * The key that signs proof-of-ownership challenges. It is never in an environment variable or
 * the template: in AWS the stack generates it in Secrets Manager and the functions receive only
 * its ARN; the local stack keeps one in `.hashdrop/`. Read once per container, on first use.
 */
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PROOF_SECRET } from '#deploy/definitions';
import { ConfigurationError } from './config.ts';

const PROOF_SECRET_ARN_VAR = PROOF_SECRET.arnEnvVar;
const PROOF_SECRET_FILE_VAR = PROOF_SECRET.fileEnvVar;

/** At least this many bytes of key. */
const MIN_SECRET_BYTES = 32;

async function fetchSecret(env: Record<string, string | undefined>): Promise<Uint8Array> {
  const arn = env[PROOF_SECRET_ARN_VAR];
  const file = env[PROOF_SECRET_FILE_VAR];
  let text: string | undefined;
  if (arn) {
    const client = new SecretsManagerClient({});
    text = (await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
    client.destroy();
  } else if (file) {
    text = (await readFile(file, 'utf8')).trim();
  }
  if (!text) throw new ConfigurationError(`set ${PROOF_SECRET_ARN_VAR} or ${PROOF_SECRET_FILE_VAR} to challenge uploads`);
  const secret = Buffer.from(text, 'utf8');
  if (secret.length < MIN_SECRET_BYTES) throw new ConfigurationError(`the proof secret must hold ${MIN_SECRET_BYTES}+ bytes`);
  return secret;
}

/** A lazily fetched, cached secret; a failed fetch is retried on the next use. */
export function proofSecretSource(env: Record<string, string | undefined>): () => Promise<Uint8Array> {
  let cached: Promise<Uint8Array> | undefined;
  return () => {
    cached ??= fetchSecret(env).catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}
