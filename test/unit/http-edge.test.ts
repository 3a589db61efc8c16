import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';
import { ConflictError } from '#domain/errors';
import { type HttpEvent, json, route } from '#lambdas/http';
import { createUploadBody, fileName } from '#lambdas/schemas';

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
  ])('refuses %j (%s)', (name) => {
    expect(fileName.safeParse(name).success).toBe(false);
  });

  it('accepts folders, spaces and non-Latin names', () => {
    for (const name of ['photos/2026/beach day.jpg', '報告書.pdf', 'a..b', '.hidden']) {
      expect(fileName.parse(name)).toBe(name);
    }
  });

  it('bounds sizes by S3’s largest object', () => {
    const base = { name: 'a', contentId: 'a'.repeat(64) };
    expect(createUploadBody.safeParse({ ...base, size: 53_687_091_200_000 }).success).toBe(true);
    expect(createUploadBody.safeParse({ ...base, size: 53_687_091_200_001 }).success).toBe(false);
    expect(createUploadBody.safeParse({ ...base, size: -1 }).success).toBe(false);
    expect(createUploadBody.safeParse({ ...base, size: 1.5 }).success).toBe(false);
  });
});
