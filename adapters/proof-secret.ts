/**
 * The key that signs proof-of-ownership challenges. It is never in an environment variable or
 * the template: in AWS the stack generates it in Secrets Manager and the functions receive only
 * its ARN; the local stack keeps one in `.hashdrop/`. Read once per container, on first use.
 */
import { readFile } from 'node:fs/promises';
import { PROOF_SECRET } from '#deploy/definitions';
import { ConfigurationError, type ProofSecretLocation } from './config.ts';
import { type Credentials, getSecretString } from './secret-value.ts';

const noCredentials = async (): Promise<never> => {
  throw new ConfigurationError('no credentials to fetch the proof secret with');
};

/** At least this many bytes of key. */
const MIN_SECRET_BYTES = 32;

async function fetchSecret(
  { arn, file, endpoint }: ProofSecretLocation,
  credentials: () => Promise<Credentials>,
): Promise<Uint8Array> {
  let text: string | undefined;
  if (arn) {
    text = await getSecretString(arn, { credentials, ...(endpoint ? { endpoint } : {}) });
  } else if (file) {
    text = (await readFile(file, 'utf8')).trim();
  }
  if (!text) throw new ConfigurationError(`set ${PROOF_SECRET.arnEnvVar} or ${PROOF_SECRET.fileEnvVar} to challenge uploads`);
  const secret = Buffer.from(text, 'utf8');
  if (secret.length < MIN_SECRET_BYTES) throw new ConfigurationError(`the proof secret must hold ${MIN_SECRET_BYTES}+ bytes`);
  return secret;
}

/**
 * A lazily fetched, cached secret; a failed fetch is retried on the next use. `credentials`: the
 * function's (its SDK clients' provider), needed only for a secret in Secrets Manager.
 */
export function proofSecretSource(
  location: ProofSecretLocation,
  credentials: () => Promise<Credentials> = noCredentials,
): () => Promise<Uint8Array> {
  let cached: Promise<Uint8Array> | undefined;
  return () => {
    cached ??= fetchSecret(location, credentials).catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}
