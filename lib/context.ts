/**
 * The stack's properties from CDK context (cdk.json, or `-c key=value` on the command line), for
 * bin/hashdrop.ts. A value from the command line arrives as text, one from cdk.json as parsed
 * JSON: both are accepted. A malformed value fails the synthesis with the key's name, rather than
 * deploying something other than what was asked for.
 *
 * - `jwtIssuer`, `jwtAudience` (comma-separated): accept tokens of your own OIDC provider instead
 *   of the Cognito user pool the stack creates.
 * - `hashdrop:api` = `http` (default) | `rest`: the variant LocalStack's free plan runs (a REST API
 *   with a Lambda TOKEN authorizer, no Cognito); its authorizer takes the issuer's public keys
 *   from `hashdrop:jwks` or the environment variable HASHDROP_JWKS (a JWKS JSON document).
 * - `hashdrop:selfSignUp` = `true` | `false` (default): whether anyone may create an account in
 *   the stack's Cognito user pool.
 * - `hashdrop:defaultQuotaBytes`: logical bytes each user may store (default 100 GiB).
 * - `hashdrop:requestsPerMinute`: each user's API requests per minute, then 429 (default 600;
 *   0: no budget).
 * - `hashdrop:alarmEmail`: an e-mail address subscribed to the alarm topic (default: none).
 * - `hashdrop:passwordSignIn` = `true` | `false` (default): whether the app client also takes
 *   USER_PASSWORD_AUTH, the flow the web app signs in with from the page (web/).
 * - `hashdrop:eventBus`: where file events go (docs/events.md): `default` (the account's default
 *   bus) or an existing bus's name; absent, the stack creates a bus of its own.
 */
import type { Node } from 'constructs';
import type { HashdropStackProps } from './hashdrop-stack.ts';

export const CONTEXT_KEYS = {
  jwtIssuer: 'jwtIssuer',
  jwtAudience: 'jwtAudience',
  api: 'hashdrop:api',
  jwks: 'hashdrop:jwks',
  selfSignUp: 'hashdrop:selfSignUp',
  defaultQuotaBytes: 'hashdrop:defaultQuotaBytes',
  requestsPerMinute: 'hashdrop:requestsPerMinute',
  alarmEmail: 'hashdrop:alarmEmail',
  passwordSignIn: 'hashdrop:passwordSignIn',
  eventBus: 'hashdrop:eventBus',
} as const;

export class ContextError extends Error {
  override readonly name = 'ContextError';
}

function flag(node: Node, key: string): boolean | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === true || value === false) return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ContextError(`${key} must be true or false, not ${JSON.stringify(value)}`);
}

function wholeNumber(node: Node, key: string, minimum: number): number | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < minimum) {
    throw new ContextError(`${key} must be a whole number ≥ ${minimum}, not ${JSON.stringify(value)}`);
  }
  return number;
}

/**
 * One address, roughly as SNS takes it: something@domain.tld, no spaces, no list. A typo would
 * otherwise deploy a subscription nobody can confirm, and alarms would go nowhere.
 */
const EMAIL = /^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/;

function email(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !EMAIL.test(value)) {
    throw new ContextError(`${key} must be one e-mail address, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** An EventBridge bus name (`default`, or one of 1–256 characters of [/.\-_A-Za-z0-9]). */
function eventBus(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[/.\-_A-Za-z0-9]{1,256}$/.test(value)) {
    throw new ContextError(`${key} must be default or an event bus name, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** What bin/hashdrop.ts passes the stack, besides its account and region. */
export function stackPropsFromContext(node: Node, env: Readonly<Record<string, string | undefined>>): HashdropStackProps {
  const issuer: unknown = node.tryGetContext(CONTEXT_KEYS.jwtIssuer);
  const audience: unknown = node.tryGetContext(CONTEXT_KEYS.jwtAudience);
  const api: unknown = node.tryGetContext(CONTEXT_KEYS.api) ?? 'http';
  if (api !== 'http' && api !== 'rest') throw new ContextError(`${CONTEXT_KEYS.api} must be http or rest, not ${String(api)}`);
  const jwksContext: unknown = node.tryGetContext(CONTEXT_KEYS.jwks);
  const jwks =
    jwksContext === undefined ? env.HASHDROP_JWKS : typeof jwksContext === 'string' ? jwksContext : JSON.stringify(jwksContext);
  const selfSignUp = flag(node, CONTEXT_KEYS.selfSignUp);
  const defaultQuotaBytes = wholeNumber(node, CONTEXT_KEYS.defaultQuotaBytes, 1);
  const requestsPerMinute = wholeNumber(node, CONTEXT_KEYS.requestsPerMinute, 0);
  const alarmEmail = email(node, CONTEXT_KEYS.alarmEmail);
  const passwordSignIn = flag(node, CONTEXT_KEYS.passwordSignIn);
  const bus = eventBus(node, CONTEXT_KEYS.eventBus);
  return {
    api,
    ...(api === 'rest' && jwks ? { jwks } : {}),
    ...(typeof issuer === 'string' && typeof audience === 'string'
      ? { jwt: { issuer, audience: audience.split(',').map((value) => value.trim()) } }
      : {}),
    ...(selfSignUp === undefined ? {} : { selfSignUp }),
    ...(defaultQuotaBytes === undefined ? {} : { defaultQuotaBytes }),
    ...(requestsPerMinute === undefined ? {} : { requestsPerMinute }),
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
    ...(passwordSignIn === undefined ? {} : { passwordSignIn }),
    ...(bus === undefined ? {} : { eventBus: bus }),
  };
}
