import { Annotations, Duration, type Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  type CorsOptions,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
  TokenAuthorizer,
} from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { API_CORS, PROOF_SECRET, ROUTES, type RouteDefinition, TOKEN_AUTHORIZER } from '#deploy/definitions';
import type { JwtIssuer } from './api.ts';
import type { DataStores } from './data-stores.ts';
import { HandlerFunction } from './handler-function.ts';
import { ProofSecret } from './proof-secret.ts';

export interface HashdropRestApiProps {
  readonly data: DataStores;
  /** The issuer and audiences whose tokens the authorizer accepts; without them and `jwks`, it refuses every request. */
  readonly jwt?: JwtIssuer | undefined;
  /** The issuer's public keys, a JWKS JSON document. */
  readonly jwks?: string | undefined;
  /** Steady-state requests per second across the API. */
  readonly throttleRateLimit: number;
  /** Burst of requests above the rate. */
  readonly throttleBurstLimit: number;
}

/** The stage: part of every URL (`…/api/v1/uploads`), so the API's URL output ends with it. */
export const REST_STAGE = 'api';

/** Lambda keeps at most 4 KB of environment variables per function; the other variables need a little. */
const MAX_JWKS_BYTES = 3 * 1024;

/** The key set as the authorizer's environment carries it: checked and without whitespace. */
function compactKeySet(jwks: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jwks);
  } catch {
    throw new Error('the JWKS (context hashdrop:jwks or HASHDROP_JWKS) is not JSON');
  }
  const keys = typeof parsed === 'object' && parsed !== null && 'keys' in parsed ? parsed.keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error('the JWKS must be {"keys":[…]} with at least one key');
  const compact = JSON.stringify({ keys });
  if (Buffer.byteLength(compact) > MAX_JWKS_BYTES) {
    throw new Error(
      `the JWKS takes ${Buffer.byteLength(compact)} bytes; a Lambda environment holds 4 KB: give only the signing keys`,
    );
  }
  return compact;
}

/**
 * The preflight answer, from the definition the HTTP API declares and the local adapter serves.
 * (Expose-headers belong on the actual responses, which a REST API's proxy integration takes from
 * the function as they are.)
 */
const CORS: CorsOptions = {
  allowOrigins: [...API_CORS.allowOrigins],
  allowHeaders: [...API_CORS.allowHeaders],
  allowMethods: [...API_CORS.allowMethods],
  maxAge: Duration.seconds(API_CORS.maxAgeSeconds),
};

/** One line of JSON per request, as the HTTP API logs; no request or response bodies. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  user: '$context.authorizer.principalId',
  time: '$context.requestTime',
  route: '$context.httpMethod $context.resourcePath',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  error: '$context.authorizer.error',
});

/**
 * The API as a REST API (API Gateway v1), for where API Gateway v2 and Cognito are not available:
 * LocalStack's free plan. The same routes (deploy/definitions.ts ROUTES, each its own function,
 * granted what it declares) behind a Lambda TOKEN authorizer (lambdas/token-authorizer.ts) that
 * checks JWTs of a configured issuer against configured keys; the handlers take the REST API's
 * proxy events as they take the HTTP API's (lambdas/rest-proxy-event.ts). Built in the stack's
 * own scope (see hashdrop-stack.ts).
 */
export class HashdropRestApi {
  readonly restApi: RestApi;
  readonly authorizerFunction: HandlerFunction;

  constructor(stack: Stack, props: HashdropRestApiProps) {
    this.authorizerFunction = new HandlerFunction(stack, TOKEN_AUTHORIZER.id, {
      entry: TOKEN_AUTHORIZER.entry,
      memorySize: 256,
      timeout: Duration.seconds(5),
      environment: {
        ...(props.jwt
          ? {
              [TOKEN_AUTHORIZER.issuerEnvVar]: props.jwt.issuer,
              [TOKEN_AUTHORIZER.audienceEnvVar]: props.jwt.audience.join(','),
            }
          : {}),
        ...(props.jwks === undefined ? {} : { [TOKEN_AUTHORIZER.jwksEnvVar]: compactKeySet(props.jwks) }),
      },
    });
    if (!props.jwt || props.jwks === undefined) {
      // Synthesis still works (as `cdk synth` must offline); the deployed authorizer then fails every request, loudly.
      Annotations.of(stack).addWarningV2(
        'hashdrop:rest-authorizer-unconfigured',
        'The REST API’s authorizer has no issuer, audience or keys: pass -c jwtIssuer=… -c jwtAudience=… and the JWKS (-c hashdrop:jwks=… or HASHDROP_JWKS), see README (LocalStack).',
      );
    }
    const authorizer = new TokenAuthorizer(stack, 'Authorizer', {
      handler: this.authorizerFunction,
      // API Gateway answers 401 itself, without invoking the function, when the header has another shape.
      validationRegex: '^Bearer [-0-9a-zA-Z._]+$',
      // Uncached: a cached policy names one method (it would refuse the token on its other routes)
      // and could outlive the token's expiry by the cache's lifetime.
      resultsCacheTtl: Duration.seconds(0),
    });

    const accessLogs = new LogGroup(stack, 'RestApiAccessLogs', { retention: RetentionDays.THREE_MONTHS });
    this.restApi = new RestApi(stack, 'RestApi', {
      description: 'hashdrop: deduplicating file uploads (REST API variant)',
      // Execution logs (errors per method) need the account's API Gateway CloudWatch role.
      cloudWatchRole: true,
      deployOptions: {
        stageName: REST_STAGE,
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
        loggingLevel: MethodLoggingLevel.ERROR,
        // Data traces would log request bodies and the Authorization header.
        dataTraceEnabled: false,
        // X-Ray traces of each request through the stage, joined to the functions' own.
        tracingEnabled: true,
      },
      defaultCorsPreflightOptions: CORS,
      defaultMethodOptions: { authorizer, authorizationType: AuthorizationType.CUSTOM },
    });
    const proofSecret = new ProofSecret(stack);
    for (const route of ROUTES) this.addRoute(route, props.data, proofSecret);
    this.acknowledgeFindings();
  }

  private addRoute(route: RouteDefinition, data: DataStores, proofSecret: ProofSecret): void {
    const fn = data.handlerFunction(route.id, {
      entry: route.entry,
      access: route.access,
      ...(route.access.proofSecret ? { environment: { [PROOF_SECRET.arnEnvVar]: proofSecret.secretArn } } : {}),
    });
    if (route.access.proofSecret) proofSecret.grantRead(fn);
    // resourceForPath makes the missing resources of the path, sharing those routes have in common.
    this.restApi.root
      .resourceForPath(route.path)
      // No test-invoke permission: the console's test button is not how this API is called.
      .addMethod(route.method, new LambdaIntegration(fn, { allowTestInvoke: false }));
  }

  /** cdk-nag's findings that this API's design answers, each with its reason, next to what it concerns. */
  private acknowledgeFindings(): void {
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Tokens of the configured OIDC issuer are verified by the TOKEN authorizer; Cognito is not on LocalStack’s free plan.',
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason: 'Every handler validates its path, query and body with one schema per route (lambdas/schemas.ts) before any logic.',
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'No WAF on LocalStack’s free plan; the stage throttles requests. Attach a web ACL when deploying this variant to AWS.',
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: 'The managed policy API Gateway’s account-wide CloudWatch role needs to write execution and access logs.',
    });
  }
}
