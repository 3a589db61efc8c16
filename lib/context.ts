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
 * - `hashdrop:callbackUrls`, `hashdrop:logoutUrls` (comma-separated, or a JSON array), with
 *   `hashdrop:authDomainPrefix`: sign-in through Cognito's managed login, which sends users back
 *   to these URLs. Without them the app client has no OAuth flows at all.
 * - `hashdrop:oauthFlows` = `code` (default) | `implicit` | `code,implicit`: with callback URLs.
 * - `hashdrop:sesFromEmail` (with `hashdrop:sesFromName`, `hashdrop:sesReplyTo`,
 *   `hashdrop:sesRegion`, `hashdrop:sesVerifiedDomain`, `hashdrop:sesConfigurationSet`): the pool
 *   sends its e-mail from this SES identity instead of Cognito's default sender (50 a day).
 * The Cognito keys (`selfSignUp` to `ses…`) are refused with `jwtIssuer` or `hashdrop:api=rest`,
 * which create no user pool: they would be ignored without a word.
 * - `hashdrop:eventBus`: where file events go (docs/events.md): `default` (the account's default
 *   bus) or an existing bus's name; absent, the stack creates a bus of its own.
 */
import type { Node } from 'constructs';
import type { OAuthFlow } from './constructs/user-pool.ts';
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
  callbackUrls: 'hashdrop:callbackUrls',
  logoutUrls: 'hashdrop:logoutUrls',
  oauthFlows: 'hashdrop:oauthFlows',
  authDomainPrefix: 'hashdrop:authDomainPrefix',
  sesFromEmail: 'hashdrop:sesFromEmail',
  sesFromName: 'hashdrop:sesFromName',
  sesReplyTo: 'hashdrop:sesReplyTo',
  sesRegion: 'hashdrop:sesRegion',
  sesVerifiedDomain: 'hashdrop:sesVerifiedDomain',
  sesConfigurationSet: 'hashdrop:sesConfigurationSet',
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

/**
 * Text from the command line, or a list: comma-separated, or a JSON array (for a value that
 * holds a comma); cdk.json may give the array itself.
 */
function list(node: Node, key: string): string[] | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined) return undefined;
  let items: unknown = value;
  if (typeof value === 'string') {
    try {
      items = value.trimStart().startsWith('[') ? JSON.parse(value) : value.split(',').map((item) => item.trim());
    } catch {
      throw new ContextError(`${key} must be a comma-separated list or a JSON array, not ${JSON.stringify(value)}`);
    }
  }
  if (!Array.isArray(items) || items.length === 0 || !items.every((item) => typeof item === 'string' && item !== '')) {
    throw new ContextError(`${key} must be a non-empty list of text values, not ${JSON.stringify(value)}`);
  }
  return items;
}

/** The documentation domains (RFC 2606): CDK's own default callback is https://example.com. */
const PLACEHOLDER_HOST = /(^|\.)example\.(com|net|org)$/;

/**
 * A URL Cognito may redirect a user to with their code: https; http only to localhost (which
 * Cognito allows for development); or a mobile app's private-use scheme, which RFC 8252 §7.1 asks
 * to be a reverse domain name (com.example.app:/callback) so that no other app claims it. No
 * fragment (RFC 6749 §3.1.2), no placeholder domain: a code sent there goes to someone else.
 */
function redirectUrls(node: Node, key: string): string[] | undefined {
  const urls = list(node, key);
  for (const url of urls ?? []) {
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    const scheme = parsed?.protocol.slice(0, -1);
    // The domain a URL sends codes to: its host (a trailing dot names the same one), or the domain
    // a private-use scheme reverses (com.example.app: app.example.com), which any app may claim.
    const domain =
      scheme === 'https' || scheme === 'http' ? parsed?.hostname.replace(/\.$/, '') : scheme?.split('.').reverse().join('.');
    const allowed =
      parsed !== undefined &&
      parsed.hash === '' &&
      !PLACEHOLDER_HOST.test(domain ?? '') &&
      (scheme === 'https'
        ? parsed.hostname !== ''
        : scheme === 'http'
          ? parsed.hostname === 'localhost'
          : /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$/.test(scheme ?? ''));
    if (!allowed) {
      throw new ContextError(
        `${key}: ${JSON.stringify(url)} is not a redirect URL Cognito should use (https, http://localhost, or an app's reverse-DNS scheme; no fragment, no example domain)`,
      );
    }
  }
  return urls;
}

/** Text that is there: a configuration set's name, a sender's name. */
function text(node: Node, key: string, pattern: RegExp, what: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !pattern.test(value))
    throw new ContextError(`${key} must be ${what}, not ${JSON.stringify(value)}`);
  return value;
}

/** The Cognito keys, each of which configures the user pool the stack creates. */
const USER_POOL_KEYS = [
  CONTEXT_KEYS.selfSignUp,
  CONTEXT_KEYS.passwordSignIn,
  CONTEXT_KEYS.callbackUrls,
  CONTEXT_KEYS.logoutUrls,
  CONTEXT_KEYS.oauthFlows,
  CONTEXT_KEYS.authDomainPrefix,
  CONTEXT_KEYS.sesFromEmail,
  CONTEXT_KEYS.sesFromName,
  CONTEXT_KEYS.sesReplyTo,
  CONTEXT_KEYS.sesRegion,
  CONTEXT_KEYS.sesVerifiedDomain,
  CONTEXT_KEYS.sesConfigurationSet,
];

function oauthFromContext(node: Node): Pick<HashdropStackProps, 'oauth'> {
  const callbackUrls = redirectUrls(node, CONTEXT_KEYS.callbackUrls);
  const logoutUrls = redirectUrls(node, CONTEXT_KEYS.logoutUrls);
  const flows = list(node, CONTEXT_KEYS.oauthFlows)?.map((flow): OAuthFlow => {
    if (flow === 'code' || flow === 'implicit') return flow;
    throw new ContextError(`${CONTEXT_KEYS.oauthFlows} must be code, implicit or both, not ${JSON.stringify(flow)}`);
  });
  // Cognito's rule for a prefix domain; it also refuses prefixes naming aws, amazon or cognito.
  const domainPrefix = text(
    node,
    CONTEXT_KEYS.authDomainPrefix,
    /^(?!.*(aws|amazon|cognito))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'a Cognito domain prefix (a-z, 0-9, inner hyphens; no aws, amazon, cognito)',
  );
  if (callbackUrls === undefined) {
    // Each of these means nothing without the callback URLs: refuse it rather than drop it.
    const stray = [CONTEXT_KEYS.logoutUrls, CONTEXT_KEYS.oauthFlows, CONTEXT_KEYS.authDomainPrefix].filter(
      (key) => node.tryGetContext(key) !== undefined,
    );
    if (stray.length > 0) throw new ContextError(`${stray.join(', ')} need ${CONTEXT_KEYS.callbackUrls}`);
    return {};
  }
  if (domainPrefix === undefined) {
    throw new ContextError(
      `${CONTEXT_KEYS.callbackUrls} needs ${CONTEXT_KEYS.authDomainPrefix}: the managed login the users are sent to`,
    );
  }
  return {
    oauth: {
      callbackUrls,
      ...(logoutUrls === undefined ? {} : { logoutUrls }),
      flows: flows === undefined ? ['code'] : [...new Set(flows)],
      domainPrefix,
    },
  };
}

function sesFromContext(node: Node): Pick<HashdropStackProps, 'sesEmail'> {
  const fromEmail = email(node, CONTEXT_KEYS.sesFromEmail);
  const fromName = text(
    node,
    CONTEXT_KEYS.sesFromName,
    /^[^\p{Cc}<>]+$/u,
    'a sender name (no control characters or angle brackets)',
  );
  const replyTo = email(node, CONTEXT_KEYS.sesReplyTo);
  const sesRegion = text(node, CONTEXT_KEYS.sesRegion, /^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as eu-west-1');
  const sesVerifiedDomain = text(node, CONTEXT_KEYS.sesVerifiedDomain, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i, 'a domain name');
  // SES's rule for a configuration set's name.
  const configurationSetName = text(
    node,
    CONTEXT_KEYS.sesConfigurationSet,
    /^[a-zA-Z0-9_-]{1,64}$/,
    'an SES configuration set name',
  );
  if (fromEmail === undefined) {
    const stray = [
      CONTEXT_KEYS.sesFromName,
      CONTEXT_KEYS.sesReplyTo,
      CONTEXT_KEYS.sesRegion,
      CONTEXT_KEYS.sesVerifiedDomain,
      CONTEXT_KEYS.sesConfigurationSet,
    ].filter((key) => node.tryGetContext(key) !== undefined);
    if (stray.length > 0) throw new ContextError(`${stray.join(', ')} need ${CONTEXT_KEYS.sesFromEmail}`);
    return {};
  }
  if (sesVerifiedDomain !== undefined && fromEmail.split('@').pop()?.toLowerCase() !== sesVerifiedDomain.toLowerCase()) {
    throw new ContextError(
      `${CONTEXT_KEYS.sesFromEmail} must be an address of ${CONTEXT_KEYS.sesVerifiedDomain} (${sesVerifiedDomain})`,
    );
  }
  return {
    sesEmail: {
      fromEmail,
      ...(fromName === undefined ? {} : { fromName }),
      ...(replyTo === undefined ? {} : { replyTo }),
      ...(sesRegion === undefined ? {} : { sesRegion }),
      ...(sesVerifiedDomain === undefined ? {} : { sesVerifiedDomain }),
      ...(configurationSetName === undefined ? {} : { configurationSetName }),
    },
  };
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
  const createsUserPool = api !== 'rest' && !(typeof issuer === 'string' && typeof audience === 'string');
  const poolKeys = USER_POOL_KEYS.filter((key) => node.tryGetContext(key) !== undefined);
  if (!createsUserPool && poolKeys.length > 0) {
    throw new ContextError(
      `${poolKeys.join(', ')} configure the stack's Cognito user pool, which it does not create with ${api === 'rest' ? `${CONTEXT_KEYS.api}=rest` : CONTEXT_KEYS.jwtIssuer}: remove them, or configure your own identity provider instead`,
    );
  }
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
    ...oauthFromContext(node),
    ...sesFromContext(node),
    ...(bus === undefined ? {} : { eventBus: bus }),
  };
}
