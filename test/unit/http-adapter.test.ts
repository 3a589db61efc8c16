/**
 * The local adapter's API Gateway rules (the list at the top of local/http-adapter.ts): paths,
 * query strings, headers and cookies as an HTTP API's payload-2.0 event carries them, and CORS.
 * The expectations are AWS's own, from live captures and the AWS documentation cited there.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_CORS, type CorsDefinition, ROUTES, type RouteDefinition } from '#deploy/definitions';
import { apiDocPages, CONTRACT_PATH, REFERENCE_PATH } from '#local/api-docs';
import {
  type BoundRoute,
  buildEvent,
  createApiServer,
  type GatewayEvent,
  gatewayPath,
  headersOf,
  matchRoute,
  preflight,
  queryParameters,
  withCors,
} from '#local/http-adapter';

const route = (method: RouteDefinition['method'], path: string): BoundRoute => ({
  definition: { id: 'Test', method, path, entry: 'x.ts', access: { contents: 'none', files: 'read', bucket: [] } },
  handler: async () => ({ statusCode: 200 }),
});

describe('paths, as an HTTP API delivers them', () => {
  // hotsock/voker vokerhttp/testdata/ingress-paths.json: what a live HTTP API put in rawPath
  // for each path sent (undefined: it answered 400).
  it.each([
    ['/capture/plain', '/capture/plain'],
    ['/capture/space%20value', '/capture/space value'],
    ['/capture/question%3Fvalue', '/capture/question'],
    ['/capture/percent%25done', undefined],
    ['/capture/hash%23value', '/capture/hash#value'],
    ['/capture/slash%2Fvalue', '/capture/slash/value'],
    ['/capture/unicode-%CE%BB-%E4%B8%96%E7%95%8C', '/capture/unicode-λ-世界'],
    ['/capture/literal%252Fvalue', '/capture/literal/value'],
    ['/capture/literal%253Fvalue', '/capture/literal?value'],
    ['/capture/literal%2525value', '/capture/literal%value'],
  ])('%s → %s', (sent, delivered) => {
    expect(gatewayPath(sent)).toBe(delivered);
  });

  it('refuses malformed escapes and bytes that are not UTF-8', () => {
    expect(gatewayPath('/v1/files/a%zz')).toBeUndefined();
    expect(gatewayPath('/v1/files/%FF')).toBeUndefined();
    expect(gatewayPath('/v1/files/a+b')).toBe('/v1/files/a+b');
  });

  it('matches routes on the decoded path: why names cannot travel in one', () => {
    const greedy = [route('DELETE', '/v1/files/{name+}')];
    const at = (sent: string) => matchRoute(greedy, 'DELETE', gatewayPath(sent) ?? '')?.pathParameters.name;
    expect(at('/v1/files/a%3Fb')).toBe('a');
    expect(at('/v1/files/x%252Fy')).toBe('x/y');
    expect(at('/v1/files/a%2Fb')).toBe('a/b');
    expect(gatewayPath('/v1/files/100%25')).toBeUndefined();
  });

  it('gives a one-segment parameter one segment, and the file routes take a reference', () => {
    const routes = ROUTES.map((definition) => ({ definition, handler: async () => ({ statusCode: 200 }) }));
    const match = matchRoute(routes, 'PATCH', '/v1/files/YT9iI2M');
    expect(match?.route.definition.id).toBe('RenameFile');
    expect(match?.pathParameters).toEqual({ fileRef: 'YT9iI2M' });
    expect(matchRoute(routes, 'GET', '/v1/files/docs/a.txt')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/v1/files/')).toBeUndefined();
    expect(matchRoute(routes, 'PUT', '/v1/files/YT9iI2M')).toBeUndefined();
  });
});

describe('query strings', () => {
  // The same captures: the rawQueryString sent and the queryStringParameters a live HTTP API built from it.
  const sent = 'repeat=one&repeat=two&redirect=https%3A%2F%2Fexample.com%2Fa%2Fb&literalPlus=a+b&encodedPlus=a%2Bb&empty=';

  it('form-decodes values (+ is a space) and joins repeated keys with commas', () => {
    expect(queryParameters(sent)).toEqual({
      empty: '',
      encodedPlus: 'a+b',
      literalPlus: 'a b',
      redirect: 'https://example.com/a/b',
      repeat: 'one,two',
    });
  });

  it('has no parameters for an empty query, and keeps names that are Object properties', () => {
    expect(queryParameters('')).toBeUndefined();
    expect(queryParameters('constructor=1&constructor=2&__proto__=x')).toEqual(
      Object.fromEntries([
        ['constructor', '1,2'],
        ['__proto__', 'x'],
      ]),
    );
  });
});

describe('headers and cookies', () => {
  it('lower-cases names, joins repeated headers with commas, and moves cookies to their own field', () => {
    const { headers, cookies } = headersOf([
      'Host',
      'api.example',
      'X-Probe',
      'first',
      'x-probe',
      'second',
      'Authorization',
      'Bearer a',
      'authorization',
      'Bearer b',
      'Cookie',
      'session=abc123; theme=dark',
      'cookie',
      'late=1',
    ]);
    expect(headers).toEqual({ host: 'api.example', 'x-probe': 'first,second', authorization: 'Bearer a,Bearer b' });
    expect(cookies).toEqual(['session=abc123', 'theme=dark', 'late=1']);
  });
});

describe('the payload-2.0 event', () => {
  const request = {
    method: 'GET',
    target: '/v1/files/YT9iI2M?prefixRef=ZG9jcy8&tag=a&tag=b+c',
    rawHeaders: ['Host', '127.0.0.1:4000', 'User-Agent', 'test', 'Cookie', 'a=1'],
    httpVersion: '1.1',
    sourceIp: '127.0.0.1',
  };
  const [getFile] = ROUTES.filter((definition) => definition.id === 'GetFile').map((definition) => ({
    definition,
    handler: async () => ({ statusCode: 200 }),
  }));

  it('carries the decoded path, the raw query, parameters, headers, cookies and claims', () => {
    if (!getFile) throw new Error('no GetFile route');
    const now = new Date(Date.UTC(2026, 6, 10, 19, 19, 5));
    const event = buildEvent(
      request,
      { route: getFile, pathParameters: { fileRef: 'YT9iI2M' } },
      { sub: 'alice' },
      Buffer.alloc(0),
      now,
    );
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/files/{fileRef}',
      rawPath: '/v1/files/YT9iI2M',
      rawQueryString: 'prefixRef=ZG9jcy8&tag=a&tag=b+c',
      queryStringParameters: { prefixRef: 'ZG9jcy8', tag: 'a,b c' },
      pathParameters: { fileRef: 'YT9iI2M' },
      cookies: ['a=1'],
      headers: { host: '127.0.0.1:4000', 'user-agent': 'test' },
      isBase64Encoded: false,
      requestContext: {
        authorizer: { jwt: { claims: { sub: 'alice' } } },
        domainName: '127.0.0.1:4000',
        http: { method: 'GET', path: '/v1/files/YT9iI2M', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
        routeKey: 'GET /v1/files/{fileRef}',
        stage: '$default',
        time: '10/Jul/2026:19:19:05 +0000',
        timeEpoch: now.getTime(),
      },
    });
    expect(event.body).toBeUndefined();
    expect(event.headers.cookie).toBeUndefined();
  });

  it('leaves out query parameters and cookies a request does not have', () => {
    if (!getFile) throw new Error('no GetFile route');
    const event = buildEvent(
      { ...request, target: '/v1/files/YT9iI2M', rawHeaders: [] },
      { route: getFile, pathParameters: { fileRef: 'YT9iI2M' } },
      { sub: 'alice' },
      Buffer.from('{}'),
    );
    expect(event.queryStringParameters).toBeUndefined();
    expect(event.cookies).toBeUndefined();
    expect(event.rawQueryString).toBe('');
    expect(event.body).toBe('{}');
  });
});

describe('CORS, from the one definition the stack deploys', () => {
  const restricted: CorsDefinition = { ...API_CORS, allowOrigins: ['https://app.example', 'http://*'] };
  const asking = { origin: 'https://app.example', 'access-control-request-method': 'DELETE' };

  it('allows exactly the methods the routes use', () => {
    expect([...API_CORS.allowMethods].sort()).toEqual([...new Set(ROUTES.map((definition) => definition.method))].sort());
    expect(API_CORS.exposeHeaders).toContain('retry-after');
  });

  it('answers a preflight itself: 204 with the allowed origin, methods, headers and max age', () => {
    expect(preflight(API_CORS, 'OPTIONS', asking)).toEqual({
      statusCode: 204,
      headers: {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET,POST,PATCH,DELETE',
        'access-control-allow-headers': 'authorization,content-type',
        'access-control-max-age': '3600',
      },
    });
    expect(preflight(restricted, 'OPTIONS', asking)?.headers?.['access-control-allow-origin']).toBe('https://app.example');
    expect(preflight(restricted, 'OPTIONS', { ...asking, origin: 'http://localhost:5173' })?.headers).toMatchObject({
      'access-control-allow-origin': 'http://localhost:5173',
    });
  });

  it('gives an origin it does not allow no CORS headers, and is no preflight without origin and method', () => {
    expect(preflight(restricted, 'OPTIONS', { ...asking, origin: 'https://evil.example' })).toEqual({
      statusCode: 204,
      headers: {},
    });
    expect(preflight(API_CORS, 'OPTIONS', { origin: 'https://app.example' })).toBeUndefined();
    expect(preflight(API_CORS, 'GET', asking)).toBeUndefined();
  });

  it('adds allow-origin and expose-headers to responses, and ignores a handler’s own CORS headers', () => {
    const result: APIGatewayProxyStructuredResultV2 = {
      statusCode: 503,
      headers: { 'retry-after': '1', 'Access-Control-Allow-Origin': 'https://evil.example' },
    };
    expect(withCors(restricted, 'https://app.example', result).headers).toEqual({
      'retry-after': '1',
      'access-control-allow-origin': 'https://app.example',
      'access-control-expose-headers': 'retry-after',
    });
    expect(withCors(restricted, undefined, result).headers).toEqual({ 'retry-after': '1' });
    expect(withCors(restricted, 'https://evil.example', result).headers).toEqual({ 'retry-after': '1' });
  });
});

describe('the adapter over HTTP', () => {
  const seen: GatewayEvent[] = [];
  const verify = vi.fn(async (authorization: string | undefined) =>
    authorization === 'Bearer ok' ? { sub: 'alice' } : undefined,
  );
  const getFile = ROUTES.find((definition) => definition.id === 'GetFile');
  if (!getFile) throw new Error('no GetFile route');
  const server = createApiServer(
    [
      {
        definition: getFile,
        handler: async (event) => {
          seen.push(event);
          return { statusCode: 503, headers: { 'retry-after': '1', 'access-control-allow-origin': 'https://evil.example' } };
        },
      },
    ],
    verify,
    { keys: [] },
  );
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  it('answers a browser’s preflight before the authorizer, on any path', async () => {
    verify.mockClear();
    const response = await fetch(`${base}/v1/files/YQ`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
    expect(verify).not.toHaveBeenCalled();
  });

  it('lets a cross-origin script read the response and its retry-after', async () => {
    const response = await fetch(`${base}/v1/files/YQ?tag=a&tag=b`, {
      headers: { origin: 'https://app.example', authorization: 'Bearer ok' },
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toBe('retry-after');
    expect(seen.at(-1)).toMatchObject({ pathParameters: { fileRef: 'YQ' }, queryStringParameters: { tag: 'a,b' } });
  });

  it('answers 400 for a path it cannot decode, 404 off the routes and 401 without a token, with CORS headers', async () => {
    const origin = { origin: 'https://app.example' };
    for (const [path, status, authorization] of [
      ['/v1/files/100%25', 400, 'Bearer ok'],
      ['/v1/files/a%2Fb', 404, 'Bearer ok'],
      ['/v1/files/YQ', 401, 'Bearer forged'],
    ] as const) {
      const response = await fetch(`${base}${path}`, { headers: { ...origin, authorization } });
      expect(response.status, path).toBe(status);
      expect(response.headers.get('access-control-allow-origin'), path).toBe('*');
    }
  });
});

describe('the contract and API reference `npm start` serves', () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'hashdrop-api-docs-'));
  const verify = vi.fn(async () => undefined);
  let base = '';
  let server: ReturnType<typeof createApiServer> | undefined;
  beforeAll(async () => {
    server = createApiServer([], verify, { keys: [] }, API_CORS, await apiDocPages(cacheDir));
    await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await new Promise((done) => server?.close(done));
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('serves docs/openapi.yaml as it is committed, without a token', async () => {
    const response = await fetch(`${base}${CONTRACT_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(await response.text()).toBe(readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'openapi.yaml'), 'utf8'));
    expect(verify).not.toHaveBeenCalled();
  });

  it('serves a reference page that needs no network: Redoc inline, the contract in the page', async () => {
    const response = await fetch(`${base}${REFERENCE_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<title>hashdrop API reference</title>');
    expect(html).toContain('Upload a file, instantly if storage holds its content');
    // No script, style or font is fetched from elsewhere (build-docs without --inlineBundle loads Redoc from a CDN).
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="https?:/);
    expect(html).not.toContain('cdn.redocly.com/redoc/');
  });

  it('builds the page once per version of the contract, and answers only GET', async () => {
    const built = readdirSync(cacheDir).filter((file) => file.endsWith('.html'));
    expect(built).toHaveLength(1);
    const before = statSync(join(cacheDir, built[0] ?? '')).mtimeMs;
    await apiDocPages(cacheDir);
    expect(statSync(join(cacheDir, built[0] ?? '')).mtimeMs).toBe(before);
    expect((await fetch(`${base}${REFERENCE_PATH}`, { method: 'POST' })).status).toBe(404);
  });
});
