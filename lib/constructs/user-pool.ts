import { Annotations, CfnOutput, RemovalPolicy, type Stack, Token, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  Mfa,
  OAuthScope,
  UserPool,
  UserPoolClientIdentityProvider,
  type UserPoolClientOptions,
  UserPoolEmail,
  type UserPoolSESOptions,
} from 'aws-cdk-lib/aws-cognito';
import type { JwtIssuer } from './api.ts';

/**
 * `code`: the authorization code grant, which apps use with PKCE as public clients (no secret).
 * `implicit`: tokens in the redirect URL's fragment, where browser history, logs and referrers can
 * leak them, with no refresh token; the OAuth 2.0 Security BCP (RFC 9700) and OAuth 2.1 drop it.
 */
export type OAuthFlow = 'code' | 'implicit';

/** Cognito's managed login (hosted UI) for the app client, for apps that sign in by redirect. */
export interface UserPoolOAuth {
  /**
   * Where Cognito may send the user back with the code (https, http://localhost while developing,
   * or a mobile app's own reverse-DNS scheme).
   */
  readonly callbackUrls: readonly string[];
  /** Where Cognito may send the user back after signing out. @default none */
  readonly logoutUrls?: readonly string[];
  /** @default ['code'] */
  readonly flows?: readonly OAuthFlow[];
  /** The managed login's domain: `<prefix>.auth.<region>.amazoncognito.com`, unique per region. */
  readonly domainPrefix: string;
}

export interface UserPoolIssuerProps {
  /**
   * Whether anyone may create an account in the pool (Cognito self sign-up). Off unless asked
   * for: every account may store its quota at the owner's expense (100 GiB by default), so by
   * default only the owner creates accounts (AdminCreateUser: the console, the CLI, or a sign-up
   * flow of their own with its own checks).
   * @default false
   */
  readonly selfSignUp?: boolean;
  /**
   * Whether the app client also accepts USER_PASSWORD_AUTH: the password travels to Cognito over
   * TLS instead of the SRP exchange, which a page can do with one fetch and no library (the web
   * app, web/). Off unless asked for: SRP keeps the password off the wire.
   * @default false
   */
  readonly passwordSignIn?: boolean;
  /**
   * Redirect sign-in through Cognito's managed login. Without it the app client has no OAuth at
   * all (CDK's default would allow the implicit and code grants back to https://example.com).
   * @default none: sign-in through the API only (SRP, and USER_PASSWORD_AUTH if asked)
   */
  readonly oauth?: UserPoolOAuth;
  /**
   * Send the pool's e-mail (verification codes, invitations, password resets) from this SES
   * identity. Cognito's own sender has a small daily quota (50 messages per account), enough to
   * try the stack and not to run it.
   * @default Cognito's default sender, with a synthesis warning
   */
  readonly sesEmail?: UserPoolSESOptions;
}

/** openid for the ID token the API takes; email and profile for the claims the apps show. */
const OAUTH_SCOPES = [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE];

function oauthClientOptions(oauth: UserPoolOAuth | undefined): Partial<UserPoolClientOptions> {
  if (!oauth) return { disableOAuth: true };
  const flows = oauth.flows ?? ['code'];
  return {
    oAuth: {
      flows: { authorizationCodeGrant: flows.includes('code'), implicitCodeGrant: flows.includes('implicit') },
      callbackUrls: [...oauth.callbackUrls],
      logoutUrls: [...(oauth.logoutUrls ?? [])],
      scopes: OAUTH_SCOPES,
    },
    // Only the pool's own users: no federated provider is configured.
    supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
  };
}

/**
 * The Cognito user pool and app client the apps sign users in with, when the stack is given no
 * OIDC issuer of its own. Built in the stack's own scope (see hashdrop-stack.ts).
 */
export class UserPoolIssuer implements JwtIssuer {
  readonly issuer: string;
  readonly audience: string[];

  constructor(stack: Stack, props: UserPoolIssuerProps = {}) {
    const pool = new UserPool(stack, 'Users', {
      selfSignUpEnabled: props.selfSignUp ?? false,
      signInAliases: { email: true },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      passwordPolicy: { minLength: 12, requireSymbols: false },
      mfa: Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      removalPolicy: RemovalPolicy.RETAIN,
      ...(props.sesEmail ? { email: sesEmail(stack, props.sesEmail) } : {}),
    });
    if (!props.sesEmail) {
      // A warning rather than an error: the default is right for trying the stack, wrong for running it.
      Annotations.of(pool).addWarningV2(
        'hashdrop:cognito-default-email',
        'The user pool sends its e-mail (verification codes, invitations, password resets) with Cognito’s default sender, limited to 50 messages a day per account: set -c hashdrop:sesFromEmail=… before going live (README, Before going live).',
      );
    }
    Validations.of(pool).acknowledge({
      id: 'AwsSolutions-COG1',
      reason: 'NIST SP 800-63B: a 12-character minimum without composition rules, which push users to weaker patterns.',
    });
    Validations.of(pool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason: 'TOTP MFA is offered (optional); requiring it is the deploying app’s product decision.',
    });
    Validations.of(pool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason: 'The Plus feature plan (threat protection) has a per-user cost; enable it with featurePlan when wanted.',
    });
    const client = pool.addClient('AppClient', {
      authFlows: { userSrp: true, userPassword: props.passwordSignIn ?? false },
      generateSecret: false,
      preventUserExistenceErrors: true,
      ...oauthClientOptions(props.oauth),
    });
    if (props.oauth) {
      const domain = pool.addDomain('AuthDomain', { cognitoDomain: { domainPrefix: props.oauth.domainPrefix } });
      // Where the apps send users to sign in (/oauth2/authorize) and trade the code (/oauth2/token).
      new CfnOutput(stack, 'AuthDomainUrl', { value: domain.baseUrl() });
      if (props.oauth.flows?.includes('implicit')) {
        Annotations.of(client).addWarningV2(
          'hashdrop:oauth-implicit',
          'The app client allows the implicit grant, which returns tokens in the redirect URL (leaked by history, logs and referrers) and is dropped by OAuth 2.1: use the code grant with PKCE.',
        );
      }
    }
    new CfnOutput(stack, 'UserPoolId', { value: pool.userPoolId });
    new CfnOutput(stack, 'UserPoolClientId', { value: client.userPoolClientId });
    this.issuer = `https://cognito-idp.${stack.region}.amazonaws.com/${pool.userPoolId}`;
    this.audience = [client.userPoolClientId];
  }
}

function sesEmail(stack: Stack, options: UserPoolSESOptions): UserPoolEmail {
  // CDK needs the region for the identity's ARN; say which setting gives it, not which option.
  if (options.sesRegion === undefined && Token.isUnresolved(stack.region)) {
    throw new Error(
      'E-mail through SES needs the region of its identity: deploy with a region (your AWS profile’s, or CDK_DEFAULT_REGION) or pass -c hashdrop:sesRegion=…',
    );
  }
  return UserPoolEmail.withSES(options);
}
