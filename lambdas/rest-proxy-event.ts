/**
 * REST API Lambda-proxy events (payload format 1.0), as the stack's LocalStack variant sends them
 * (lib/constructs/rest-api.ts), turned into the HTTP API's payload format 2.0 that every handler
 * is written against, so that the handlers stay one code path.
 *
 * What differs between the two formats, and how 2.0 has it:
 * - the user: 1.0 carries what the Lambda TOKEN authorizer returned (`principalId`, and its
 *   context's `sub`); 2.0 the JWT authorizer's verified claims;
 * - repeated query keys and headers: 1.0 keeps every value in `multiValue…` maps (and only the
 *   last in the single-value ones); 2.0 joins them with commas, header names in lower case;
 * - no body: `null` in 1.0, absent in 2.0.
 * Path and query values are passed on as API Gateway decoded them.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyWithLambdaAuthorizerEvent } from 'aws-lambda';
import type { TokenAuthorizerContext } from './token-authorizer.ts';

export type RestApiEvent = APIGatewayProxyWithLambdaAuthorizerEvent<TokenAuthorizerContext>;
type HttpApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;

/** Payload 1.0 names the method at the top level; 2.0 only inside `requestContext.http`. */
export const isRestApiEvent = (event: RestApiEvent | HttpApiEvent): event is RestApiEvent => 'httpMethod' in event;

/**
 * The user the TOKEN authorizer verified, or undefined. The authorizer returns the token's `sub`
 * both as principal and in its context; a method without the authorizer has neither, and two
 * that disagree were not written by it.
 */
export function restApiUser(event: RestApiEvent): string | undefined {
  const authorizer: Partial<Record<string, unknown>> | undefined = event.requestContext?.authorizer;
  const principal = authorizer?.principalId;
  const sub = authorizer?.sub;
  if (typeof principal !== 'string' || (sub !== undefined && sub !== principal)) return undefined;
  return principal;
}

type Values = Record<string, string | undefined> | null | undefined;
type MultiValues = Record<string, string[] | undefined> | null | undefined;

/** One value per name, repeated values joined with commas as payload 2.0 does. */
function joined(multi: MultiValues, single: Values, name: (key: string) => string = (key) => key): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, values] of Object.entries(multi ?? {})) {
    if (values && values.length > 0) out[name(key)] = values.join(',');
  }
  for (const [key, value] of Object.entries(single ?? {})) {
    if (value !== undefined && !(name(key) in out)) out[name(key)] = value;
  }
  return out;
}

const defined = (values: Values): Record<string, string> =>
  Object.fromEntries(Object.entries(values ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));

/** The payload 2.0 event API Gateway's HTTP API would have sent for this REST API request. */
export function toHttpApiEvent(event: RestApiEvent): HttpApiEvent {
  const context = event.requestContext;
  const query = joined(event.multiValueQueryStringParameters, event.queryStringParameters);
  const rawQueryString = Object.entries(event.multiValueQueryStringParameters ?? {})
    .flatMap(([key, values]) => (values ?? []).map((value) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`))
    .join('&');
  const pathParameters = defined(event.pathParameters);
  const routeKey = `${event.httpMethod} ${event.resource}`;
  const user = restApiUser(event);
  return {
    version: '2.0',
    routeKey,
    rawPath: event.path,
    rawQueryString,
    headers: joined(event.multiValueHeaders, event.headers, (key) => key.toLowerCase()),
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    ...(event.stageVariables ? { stageVariables: defined(event.stageVariables) } : {}),
    ...(event.body !== null && event.body !== undefined ? { body: event.body } : {}),
    isBase64Encoded: event.isBase64Encoded === true,
    requestContext: {
      accountId: context.accountId,
      apiId: context.apiId,
      domainName: context.domainName ?? '',
      domainPrefix: context.domainPrefix ?? '',
      http: {
        method: event.httpMethod,
        path: event.path,
        protocol: context.protocol,
        sourceIp: context.identity?.sourceIp ?? '',
        userAgent: context.identity?.userAgent ?? '',
      },
      requestId: context.requestId,
      routeKey,
      stage: context.stage,
      time: context.requestTime ?? '',
      timeEpoch: context.requestTimeEpoch,
      // The TOKEN authorizer verified a JWT and passed on its subject; it is that JWT's `sub` claim.
      authorizer: {
        principalId: user ?? '',
        integrationLatency: context.authorizer?.integrationLatency ?? 0,
        jwt: { claims: user === undefined ? {} : { sub: user }, scopes: [] },
      },
    },
  };
}
