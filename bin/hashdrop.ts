#!/usr/bin/env node
/**
 * The CDK app. `npx cdk synth` works offline without credentials; `npx cdk deploy` deploys into
 * the account and region of your AWS profile.
 *
 * Context (cdk.json or `-c`): `jwtIssuer` and `jwtAudience` (comma-separated) to accept tokens
 * of your own OIDC provider instead of the Cognito user pool the stack creates.
 */
import { App } from 'aws-cdk-lib';
import { HashdropStack } from '../lib/hashdrop-stack.ts';

const app = new App();
const issuer: unknown = app.node.tryGetContext('jwtIssuer');
const audience: unknown = app.node.tryGetContext('jwtAudience');

new HashdropStack(app, 'Hashdrop', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  ...(typeof issuer === 'string' && typeof audience === 'string'
    ? { jwt: { issuer, audience: audience.split(',').map((value) => value.trim()) } }
    : {}),
});
