#!/usr/bin/env node
/**
 * The CDK app. `npx cdk synth` works offline without credentials; `npx cdk deploy` deploys into
 * the account and region of your AWS profile.
 *
 * Context (cdk.json or `-c`): `jwtIssuer` and `jwtAudience` (comma-separated) to accept tokens
 * of your own OIDC provider instead of the Cognito user pool the stack creates.
 * `hashdrop:api=rest` selects the variant LocalStack's free plan runs (a REST API with a Lambda
 * TOKEN authorizer, no Cognito); its authorizer takes the issuer's public keys from
 * `hashdrop:jwks` or the environment variable HASHDROP_JWKS (a JWKS JSON document).
 */
import { App } from 'aws-cdk-lib';
import { HashdropStack } from '../lib/hashdrop-stack.ts';

const app = new App();
const issuer: unknown = app.node.tryGetContext('jwtIssuer');
const audience: unknown = app.node.tryGetContext('jwtAudience');
const api: unknown = app.node.tryGetContext('hashdrop:api') ?? 'http';
if (api !== 'http' && api !== 'rest') throw new Error(`hashdrop:api must be http or rest, not ${String(api)}`);
const jwksContext: unknown = app.node.tryGetContext('hashdrop:jwks');
// The context value may arrive parsed (from cdk.json) or as text (from -c).
const jwks =
  jwksContext === undefined
    ? process.env.HASHDROP_JWKS
    : typeof jwksContext === 'string'
      ? jwksContext
      : JSON.stringify(jwksContext);

new HashdropStack(app, 'Hashdrop', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  api,
  ...(api === 'rest' && jwks ? { jwks } : {}),
  ...(typeof issuer === 'string' && typeof audience === 'string'
    ? { jwt: { issuer, audience: audience.split(',').map((value) => value.trim()) } }
    : {}),
});
