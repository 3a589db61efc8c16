/**
 * The REST API's Lambda TOKEN authorizer (lib/constructs/rest-api.ts): the same check as the HTTP
 * API's JWT authorizer, for the stack variant that runs without API Gateway v2. It verifies the
 * bearer JWT's signature against a key set given by configuration (a function inside LocalStack
 * cannot fetch a JWKS from the host's loopback), its issuer, audience and expiry, and answers
 * with the token's `sub` as principal, which the API handlers take as the user (lambdas/http.ts).
 *
 * API Gateway's contract: a thrown `Error('Unauthorized')` is a 401; any other error is a 500
 * (a misconfigured authorizer must be loud, not a stream of 401s).
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { ConfigurationError, type Env, requireEnv } from '#adapters/config';
import { TOKEN_AUTHORIZER } from '#deploy/definitions';

/** The algorithms of the tokens we accept: Cognito and most OIDC issuers sign RS256, the local dev issuer ES256. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'ES256'];

export interface TokenAuthorizerConfig {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly jwks: JSONWebKeySet;
}

/** What the API handlers find in `requestContext.authorizer` besides `principalId`. */
export interface TokenAuthorizerContext {
  readonly sub: string;
}

function parseKeySet(text: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigurationError(`${TOKEN_AUTHORIZER.jwksEnvVar} is not JSON`);
  }
  const keys = typeof parsed === 'object' && parsed !== null && 'keys' in parsed ? parsed.keys : undefined;
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((key) => typeof key === 'object' && key !== null && 'kty' in key)
  ) {
    throw new ConfigurationError(`${TOKEN_AUTHORIZER.jwksEnvVar} must be a JWKS: {"keys":[{"kty":…},…]}`);
  }
  return { keys };
}

/** The authorizer's configuration from the environment the stack gives it. */
export function readAuthorizerConfig(env: Env): TokenAuthorizerConfig {
  const audience = requireEnv(env, TOKEN_AUTHORIZER.audienceEnvVar)
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value.length > 0);
  if (audience.length === 0) throw new ConfigurationError(`${TOKEN_AUTHORIZER.audienceEnvVar} names no audience`);
  return {
    issuer: requireEnv(env, TOKEN_AUTHORIZER.issuerEnvVar),
    audience,
    jwks: parseKeySet(requireEnv(env, TOKEN_AUTHORIZER.jwksEnvVar)),
  };
}

const unauthorized = (): Error => new Error('Unauthorized');

/** The bearer token of an Authorization header value; the stack's validation regex lets only this shape through. */
const BEARER = /^Bearer ([A-Za-z0-9_.-]+)$/;

export function build(config: TokenAuthorizerConfig) {
  const keys = createLocalJWKSet(config.jwks);
  return async (event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const token = BEARER.exec(event.authorizationToken ?? '')?.[1];
    if (!token) throw unauthorized();
    let sub: unknown;
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: [...config.audience],
        algorithms: ACCEPTED_ALGORITHMS,
        requiredClaims: ['sub', 'exp'],
      });
      sub = payload.sub;
    } catch (error) {
      // The reason (expired, wrong audience, bad signature...) helps whoever configures the issuer; the token stays out of logs.
      console.info(JSON.stringify({ message: 'token refused', reason: (error as { code?: string }).code ?? 'invalid' }));
      throw unauthorized();
    }
    if (typeof sub !== 'string' || sub.length === 0) throw unauthorized();
    const context: TokenAuthorizerContext = { sub };
    return {
      principalId: sub,
      // Exactly the method called: the stack turns result caching off, so no policy outlives its request.
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
      },
      context: { ...context },
    };
  };
}

let built: ReturnType<typeof build> | undefined;

/** Lambda entry: the configuration is read once per container, on the first request. */
export const handler = (event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
  built ??= build(readAuthorizerConfig(process.env));
  return built(event);
};
