/**
 * Where the CLI finds its endpoint and token: flags, then HASHDROP_ENDPOINT / HASHDROP_TOKEN,
 * then the embedded stack's .hashdrop/local.json with a dev token minted for --user.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { SigningKey } from '#local/auth';

export interface LocalConfig {
  readonly endpoint: string;
  readonly s3Endpoint: string;
  readonly dynamodbEndpoint: string;
  readonly bucket: string;
  readonly signingKeyFile: string;
}

/** The folder of hashdrop's package.json: above cli/ when run from source, above dist/cli/ when built. */
function packageRoot(from: string): string {
  for (let dir = from; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return from;
}

const PACKAGE_ROOT = packageRoot(import.meta.dirname);

export function findLocalConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig | undefined {
  const candidates = [env.HASHDROP_DATA_DIR, resolve('.hashdrop'), join(PACKAGE_ROOT, '.hashdrop')];
  for (const dir of candidates) {
    const file = dir ? join(dir, 'local.json') : undefined;
    if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as LocalConfig;
  }
  return undefined;
}

export interface Connection {
  readonly endpoint: string;
  readonly token: () => Promise<string>;
}

export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

export function resolveConnection(
  flags: { endpoint?: string; token?: string; user?: string },
  env: NodeJS.ProcessEnv = process.env,
): Connection {
  const local = findLocalConfig(env);
  const endpoint = flags.endpoint ?? env.HASHDROP_ENDPOINT ?? local?.endpoint;
  if (!endpoint) {
    throw new ConnectionError('no endpoint: pass --endpoint, set HASHDROP_ENDPOINT, or run `npm start` for a local stack');
  }
  const explicit = flags.token ?? env.HASHDROP_TOKEN;
  if (explicit) return { endpoint, token: async () => explicit };
  if (!local) throw new ConnectionError('no token: pass --token or set HASHDROP_TOKEN');
  const user = flags.user ?? env.HASHDROP_USER ?? 'dev';
  return { endpoint, token: () => devToken(local, user) };
}

export async function devToken(local: LocalConfig, user: string): Promise<string> {
  const key = JSON.parse(readFileSync(local.signingKeyFile, 'utf8')) as SigningKey;
  // Loaded on first use: jose takes about 40 ms to import, which commands given a token skip.
  const { mintToken } = await import('#local/auth');
  return mintToken(key, user);
}
