/**
 * Authenticates a request as S3 does, with AWS Signature Version 4 in the Authorization header or
 * in the query string (a presigned URL). The signature is recomputed by the AWS SDK's own signer
 * (`@smithy/signature-v4`) from the request as received: method, path, query, the headers the
 * client says it signed (their values as sent) and the payload hash, then compared with the one
 * sent. What the signer does not check, S3 does before it (AWS General Reference, "Signature
 * Version 4"; Amazon S3 API Reference, "Authenticating Requests (AWS Signature Version 4)"):
 *
 * - a credential scope for this server's region and `s3`, and a key the server knows;
 * - header auth: `x-amz-date` within 15 minutes of now, and `x-amz-content-sha256` present (the
 *   body's SHA-256, `UNSIGNED-PAYLOAD`, or `STREAMING-UNSIGNED-PAYLOAD-TRAILER`; signed chunks
 *   are refused as not implemented: nothing hashdrop uses sends them);
 * - query auth: `X-Amz-Expires` of at most a week, not yet past (403 "Request has expired"), the
 *   payload `UNSIGNED-PAYLOAD`;
 * - every `x-amz-*` header of the request is signed, and `host` always.
 *
 * The caller checks the body against a signed hex payload hash once it has streamed it.
 */
import { timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '#adapters/sigv4-sha256';
import { errors } from './errors.ts';

/** A request as it arrived, before anything is trusted. */
export interface IncomingRequest {
  readonly method: string;
  /** The path as sent, still percent-encoded. */
  readonly rawPath: string;
  /** Decoded query parameters in the order sent. */
  readonly query: readonly (readonly [string, string])[];
  /** Header values by lower-case name, every occurrence. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
}

export type PayloadHash =
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'sha256'; readonly hex: string }
  | { readonly kind: 'streaming-unsigned-trailer' };

export interface Authenticated {
  readonly accessKeyId: string;
  readonly authType: 'REST-HEADER' | 'REST-QUERY-STRING';
  readonly payload: PayloadHash;
  /** Milliseconds since the request was signed (the `s3:signatureAge` condition key). */
  readonly signatureAgeMs: number;
}

export interface AuthenticateOptions {
  readonly region: string;
  readonly credentials: (accessKeyId: string) => string | undefined;
  readonly now: Date;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_EXPIRES_SECONDS = 7 * 24 * 60 * 60;
const QUERY_AUTH = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
];

/** `YYYYMMDDTHHMMSSZ` → Date, or undefined. */
function parseAmzDate(text: string | undefined): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const date = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

interface Scope {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

function parseCredential(credential: string, fail: (message: string) => Error, region: string): Scope {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !parts[0]) {
    throw fail(`the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  const [accessKeyId, date = '', scopeRegion = '', service = ''] = parts;
  if (!/^\d{8}$/.test(date)) throw fail(`Invalid credential date "${date}". This date is not the same as X-Amz-Date.`);
  if (scopeRegion !== region) throw fail(`the region '${scopeRegion}' is wrong; expecting '${region}'`);
  if (service !== 's3') throw fail(`the service '${service}' is wrong; expecting 's3'`);
  return { accessKeyId, date, region: scopeRegion, service };
}

/** Every occurrence of a header, as the canonical request joins them. */
function headerValue(request: IncomingRequest, name: string): string | undefined {
  const values = request.headers.get(name);
  return values === undefined ? undefined : values.join(',');
}

/** S3 refuses `x-amz-*` headers a signature does not cover (403 AccessDenied, HeadersNotSigned). */
function requireSigned(request: IncomingRequest, signed: ReadonlySet<string>): void {
  const unsigned = [...request.headers.keys()].filter((name) => name.startsWith('x-amz-') && !signed.has(name));
  if (unsigned.length > 0) {
    throw errors.accessDenied('There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.join(', '),
    });
  }
}

/**
 * The canonical URI S3 signs: each segment of the decoded path percent-encoded once, as the SDK
 * encodes keys (RFC 3986 unreserved characters kept), so that the signature binds the key itself
 * rather than one spelling of it.
 */
function canonicalPath(rawPath: string): string {
  return rawPath
    .split('/')
    .map((segment) =>
      encodeURIComponent(decodeURIComponent(segment)).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join('/');
}

function queryBag(entries: readonly (readonly [string, string])[]): Record<string, string | string[]> {
  const bag: Record<string, string | string[]> = {};
  for (const [name, value] of entries) {
    const existing = bag[name];
    if (existing === undefined) bag[name] = value;
    else bag[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return bag;
}

function sameSignature(expected: string, provided: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(provided);
  return a.length === b.length && timingSafeEqual(a, b);
}

function signerFor(scope: Scope, secretAccessKey: string): SignatureV4 {
  return new SignatureV4({
    service: scope.service,
    region: scope.region,
    credentials: { accessKeyId: scope.accessKeyId, secretAccessKey },
    sha256: NodeSha256,
    // S3 signs the path as sent (already encoded once), and the payload hash is a header.
    uriEscapePath: false,
    applyChecksum: false,
  });
}

function secretOf(options: AuthenticateOptions, accessKeyId: string): string {
  const secret = options.credentials(accessKeyId);
  if (secret === undefined) throw errors.invalidAccessKeyId(accessKeyId);
  return secret;
}

/** How the request is signed: undefined for an anonymous request. */
export async function authenticate(request: IncomingRequest, options: AuthenticateOptions): Promise<Authenticated | undefined> {
  const authorization = headerValue(request, 'authorization');
  const queryAuth = request.query.some(([name]) => name === 'X-Amz-Algorithm' || name === 'X-Amz-Signature');
  if (authorization !== undefined && queryAuth)
    throw errors.invalidArgument(
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified',
    );
  if (request.query.some(([name]) => name === 'X-Amz-Security-Token') || request.headers.has('x-amz-security-token')) {
    // This server knows long-term keys only; S3 refuses a session token it cannot resolve.
    throw errors.invalidToken();
  }
  if (authorization !== undefined) return authenticateHeader(request, authorization, options);
  if (queryAuth) return authenticateQuery(request, options);
  return undefined;
}

async function authenticateHeader(
  request: IncomingRequest,
  authorization: string,
  options: AuthenticateOptions,
): Promise<Authenticated> {
  const malformed = (message: string) => errors.authorizationHeaderMalformed(`The authorization header is malformed; ${message}`);
  if (!authorization.startsWith(`${ALGORITHM} `)) {
    throw errors.invalidRequest('The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  }
  const fields = new Map<string, string>();
  for (const field of authorization.slice(ALGORITHM.length + 1).split(',')) {
    const [name, ...value] = field.trim().split('=');
    if (name) fields.set(name, value.join('='));
  }
  const credential = fields.get('Credential');
  const signedList = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedList || !signature)
    throw malformed('a non-empty Credential, SignedHeaders and Signature are required.');
  const scope = parseCredential(credential, malformed, options.region);
  const secret = secretOf(options, scope.accessKeyId);

  const date = parseAmzDate(headerValue(request, 'x-amz-date'));
  if (!date) throw errors.accessDenied('AWS authentication requires a valid Date or x-amz-date header');
  if (!headerValue(request, 'x-amz-date')?.startsWith(scope.date))
    throw malformed(`Invalid credential date. Date is not the same as X-Amz-Date: "${scope.date}".`);
  if (Math.abs(options.now.getTime() - date.getTime()) > MAX_SKEW_MS) throw errors.requestTimeTooSkewed(date, options.now);

  const contentSha256 = headerValue(request, 'x-amz-content-sha256');
  if (contentSha256 === undefined) throw errors.invalidRequest('Missing required header for this request: x-amz-content-sha256');
  const payload = payloadHash(contentSha256);

  const signedNames = signedList.split(';');
  const signed = new Set(signedNames);
  if (!signed.has('host')) throw errors.accessDenied('Host header must be signed');
  requireSigned(request, signed);
  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = headerValue(request, name);
    if (value !== undefined) headers[name] = value;
  }
  const signedRequest = await signerFor(scope, secret).sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: 'localhost',
      path: canonicalPath(request.rawPath),
      query: queryBag(request.query),
      headers,
    },
    { signingDate: date, signingRegion: scope.region, signingService: scope.service, signableHeaders: signed },
  );
  const computed = /Signature=([0-9a-f]+)/.exec(String(signedRequest.headers.authorization ?? ''))?.[1] ?? '';
  if (!sameSignature(computed, signature)) throw errors.signatureDoesNotMatch(scope.accessKeyId, signature);
  return {
    accessKeyId: scope.accessKeyId,
    authType: 'REST-HEADER',
    payload,
    signatureAgeMs: options.now.getTime() - date.getTime(),
  };
}

function payloadHash(value: string): PayloadHash {
  if (/^[0-9a-f]{64}$/.test(value)) return { kind: 'sha256', hex: value };
  if (value === 'UNSIGNED-PAYLOAD') return { kind: 'unsigned' };
  if (value === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return { kind: 'streaming-unsigned-trailer' };
  if (value.startsWith('STREAMING-')) throw errors.notImplemented(`x-amz-content-sha256: ${value} (signed aws-chunked payloads)`);
  throw errors.invalidArgument(
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.',
    'x-amz-content-sha256',
    value,
  );
}

async function authenticateQuery(request: IncomingRequest, options: AuthenticateOptions): Promise<Authenticated> {
  const param = (name: string) => request.query.find(([key]) => key === name)?.[1];
  const fail = (message: string) => errors.authorizationQueryParametersError(message);
  if (QUERY_AUTH.some((name) => param(name) === undefined)) {
    throw fail(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (param('X-Amz-Algorithm') !== ALGORITHM) throw fail('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const scope = parseCredential(
    param('X-Amz-Credential') ?? '',
    (message) => fail(`Error parsing the X-Amz-Credential parameter; ${message}`),
    options.region,
  );
  const secret = secretOf(options, scope.accessKeyId);
  const amzDate = param('X-Amz-Date') ?? '';
  const date = parseAmzDate(amzDate);
  if (!date) throw fail("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  if (!amzDate.startsWith(scope.date))
    throw fail(`Invalid credential date "${scope.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  const expiresText = param('X-Amz-Expires') ?? '';
  const expires = /^\d+$/.test(expiresText) ? Number(expiresText) : Number.NaN;
  if (!Number.isInteger(expires) || expires < 1) throw fail('X-Amz-Expires should be a number');
  if (expires > MAX_EXPIRES_SECONDS) throw fail('X-Amz-Expires must be less than a week (in seconds) that is; 604800');
  if (date.getTime() - options.now.getTime() > MAX_SKEW_MS) throw errors.requestNotYetValid();
  const expiry = new Date(date.getTime() + expires * 1000);
  if (options.now.getTime() > expiry.getTime()) throw errors.requestExpired(expiresText, expiry, options.now);

  const signedNames = (param('X-Amz-SignedHeaders') ?? '').split(';');
  const signed = new Set(signedNames);
  if (!signed.has('host')) throw errors.accessDenied('Host header must be signed');
  const signature = param('X-Amz-Signature') ?? '';
  // The payload of a presigned request is UNSIGNED-PAYLOAD; the SDK's presigner also writes it
  // into the URL as `x-amz-content-sha256`, which is then part of the signed query.
  const contentSha256Param = request.query.find(([name]) => name.toLowerCase() === 'x-amz-content-sha256');
  requireSigned(request, signed);
  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = headerValue(request, name);
    if (value !== undefined) headers[name] = value;
  }
  const unsignedPayload = 'UNSIGNED-PAYLOAD';
  const query = request.query.filter(([name]) => !QUERY_AUTH.includes(name) && name !== contentSha256Param?.[0]);
  let unhoistable = new Set(signedNames);
  let unsignable = new Set<string>();
  if (contentSha256Param) {
    // Handed back as a header, the signer hoists it into the query again and hashes with it.
    headers[contentSha256Param[0]] = contentSha256Param[1];
  } else if (!signed.has('x-amz-content-sha256')) {
    // Not in the URL: a header the signer reads the payload hash from, but neither hoists nor signs.
    headers['x-amz-content-sha256'] = unsignedPayload;
    unhoistable = new Set([...unhoistable, 'x-amz-content-sha256']);
    unsignable = new Set(['x-amz-content-sha256']);
  }
  const presigned = await signerFor(scope, secret).presign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: 'localhost',
      path: canonicalPath(request.rawPath),
      query: queryBag(query),
      headers,
    },
    {
      signingDate: date,
      expiresIn: expires,
      signingRegion: scope.region,
      signingService: scope.service,
      unhoistableHeaders: unhoistable,
      unsignableHeaders: unsignable,
      signableHeaders: signed,
    },
  );
  const computed = presigned.query?.['X-Amz-Signature'];
  if (typeof computed !== 'string' || !sameSignature(computed, signature))
    throw errors.signatureDoesNotMatch(scope.accessKeyId, signature);
  const payloadParam = contentSha256Param?.[1] ?? unsignedPayload;
  return {
    accessKeyId: scope.accessKeyId,
    authType: 'REST-QUERY-STRING',
    payload: payloadParam === unsignedPayload ? { kind: 'unsigned' } : payloadHash(payloadParam),
    signatureAgeMs: options.now.getTime() - date.getTime(),
  };
}
