import { CfnOutput, RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import { AccountRecovery, Mfa, UserPool } from 'aws-cdk-lib/aws-cognito';
import type { JwtIssuer } from './api.ts';

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
    });
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
    });
    new CfnOutput(stack, 'UserPoolId', { value: pool.userPoolId });
    new CfnOutput(stack, 'UserPoolClientId', { value: client.userPoolClientId });
    this.issuer = `https://cognito-idp.${stack.region}.amazonaws.com/${pool.userPoolId}`;
    this.audience = [client.userPoolClientId];
  }
}
