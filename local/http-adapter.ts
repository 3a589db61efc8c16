/**
 * A small HTTP server that plays API Gateway (HTTP API, Lambda payload format 2.0) for the
 * handler modules: it matches the routes of deploy/definitions.ts, answers CORS as the API's
 * configuration says, checks the bearer token as the JWT authorizer would, and passes the
 * handler an event built by the rules below.
 *
 * Rules, and where they come from:
 *
 * Paths (live captures of an HTTP API, hotsock/voker `vokerhttp/testdata/ingress-paths.json`;
 * the path sent → the path delivered: `%20` → space, `%2F` → `/`, `%23` → `#`, `%CE%BB` → `λ`,
 * `question%3Fvalue` → `question`, `%252F` → `/`, `%253F` → `?`, `%2525` → `%`, `%25done` → 400):
 *   1. The path is percent-decoded, cut at the first `?` that decoding produced, and
 *      percent-decoded again. A malformed escape at either step (or bytes that are not UTF-8)
 *      is `400 {"message":"Bad Request"}`, before routing and before the authorizer.
 *   2. That decoded path is `rawPath` and `requestContext.http.path` (despite its name, rawPath
 *      is not the path as sent), and routes match against it: a `{param}` is one segment of it,
 *      `{param+}` the rest, with no further decoding. (That parameters are cut from this same
 *      path is inferred: the captures are of a `$default` route, which has none.)
 *   3. No route for the method and path: `404 {"message":"Not Found"}`, before the authorizer.
 * Query strings (AWS, "Create AWS Lambda proxy integrations for HTTP APIs", payload format
 * differences; the same captures: `literalPlus=a+b` → `a b`, `encodedPlus=a%2Bb` → `a+b`):
 *   4. `rawQueryString` is the query exactly as sent (still percent-encoded, no `?`).
 *   5. `queryStringParameters` are form-decoded (`+` is a space, then percent-decoding);
 *      repeated keys are joined with commas, in order; absent when there are none.
 * Headers and cookies (the same AWS page: "all header names are lowercase", "duplicate headers
 * are combined with commas", the `cookies` field; the captures: `x-voker-probe: first,second`,
 * `cookies: ["session=abc123", "theme=dark"]` and no `cookie` among the headers):
 *   6. Header names are lower-cased; repeated headers are joined with `,` (no space), whatever
 *      the header (Node itself drops repeated `authorization`, joins `cookie` with `; `...).
 *   7. Every `cookie` header is split at `;` into `cookies`, and is not among `headers`.
 * CORS (AWS, "Configure CORS for HTTP APIs in API Gateway"), from API_CORS, the definition the
 * stack deploys:
 *   8. A preflight (OPTIONS with `origin` and `access-control-request-method`) is answered by
 *      the gateway itself, on any path and without the authorizer: 204 with the allowed
 *      origin, methods, headers and max age. An origin not allowed gets the 204 without them,
 *      so the browser refuses (the status is assumed: the docs only say CORS headers are sent
 *      to an allowed origin).
 *   9. Every other response to a request with an allowed `origin` (the handler's, and the
 *      gateway's own 400/401/404/413) carries allow-origin and expose-headers; CORS headers
 *      a handler returns are ignored, as API Gateway ignores an integration's.
 * Payloads: 10. a body over 10 MiB is `413`, API Gateway's own limit.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { JWTPayload } from 'jose';
import { API_CORS, type CorsDefinition, type RouteDefinition } from '#deploy/definitions';
import type { StaticPage } from './api-docs.ts';
import type { TokenVerifier } from './auth.ts';

/** What API Gateway hands a route's function: payload format 2.0 behind the JWT authorizer. */
export type GatewayEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpHandler = (event: GatewayEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface BoundRoute {
  readonly definition: RouteDefinition;
  readonly handler: HttpHandler;
}

/** API Gateway's own limit on a request payload. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** A request as it reached the gateway, before any of its rules applied. */
export interface GatewayRequest {
  readonly method: string;
  /** The request target as sent: path and query, percent-encoded. */
  readonly target: string;
  /** Names and values in the order received, as Node's `rawHeaders`. */
  readonly rawHeaders: readonly string[];
  readonly httpVersion: string;
  readonly sourceIp: string;
}

interface CompiledRoute extends BoundRoute {
  readonly pattern: RegExp;
  readonly params: string[];
}

export interface RouteMatch<R extends BoundRoute = BoundRoute> {
  readonly route: R;
  readonly pathParameters: Record<string, string>;
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

/** Rule 1: the path API Gateway routes on and delivers, or undefined where it answers 400. */
export function gatewayPath(sentPath: string): string | undefined {
  try {
    const once = decodeURIComponent(sentPath);
    const question = once.indexOf('?');
    return decodeURIComponent(question === -1 ? once : once.slice(0, question));
  } catch {
    return undefined;
  }
}

/** Rule 5. */
export function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  const joined = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    const earlier = joined.get(name);
    joined.set(name, earlier === undefined ? value : `${earlier},${value}`);
  }
  return joined.size > 0 ? Object.fromEntries(joined) : undefined;
}

/** Rules 6 and 7. */
export function headersOf(rawHeaders: readonly string[]): { headers: Record<string, string>; cookies: string[] } {
  const joined = new Map<string, string>();
  const cookies: string[] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = (rawHeaders[index] ?? '').toLowerCase();
    const value = rawHeaders[index + 1] ?? '';
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((cookie) => cookie.trim())
          .filter((cookie) => cookie.length > 0),
      );
      continue;
    }
    const earlier = joined.get(name);
    joined.set(name, earlier === undefined ? value : `${earlier},${value}`);
  }
  return { headers: Object.fromEntries(joined), cookies };
}

/** The request's target split as sent: nothing is decoded or normalised (no `new URL`, which resolves dot segments). */
export function splitTarget(target: string): { sentPath: string; rawQueryString: string } {
  const question = target.indexOf('?');
  return question === -1
    ? { sentPath: target, rawQueryString: '' }
    : { sentPath: target.slice(0, question), rawQueryString: target.slice(question + 1) };
}

/** Rules 2 and 3: the first route whose method and path match, with its parameters. */
export function matchRoute<R extends BoundRoute>(routes: readonly R[], method: string, path: string): RouteMatch<R> | undefined {
  for (const route of routes) {
    if (route.definition.method !== method) continue;
    const { pattern, params } = compiled(route);
    const found = pattern.exec(path);
    if (!found) continue;
    const pathParameters: Record<string, string> = {};
    params.forEach((name, index) => {
      pathParameters[name] = found[index + 1] ?? '';
    });
    return { route, pathParameters };
  }
  return undefined;
}

const compiledRoutes = new WeakMap<BoundRoute, CompiledRoute>();
function compiled(route: BoundRoute): CompiledRoute {
  let entry = compiledRoutes.get(route);
  if (!entry) {
    entry = compile(route);
    compiledRoutes.set(route, entry);
  }
  return entry;
}

/** `requestContext.time` as API Gateway writes it: `10/Jul/2026:19:19:05 +0000`. */
function gatewayTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (value: number) => String(value).padStart(2, '0');
  return `${two(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

/** The payload-2.0 event of a request that matched a route and passed the authorizer. */
export function buildEvent(
  request: GatewayRequest,
  match: RouteMatch,
  claims: JWTPayload,
  body: Buffer,
  now: Date = new Date(),
): GatewayEvent {
  const { sentPath, rawQueryString } = splitTarget(request.target);
  const path = gatewayPath(sentPath) ?? sentPath;
  const { headers, cookies } = headersOf(request.rawHeaders);
  const query = queryParameters(rawQueryString);
  const routeKey = `${match.route.definition.method} ${match.route.definition.path}`;
  const stringClaims: Record<string, string | number | boolean | string[]> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') stringClaims[name] = value;
  }
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    ...(Object.keys(match.pathParameters).length > 0 ? { pathParameters: match.pathParameters } : {}),
    ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: stringClaims, scopes: [] } },
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: request.method,
        path,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: gatewayTime(now),
      timeEpoch: now.getTime(),
    },
  };
}

/** The `access-control-allow-origin` for an origin, or undefined if the configuration does not allow it. */
export function allowedOrigin(cors: CorsDefinition, origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  if (cors.allowOrigins.includes('*')) return '*';
  const allowed = cors.allowOrigins.some(
    (pattern) => pattern === origin || (pattern.endsWith('://*') && origin.startsWith(pattern.slice(0, -1))),
  );
  return allowed ? origin : undefined;
}

/** Rule 8: the gateway's answer to a preflight, or undefined if the request is not one. */
export function preflight(
  cors: CorsDefinition,
  method: string,
  headers: Record<string, string>,
): APIGatewayProxyStructuredResultV2 | undefined {
  if (method !== 'OPTIONS' || headers.origin === undefined || headers['access-control-request-method'] === undefined) {
    return undefined;
  }
  const origin = allowedOrigin(cors, headers.origin);
  return {
    statusCode: 204,
    headers: origin
      ? {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': cors.allowMethods.join(','),
          'access-control-allow-headers': cors.allowHeaders.join(','),
          'access-control-max-age': String(cors.maxAgeSeconds),
        }
      : {},
  };
}

/** Rule 9: a response as it leaves the gateway. */
export function withCors(
  cors: CorsDefinition,
  origin: string | undefined,
  result: APIGatewayProxyStructuredResultV2,
): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    if (!name.toLowerCase().startsWith('access-control-')) headers[name] = String(value);
  }
  const allowed = allowedOrigin(cors, origin);
  if (allowed) {
    headers['access-control-allow-origin'] = allowed;
    if (cors.exposeHeaders.length > 0) headers['access-control-expose-headers'] = cors.exposeHeaders.join(',');
  }
  return { ...result, headers };
}

/**
 * A Lambda context for a handler run outside Lambda, with a real deadline `timeoutMs` from now (the
 * API's functions get 30 s, API Gateway's own limit), so that a handler that watches its remaining
 * time (the erasure) stops as it would in AWS.
 */
export function lambdaContext(functionName: string, timeoutMs = 30_000): Context {
  const requestId = randomUUID();
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
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
  const headers: Record<string, string | string[]> = { ...(result.headers as Record<string, string> | undefined) };
  // Payload 2.0: each cookie a function returns becomes a set-cookie header.
  if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}

const gatewayError = (statusCode: number, message: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message }),
});

/**
 * `pages`: fixed answers to GET of paths off the API's routes, without a token (`npm start`'s
 * contract and API reference, local/api-docs.ts), as the issuer's key set is.
 */
export function createApiServer(
  routes: readonly BoundRoute[],
  verify: TokenVerifier,
  keySet: { keys: unknown[] },
  cors: CorsDefinition = API_CORS,
  pages: ReadonlyMap<string, StaticPage> = new Map(),
): Server {
  const answer = async (request: IncomingMessage): Promise<APIGatewayProxyStructuredResultV2> => {
    const gateway: GatewayRequest = {
      method: request.method ?? 'GET',
      target: request.url ?? '/',
      rawHeaders: request.rawHeaders,
      httpVersion: request.httpVersion,
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    };
    const { headers } = headersOf(gateway.rawHeaders);
    const { sentPath } = splitTarget(gateway.target);
    if (gateway.method === 'GET' && sentPath === '/.well-known/jwks.json') {
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(keySet) };
    }
    const page = gateway.method === 'GET' || gateway.method === 'HEAD' ? pages.get(sentPath) : undefined;
    if (page) {
      return { statusCode: 200, headers: { 'content-type': page.contentType, 'cache-control': 'no-cache' }, body: page.body };
    }
    const path = gatewayPath(sentPath);
    if (path === undefined) return gatewayError(400, 'Bad Request');
    const match = matchRoute(routes, gateway.method, path);
    if (!match) return gatewayError(404, 'Not Found');
    // The authorizer runs before any handler logic.
    const claims = await verify(headers.authorization);
    if (!claims) return gatewayError(401, 'Unauthorized');
    const body = await readBody(request);
    if (body === 'too_large') return gatewayError(413, 'Request Entity Too Large');
    const event = buildEvent(gateway, match, claims, body);
    return match.route.handler(event, lambdaContext(match.route.definition.id));
  };
  return createServer(async (request, response) => {
    const { headers } = headersOf(request.rawHeaders);
    const asked = preflight(cors, request.method ?? 'GET', headers);
    if (asked) return send(response, asked);
    const origin = headers.origin;
    try {
      send(response, withCors(cors, origin, await answer(request)));
    } catch (error) {
      console.error('local api adapter error', error);
      send(response, withCors(cors, origin, gatewayError(500, 'Internal Server Error')));
    }
  });
}
