/**
 * The Cognito user pool's production settings (lib/constructs/user-pool.ts, issue 14 point 7):
 * the app client's OAuth (none unless callback URLs are given, then the code grant for a public
 * client) and the pool's e-mail (SES when configured; otherwise Cognito's sender and a warning).
 * The context keys that set them: test/cdk/context.test.ts.
 */
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { HashdropStack, type HashdropStackProps } from '../../lib/hashdrop-stack.ts';

const OAUTH = {
  callbackUrls: ['https://files.acme-corp.net/signed-in', 'http://localhost:5173/signed-in'],
  logoutUrls: ['https://files.acme-corp.net/'],
  domainPrefix: 'acme-files',
} as const;

const SES = { fromEmail: 'no-reply@acme-corp.net', fromName: 'Acme Files', replyTo: 'support@acme-corp.net' } as const;

function stackWith(props: HashdropStackProps): HashdropStack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new HashdropStack(app, 'Pool', { env: { account: '123456789012', region: 'eu-central-1' }, ...props });
}

function warnings(stack: HashdropStack): string[] {
  return Annotations.fromStack(stack)
    .findWarning('*', Match.anyValue())
    .map((warning) => String(warning.entry.data));
}

describe('the app client’s OAuth', () => {
  it('has none without callback URLs: no flows, scopes or callback (CDK’s default was implicit and code to https://example.com)', () => {
    const template = Template.fromStack(stackWith({}));
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlowsUserPoolClient: false,
      AllowedOAuthFlows: Match.absent(),
      AllowedOAuthScopes: Match.absent(),
      CallbackURLs: Match.absent(),
      LogoutURLs: Match.absent(),
    });
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
    expect(JSON.stringify(template.toJSON())).not.toContain('https://example.com');
  });

  it('with callback URLs: the code grant only, for a public client (no secret, so PKCE), to those URLs, through a managed login domain', () => {
    const stack = stackWith({ oauth: OAUTH });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: Match.arrayEquals(['openid', 'email', 'profile']),
      CallbackURLs: [...OAUTH.callbackUrls],
      LogoutURLs: [...OAUTH.logoutUrls],
      SupportedIdentityProviders: ['COGNITO'],
      GenerateSecret: false,
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'acme-files', UserPoolId: Match.anyValue() });
    template.hasOutput('AuthDomainUrl', { Value: Match.anyValue() });
    expect(warnings(stack).filter((warning) => warning.includes('implicit'))).toEqual([]);
  });

  it('allows the implicit grant only when asked, with a warning', () => {
    const stack = stackWith({ oauth: { ...OAUTH, flows: ['code', 'implicit'] } });
    Template.fromStack(stack).hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlows: ['implicit', 'code'],
    });
    expect(warnings(stack)).toContainEqual(expect.stringContaining('hashdrop:oauth-implicit'));
  });
});

describe('the user pool’s e-mail', () => {
  it('by default: Cognito’s sender, and a synthesis warning that it sends 50 messages a day', () => {
    const stack = stackWith({});
    Template.fromStack(stack).hasResourceProperties('AWS::Cognito::UserPool', { EmailConfiguration: Match.absent() });
    expect(warnings(stack)).toContainEqual(
      expect.stringMatching(/default sender.*hashdrop:sesFromEmail.*cognito-default-email/s),
    );
  });

  it('through SES when configured: the sender, reply-to, configuration set and the identity in the stack’s region; no warning', () => {
    const stack = stackWith({ sesEmail: { ...SES, configurationSetName: 'hashdrop-auth' } });
    Template.fromStack(stack).hasResourceProperties('AWS::Cognito::UserPool', {
      EmailConfiguration: {
        EmailSendingAccount: 'DEVELOPER',
        From: 'Acme Files <no-reply@acme-corp.net>',
        ReplyToEmailAddress: 'support@acme-corp.net',
        ConfigurationSet: 'hashdrop-auth',
        SourceArn: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:eu-central-1:123456789012:identity/no-reply@acme-corp.net']],
        },
      },
    });
    expect(warnings(stack).filter((warning) => warning.includes('cognito-default-email'))).toEqual([]);
  });

  it('through SES in another region, with the verified domain as the identity', () => {
    const stack = stackWith({
      sesEmail: { fromEmail: SES.fromEmail, sesRegion: 'eu-west-1', sesVerifiedDomain: 'acme-corp.net' },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Cognito::UserPool', {
      EmailConfiguration: {
        EmailSendingAccount: 'DEVELOPER',
        From: 'no-reply@acme-corp.net',
        SourceArn: { 'Fn::Join': ['', Match.arrayWith([':ses:eu-west-1:123456789012:identity/acme-corp.net'])] },
      },
    });
  });

  it('refuses SES without a region to find the identity in, naming the setting', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(() => new HashdropStack(app, 'NoRegion', { sesEmail: SES })).toThrow('hashdrop:sesRegion');
  });
});
