/**
 * The bucket's CORS rules applied as S3 applies them (Amazon S3 User Guide, "Using cross-origin
 * resource sharing" and "How does Amazon S3 evaluate the CORS configuration on a bucket?"): the
 * first rule whose origin and method match (and, for a preflight, every requested header) decides;
 * an origin or header pattern may hold one `*` wildcard. A preflight nothing matches is refused
 * with 403; an actual request nothing matches is served without CORS headers, so the browser
 * refuses it.
 */
import { errors } from './errors.ts';

/** One rule of the bucket's CORS configuration (S3's `CORSRule`). */
export interface CorsRule {
  readonly allowedMethods: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly allowedHeaders?: readonly string[];
  readonly exposedHeaders?: readonly string[];
  readonly maxAgeSeconds?: number;
}

function wildcardMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const [pattern_, value_] = ignoreCase ? [pattern.toLowerCase(), value.toLowerCase()] : [pattern, value];
  const star = pattern_.indexOf('*');
  if (star === -1) return pattern_ === value_;
  const prefix = pattern_.slice(0, star);
  const suffix = pattern_.slice(star + 1);
  return value_.length >= prefix.length + suffix.length && value_.startsWith(prefix) && value_.endsWith(suffix);
}

const matchesOrigin = (rule: CorsRule, origin: string) =>
  rule.allowedOrigins.some((pattern) => wildcardMatch(pattern, origin, false));

function headersFor(rule: CorsRule, origin: string): Record<string, string> {
  // A rule for any origin answers `*`; one for named origins echoes the origin and allows credentials.
  const any = rule.allowedOrigins.includes('*');
  return {
    'access-control-allow-origin': any ? '*' : origin,
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    ...(any ? {} : { 'access-control-allow-credentials': 'true' }),
    ...(rule.exposedHeaders?.length ? { 'access-control-expose-headers': rule.exposedHeaders.join(', ') } : {}),
    ...(rule.maxAgeSeconds === undefined ? {} : { 'access-control-max-age': String(rule.maxAgeSeconds) }),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
}

/** The CORS headers of an actual request from `origin` (none when no rule matches). */
export function corsHeaders(rules: readonly CorsRule[], origin: string | undefined, method: string): Record<string, string> {
  if (origin === undefined) return {};
  const rule = rules.find((candidate) => matchesOrigin(candidate, origin) && candidate.allowedMethods.includes(method));
  return rule ? headersFor(rule, origin) : {};
}

/** The answer to a preflight `OPTIONS`; throws S3's refusal when no rule allows it. */
export function preflight(
  rules: readonly CorsRule[],
  origin: string | undefined,
  requestMethod: string | undefined,
  requestHeaders: string | undefined,
): Record<string, string> {
  if (origin === undefined) throw errors.badRequest('Insufficient information. Origin request header needed.');
  if (requestMethod === undefined) throw errors.badRequest('Invalid Access-Control-Request-Method: null');
  const asked = (requestHeaders ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const rule = rules.find(
    (candidate) =>
      matchesOrigin(candidate, origin) &&
      candidate.allowedMethods.includes(requestMethod) &&
      asked.every((name) => (candidate.allowedHeaders ?? []).some((pattern) => wildcardMatch(pattern, name, true))),
  );
  if (!rule) throw errors.corsForbidden(requestMethod);
  return {
    ...headersFor(rule, origin),
    ...(asked.length > 0 ? { 'access-control-allow-headers': asked.join(', ') } : {}),
  };
}
