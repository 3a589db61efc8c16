import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';
import { MemoryRateLimiter } from '#adapters/memory-rate-limiter';
import { silentTelemetry } from '#adapters/telemetry';
import { ConflictError, ContentionError } from '#domain/errors';
import type { RateLimiter } from '#domain/ports';
import { decodeUploadRef, encodeUploadRef } from '#domain/views';
import { type HttpEvent, json, MAX_USER_ID_BYTES, type RequestBudget, route } from '#lambdas/http';
import { createUploadBody, fileName, filePath, listFilesQuery, MAX_NAME_BYTES } from '#lambdas/schemas';
import { decodeFileRef, encodeFileRef, maxFileRefLength } from '#protocol/file-ref';
import { ManualClock } from '../support/memory-deps.ts';

const context = {} as Context;

function event(overrides: Partial<HttpEvent> & { sub?: string } = {}): HttpEvent {
  const { sub = 'alice', ...rest } = overrides;
  return {
    version: '2.0',
    routeKey: 'POST /x',
    rawPath: '/x',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: sub ? { sub } : {}, scopes: [] } },
    },
    ...rest,
  } as unknown as HttpEvent;
}

describe('the HTTP edge', () => {
  const echo = route({ body: z.strictObject({ n: z.number() }) }, async ({ userId, body }) => json(200, { userId, n: body.n }));

  it('passes the authorizer’s subject and the parsed body to the domain call', async () => {
    const response = await echo(event({ body: '{"n":1}' }), context);
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body ?? '')).toEqual({ userId: 'alice', n: 1 });
  });

  it('answers 401 without a subject, before any logic', async () => {
    const run = vi.fn();
    const handler = route({}, run);
    const response = await handler(event({ sub: '' }), context);
    expect(response.statusCode).toBe(401);
    expect(run).not.toHaveBeenCalled();
  });

  it.each([
    ['over 255 UTF-8 bytes in 86 characters', '€'.repeat(86)],
    ['a lone surrogate (two such subjects would be stored as one user)', 'alice\ud800'],
    ['a control character', 'alice\u0000'],
    ['not text', 42],
  ])('answers 401 for a subject with %s, before any logic', async (_label, sub) => {
    const run = vi.fn();
    const response = await route({}, run)(event({ sub: sub as string }), context);
    expect(response.statusCode).toBe(401);
    expect(run).not.toHaveBeenCalled();
  });

  it('takes a subject of 255 UTF-8 bytes (OpenID Connect: at most 255 ASCII characters)', async () => {
    const sub = `${'é'.repeat(127)}x`;
    expect(Buffer.byteLength(sub)).toBe(MAX_USER_ID_BYTES);
    const response = await route({}, async ({ userId }) => json(200, { userId }))(event({ sub }), context);
    expect(JSON.parse(response.body ?? '')).toEqual({ userId: sub });
  });

  it('names the failing field in a stable code', async () => {
    const response = await echo(event({ body: '{"n":"x"}' }), context);
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body ?? '').error.code).toBe('invalid_n');
    const unknown = await echo(event({ body: '{"n":1,"extra":2}' }), context);
    expect(JSON.parse(unknown.body ?? '').error.code).toBe('unknown_field');
    const broken = await echo(event({ body: '{"n":' }), context);
    expect(JSON.parse(broken.body ?? '').error.code).toBe('invalid_json');
  });

  it('maps a domain error to its status and never echoes an unexpected one', async () => {
    const conflict = await route({}, async () => {
      throw new ConflictError('size_mismatch', 'nope');
    })(event(), context);
    expect(conflict.statusCode).toBe(409);
    expect(JSON.parse(conflict.body ?? '').error).toEqual({ code: 'size_mismatch', message: 'nope' });

    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const crash = await route({}, async () => {
      throw new Error('secret table name in a stack trace');
    })(event(), context);
    expect(crash.statusCode).toBe(500);
    expect(crash.body).not.toContain('secret');
    expect(JSON.parse(crash.body ?? '').error.code).toBe('internal');
    expect(errors).toHaveBeenCalled();
  });

  it('answers contention the store could not get past with 503 contention and retry-after, and logs it as a warning', async () => {
    const telemetry = silentTelemetry();
    const budget = { limiter: new MemoryRateLimiter(), settings: { requestsPerMinute: 0 }, now: Date.now, telemetry };
    const busy = await route({ budget }, async () => {
      throw new ContentionError('conflict', 'DynamoDB transaction conflict persisted');
    })(event(), context);
    expect(busy.statusCode).toBe(503);
    expect(busy.headers).toMatchObject({ 'retry-after': '1' });
    expect(JSON.parse(busy.body ?? '').error).toEqual({ code: 'contention', message: 'too many concurrent changes; retry' });
    expect(telemetry.lines).toEqual([
      { level: 'warn', message: 'contention', fields: { reason: 'conflict', detail: 'DynamoDB transaction conflict persisted' } },
    ]);
  });
});

describe('the request budget (a 429 before the domain call)', () => {
  const budgetOf = (requestsPerMinute: number, limiter: RateLimiter = new MemoryRateLimiter()) => {
    const clock = new ManualClock();
    return { clock, budget: { limiter, settings: { requestsPerMinute }, now: clock.now } };
  };
  const counted = (budget: RequestBudget, run = vi.fn(async () => json(200, {}))) => ({
    run,
    handler: route({ budget, body: z.strictObject({ n: z.number() }) }, run),
  });
  const send = async (handler: ReturnType<typeof counted>['handler'], sub = 'alice', body = '{"n":1}') => {
    const response = await handler(event({ sub, body }), context);
    return { status: response.statusCode, headers: response.headers, body: JSON.parse(response.body ?? '{}') };
  };

  it('answers 429 rate_limited once a user spent the minute’s budget, with retry-after the end of the minute', async () => {
    const { clock, budget } = budgetOf(3);
    const { handler, run } = counted(budget);
    clock.advance(20_000);
    for (let request = 0; request < 3; request++) expect((await send(handler)).status).toBe(200);
    const refused = await send(handler);
    expect(refused).toMatchObject({
      status: 429,
      headers: { 'retry-after': '40' },
      body: { error: { code: 'rate_limited', details: { retryAfterSeconds: 40 } } },
    });
    expect(run).toHaveBeenCalledTimes(3);
    // Another user has a budget of their own; the next minute starts afresh.
    expect((await send(handler, 'bob')).status).toBe(200);
    clock.advance(40_000);
    expect((await send(handler)).status).toBe(200);
  });

  it('counts only requests that passed validation and authentication: a refused one writes nothing', async () => {
    const { budget } = budgetOf(2);
    const { handler } = counted(budget);
    for (let request = 0; request < 5; request++) {
      expect((await send(handler, 'alice', '{"n":"x"}')).status).toBe(400);
      expect((await send(handler, '')).status).toBe(401);
    }
    expect((await send(handler)).status).toBe(200);
    expect((await send(handler)).status).toBe(200);
    expect((await send(handler)).status).toBe(429);
  });

  it('is off at 0: the limiter is never asked', async () => {
    const refuse = async (): Promise<never> => {
      throw new Error('the limiter was asked');
    };
    const { budget } = budgetOf(0, { take: refuse, peek: refuse });
    const { handler } = counted(budget);
    for (let request = 0; request < 5; request++) expect((await send(handler)).status).toBe(200);
  });
});

describe('file names', () => {
  it('accepts only NFC, so that one visible name is one file (the SDK normalises)', () => {
    expect(fileName.parse('Caf\u00e9.txt')).toBe('Café.txt');
    expect(fileName.safeParse('Cafe\u0301.txt').success).toBe(false);
  });

  it.each([
    ['', 'empty'],
    ['a'.repeat(1025), 'too long'],
    ['é'.repeat(513), 'too long in UTF-8 bytes'],
    ['a\u0000b', 'NUL'],
    ['a\nb', 'control character'],
    ['/etc/passwd', 'leading slash'],
    ['dir/', 'trailing slash'],
    ['a//b', 'empty segment'],
    ['a/../b', 'dot-dot segment'],
    ['./a', 'dot segment'],
    ['a\ud800b', 'lone surrogate (UTF-8 cannot hold it: it would be stored as another name)'],
  ])('refuses %j (%s)', (name) => {
    expect(fileName.safeParse(name).success).toBe(false);
  });

  it('accepts folders, spaces and non-Latin names', () => {
    for (const name of ['photos/2026/beach day.jpg', '報告書.pdf', 'a..b', '.hidden']) {
      expect(fileName.parse(name)).toBe(name);
    }
  });

  it('bounds sizes by S3’s largest object', () => {
    const base = { name: 'a', contentId: 'a'.repeat(64), blockDigests: ['b'.repeat(64)] };
    expect(createUploadBody.safeParse({ ...base, size: 53_687_091_200_000 }).success).toBe(true);
    expect(createUploadBody.safeParse({ ...base, size: 53_687_091_200_001 }).success).toBe(false);
    expect(createUploadBody.safeParse({ ...base, size: -1 }).success).toBe(false);
    expect(createUploadBody.safeParse({ ...base, size: 1.5 }).success).toBe(false);
  });

  it('takes every block digest, up to 10,000 (the domain checks there is one per block), and requires them', () => {
    const base = { name: 'a', contentId: 'a'.repeat(64), size: 1 };
    expect(createUploadBody.safeParse({ ...base, blockDigests: Array(10_000).fill('b'.repeat(64)) }).success).toBe(true);
    expect(createUploadBody.safeParse({ ...base, blockDigests: Array(10_001).fill('b'.repeat(64)) }).success).toBe(false);
    expect(createUploadBody.safeParse({ ...base, blockDigests: [] }).success).toBe(false);
    expect(createUploadBody.safeParse(base).success).toBe(false);
  });
});

/** Names that URL decoding would change, cut or refuse, and names at the edges of the rules. */
const HARD_NAMES = [
  'a?b',
  'a#b',
  '100%',
  '%2F',
  '%252F',
  'a+b c',
  'docs/2026/a b.txt',
  'emoji 😀.png',
  '\u200fRTL\u200f name',
  'caf\u00e9',
  '\ufeffstarts with a BOM',
  'a,b&c=d',
  'x'.repeat(MAX_NAME_BYTES),
];

describe('file references (protocol/file-ref.ts)', () => {
  it.each(HARD_NAMES.map((name) => [name.length > 40 ? `${name.slice(0, 10)}… (${name.length})` : name, name]))(
    '%s: URL-safe, untouched by path and query decoding, decodes back',
    (_label, name) => {
      const ref = encodeFileRef(name);
      expect(ref).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeURIComponent(decodeURIComponent(ref))).toBe(ref);
      expect(new URLSearchParams(`ref=${ref}`).get('ref')).toBe(ref);
      expect(decodeFileRef(ref)).toBe(name);
    },
  );

  it('bounds references by the longest name', () => {
    expect(encodeFileRef('x'.repeat(MAX_NAME_BYTES))).toHaveLength(maxFileRefLength(MAX_NAME_BYTES));
    expect(maxFileRefLength(MAX_NAME_BYTES)).toBe(1366);
  });

  it.each([
    ['a.txt', 'a character outside base64url (an old-style name)'],
    ['YQ==', 'padding'],
    ['YQ%3D%3D', 'an escape'],
    ['QR', 'non-zero trailing bits (QQ is the one reference of "A")'],
    ['A', 'a length no byte sequence has'],
    ['_w', 'a byte that is not UTF-8'],
    ['7aCA', 'an encoded surrogate'],
    ['wK8', 'an overlong "/"'],
    ['YQ,Yg', 'two references joined by a comma'],
  ])('refuses %j (%s)', (ref) => {
    expect(decodeFileRef(ref)).toBeUndefined();
  });
});

describe('file paths and listing prefixes travel as references', () => {
  const paths = route({ path: filePath }, async ({ path }) => json(200, path));
  const lists = route({ query: listFilesQuery }, async ({ query }) => json(200, query));
  const call = async (handler: typeof paths, input: Partial<HttpEvent>) => {
    const response = await handler(event(input), context);
    const body = JSON.parse(response.body ?? '{}');
    return response.statusCode === 200 ? body : body.error.code;
  };

  it('decodes the reference to the name the handler gets', async () => {
    for (const name of HARD_NAMES) {
      expect(await call(paths, { pathParameters: { fileRef: encodeFileRef(name) } })).toEqual({ name });
    }
  });

  it.each([
    [{ fileRef: 'a.txt' }, 'invalid_file_ref'],
    [{ fileRef: 'QR' }, 'invalid_file_ref'],
    [{ fileRef: 'A'.repeat(1367) }, 'invalid_file_ref'],
    [{ fileRef: encodeFileRef('x'.repeat(MAX_NAME_BYTES + 1)) }, 'invalid_file_ref'],
    [{ fileRef: encodeFileRef('cafe\u0301') }, 'invalid_name'],
    [{ fileRef: encodeFileRef('a//b') }, 'invalid_name'],
    [{ fileRef: encodeFileRef('../etc/passwd') }, 'invalid_name'],
    [{ fileRef: encodeFileRef('a\u0000b') }, 'invalid_name'],
    [{ fileRef: '' }, 'invalid_name'],
    [{ fileRef: 'YQ', name: 'a' }, 'unknown_field'],
    [{ name: 'a' }, 'invalid_file_ref'],
  ])('refuses path %j: %s', async (pathParameters, code) => {
    expect(await call(paths, { pathParameters })).toBe(code);
  });

  it('decodes a listing prefix from prefixRef and checks it as text', async () => {
    expect(await call(lists, { queryStringParameters: { prefixRef: encodeFileRef('a+b c/'), limit: '5' } })).toEqual({
      prefix: 'a+b c/',
      limit: 5,
    });
    expect(await call(lists, { queryStringParameters: { prefixRef: encodeFileRef('cafe\u0301') } })).toEqual({
      prefix: 'caf\u00e9',
      limit: 100,
    });
    expect(await call(lists, {})).toEqual({ limit: 100 });
    expect(await call(lists, { queryStringParameters: { prefixRef: 'YQ,Yg' } })).toBe('invalid_prefix_ref');
    expect(await call(lists, { queryStringParameters: { prefixRef: encodeFileRef('\u0001') } })).toBe('invalid_prefix');
    expect(await call(lists, { queryStringParameters: { prefix: 'docs/' } })).toBe('unknown_field');
  });

  it('bounds a prefix in UTF-8 bytes after NFC, which can lengthen it (DynamoDB refuses a longer key value)', async () => {
    const expanding = '\u0958'.repeat(341);
    expect(Buffer.byteLength(expanding)).toBe(1023);
    expect(Buffer.byteLength(expanding.normalize('NFC'))).toBe(2046);
    expect(await call(lists, { queryStringParameters: { prefixRef: encodeFileRef(expanding) } })).toBe('invalid_prefix');
    const longest = 'é'.repeat(512);
    expect(await call(lists, { queryStringParameters: { prefixRef: encodeFileRef(longest) } })).toEqual({
      prefix: longest,
      limit: 100,
    });
  });
});

describe('upload ids (domain/views.ts)', () => {
  const nonce = 'f'.repeat(32);

  it('round-trip every name, the longest included', () => {
    for (const name of HARD_NAMES) expect(decodeUploadRef(encodeUploadRef(name, nonce))).toEqual({ name, uploadId: nonce });
  });

  it.each([
    ['a name part of 1,400 bytes', `${Buffer.from('x'.repeat(1400)).toString('base64url')}.${nonce}`],
    [
      'bytes that are not UTF-8 (each would decode to a 3-byte U+FFFD)',
      `${Buffer.alloc(1023, 0xff).toString('base64url')}.${nonce}`,
    ],
    ['a name part that is not canonical', `QR.${nonce}`],
    ['no name part', `.${nonce}`],
    ['a short nonce', 'YQ.0'],
  ])('are no upload with %s', (_label, ref) => {
    expect(decodeUploadRef(ref)).toBeUndefined();
  });
});

/**
 * A REST API Lambda-proxy event (payload 1.0), as API Gateway sends it to the LocalStack variant's
 * handlers behind the TOKEN authorizer (lambdas/token-authorizer.ts).
 */
function restEvent(
  overrides: Record<string, unknown> = {},
  authorizer: Record<string, unknown> | null = { principalId: 'alice', sub: 'alice', integrationLatency: 5 },
): HttpEvent {
  return {
    resource: '/x/{id}',
    path: '/x/42',
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: { 'Content-Type': ['application/json'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'abc123',
      httpMethod: 'POST',
      path: '/api/x/42',
      protocol: 'HTTP/1.1',
      requestId: 'request-1',
      requestTimeEpoch: 0,
      resourceId: 'resource-1',
      resourcePath: '/x/{id}',
      stage: 'api',
      identity: { sourceIp: '127.0.0.1', userAgent: 'test' },
      ...(authorizer ? { authorizer } : {}),
    },
    ...overrides,
  } as unknown as HttpEvent;
}

describe('the HTTP edge with REST API events (payload 1.0, the LocalStack variant)', () => {
  const echo = route(
    {
      body: z.strictObject({ n: z.number() }),
      path: z.strictObject({ id: z.string() }),
      query: z.strictObject({ tag: z.optional(z.string()) }),
    },
    async ({ userId, body, path, query }) => json(200, { userId, body, path, query }),
  );
  const call = async (input: HttpEvent) => {
    const response = await echo(input, context);
    return { status: response.statusCode, body: JSON.parse(response.body ?? '{}') };
  };

  it('gives the domain call what the same request gives it through the HTTP API', async () => {
    const rest = await call(
      restEvent({
        body: '{"n":1}',
        pathParameters: { id: '42' },
        queryStringParameters: { tag: 'a' },
        multiValueQueryStringParameters: { tag: ['a'] },
      }),
    );
    const http = await call(event({ body: '{"n":1}', pathParameters: { id: '42' }, queryStringParameters: { tag: 'a' } }));
    expect(rest).toEqual({ status: 200, body: { userId: 'alice', body: { n: 1 }, path: { id: '42' }, query: { tag: 'a' } } });
    expect(rest).toEqual(http);
  });

  it('joins a repeated query key with commas, as the HTTP API does (payload 1.0 keeps only the last in queryStringParameters)', async () => {
    const response = await call(
      restEvent({
        body: '{"n":1}',
        pathParameters: { id: '42' },
        queryStringParameters: { tag: 'b' },
        multiValueQueryStringParameters: { tag: ['a', 'b'] },
      }),
    );
    expect(response.body.query).toEqual({ tag: 'a,b' });
  });

  it('decodes a base64 body', async () => {
    const response = await call(
      restEvent({ body: Buffer.from('{"n":7}').toString('base64'), isBase64Encoded: true, pathParameters: { id: '42' } }),
    );
    expect(response.body.body).toEqual({ n: 7 });
  });

  it.each([
    ['a method without the authorizer', null],
    ['an empty principal', { principalId: '', integrationLatency: 0 }],
    ['a principal its context disagrees with', { principalId: 'alice', sub: 'bob', integrationLatency: 0 }],
  ])('answers 401 for %s, before any logic', async (_, authorizer) => {
    const run = vi.fn();
    const response = await route({}, run)(restEvent({}, authorizer), context);
    expect(response.statusCode).toBe(401);
    expect(run).not.toHaveBeenCalled();
  });
});
