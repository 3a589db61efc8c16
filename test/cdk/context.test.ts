/**
 * What the CDK app (bin/hashdrop.ts) deploys for its context values (lib/context.ts): the Cognito
 * pool's self sign-up, OAuth and e-mail (their template: test/cdk/user-pool.test.ts), each user's
 * default quota and request budget, the alarm e-mail (its subscription:
 * test/cdk/operations.test.ts), by default and when set,
 * from the command line (text) or cdk.json (parsed values).
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTES, SETTING_ENV_VARS } from '#deploy/definitions';
import { CONTEXT_KEYS, ContextError, stackPropsFromContext } from '../../lib/context.ts';
import { HashdropStack } from '../../lib/hashdrop-stack.ts';

/** The template bin/hashdrop.ts would synthesize with `context` (bundling skipped, as the other template tests do). */
function synthWith(context: Record<string, unknown>): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return Template.fromStack(new HashdropStack(app, 'Context', stackPropsFromContext(app.node, {})));
}

function settingsOf(template: Template): { quota: unknown; budget: unknown }[] {
  const functions = template.findResources('AWS::Lambda::Function');
  return ROUTES.map((route) => {
    const fn = Object.entries(functions).find(([id]) => id.startsWith(route.id))?.[1];
    if (!fn) throw new Error(`no function ${route.id}`);
    const variables = (fn.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables;
    return { quota: variables[SETTING_ENV_VARS.defaultQuotaBytes], budget: variables[SETTING_ENV_VARS.requestsPerMinute] };
  });
}

describe('the CDK app’s context', () => {
  it('by default: no self sign-up (only the owner creates accounts), 100 GiB per user, 600 requests a minute', () => {
    const template = synthWith({});
    template.hasResourceProperties('AWS::Cognito::UserPool', { AdminCreateUserConfig: { AllowAdminCreateUserOnly: true } });
    expect(new Set(settingsOf(template).map((settings) => JSON.stringify(settings)))).toEqual(
      new Set([JSON.stringify({ quota: String(100 * 1024 ** 3), budget: '600' })]),
    );
  });

  it.each([
    ['the command line (-c key=value: text)', { selfSignUp: 'true', quota: '5368709120', budget: '0' }],
    ['cdk.json (parsed values)', { selfSignUp: true, quota: 5368709120, budget: 0 }],
  ])('from %s: self sign-up on, a quota of 5 GiB, no budget', (_label, values) => {
    const template = synthWith({
      [CONTEXT_KEYS.selfSignUp]: values.selfSignUp,
      [CONTEXT_KEYS.defaultQuotaBytes]: values.quota,
      [CONTEXT_KEYS.requestsPerMinute]: values.budget,
    });
    template.hasResourceProperties('AWS::Cognito::UserPool', { AdminCreateUserConfig: { AllowAdminCreateUserOnly: false } });
    for (const settings of settingsOf(template)) expect(settings).toEqual({ quota: '5368709120', budget: '0' });
  });

  it('the app client takes password sign-in (the web app’s flow) only when asked', () => {
    const flows = (template: Template) =>
      Object.values(template.findResources('AWS::Cognito::UserPoolClient')).map(
        (client) => (client.Properties as { ExplicitAuthFlows: string[] }).ExplicitAuthFlows,
      );
    expect(flows(synthWith({}))).toEqual([expect.not.arrayContaining(['ALLOW_USER_PASSWORD_AUTH'])]);
    expect(flows(synthWith({ [CONTEXT_KEYS.passwordSignIn]: 'true' }))).toEqual([
      expect.arrayContaining(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH']),
    ]);
  });

  it('turns self sign-up off when told false', () => {
    synthWith({ [CONTEXT_KEYS.selfSignUp]: 'false' }).hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
  });

  it.each([
    [CONTEXT_KEYS.selfSignUp, 'yes'],
    [CONTEXT_KEYS.selfSignUp, 1],
    [CONTEXT_KEYS.passwordSignIn, 'on'],
    [CONTEXT_KEYS.defaultQuotaBytes, '0'],
    [CONTEXT_KEYS.defaultQuotaBytes, '100GiB'],
    [CONTEXT_KEYS.defaultQuotaBytes, 1.5],
    [CONTEXT_KEYS.requestsPerMinute, '-1'],
    [CONTEXT_KEYS.requestsPerMinute, 'lots'],
    [CONTEXT_KEYS.api, 'graphql'],
    [CONTEXT_KEYS.alarmEmail, 'ops'],
    [CONTEXT_KEYS.alarmEmail, 'ops@example'],
    [CONTEXT_KEYS.alarmEmail, 'a@example.com,b@example.com'],
    [CONTEXT_KEYS.alarmEmail, 'ops @example.com'],
    [CONTEXT_KEYS.alarmEmail, true],
  ])('refuses %s = %j, naming the key', (key, value) => {
    const app = new App({ context: { [key]: value } });
    expect(() => stackPropsFromContext(app.node, {})).toThrow(ContextError);
    expect(() => stackPropsFromContext(app.node, {})).toThrow(key);
  });

  it('reads the alarm e-mail, and passes none when it is not set', () => {
    const app = new App({ context: { [CONTEXT_KEYS.alarmEmail]: 'ops+hashdrop@example.co.uk' } });
    expect(stackPropsFromContext(app.node, {})).toMatchObject({ alarmEmail: 'ops+hashdrop@example.co.uk' });
    expect(stackPropsFromContext(new App().node, {})).not.toHaveProperty('alarmEmail');
  });

  it('gives the app client no OAuth by default, and the code grant to the given URLs when set', () => {
    synthWith({}).hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlowsUserPoolClient: false,
      CallbackURLs: Match.absent(),
    });
    synthWith({
      [CONTEXT_KEYS.callbackUrls]: 'https://files.acme-corp.net/signed-in',
      [CONTEXT_KEYS.authDomainPrefix]: 'acme-files',
    }).hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlows: ['code'],
      CallbackURLs: ['https://files.acme-corp.net/signed-in'],
    });
  });

  it.each([
    [
      'the command line, comma-separated',
      ' https://files.acme-corp.net/in , http://localhost:5173/in',
      'https://files.acme-corp.net/',
    ],
    [
      'the command line, a JSON array',
      '["https://files.acme-corp.net/in","http://localhost:5173/in"]',
      '["https://files.acme-corp.net/"]',
    ],
    ['cdk.json', ['https://files.acme-corp.net/in', 'http://localhost:5173/in'], ['https://files.acme-corp.net/']],
  ])('reads the managed login from %s: the code grant unless told otherwise', (_label, callbackUrls, logoutUrls) => {
    const app = new App({
      context: {
        [CONTEXT_KEYS.callbackUrls]: callbackUrls,
        [CONTEXT_KEYS.logoutUrls]: logoutUrls,
        [CONTEXT_KEYS.authDomainPrefix]: 'acme-files',
      },
    });
    expect(stackPropsFromContext(app.node, {}).oauth).toEqual({
      callbackUrls: ['https://files.acme-corp.net/in', 'http://localhost:5173/in'],
      logoutUrls: ['https://files.acme-corp.net/'],
      flows: ['code'],
      domainPrefix: 'acme-files',
    });
  });

  it('takes the implicit grant only when named, and a mobile app’s reverse-DNS scheme', () => {
    const app = new App({
      context: {
        [CONTEXT_KEYS.callbackUrls]: 'net.acme-corp.files:/signed-in',
        [CONTEXT_KEYS.authDomainPrefix]: 'acme-files',
        [CONTEXT_KEYS.oauthFlows]: 'code,implicit,code',
      },
    });
    expect(stackPropsFromContext(app.node, {}).oauth).toMatchObject({
      callbackUrls: ['net.acme-corp.files:/signed-in'],
      flows: ['code', 'implicit'],
    });
  });

  it('reads the SES sender, and passes none when it is not set', () => {
    const app = new App({
      context: {
        [CONTEXT_KEYS.sesFromEmail]: 'no-reply@acme-corp.net',
        [CONTEXT_KEYS.sesFromName]: 'Acme Files',
        [CONTEXT_KEYS.sesReplyTo]: 'support@acme-corp.net',
        [CONTEXT_KEYS.sesRegion]: 'eu-west-1',
        [CONTEXT_KEYS.sesVerifiedDomain]: 'acme-corp.net',
        [CONTEXT_KEYS.sesConfigurationSet]: 'hashdrop_auth-1',
      },
    });
    expect(stackPropsFromContext(app.node, {}).sesEmail).toEqual({
      fromEmail: 'no-reply@acme-corp.net',
      fromName: 'Acme Files',
      replyTo: 'support@acme-corp.net',
      sesRegion: 'eu-west-1',
      sesVerifiedDomain: 'acme-corp.net',
      configurationSetName: 'hashdrop_auth-1',
    });
    expect(stackPropsFromContext(new App().node, {})).not.toHaveProperty('sesEmail');
    expect(stackPropsFromContext(new App().node, {})).not.toHaveProperty('oauth');
  });

  const withDomain = { [CONTEXT_KEYS.authDomainPrefix]: 'acme-files' };
  it.each([
    [CONTEXT_KEYS.callbackUrls, 'http://files.acme-corp.net/in'],
    [CONTEXT_KEYS.callbackUrls, 'https://example.com'],
    [CONTEXT_KEYS.callbackUrls, 'https://app.example.org/in'],
    [CONTEXT_KEYS.callbackUrls, 'https://example.com./in'],
    [CONTEXT_KEYS.callbackUrls, 'com.example.app:/signed-in'],
    [CONTEXT_KEYS.logoutUrls, 'org.example.files:/signed-out'],
    [CONTEXT_KEYS.callbackUrls, 'https://files.acme-corp.net/in#top'],
    [CONTEXT_KEYS.callbackUrls, 'javascript:alert(1)'],
    [CONTEXT_KEYS.callbackUrls, 'myapp://signed-in'],
    [CONTEXT_KEYS.callbackUrls, 'files.acme-corp.net/in'],
    [CONTEXT_KEYS.callbackUrls, 'https://files.acme-corp.net/in,'],
    [CONTEXT_KEYS.callbackUrls, '["https://files.acme-corp.net/in"'],
    [CONTEXT_KEYS.callbackUrls, []],
    [CONTEXT_KEYS.callbackUrls, [1]],
    [CONTEXT_KEYS.oauthFlows, 'token'],
    [CONTEXT_KEYS.oauthFlows, 'client_credentials'],
    [CONTEXT_KEYS.authDomainPrefix, 'Acme-Files'],
    [CONTEXT_KEYS.authDomainPrefix, '-acme'],
    [CONTEXT_KEYS.authDomainPrefix, 'acme_files'],
    [CONTEXT_KEYS.authDomainPrefix, 'acme-cognito'],
    [CONTEXT_KEYS.sesFromEmail, 'no-reply'],
    [CONTEXT_KEYS.sesRegion, 'Ireland'],
    [CONTEXT_KEYS.sesConfigurationSet, 'has space'],
    [CONTEXT_KEYS.sesFromName, ''],
    [CONTEXT_KEYS.sesVerifiedDomain, 'acme'],
  ])('refuses %s = %j, naming the key', (key, value) => {
    const context = {
      [CONTEXT_KEYS.callbackUrls]: 'https://files.acme-corp.net/in',
      [CONTEXT_KEYS.sesFromEmail]: 'no-reply@acme-corp.net',
      ...withDomain,
      [key]: value,
    };
    const app = new App({ context });
    expect(() => stackPropsFromContext(app.node, {})).toThrow(ContextError);
    expect(() => stackPropsFromContext(app.node, {})).toThrow(key);
  });

  it.each([
    [{ [CONTEXT_KEYS.logoutUrls]: 'https://files.acme-corp.net/' }, CONTEXT_KEYS.logoutUrls],
    [{ [CONTEXT_KEYS.oauthFlows]: 'code' }, CONTEXT_KEYS.oauthFlows],
    [withDomain, CONTEXT_KEYS.authDomainPrefix],
    [{ [CONTEXT_KEYS.callbackUrls]: 'https://files.acme-corp.net/in' }, CONTEXT_KEYS.authDomainPrefix],
    [{ [CONTEXT_KEYS.sesReplyTo]: 'support@acme-corp.net' }, CONTEXT_KEYS.sesReplyTo],
    [{ [CONTEXT_KEYS.sesRegion]: 'eu-west-1' }, CONTEXT_KEYS.sesRegion],
    [
      { [CONTEXT_KEYS.sesFromEmail]: 'no-reply@acme-corp.net', [CONTEXT_KEYS.sesVerifiedDomain]: 'other.net' },
      CONTEXT_KEYS.sesVerifiedDomain,
    ],
  ])('refuses a setting that means nothing without the one it needs: %j', (context, key) => {
    const app = new App({ context });
    expect(() => stackPropsFromContext(app.node, {})).toThrow(ContextError);
    expect(() => stackPropsFromContext(app.node, {})).toThrow(key);
  });

  const ownIssuer = { jwtIssuer: 'https://id.acme-corp.net', jwtAudience: 'files' };
  it.each([
    [ownIssuer, CONTEXT_KEYS.callbackUrls, 'https://files.acme-corp.net/in'],
    [ownIssuer, CONTEXT_KEYS.sesFromEmail, 'no-reply@acme-corp.net'],
    [ownIssuer, CONTEXT_KEYS.selfSignUp, 'true'],
    [ownIssuer, CONTEXT_KEYS.passwordSignIn, 'false'],
    [{ [CONTEXT_KEYS.api]: 'rest' }, CONTEXT_KEYS.authDomainPrefix, 'acme-files'],
    [{ [CONTEXT_KEYS.api]: 'rest' }, CONTEXT_KEYS.sesRegion, 'eu-west-1'],
  ])('refuses a Cognito setting where the stack creates no user pool (%j): %s', (base, key, value) => {
    const app = new App({ context: { ...base, [key]: value } });
    expect(() => stackPropsFromContext(app.node, {})).toThrow(ContextError);
    expect(() => stackPropsFromContext(app.node, {})).toThrow(new RegExp(`${key}.*does not create`));
  });

  it('still reads the issuer, the API variant and its key set', () => {
    const app = new App({
      context: { jwtIssuer: 'https://id.example.com', jwtAudience: 'a, b', [CONTEXT_KEYS.api]: 'rest' },
    });
    expect(stackPropsFromContext(app.node, { HASHDROP_JWKS: '{"keys":[]}' })).toEqual({
      api: 'rest',
      jwks: '{"keys":[]}',
      jwt: { issuer: 'https://id.example.com', audience: ['a', 'b'] },
    });
  });
});
