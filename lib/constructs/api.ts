import { Duration, type Stack } from 'aws-cdk-lib';
import { type CfnStage, CorsHttpMethod, HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { API_CORS, PROOF_SECRET, ROUTES, type RouteDefinition } from '#deploy/definitions';
import type { DataStores } from './data-stores.ts';
import { ProofSecret } from './proof-secret.ts';

/** An OIDC issuer (and audience) whose tokens the API accepts. */
export interface JwtIssuer {
  readonly issuer: string;
  readonly audience: string[];
}

export interface HashdropApiProps {
  readonly data: DataStores;
  readonly jwt: JwtIssuer;
  /** Steady-state requests per second across the API. */
  readonly throttleRateLimit: number;
  /** Burst of requests above the rate. */
  readonly throttleBurstLimit: number;
}

/** One line of JSON per request; no request or response bodies. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  user: '$context.authorizer.claims.sub',
  time: '$context.requestTime',
  route: '$context.routeKey',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  error: '$context.authorizer.error',
});

/**
 * The HTTP API: a JWT authorizer in front of every route, throttling and access logs on its
 * stage, and one function per entry of ROUTES, granted what that route declares (the routes
 * that declare it also read the proof-of-ownership key). Built in the stack's own scope (see
 * hashdrop-stack.ts).
 */
export class HashdropApi {
  readonly httpApi: HttpApi;

  constructor(
    private readonly stack: Stack,
    props: HashdropApiProps,
  ) {
    this.httpApi = new HttpApi(stack, 'Api', {
      description: 'hashdrop: deduplicating file uploads',
      defaultAuthorizer: new HttpJwtAuthorizer('Jwt', props.jwt.issuer, { jwtAudience: props.jwt.audience }),
      // The same definition the local adapter serves, so a browser meets one CORS policy in both.
      corsPreflight: {
        allowOrigins: [...API_CORS.allowOrigins],
        allowHeaders: [...API_CORS.allowHeaders],
        allowMethods: API_CORS.allowMethods.map((method) => CorsHttpMethod[method]),
        exposeHeaders: [...API_CORS.exposeHeaders],
        maxAge: Duration.seconds(API_CORS.maxAgeSeconds),
      },
    });
    this.configureStage(props);
    const proofSecret = new ProofSecret(stack);
    for (const route of ROUTES) this.addRoute(route, props.data, proofSecret);
  }

  private configureStage(props: HashdropApiProps): void {
    const stage = this.httpApi.defaultStage?.node.defaultChild as CfnStage | undefined;
    stage?.addPropertyOverride('DefaultRouteSettings', {
      ThrottlingRateLimit: props.throttleRateLimit,
      ThrottlingBurstLimit: props.throttleBurstLimit,
    });
    const accessLogs = new LogGroup(this.stack, 'ApiAccessLogs', { retention: RetentionDays.THREE_MONTHS });
    if (stage) stage.accessLogSettings = { destinationArn: accessLogs.logGroupArn, format: ACCESS_LOG_FORMAT };
  }

  private addRoute(route: RouteDefinition, data: DataStores, proofSecret: ProofSecret): void {
    const fn = data.handlerFunction(route.id, {
      entry: route.entry,
      access: route.access,
      ...(route.access.proofSecret ? { environment: { [PROOF_SECRET.arnEnvVar]: proofSecret.secretArn } } : {}),
    });
    if (route.access.proofSecret) proofSecret.grantRead(fn);
    this.httpApi.addRoutes({
      path: route.path,
      methods: [HttpMethod[route.method]],
      integration: new HttpLambdaIntegration(`${route.id}Integration`, fn),
    });
  }
}
