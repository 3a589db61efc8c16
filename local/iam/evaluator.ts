/**
 * A small IAM policy evaluator for exactly what hashdrop's stack puts in its policies, so that the
 * local stack refuses what AWS would refuse. It follows AWS's documented evaluation logic for a
 * request within one account (IAM User Guide, "Policy evaluation logic"):
 *
 * - every request is denied unless a policy allows it (implicit deny);
 * - an explicit Deny in any policy, identity-based or resource-based, wins over every Allow;
 * - within one account, an Allow in either the caller's identity-based policies or the
 *   resource's resource-based policy (that names the caller) is enough.
 *
 * Supported: Effect, Action/NotAction (wildcards `*` `?`, case-insensitive), Resource/NotResource
 * (wildcards within ARN segments, case-sensitive), Principal in resource policies (`*`, AWS
 * ARNs/accounts, services) and the condition operators listed in OPERATORS, with `...IfExists`.
 * Anything else (NotPrincipal, ForAnyValue:/ForAllValues:, policy variables, unknown operators)
 * throws when the policy is checked, so a policy this evaluator does not understand fails loudly
 * instead of being evaluated wrong.
 */

export type Effect = 'Allow' | 'Deny';

/** One value or a list of them: how policy JSON writes Action, Resource and condition values. */
type OneOrMany<T> = T | readonly T[];

export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, OneOrMany<string | boolean | number>>>>>;

export type PrincipalElement = '*' | Readonly<Record<string, OneOrMany<string>>>;

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: Effect;
  readonly Action?: OneOrMany<string>;
  readonly NotAction?: OneOrMany<string>;
  readonly Resource?: OneOrMany<string>;
  readonly NotResource?: OneOrMany<string>;
  readonly Principal?: PrincipalElement;
  readonly Condition?: ConditionBlock;
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: OneOrMany<PolicyStatement>;
}

/** Who makes a request: an assumed-role session (a Lambda function), or a service. */
export interface RequestPrincipal {
  /** `arn:aws:sts::<account>:assumed-role/<role>/<session>`, or the service principal's name. */
  readonly arn: string;
  readonly account: string;
  /** The role's own ARN (`arn:aws:iam::<account>:role/<role>`), which resource policies name. */
  readonly roleArn?: string;
  /** Set for AWS services (`logging.s3.amazonaws.com`). */
  readonly service?: string;
}

/** The request context: what AWS evaluates every statement against. */
export interface AuthorizationRequest {
  readonly principal: RequestPrincipal;
  readonly action: string;
  readonly resource: string;
  /** Condition keys present in the request (`aws:SecureTransport` …); an absent key is undefined. */
  readonly context?: Readonly<Record<string, string | undefined>>;
}

export type Decision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: 'explicit-deny'; readonly policyType: PolicyType }
  | { readonly allowed: false; readonly reason: 'implicit-deny' };

export type PolicyType = 'identity-based' | 'resource-based';

export class UnsupportedPolicyError extends Error {
  override readonly name = 'UnsupportedPolicyError';
}

const list = <T>(value: OneOrMany<T> | undefined): readonly T[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as readonly T[]) : [value as T];

function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

const globCache = new Map<string, RegExp>();

/** `*` is any run of characters (also none, also `/`), `?` exactly one; everything else is literal. */
function globToRegExp(pattern: string, ignoreCase: boolean): RegExp {
  const cacheKey = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let regExp = globCache.get(cacheKey);
  if (!regExp) {
    const body = escapeRegExp(pattern).replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]');
    regExp = new RegExp(`^${body}$`, ignoreCase ? 'i' : '');
    globCache.set(cacheKey, regExp);
  }
  return regExp;
}

export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  return globToRegExp(pattern, ignoreCase).test(value);
}

/** Actions compare without regard to case (IAM JSON policy elements: Action). */
export function actionMatches(pattern: string, action: string): boolean {
  return pattern === '*' || globMatch(pattern, action, true);
}

/**
 * ARNs compare case-sensitively, wildcards within the colon-separated segments; a `*` that ends a
 * segment may also run over the colons after it (IAM JSON policy elements: Resource, "Using
 * wildcards in resource ARNs").
 */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const patternSegments = pattern.split(':');
  const arnSegments = arn.split(':');
  const match = (p: number, a: number): boolean => {
    if (p === patternSegments.length) return a === arnSegments.length;
    if (a === arnSegments.length) return false;
    const segment = patternSegments[p] ?? '';
    if (globMatch(segment, arnSegments[a] ?? '') && match(p + 1, a + 1)) return true;
    if (!segment.endsWith('*')) return false;
    for (let end = a + 2; end <= arnSegments.length; end++) {
      if (globMatch(segment, arnSegments.slice(a, end).join(':')) && match(p + 1, end)) return true;
    }
    return false;
  };
  return match(0, 0);
}

type ValueTest = (policyValue: string, requestValue: string) => boolean;

interface Operator {
  readonly test: ValueTest;
  /** A negated operator (StringNotEquals …) holds when no policy value matches, and when the key is absent. */
  readonly negated: boolean;
}

const sameBoolean: ValueTest = (policyValue, requestValue) => policyValue.toLowerCase() === requestValue.toLowerCase();

/** The operators the stack's policies use, and their close relatives (IAM JSON policy elements: Condition operators). */
const OPERATORS: Readonly<Record<string, Operator>> = {
  StringEquals: { test: (p, r) => p === r, negated: false },
  StringNotEquals: { test: (p, r) => p === r, negated: true },
  StringEqualsIgnoreCase: { test: (p, r) => p.toLowerCase() === r.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { test: (p, r) => p.toLowerCase() === r.toLowerCase(), negated: true },
  StringLike: { test: (p, r) => globMatch(p, r), negated: false },
  StringNotLike: { test: (p, r) => globMatch(p, r), negated: true },
  ArnEquals: { test: arnMatches, negated: false },
  ArnLike: { test: arnMatches, negated: false },
  ArnNotEquals: { test: arnMatches, negated: true },
  ArnNotLike: { test: arnMatches, negated: true },
  Bool: { test: sameBoolean, negated: false },
};

function conditionHolds(operatorName: string, key: string, values: readonly string[], context: AuthorizationRequest['context']) {
  const requestValue = context?.[key];
  if (operatorName === 'Null') {
    // "true": the key must be absent; "false": it must be present.
    const wantsAbsent = values.some((value) => value.toLowerCase() === 'true');
    return wantsAbsent === (requestValue === undefined);
  }
  const ifExists = operatorName.endsWith('IfExists');
  const operator = OPERATORS[ifExists ? operatorName.slice(0, -'IfExists'.length) : operatorName];
  if (!operator) throw new UnsupportedPolicyError(`condition operator ${operatorName} is not supported`);
  if (requestValue === undefined) return ifExists || operator.negated;
  const anyMatches = values.some((value) => operator.test(value, requestValue));
  return operator.negated ? !anyMatches : anyMatches;
}

/** Every operator, and every key under it, must hold; one key's values are alternatives. */
function conditionsHold(condition: ConditionBlock | undefined, context: AuthorizationRequest['context']): boolean {
  for (const [operatorName, keys] of Object.entries(condition ?? {})) {
    for (const [key, raw] of Object.entries(keys)) {
      const values = list(raw).map(String);
      if (!conditionHolds(operatorName, key, values, context)) return false;
    }
  }
  return true;
}

function principalMatches(element: PrincipalElement | undefined, principal: RequestPrincipal, effect: Effect): boolean {
  if (element === undefined) throw new UnsupportedPolicyError('a resource-based policy statement needs a Principal');
  if (element === '*') return true;
  for (const [kind, raw] of Object.entries(element)) {
    for (const value of list(raw)) {
      if (kind === 'Service' && principal.service === value) return true;
      if (kind !== 'AWS') continue;
      if (value === '*') return true;
      if (value === principal.arn || (principal.roleArn !== undefined && value === principal.roleArn)) return true;
      // Naming an account delegates to that account's identity policies: it denies everyone in
      // the account, but allows no one by itself ("Cross-account policy evaluation logic").
      const account = /^(?:arn:aws:iam::)?(\d{12})(?::root)?$/.exec(value)?.[1];
      if (account !== undefined && account === principal.account && effect === 'Deny') return true;
    }
  }
  return false;
}

function statementApplies(statement: PolicyStatement, request: AuthorizationRequest, resourcePolicy: boolean): boolean {
  if (statement.Action !== undefined && statement.NotAction !== undefined) {
    throw new UnsupportedPolicyError('a statement has both Action and NotAction');
  }
  const actionListed = list(statement.Action ?? statement.NotAction).some((pattern) => actionMatches(pattern, request.action));
  if (statement.Action !== undefined ? !actionListed : actionListed) return false;
  const resourceListed = list(statement.Resource ?? statement.NotResource).some((pattern) =>
    arnMatches(pattern, request.resource),
  );
  if (statement.Resource !== undefined ? !resourceListed : resourceListed) return false;
  if (resourcePolicy && !principalMatches(statement.Principal, request.principal, statement.Effect)) return false;
  return conditionsHold(statement.Condition, request.context);
}

/** Throws on anything this evaluator would otherwise get wrong; run once when a policy is loaded. */
export function checkSupported(policy: PolicyDocument, kind: PolicyType): void {
  for (const statement of list(policy.Statement)) {
    const text = JSON.stringify(statement);
    if (text.includes('${')) throw new UnsupportedPolicyError('policy variables are not supported');
    if ('NotPrincipal' in statement) throw new UnsupportedPolicyError('NotPrincipal is not supported');
    if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') {
      throw new UnsupportedPolicyError(`unknown Effect ${String(statement.Effect)}`);
    }
    if (statement.Action === undefined && statement.NotAction === undefined) {
      throw new UnsupportedPolicyError('a statement needs Action or NotAction');
    }
    if (statement.Resource === undefined && statement.NotResource === undefined) {
      throw new UnsupportedPolicyError('a statement needs Resource or NotResource');
    }
    if (kind === 'identity-based' && statement.Principal !== undefined) {
      throw new UnsupportedPolicyError('an identity-based policy names no Principal');
    }
    if (kind === 'resource-based' && statement.Principal === undefined) {
      throw new UnsupportedPolicyError('a resource-based policy statement needs a Principal');
    }
    for (const [operatorName, keys] of Object.entries(statement.Condition ?? {})) {
      const base = operatorName.replace(/IfExists$/, '');
      if (operatorName !== 'Null' && !(base in OPERATORS)) {
        throw new UnsupportedPolicyError(`condition operator ${operatorName} is not supported`);
      }
      for (const raw of Object.values(keys)) {
        for (const value of list(raw)) {
          if (typeof value === 'object') throw new UnsupportedPolicyError(`${operatorName}: values must be scalars`);
        }
      }
    }
  }
}

/** The policies that apply to a request: the caller's and, for services that have them, the resource's. */
export interface ApplicablePolicies {
  readonly identity: readonly PolicyDocument[];
  readonly resource?: readonly PolicyDocument[];
}

/** AWS's decision for a request within one account. */
export function evaluate(policies: ApplicablePolicies, request: AuthorizationRequest): Decision {
  let allowed = false;
  const kinds: [PolicyType, readonly PolicyDocument[], boolean][] = [
    ['identity-based', policies.identity, false],
    ['resource-based', policies.resource ?? [], true],
  ];
  for (const [policyType, documents, resourcePolicy] of kinds) {
    for (const document of documents) {
      for (const statement of list(document.Statement)) {
        if (!statementApplies(statement, request, resourcePolicy)) continue;
        if (statement.Effect === 'Deny') return { allowed: false, reason: 'explicit-deny', policyType };
        allowed = true;
      }
    }
  }
  return allowed ? { allowed: true } : { allowed: false, reason: 'implicit-deny' };
}

/**
 * The message AWS gives a refused request ("Troubleshooting access denied error messages"):
 * `User: <arn> is not authorized to perform: <action> on resource: <resource> because no
 * identity-based policy allows the <action> action`, or `with an explicit deny in a <type> policy`.
 */
export function accessDeniedMessage(request: AuthorizationRequest, decision: Exclude<Decision, { allowed: true }>): string {
  const head = `User: ${request.principal.arn} is not authorized to perform: ${request.action} on resource: ${request.resource}`;
  return decision.reason === 'explicit-deny'
    ? `${head} with an explicit deny in a ${decision.policyType} policy`
    : `${head} because no identity-based policy allows the ${request.action} action`;
}
