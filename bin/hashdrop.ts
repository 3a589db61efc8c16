#!/usr/bin/env node
/**
 * The CDK app. `npx cdk synth` works offline without credentials; `npx cdk deploy` deploys into
 * the account and region of your AWS profile. Its context keys (issuer, API variant, the user
 * pool's sign-up, OAuth and e-mail, default quota, request budget, alarm e-mail) are read and
 * checked by lib/context.ts.
 */
import { App } from 'aws-cdk-lib';
import { stackPropsFromContext } from '../lib/context.ts';
import { HashdropStack } from '../lib/hashdrop-stack.ts';

const app = new App();
new HashdropStack(app, 'Hashdrop', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  ...stackPropsFromContext(app.node, process.env),
});
