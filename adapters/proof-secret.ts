/**
 * The key that signs proof-of-ownership challenges. It is never in an environment variable or
 * the template: in AWS the stack generates it in Secrets Manager and the functions receive only
 * its ARN; the local stack keeps one in `.hashdrop/`. Read once per container, on first use.
 */
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PROOF_SECRET } from '#deploy/definitions';
import { clientBase } from './clients.ts';
import { type AwsClientConfig, ConfigurationError, type ProofSecretLocation } from './config.ts';

/** At least this many bytes of key. */
const MIN_SECRET_BYTES = 32;

async function fetchSecret({ arn, file }: ProofSecretLocation, aws: AwsClientConfig): Promise<Uint8Array> {
  let text: string | undefined;
  if (arn) {
    const client = new SecretsManagerClient(clientBase(aws));
    text = (await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
    client.destroy();
  } else if (file) {
    text = (await readFile(file, 'utf8')).trim();
  }
  if (!text) throw new ConfigurationError(`set ${PROOF_SECRET.arnEnvVar} or ${PROOF_SECRET.fileEnvVar} to challenge uploads`);
  const secret = Buffer.from(text, 'utf8');
  if (secret.length < MIN_SECRET_BYTES) throw new ConfigurationError(`the proof secret must hold ${MIN_SECRET_BYTES}+ bytes`);
  return secret;
}

/** A lazily fetched, cached secret; a failed fetch is retried on the next use. */
export function proofSecretSource(location: ProofSecretLocation, aws: AwsClientConfig): () => Promise<Uint8Array> {
  let cached: Promise<Uint8Array> | undefined;
  return () => {
    cached ??= fetchSecret(location, aws).catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}
