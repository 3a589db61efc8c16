/**
 * Dev tokens for the embedded stack, checked by the same rules as API Gateway's JWT authorizer:
 * signature (from a published JWKS), issuer, audience and expiry. The signing key lives in the
 * data folder, so tokens survive restarts of `npm start`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';

export const LOCAL_ISSUER = 'https://hashdrop.local/issuer';
export const LOCAL_AUDIENCE = 'hashdrop';
const ALG = 'ES256';

export interface SigningKey {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

export async function loadOrCreateSigningKey(file: string | undefined): Promise<SigningKey> {
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SigningKey;
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = `local-${Date.now().toString(36)}`;
  const key: SigningKey = {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALG },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' },
  };
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  }
  return key;
}

export async function mintToken(
  key: SigningKey,
  userId: string,
  options: { ttlSeconds?: number; issuer?: string; audience?: string } = {},
): Promise<string> {
  const privateKey = await importJWK(key.privateJwk, ALG);
  return new SignJWT({})
    .setProtectedHeader({ alg: ALG, kid: key.privateJwk.kid ?? 'local', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(options.issuer ?? LOCAL_ISSUER)
    .setAudience(options.audience ?? LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds ?? 12 * 3600}s`)
    .sign(privateKey);
}

export type TokenVerifier = (authorization: string | undefined) => Promise<JWTPayload | undefined>;

/** The key set the local stack publishes at /.well-known/jwks.json, as an OIDC issuer does. */
export function publishedKeySet(key: SigningKey): { keys: JWK[] } {
  return { keys: [key.publicJwk] };
}

/**
 * Returns the verified claims of a `Bearer` token, or undefined (then the request gets 401).
 * Keys are looked up by `kid` in the published key set, as API Gateway's JWT authorizer does.
 */
export async function createVerifier(key: SigningKey): Promise<TokenVerifier> {
  const publicKey = createLocalJWKSet(publishedKeySet(key));
  return async (authorization) => {
    const token = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization ?? '')?.[1];
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, publicKey, {
        issuer: LOCAL_ISSUER,
        audience: LOCAL_AUDIENCE,
        algorithms: [ALG],
        requiredClaims: ['sub', 'exp'],
      });
      return payload;
    } catch {
      return undefined;
    }
  };
}
