/** REST API proxy events (payload 1.0) as the HTTP API's payload 2.0 (lambdas/rest-proxy-event.ts). */
import { describe, expect, it } from 'vitest';
import { isRestApiEvent, type RestApiEvent, restApiUser, toHttpApiEvent } from '#lambdas/rest-proxy-event';

const base = {
  resource: '/v1/uploads/{uploadId}',
  path: '/v1/uploads/abc',
  httpMethod: 'GET',
  headers: { Authorization: 'Bearer t', 'X-Forwarded-For': '10.0.0.2' },
  multiValueHeaders: { Authorization: ['Bearer t'], 'X-Forwarded-For': ['10.0.0.1', '10.0.0.2'] },
  queryStringParameters: { q: 'b c', tag: 'y' },
  multiValueQueryStringParameters: { q: ['b c'], tag: ['x', 'y'] },
  pathParameters: { uploadId: 'abc' },
  stageVariables: null,
  body: null,
  isBase64Encoded: false,
  requestContext: {
    accountId: '000000000000',
    apiId: 'abc123',
    authorizer: { principalId: 'alice', sub: 'alice', integrationLatency: 4 },
    httpMethod: 'GET',
    identity: { sourceIp: '10.0.0.2', userAgent: 'sdk' },
    path: '/api/v1/uploads/abc',
    protocol: 'HTTP/1.1',
    requestId: 'request-1',
    requestTime: '25/Nov/2026:13:26:26 +0000',
    requestTimeEpoch: 1_795_613_186_000,
    resourceId: 'r1',
    resourcePath: '/v1/uploads/{uploadId}',
    stage: 'api',
  },
} as unknown as RestApiEvent;

describe('REST API proxy events', () => {
  it('are told apart from HTTP API events', () => {
    expect(isRestApiEvent(base)).toBe(true);
    expect(isRestApiEvent(toHttpApiEvent(base))).toBe(false);
  });

  it('become the payload 2.0 event of the same request', () => {
    const event = toHttpApiEvent(base);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/uploads/{uploadId}',
      rawPath: '/v1/uploads/abc',
      rawQueryString: 'q=b%20c&tag=x&tag=y',
      // Lower-case names, repeated values joined with commas.
      headers: { authorization: 'Bearer t', 'x-forwarded-for': '10.0.0.1,10.0.0.2' },
      queryStringParameters: { q: 'b c', tag: 'x,y' },
      pathParameters: { uploadId: 'abc' },
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'GET', path: '/v1/uploads/abc', sourceIp: '10.0.0.2', userAgent: 'sdk' },
        stage: 'api',
        authorizer: { principalId: 'alice', jwt: { claims: { sub: 'alice' }, scopes: [] } },
      },
    });
    // No body and no parameters are absent in 2.0, not null.
    expect('body' in event).toBe(false);
    expect('stageVariables' in event).toBe(false);
  });

  it('carry the user only as the TOKEN authorizer wrote it', () => {
    const withAuthorizer = (authorizer: unknown) =>
      ({ ...base, requestContext: { ...base.requestContext, authorizer } }) as unknown as RestApiEvent;
    expect(restApiUser(base)).toBe('alice');
    expect(restApiUser(withAuthorizer({ principalId: 'alice', integrationLatency: 0 }))).toBe('alice');
    expect(restApiUser(withAuthorizer({ principalId: 'alice', sub: 'bob' }))).toBeUndefined();
    expect(restApiUser(withAuthorizer(undefined))).toBeUndefined();
    expect(toHttpApiEvent(withAuthorizer(undefined)).requestContext.authorizer.jwt.claims).toEqual({});
  });
});
