/**
 * The permissions the CDK stack grants, read from its synthesized template: for each function of
 * deploy/definitions.ts its role and every policy attached to that role, and the blob bucket's
 * policy. Intrinsic functions are resolved to the local stack's names and ARNs (tables and bucket
 * by their `localName`, region us-east-1, account 000000000000), so the local IAM evaluates
 * exactly the documents CloudFormation would deploy.
 *
 * The stack is synthesized in memory with asset bundling skipped (as test/cdk/stack.test.ts
 * does), once per process; tests may pass a modified template instead.
 */
import { BUCKET, type FunctionId, PROOF_SECRET, TABLES } from '#deploy/definitions';
import { dynamoTableArn, LOCAL_ACCOUNT, LOCAL_PARTITION, s3BucketArn } from './actions.ts';
import { FUNCTION_IDS } from './credentials.ts';
import { checkSupported, type PolicyDocument, type RequestPrincipal, UnsupportedPolicyError } from './evaluator.ts';

export const LOCAL_REGION = 'us-east-1';
/** The stack's name in bin/hashdrop.ts, which the resources' `aws:cdk:path` starts with. */
export const STACK_NAME = 'Hashdrop';

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly Metadata?: Readonly<Record<string, unknown>>;
}

export interface Template {
  readonly Resources: Readonly<Record<string, TemplateResource>>;
}

export interface FunctionPermissions {
  readonly functionId: FunctionId;
  readonly roleName: string;
  readonly principal: RequestPrincipal;
  /** The role's inline and managed policies, resolved. */
  readonly identity: readonly PolicyDocument[];
}

export interface StackPolicies {
  readonly functions: Readonly<Record<FunctionId, FunctionPermissions>>;
  /** Bucket name → its bucket policy (resource-based). */
  readonly bucketPolicies: Readonly<Record<string, readonly PolicyDocument[]>>;
  /** The proof-of-ownership secret's ARN, as the stack's Ref of it resolves locally. */
  readonly proofSecretArn: string;
}

/**
 * The AWS managed policies a role may carry. Only the one CDK gives every function is known;
 * another would need its document here (a role with an unknown one is refused, not guessed).
 */
const MANAGED_POLICIES: Readonly<Record<string, PolicyDocument>> = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
};

let cached: Promise<Template> | undefined;

/**
 * The stack's template, synthesized once per process. aws-cdk-lib and lib/ load only here, on
 * first use, so that modules importing the local stack for its types stay quick to import.
 */
export function synthesizeTemplate(): Promise<Template> {
  cached ??= (async () => {
    const [{ App }, { HashdropStack }] = await Promise.all([import('aws-cdk-lib'), import('../../lib/hashdrop-stack.ts')]);
    // Path metadata names each resource by its construct path, which is how the functions,
    // tables, bucket and secret are found. Bundling is skipped, as only the template is needed,
    // and so is CDK's built-in template validation (a WebAssembly linter that takes most of a
    // synthesis' seconds and changes nothing in the template; `cdk synth` and the CDK tests run it).
    const app = new App({
      builtinCloudFormationValidation: false,
      context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true },
    });
    const stack = new HashdropStack(app, STACK_NAME);
    return app.synth().getStackByName(stack.stackName).template as Template;
  })();
  return cached.then((template) => structuredClone(template));
}

const pathOf = (resource: TemplateResource): string | undefined => {
  const path = resource.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path : undefined;
};

/** The construct id of a top-level construct's resource (`Hashdrop/<id>/Resource`), if it is one. */
function topLevelId(resource: TemplateResource): string | undefined {
  return /^[^/]+\/([^/]+)\/Resource$/.exec(pathOf(resource) ?? '')?.[1];
}

/** Local names of every table and the bucket, by construct id; anything else gets a name from its id. */
const LOCAL_NAMES: Readonly<Record<string, string>> = {
  ...Object.fromEntries(TABLES.map((table) => [table.id, table.localName])),
  [BUCKET.id]: BUCKET.localName,
};

const localNameOf = (logicalId: string, resource: TemplateResource): string => {
  const id = topLevelId(resource);
  return (id && LOCAL_NAMES[id]) || `${STACK_NAME.toLowerCase()}-${(id ?? logicalId).toLowerCase()}`;
};

const roleArnOf = (roleName: string): string => `arn:${LOCAL_PARTITION}:iam::${LOCAL_ACCOUNT}:role/${roleName}`;
// CloudFormation names a role `<stack>-<logical id>-<suffix>`; locally the suffix is left out.
const roleNameOf = (logicalId: string): string => `${STACK_NAME}-${logicalId}`;

/** Resolves the intrinsic functions the stack's policies use to the local stack's values. */
class Resolver {
  constructor(private readonly template: Template) {}

  private resource(logicalId: string): TemplateResource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new UnsupportedPolicyError(`the template has no resource ${logicalId}`);
    return resource;
  }

  private ref(name: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': LOCAL_PARTITION,
      'AWS::AccountId': LOCAL_ACCOUNT,
      'AWS::Region': LOCAL_REGION,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': STACK_NAME,
    };
    const value = pseudo[name];
    if (value !== undefined) return value;
    const resource = this.resource(name);
    switch (resource.Type) {
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
      case 'AWS::S3::Bucket':
        return localNameOf(name, resource);
      case 'AWS::SecretsManager::Secret':
        // A secret's Ref is its ARN; AWS appends six random characters to the name.
        return `arn:${LOCAL_PARTITION}:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${localNameOf(name, resource)}-LOCAL0`;
      case 'AWS::IAM::Role':
        return roleNameOf(name);
      case 'AWS::Events::EventBus':
        return localNameOf(name, resource);
      default:
        throw new UnsupportedPolicyError(`Ref of a ${resource.Type} (${name}) is not resolved locally`);
    }
  }

  private getAtt(logicalId: string, attribute: string): string {
    const resource = this.resource(logicalId);
    if (attribute === 'StreamArn' && resource.Type === 'AWS::DynamoDB::GlobalTable') {
      // Read by the event source mapping (Lambda's service), never by a function's own calls.
      return `${dynamoTableArn(LOCAL_REGION, localNameOf(logicalId, resource))}/stream/*`;
    }
    if (attribute !== 'Arn') throw new UnsupportedPolicyError(`Fn::GetAtt ${logicalId}.${attribute} is not resolved locally`);
    switch (resource.Type) {
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
        return dynamoTableArn(LOCAL_REGION, localNameOf(logicalId, resource));
      case 'AWS::S3::Bucket':
        return s3BucketArn(localNameOf(logicalId, resource));
      case 'AWS::IAM::Role':
        return roleArnOf(roleNameOf(logicalId));
      case 'AWS::Events::EventBus':
        // The local stack has no EventBridge (the FileEvents function posts to local/event-bus.ts).
        return `arn:${LOCAL_PARTITION}:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${localNameOf(logicalId, resource)}`;
      case 'AWS::SQS::Queue':
        // A failure queue (Lambda's on-failure destination): the functions' roles may send to it.
        // The local stack has no SQS; nothing local calls it, so it only has to resolve.
        return `arn:${LOCAL_PARTITION}:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${localNameOf(logicalId, resource)}`;
      default:
        throw new UnsupportedPolicyError(`Fn::GetAtt of a ${resource.Type} (${logicalId}) is not resolved locally`);
    }
  }

  /** The value with every intrinsic function in it replaced by what it resolves to. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
      return this.intrinsic(first[0], first[1]);
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, this.resolve(item)]));
  }

  private text(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string') throw new UnsupportedPolicyError(`expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  private intrinsic(name: string, argument: unknown): unknown {
    const args = Array.isArray(argument) ? argument : [argument];
    switch (name) {
      case 'Ref':
        return this.ref(this.text(argument));
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = typeof argument === 'string' ? argument.split('.') : args.map((item) => this.text(item));
        return this.getAtt(logicalId ?? '', attribute ?? '');
      }
      case 'Fn::Join': {
        const [separator, items] = args;
        const parts = this.resolve(items);
        if (!Array.isArray(parts)) throw new UnsupportedPolicyError('Fn::Join needs a list');
        return parts.map((part) => String(part)).join(String(separator));
      }
      case 'Fn::Select': {
        const [index, items] = args;
        const list = this.resolve(items);
        if (!Array.isArray(list)) throw new UnsupportedPolicyError('Fn::Select needs a list');
        return list[Number(this.resolve(index))];
      }
      case 'Fn::Split': {
        const [separator, text] = args;
        return this.text(text).split(String(separator));
      }
      case 'Fn::Sub': {
        const [body, variables] = typeof argument === 'string' ? [argument, {}] : args;
        const bound = (this.resolve(variables ?? {}) ?? {}) as Record<string, unknown>;
        return String(body).replace(/\$\{([^}!][^}]*)\}/g, (_, reference: string) => {
          if (reference in bound) return String(bound[reference]);
          const [logicalId, attribute] = reference.split('.');
          return attribute ? this.getAtt(logicalId ?? '', attribute) : this.ref(reference);
        });
      }
      default:
        throw new UnsupportedPolicyError(`${name} is not resolved locally`);
    }
  }
}

const refersTo = (value: unknown, logicalId: string): boolean => {
  if (typeof value !== 'object' || value === null) return false;
  const ref = (value as { Ref?: unknown }).Ref;
  const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
  return ref === logicalId || (Array.isArray(getAtt) && getAtt[0] === logicalId);
};

/** The logical id of `functionId`'s role in `template`. */
function roleOf(template: Template, functionId: FunctionId): string {
  const fn = Object.values(template.Resources).find((resource) => pathOf(resource) === `${STACK_NAME}/${functionId}/Resource`);
  const roleId = (fn?.Properties?.Role as { 'Fn::GetAtt'?: unknown[] } | undefined)?.['Fn::GetAtt']?.[0];
  if (typeof roleId !== 'string') throw new Error(`the template has no function ${functionId} with a role of its own`);
  return roleId;
}

/**
 * A copy of `template` whose policies no longer grant `action` to `functionId`'s role (to every
 * role without it): what the stack would deploy with that one grant missing, to show what breaks.
 */
export function withoutGrant(template: Template, action: string, functionId?: FunctionId): Template {
  const copy = structuredClone(template) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const roleId = functionId ? roleOf(template, functionId) : undefined;
  for (const resource of Object.values(copy.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = resource.Properties?.Roles;
    if (roleId && !(Array.isArray(roles) && roles.some((item) => refersTo(item, roleId)))) continue;
    const policy = resource.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined;
    if (!policy) continue;
    policy.Statement = policy.Statement.flatMap((statement) => {
      const actions = ([] as unknown[]).concat(statement.Action ?? []);
      const kept = actions.filter((item) => typeof item !== 'string' || item.toLowerCase() !== action.toLowerCase());
      if (kept.length === actions.length) return [statement];
      return kept.length > 0 ? [{ ...statement, Action: kept }] : [];
    });
  }
  return copy;
}

function document(value: unknown, kind: 'identity-based' | 'resource-based'): PolicyDocument {
  const policy = value as PolicyDocument;
  checkSupported(policy, kind);
  return policy;
}

/** Every function's permissions and the bucket policies, from `template` (the stack's own by default). */
export async function stackPolicies(template?: Template): Promise<StackPolicies> {
  const source = template ?? (await synthesizeTemplate());
  const resolver = new Resolver(source);
  const resources = Object.entries(source.Resources);
  const byPath = (path: string) => resources.find(([, resource]) => pathOf(resource) === path);

  const permissionsOf = (functionId: FunctionId): FunctionPermissions => {
    const roleId = roleOf(source, functionId);
    const roleResource = source.Resources[roleId];
    const identity: PolicyDocument[] = [];
    // Policies CDK attaches (AWS::IAM::Policy naming the role), the role's inline ones, its managed ones.
    for (const [, resource] of resources) {
      if (resource.Type !== 'AWS::IAM::Policy') continue;
      const roles = resource.Properties?.Roles;
      if (!Array.isArray(roles) || !roles.some((item) => refersTo(item, roleId))) continue;
      identity.push(document(resolver.resolve(resource.Properties?.PolicyDocument), 'identity-based'));
    }
    const inline = roleResource?.Properties?.Policies;
    for (const policy of Array.isArray(inline) ? inline : []) {
      identity.push(document(resolver.resolve((policy as { PolicyDocument?: unknown }).PolicyDocument), 'identity-based'));
    }
    const managed = roleResource?.Properties?.ManagedPolicyArns;
    for (const arn of Array.isArray(managed) ? managed : []) {
      const name = String(resolver.resolve(arn));
      const policy = MANAGED_POLICIES[name];
      if (!policy) throw new UnsupportedPolicyError(`managed policy ${name} is not known locally: add its document`);
      identity.push(policy);
    }
    const roleName = roleNameOf(roleId);
    return {
      functionId,
      roleName,
      // Lambda's session name is the function's name.
      principal: {
        arn: `arn:${LOCAL_PARTITION}:sts::${LOCAL_ACCOUNT}:assumed-role/${roleName}/${STACK_NAME}-${functionId}`,
        account: LOCAL_ACCOUNT,
        roleArn: roleArnOf(roleName),
      },
      identity,
    };
  };

  const bucketPolicies: Record<string, PolicyDocument[]> = {};
  for (const [, resource] of resources) {
    if (resource.Type !== 'AWS::S3::BucketPolicy') continue;
    const bucket = String(resolver.resolve(resource.Properties?.Bucket));
    const policy = document(resolver.resolve(resource.Properties?.PolicyDocument), 'resource-based');
    bucketPolicies[bucket] = [...(bucketPolicies[bucket] ?? []), policy];
  }

  const secret = byPath(`${STACK_NAME}/${PROOF_SECRET.id}/Resource`);
  if (!secret) throw new Error(`the template has no ${PROOF_SECRET.id}`);
  return {
    functions: Object.fromEntries(FUNCTION_IDS.map((id) => [id, permissionsOf(id)])) as Record<FunctionId, FunctionPermissions>,
    bucketPolicies,
    proofSecretArn: String(resolver.resolve({ Ref: secret[0] })),
  };
}
