/**
 * A small HTTP server that plays API Gateway (HTTP API, payload format 2.0) for the handler
 * modules: it matches the routes of deploy/definitions.ts, checks the bearer token as the JWT
 * authorizer would, and passes the handler an event of the same shape. Like API Gateway, it
 * hands handlers URL-decoded path parameters.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { JWTPayload } from 'jose';
import type { RouteDefinition } from '#deploy/definitions';
import type { HttpEvent } from '#lambdas/http';
import type { TokenVerifier } from './auth.ts';

export type HttpHandler = (event: HttpEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface BoundRoute {
  readonly definition: RouteDefinition;
  readonly handler: HttpHandler;
}

/** API Gateway's own limit on a request payload. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

interface CompiledRoute extends BoundRoute {
  readonly pattern: RegExp;
  readonly params: string[];
}

function compile(route: BoundRoute): CompiledRoute {
  const params: string[] = [];
  const source = route.definition.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)(\+?)\}$/.exec(segment);
      if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(param[1]);
      return param[2] ? '(.+)' : '([^/]+)';
    })
    .join('/');
  return { ...route, pattern: new RegExp(`^${source}$`), params };
}

export function lambdaContext(functionName: string): Context {
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body = result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : (result.body ?? '');
  response.writeHead(result.statusCode ?? 200, { ...(result.headers as Record<string, string> | undefined) });
  response.end(body);
}

const gatewayError = (statusCode: number, message: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message }),
});

function buildEvent(
  request: IncomingMessage,
  url: URL,
  route: CompiledRoute,
  pathParameters: Record<string, string>,
  claims: JWTPayload,
  body: Buffer,
): HttpEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  const routeKey = `${route.definition.method} ${route.definition.path}`;
  const stringClaims: Record<string, string | number | boolean | string[]> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') stringClaims[name] = value;
  }
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: stringClaims, scopes: [] } },
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: request.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
}

/** API Gateway hands handlers decoded path parameters; a malformed escape never reaches them. */
function decodePathParameters(names: readonly string[], values: readonly string[]): Record<string, string> | undefined {
  const decoded: Record<string, string> = {};
  try {
    names.forEach((name, index) => {
      decoded[name] = decodeURIComponent(values[index] ?? '');
    });
  } catch {
    return undefined;
  }
  return decoded;
}

export function createApiServer(routes: readonly BoundRoute[], verify: TokenVerifier, keySet: { keys: unknown[] }): Server {
  const compiled = routes.map(compile);
  return createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
      if (request.method === 'GET' && url.pathname === '/.well-known/jwks.json') {
        return send(response, { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(keySet) });
      }
      let match: { route: CompiledRoute; values: string[] } | undefined;
      for (const route of compiled) {
        if (route.definition.method !== request.method) continue;
        const found = route.pattern.exec(url.pathname);
        if (found) {
          match = { route, values: found.slice(1) };
          break;
        }
      }
      if (!match) return send(response, gatewayError(404, 'Not Found'));
      // The authorizer runs before any handler logic.
      const claims = await verify(request.headers.authorization);
      if (!claims) return send(response, gatewayError(401, 'Unauthorized'));
      const body = await readBody(request);
      if (body === 'too_large') return send(response, gatewayError(413, 'Request Entity Too Large'));
      const pathParameters = decodePathParameters(match.route.params, match.values);
      if (!pathParameters) return send(response, gatewayError(400, 'Bad Request'));
      const event = buildEvent(request, url, match.route, pathParameters, claims, body);
      send(response, await match.route.handler(event, lambdaContext(match.route.definition.id)));
    } catch (error) {
      console.error('local api adapter error', error);
      send(response, gatewayError(500, 'Internal Server Error'));
    }
  });
}
