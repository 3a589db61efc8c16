/**
 * The REST API's TOKEN authorizer (lambdas/token-authorizer.ts): what API Gateway's JWT authorizer
 * accepts, it allows for exactly the method called, with the token's subject as principal; every
 * other token is an `Unauthorized` error, which API Gateway answers with 401.
 */
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '#adapters/config';
import { TOKEN_AUTHORIZER } from '#deploy/definitions';
import { build, readAuthorizerConfig, type TokenAuthorizerConfig } from '#lambdas/token-authorizer';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateSigningKey, mintToken, publishedKeySet, type SigningKey } from '#local/auth';

const METHOD_ARN = 'arn:aws:execute-api:us-east-1:000000000000:abc123/api/GET/v1/usage';
const tokenEvent = (authorizationToken: string): APIGatewayTokenAuthorizerEvent => ({
  type: 'TOKEN',
  methodArn: METHOD_ARN,
  authorizationToken,
});

describe('the token authorizer', () => {
  let devKey: SigningKey;
  let otherKey: SigningKey;
  let rsa: { sign: (claims: { sub?: string; iss?: string; aud?: string; exp?: string }) => Promise<string> };
  let authorize: ReturnType<typeof build>;

  beforeAll(async () => {
    devKey = await loadOrCreateSigningKey(undefined);
    // Another key under the same key id: its signatures must not pass for the published one.
    const another = await loadOrCreateSigningKey(undefined);
    otherKey = {
      privateJwk: { ...another.privateJwk, kid: devKey.privateJwk.kid },
      publicJwk: { ...another.publicJwk, kid: devKey.publicJwk.kid },
    };
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const rsaPublic = { ...(await exportJWK(publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
    rsa = {
      sign: (claims) => {
        const jwt = new SignJWT({})
          .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
          .setIssuer(claims.iss ?? LOCAL_ISSUER)
          .setAudience(claims.aud ?? LOCAL_AUDIENCE)
          .setIssuedAt()
          .setExpirationTime(claims.exp ?? '1h');
        if (claims.sub !== undefined) jwt.setSubject(claims.sub);
        return jwt.sign(privateKey);
      },
    };
    const config: TokenAuthorizerConfig = {
      issuer: LOCAL_ISSUER,
      audience: ['other-app', LOCAL_AUDIENCE],
      jwks: { keys: [...publishedKeySet(devKey).keys, rsaPublic] },
    };
    authorize = build(config);
  });

  it('allows a local dev token (ES256) for the method called, with its subject as principal and in the context', async () => {
    const result = await authorize(tokenEvent(`Bearer ${await mintToken(devKey, 'alice')}`));
    expect(result).toEqual({
      principalId: 'alice',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }],
      },
      context: { sub: 'alice' },
    });
  });

  it('allows an RS256 token of the configured issuer, as Cognito and most OIDC issuers sign', async () => {
    const result = await authorize(tokenEvent(`Bearer ${await rsa.sign({ sub: 'bob' })}`));
    expect(result.principalId).toBe('bob');
  });

  it.each([
    ['expired', async () => rsa.sign({ sub: 'bob', exp: '-1m' })],
    ['from another issuer', async () => mintToken(devKey, 'alice', { issuer: 'https://evil.example.com' })],
    ['for another audience', async () => mintToken(devKey, 'alice', { audience: 'someone-else' })],
    ['signed by another key under the published key id', async () => mintToken(otherKey, 'alice')],
    ['without a subject', async () => rsa.sign({})],
  ])('refuses a token %s with Unauthorized (a 401)', async (_, token) => {
    await expect(authorize(tokenEvent(`Bearer ${await token()}`))).rejects.toThrow(/^Unauthorized$/);
  });

  it('refuses a tampered token', async () => {
    const [header, , signature] = (await mintToken(devKey, 'alice')).split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'mallory', iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, exp: 4e9 })).toString(
      'base64url',
    );
    await expect(authorize(tokenEvent(`Bearer ${header}.${payload}.${signature}`))).rejects.toThrow(/^Unauthorized$/);
  });

  it.each([[''], ['alice'], ['Basic YWxpY2U6cHc='], ['Bearer'], ['Bearer not a token']])(
    'refuses the header %j with Unauthorized',
    async (header) => {
      await expect(authorize(tokenEvent(header))).rejects.toThrow(/^Unauthorized$/);
    },
  );
});

describe('the token authorizer’s configuration', () => {
  const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] });
  const env = {
    [TOKEN_AUTHORIZER.issuerEnvVar]: LOCAL_ISSUER,
    [TOKEN_AUTHORIZER.audienceEnvVar]: ' hashdrop , web ',
    [TOKEN_AUTHORIZER.jwksEnvVar]: jwks,
  };

  it('reads the issuer, the comma-separated audiences and the key set', () => {
    expect(readAuthorizerConfig(env)).toEqual({ issuer: LOCAL_ISSUER, audience: ['hashdrop', 'web'], jwks: JSON.parse(jwks) });
  });

  it.each([
    ['no issuer', { ...env, [TOKEN_AUTHORIZER.issuerEnvVar]: undefined }],
    ['no audience', { ...env, [TOKEN_AUTHORIZER.audienceEnvVar]: ' , ' }],
    ['no key set', { ...env, [TOKEN_AUTHORIZER.jwksEnvVar]: undefined }],
    ['a key set that is not JSON', { ...env, [TOKEN_AUTHORIZER.jwksEnvVar]: '{keys' }],
    ['a key set without keys', { ...env, [TOKEN_AUTHORIZER.jwksEnvVar]: '{"keys":[]}' }],
  ])('fails loudly (a 500, not a 401) with %s', (_, broken) => {
    expect(() => readAuthorizerConfig(broken)).toThrow(ConfigurationError);
  });
});
