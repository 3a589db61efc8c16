/**
 * The HTTP edge shared by every API handler: authentication (the JWT `sub` that API Gateway's
 * authorizer verified), one schema per input, and the single place where domain errors become
 * HTTP responses. Only errors under 500 are shown as they are; anything else is logged and
 * answered with a generic 500.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { BusyError, ContentionError, DomainError, type ErrorKind, LimitedError } from '#domain/errors';
import type { RateLimiter, Settings, Telemetry } from '#domain/ports';
import { isRestApiEvent, type RestApiEvent, toHttpApiEvent } from './rest-proxy-event.ts';

/** What the handlers work on: an HTTP API request (payload format 2.0) behind the JWT authorizer. */
export type HttpApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
/** What a handler accepts: that, or a REST API proxy request (payload 1.0) of the stack's LocalStack variant. */
export type HttpEvent = HttpApiEvent | RestApiEvent;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/**
 * Largest JSON body accepted: a completion listing 10,000 parts (about 1.2 MB) or an upload
 * request with 10,000 block digests (about 670 KB) fits with room to spare, well within Lambda's
 * 6 MB synchronous payload and API Gateway's 10 MB.
 */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

export const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  limited: 429,
  busy: 503,
};

/** Seconds a client should wait before asking again: a limit says how long it lasts, contention is brief. */
function retryAfterOf(error: DomainError): string | undefined {
  if (error.kind === 'busy') return '1';
  const seconds = error.details?.retryAfterSeconds;
  return error.kind === 'limited' && typeof seconds === 'number' ? String(seconds) : undefined;
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

function errorResponse(error: DomainError): HttpResult {
  const retryAfter = retryAfterOf(error);
  const headers: Record<string, string> = retryAfter ? { 'retry-after': retryAfter } : {};
  return json(
    STATUS[error.kind],
    { error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } },
    headers,
  );
}

/**
 * Longest user id, in UTF-8 bytes. OpenID Connect caps `sub` at 255 ASCII characters; the id is
 * a DynamoDB key (the Files table's partition key, its pending index's sort key: 1,024 bytes at
 * most), which DynamoDB measures in bytes, so this limit is in bytes too.
 */
export const MAX_USER_ID_BYTES = 255;

/**
 * Control characters and lone UTF-16 surrogates. A JWT's JSON can carry a lone surrogate, which
 * UTF-8 cannot: two such subjects could be stored as one user. No issuer's real `sub` has either.
 */
const UNFIT_IN_USER_ID = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;

function userOf(event: HttpApiEvent): string {
  const sub = event.requestContext.authorizer?.jwt?.claims?.sub;
  if (
    typeof sub !== 'string' ||
    sub.length === 0 ||
    Buffer.byteLength(sub, 'utf8') > MAX_USER_ID_BYTES ||
    UNFIT_IN_USER_ID.test(sub)
  ) {
    throw new DomainError('unauthenticated', 'unauthenticated', 'a valid bearer token is required');
  }
  return sub;
}

function parse<T>(schema: z.ZodMiniType<T>, value: unknown, where: 'body' | 'path' | 'query'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path[0];
  const code =
    issue?.code === 'unrecognized_keys'
      ? 'unknown_field'
      : typeof field === 'string'
        ? `invalid_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`
        : `invalid_${where}`;
  throw new DomainError('invalid', code, issue ? `${[where, ...issue.path].join('.')}: ${issue.message}` : `invalid ${where}`);
}

function readJsonBody(event: HttpApiEvent): unknown {
  if (event.body === undefined || event.body === '') return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new DomainError('too_large', 'body_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new DomainError('invalid', 'invalid_json', 'the body is not valid JSON');
  }
}

export interface RouteInput<B, P, Q> {
  readonly userId: string;
  readonly body: B;
  readonly path: P;
  readonly query: Q;
}

export interface RouteSchemas<B, P, Q> {
  readonly body?: z.ZodMiniType<B>;
  readonly path?: z.ZodMiniType<P>;
  readonly query?: z.ZodMiniType<Q>;
  /** Holds each user to the request budget (every API route passes its Deps). */
  readonly budget?: RequestBudget;
}

/** What the edge needs to hold each user to the request budget: a function's Deps have it. */
export interface RequestBudget {
  readonly limiter: RateLimiter;
  readonly settings: Pick<Settings, 'requestsPerMinute'>;
  readonly now: () => number;
  /** Where the edge logs (the user of every later line, unhandled errors); a function's Deps have it. */
  readonly telemetry?: Telemetry;
}

/**
 * The request budget: every API request of a user is counted per minute. HTTP APIs have no usage
 * plans, and the stage's throttle is shared by all users, so one user could spend it all.
 */
export const REQUEST_BUDGET = { counter: 'requests', windowSeconds: 60 } as const;

/**
 * Counts one request of the user, or refuses it (429 `rate_limited`, `retry-after`: the end of
 * the minute) once the minute's budget is spent. It runs after validation, so that a refused
 * request writes nothing, not even a count: bad input costs the owner one invocation, no write.
 */
async function spendBudget(budget: RequestBudget, userId: string): Promise<void> {
  const limit = budget.settings.requestsPerMinute;
  if (limit === 0) return;
  const decision = await budget.limiter.take(userId, { ...REQUEST_BUDGET, limit }, budget.now());
  if (!decision.allowed) {
    throw new LimitedError(
      'rate_limited',
      `more than ${limit} requests in a minute; retry in ${decision.retryAfterSeconds} s`,
      decision.retryAfterSeconds,
    );
  }
}

/** Builds a Lambda handler: authenticate, validate, hold the user to the budget, run the domain call, map errors. */
export function route<B = undefined, P = undefined, Q = undefined>(
  schemas: RouteSchemas<B, P, Q>,
  run: (input: RouteInput<B, P, Q>) => Promise<HttpResult>,
) {
  return middy<HttpEvent, HttpResult>()
    .onError((request) => {
      const { error } = request;
      if (error instanceof ContentionError) {
        // DynamoDB kept cancelling (TransactionConflict) or throttling a call past the store's
        // retries, outside a decision's own retries (the request budget's count, a completion,
        // a read): nothing is wrong with the request, and asking again in a moment succeeds.
        schemas.budget?.telemetry?.log('warn', 'contention', { reason: error.reason, detail: error.message });
        request.response = errorResponse(new BusyError('contention', 'too many concurrent changes; retry', { cause: error }));
        return;
      }
      if (error instanceof DomainError) {
        request.response = errorResponse(error);
        return;
      }
      const fields = { error: error?.name, detail: error?.message, stack: error?.stack };
      if (schemas.budget?.telemetry) schemas.budget.telemetry.log('error', 'unhandled error', fields);
      else console.error(JSON.stringify({ message: 'unhandled error', ...fields }));
      request.response = json(500, { error: { code: 'internal', message: 'internal error' } });
    })
    .handler(async (received) => {
      // A REST API request becomes the HTTP API's here, so that everything below reads one shape.
      const event = isRestApiEvent(received) ? toHttpApiEvent(received) : received;
      const userId = userOf(event);
      // Every later line of this request names its user (and, in Lambda, its request id).
      schemas.budget?.telemetry?.annotate({ user: userId });
      const body = schemas.body ? parse(schemas.body, readJsonBody(event), 'body') : (undefined as B);
      const path = schemas.path ? parse(schemas.path, event.pathParameters ?? {}, 'path') : (undefined as P);
      const query = schemas.query ? parse(schemas.query, event.queryStringParameters ?? {}, 'query') : (undefined as Q);
      if (schemas.budget) await spendBudget(schemas.budget, userId);
      return run({ userId, body, path, query });
    });
}
