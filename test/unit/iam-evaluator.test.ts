/**
 * The local IAM evaluator against AWS's documented evaluation rules. Each test names the page and
 * the rule it checks (IAM User Guide):
 * - [logic] "Policy evaluation logic" and "Policy evaluation for requests within a single account"
 * - [denies] "The difference between explicit and implicit denies"
 * - [action] "IAM JSON policy elements: Action" / "NotAction"
 * - [resource] "IAM JSON policy elements: Resource" / "NotResource"
 * - [principal] "AWS JSON policy elements: Principal"
 * - [conditions] "IAM JSON policy elements: Condition operators"
 * - [messages] "Troubleshooting access denied error messages"
 */
import { describe, expect, it } from 'vitest';
import {
  type AuthorizationRequest,
  accessDeniedMessage,
  arnMatches,
  checkSupported,
  evaluate,
  type PolicyDocument,
  type PolicyStatement,
  UnsupportedPolicyError,
} from '#local/iam/evaluator';

const ACCOUNT = '000000000000';
const principal = {
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Role/Fn`,
  account: ACCOUNT,
  roleArn: `arn:aws:iam::${ACCOUNT}:role/Role`,
};
const OBJECT = 'arn:aws:s3:::bucket/blobs/abc';

const policy = (...Statement: PolicyStatement[]): PolicyDocument => ({ Version: '2012-10-17', Statement });
const request = (overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({
  principal,
  action: 's3:GetObject',
  resource: OBJECT,
  ...overrides,
});
const allowed = (identity: PolicyDocument[], req = request(), resource: PolicyDocument[] = []) =>
  evaluate({ identity, resource }, req).allowed;

describe('evaluation logic', () => {
  it('[logic] denies by default: a request no policy allows is implicitly denied', () => {
    expect(evaluate({ identity: [] }, request())).toEqual({ allowed: false, reason: 'implicit-deny' });
    const other = policy({ Effect: 'Allow', Action: 's3:PutObject', Resource: OBJECT });
    expect(evaluate({ identity: [other] }, request())).toEqual({ allowed: false, reason: 'implicit-deny' });
  });

  it('[logic] allows what an identity-based policy explicitly allows', () => {
    expect(allowed([policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: OBJECT })])).toBe(true);
  });

  it('[denies] an explicit deny overrides an allow, in the same policy or another', () => {
    const allow = { Effect: 'Allow', Action: 's3:*', Resource: '*' } as const;
    const deny = { Effect: 'Deny', Action: 's3:GetObject', Resource: OBJECT } as const;
    expect(evaluate({ identity: [policy(allow, deny)] }, request())).toEqual({
      allowed: false,
      reason: 'explicit-deny',
      policyType: 'identity-based',
    });
    expect(allowed([policy(allow), policy(deny)])).toBe(false);
    // The order of the statements does not matter.
    expect(allowed([policy(deny), policy(allow)])).toBe(false);
  });

  it('[logic] within one account, an allow in either the identity or the resource policy is enough', () => {
    const bucketAllows = policy({
      Effect: 'Allow',
      Principal: { AWS: principal.roleArn },
      Action: 's3:GetObject',
      Resource: OBJECT,
    });
    expect(allowed([], request(), [bucketAllows])).toBe(true);
    expect(allowed([policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: OBJECT })], request(), [])).toBe(true);
  });

  it('[logic] an explicit deny in a resource-based policy overrides an identity-based allow', () => {
    const identity = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: OBJECT });
    const bucketDenies = policy({ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::bucket/*' });
    expect(evaluate({ identity: [identity], resource: [bucketDenies] }, request())).toEqual({
      allowed: false,
      reason: 'explicit-deny',
      policyType: 'resource-based',
    });
  });
});

describe('Action and NotAction', () => {
  it('[action] action names are not case sensitive, and * and ? are wildcards', () => {
    const grant = (Action: string) => [policy({ Effect: 'Allow', Action, Resource: '*' })];
    expect(allowed(grant('S3:GETOBJECT'))).toBe(true);
    expect(allowed(grant('s3:get*'))).toBe(true);
    expect(allowed(grant('s3:GetObjec?'))).toBe(true);
    expect(allowed(grant('s3:GetObjec??'))).toBe(false);
    expect(allowed(grant('*'))).toBe(true);
    expect(allowed(grant('dynamodb:*'))).toBe(false);
  });

  it('[action] a ListParts request is not allowed by s3:PutObject (only the listed actions match)', () => {
    const put = [
      policy({ Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: 'arn:aws:s3:::bucket/*' }),
    ];
    expect(allowed(put, request({ action: 's3:ListMultipartUploadParts' }))).toBe(false);
  });

  it('[action] NotAction applies to every action except those listed', () => {
    const everythingButIam = [policy({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' })];
    expect(allowed(everythingButIam)).toBe(true);
    expect(allowed(everythingButIam, request({ action: 'iam:CreateUser' }))).toBe(false);
  });
});

describe('Resource and NotResource', () => {
  it('[resource] resource ARNs are case sensitive', () => {
    expect(allowed([policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::Bucket/*' })])).toBe(false);
  });

  it('[resource] * within a segment also matches a slash; ? matches exactly one character', () => {
    expect(arnMatches('arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket/blobs/abc/def')).toBe(true);
    expect(arnMatches('arn:aws:s3:::bucket/blobs/*', 'arn:aws:s3:::bucket/other/abc')).toBe(false);
    expect(arnMatches('arn:aws:s3:::bucket/blobs/ab?', OBJECT)).toBe(true);
    expect(arnMatches('arn:aws:s3:::bucket/blobs/a?', OBJECT)).toBe(false);
    // A bucket's ARN is not one of its objects, nor the other way round.
    expect(arnMatches('arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket')).toBe(false);
    expect(arnMatches('arn:aws:s3:::bucket', OBJECT)).toBe(false);
  });

  it('[resource] a * that ends a segment may match beyond the colons after it', () => {
    const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/hashdrop-files`;
    expect(arnMatches('arn:aws:dynamodb:*', table)).toBe(true);
    expect(arnMatches(`arn:aws:dynamodb:*:${ACCOUNT}:table/*`, table)).toBe(true);
    expect(arnMatches(`arn:aws:dynamodb:*:${ACCOUNT}:table/hashdrop-files/index/*`, table)).toBe(false);
    expect(arnMatches(`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/hashdrop-files`, `${table}/index/byContent`)).toBe(false);
  });

  it('[resource] NotResource applies to every resource except those listed', () => {
    const allButSecrets = [policy({ Effect: 'Allow', Action: 's3:GetObject', NotResource: 'arn:aws:s3:::bucket/secrets/*' })];
    expect(allowed(allButSecrets)).toBe(true);
    expect(allowed(allButSecrets, request({ resource: 'arn:aws:s3:::bucket/secrets/key' }))).toBe(false);
  });
});

describe('Principal (resource-based policies)', () => {
  const statement = (Principal: PolicyStatement['Principal'], Effect: 'Allow' | 'Deny' = 'Allow'): PolicyDocument =>
    policy({ Effect, Principal, Action: 's3:GetObject', Resource: OBJECT });

  it('[principal] "*" and {"AWS": "*"} name everyone; a role ARN names that role’s sessions', () => {
    expect(allowed([], request(), [statement('*')])).toBe(true);
    expect(allowed([], request(), [statement({ AWS: '*' })])).toBe(true);
    expect(allowed([], request(), [statement({ AWS: principal.roleArn })])).toBe(true);
    expect(allowed([], request(), [statement({ AWS: `arn:aws:iam::${ACCOUNT}:role/Other` })])).toBe(false);
  });

  it('[principal] a service principal does not name a role', () => {
    expect(allowed([], request(), [statement({ Service: 'logging.s3.amazonaws.com' })])).toBe(false);
  });

  it('[principal] naming the account delegates to its identity policies: it allows no one by itself, but denies all', () => {
    expect(allowed([], request(), [statement({ AWS: `arn:aws:iam::${ACCOUNT}:root` })])).toBe(false);
    const identity = [policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: OBJECT })];
    expect(allowed(identity, request(), [statement({ AWS: ACCOUNT }, 'Deny')])).toBe(false);
  });
});

describe('Condition operators', () => {
  // The bucket policy CDK writes for enforceSSL.
  const tlsOnly = policy({
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 's3:*',
    Resource: ['arn:aws:s3:::bucket', 'arn:aws:s3:::bucket/*'],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  });
  const identity = [policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/*' })];
  const withContext = (context: Record<string, string | undefined>) => request({ context });

  it('[conditions] Bool: a deny on aws:SecureTransport false refuses plain HTTP and lets HTTPS through', () => {
    expect(allowed(identity, withContext({ 'aws:SecureTransport': 'true' }), [tlsOnly])).toBe(true);
    expect(allowed(identity, withContext({ 'aws:SecureTransport': 'false' }), [tlsOnly])).toBe(false);
  });

  it('[conditions] a key absent from the request context makes a condition false (its statement does not apply)', () => {
    expect(allowed(identity, withContext({}), [tlsOnly])).toBe(true);
    const onlyFromVpc = [
      policy({
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-1' } },
      }),
    ];
    expect(allowed(onlyFromVpc, withContext({}))).toBe(false);
  });

  it('[conditions] ...except for negated operators, which are true when the key is absent', () => {
    const notFromVpc = [
      policy({
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:SourceVpc': 'vpc-1' } },
      }),
    ];
    expect(allowed(notFromVpc, withContext({}))).toBe(true);
    expect(allowed(notFromVpc, withContext({ 'aws:SourceVpc': 'vpc-1' }))).toBe(false);
    expect(allowed(notFromVpc, withContext({ 'aws:SourceVpc': 'vpc-2' }))).toBe(true);
  });

  it('[conditions] ...IfExists is true when the key is absent, and tests the value when present', () => {
    const ifExists = [
      policy({
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: '*',
        Condition: { StringEqualsIfExists: { 'aws:SourceVpc': 'vpc-1' } },
      }),
    ];
    expect(allowed(ifExists, withContext({}))).toBe(true);
    expect(allowed(ifExists, withContext({ 'aws:SourceVpc': 'vpc-2' }))).toBe(false);
  });

  it('[conditions] Null "true" holds when the key is absent, "false" when it is present', () => {
    const absent = [
      policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { Null: { 'aws:TokenIssueTime': 'true' } } }),
    ];
    expect(allowed(absent, withContext({}))).toBe(true);
    expect(allowed(absent, withContext({ 'aws:TokenIssueTime': '2026-01-01T00:00:00Z' }))).toBe(false);
    const present = [
      policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { Null: { 'aws:TokenIssueTime': 'false' } } }),
    ];
    expect(allowed(present, withContext({}))).toBe(false);
  });

  it('[conditions] Null and Bool together: a bucket policy that enforces conditional writes (S3 User Guide, "Enforce conditional writes on Amazon S3 buckets")', () => {
    const writeOnce = policy({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:PutObject',
      Resource: 'arn:aws:s3:::bucket/blobs/*',
      Condition: { Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } },
    });
    const put = [policy({ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::bucket/*' })];
    const write = (context: Record<string, string>) => allowed(put, request({ action: 's3:PutObject', context }), [writeOnce]);
    expect(write({ 's3:ObjectCreationOperation': 'true' })).toBe(false);
    expect(write({ 's3:ObjectCreationOperation': 'true', 's3:if-none-match': '*' })).toBe(true);
    // UploadPart and CreateMultipartUpload create no object yet.
    expect(write({ 's3:ObjectCreationOperation': 'false' })).toBe(true);
  });

  it('[conditions] several values of one key are alternatives (OR); several keys and operators must all hold (AND)', () => {
    const statement = {
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:SourceAccount': [ACCOUNT, '111111111111'] },
        StringLike: { 'aws:SourceArn': 'arn:aws:s3:::bucket*' },
      },
    } as const;
    const both = { 'aws:SourceAccount': '111111111111', 'aws:SourceArn': 'arn:aws:s3:::bucket-2' };
    expect(allowed([policy(statement)], withContext(both))).toBe(true);
    expect(allowed([policy(statement)], withContext({ ...both, 'aws:SourceAccount': '222222222222' }))).toBe(false);
    expect(allowed([policy(statement)], withContext({ 'aws:SourceAccount': ACCOUNT }))).toBe(false);
  });

  it('[conditions] StringEquals is case sensitive, StringEqualsIgnoreCase is not; ArnLike matches per segment', () => {
    const condition = (Condition: PolicyStatement['Condition']) => [
      policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition }),
    ];
    expect(
      allowed(condition({ StringEquals: { 'aws:PrincipalTag/team': 'Data' } }), withContext({ 'aws:PrincipalTag/team': 'data' })),
    ).toBe(false);
    expect(
      allowed(
        condition({ StringEqualsIgnoreCase: { 'aws:PrincipalTag/team': 'Data' } }),
        withContext({ 'aws:PrincipalTag/team': 'data' }),
      ),
    ).toBe(true);
    expect(
      allowed(
        condition({ ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::hashdrop-*' } }),
        withContext({ 'aws:SourceArn': 'arn:aws:s3:::hashdrop-blobs' }),
      ),
    ).toBe(true);
  });
});

describe('what the evaluator refuses to guess', () => {
  it('throws on elements and operators it does not implement, instead of evaluating them wrong', () => {
    const base = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' } as const;
    expect(() =>
      checkSupported(policy({ ...base, Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'a' } } }), 'identity-based'),
    ).toThrow(UnsupportedPolicyError);
    expect(() =>
      checkSupported(policy({ ...base, Resource: `arn:aws:s3:::bucket/$\{aws:username}/*` }), 'identity-based'),
    ).toThrow(UnsupportedPolicyError);
    const notPrincipal = { ...base, NotPrincipal: { AWS: '*' } } as unknown as PolicyStatement;
    expect(() => checkSupported(policy(notPrincipal), 'resource-based')).toThrow(UnsupportedPolicyError);
    expect(() => checkSupported(policy({ Effect: 'Allow', Action: 's3:GetObject' }), 'identity-based')).toThrow(
      UnsupportedPolicyError,
    );
    expect(() => checkSupported(policy(base), 'resource-based')).toThrow(UnsupportedPolicyError);
    expect(() => checkSupported(policy(base), 'identity-based')).not.toThrow();
  });
});

describe('access denied messages', () => {
  it('[messages] say who, what and on which resource, and whether no policy allowed it or one denied it', () => {
    const req = request({
      action: 'dynamodb:UpdateItem',
      resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/hashdrop-contents`,
    });
    expect(accessDeniedMessage(req, { allowed: false, reason: 'implicit-deny' })).toBe(
      `User: ${principal.arn} is not authorized to perform: dynamodb:UpdateItem on resource: ${req.resource} ` +
        'because no identity-based policy allows the dynamodb:UpdateItem action',
    );
    expect(accessDeniedMessage(req, { allowed: false, reason: 'explicit-deny', policyType: 'resource-based' })).toBe(
      `User: ${principal.arn} is not authorized to perform: dynamodb:UpdateItem on resource: ${req.resource} ` +
        'with an explicit deny in a resource-based policy',
    );
  });
});
