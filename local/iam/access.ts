/**
 * The local IAM: who a request's access key belongs to, and whether the stack's policies let that
 * principal do what the request needs. The enforcement points (the DynamoDB proxy, the local S3's
 * authorize hook, the proof secret in handlerConfig) all ask it.
 *
 * Two kinds of keys: each function's own (local/iam/credentials.ts), evaluated against its role's
 * policies; and the admin key, allowed everything, which tests and benchmarks use to look at and
 * arrange the stores directly, as the account owner does in the console.
 */
import type { FunctionId } from '#deploy/definitions';
import { type Authorization, secretsManagerAuthorizations } from './actions.ts';
import { type Credentials, functionCredentials, functionOfKey } from './credentials.ts';
import { accessDeniedMessage, type Decision, evaluate } from './evaluator.ts';
import type { StackPolicies } from './policies.ts';

export type Verdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly authorization: Authorization; readonly message: string };

/** What the local S3 server asks before it serves a request (its `authorize` hook). */
export interface S3AuthorizationRequest {
  readonly accessKeyId: string;
  /** An IAM action, `s3:PutObject`. */
  readonly action: string;
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  readonly resource: string;
  /** Condition keys of the request, as the server sees them. */
  readonly conditions?: Readonly<Record<string, string | undefined>>;
}

const bucketOf = (resource: string): string | undefined => /^arn:aws:s3:::([^/]+)/.exec(resource)?.[1];

export class AccessControl {
  constructor(
    private readonly policies: StackPolicies,
    private readonly admin: Credentials,
  ) {}

  /** The secret of a key this stack knows, to verify a signature with; undefined for an unknown key. */
  secretFor(accessKeyId: string): string | undefined {
    if (accessKeyId === this.admin.accessKeyId) return this.admin.secretAccessKey;
    const functionId = functionOfKey(accessKeyId);
    return functionId ? functionCredentials(functionId).secretAccessKey : undefined;
  }

  /**
   * Whether the key's owner may perform every one of `authorizations`; the first refused one is
   * reported with AWS's message. `resourcePolicies` are those of the resource (S3's bucket policy).
   */
  check(
    accessKeyId: string,
    authorizations: readonly Authorization[],
    context: Readonly<Record<string, string | undefined>> = {},
  ): Verdict {
    if (accessKeyId === this.admin.accessKeyId) return { allowed: true };
    const functionId = functionOfKey(accessKeyId);
    const permissions = functionId ? this.policies.functions[functionId] : undefined;
    for (const authorization of authorizations) {
      if (!permissions) {
        return { allowed: false, authorization, message: `The access key ${accessKeyId} is not known to the local stack` };
      }
      const bucket = bucketOf(authorization.resource);
      const request = { principal: permissions.principal, ...authorization, context };
      const decision: Decision = evaluate(
        { identity: permissions.identity, resource: bucket ? (this.policies.bucketPolicies[bucket] ?? []) : [] },
        request,
      );
      if (!decision.allowed) return { allowed: false, authorization, message: accessDeniedMessage(request, decision) };
    }
    return { allowed: true };
  }

  /**
   * The local S3's `authorize` hook: the caller's identity policies and the bucket policy, with
   * the request's condition keys. `aws:SecureTransport` is true unless the server says otherwise:
   * in AWS every client of the bucket uses HTTPS (the SDK and presigned URLs do), which is how the
   * deployed stack sees them, whatever the local transport.
   */
  readonly authorizeS3 = ({ accessKeyId, action, resource, conditions }: S3AuthorizationRequest): boolean =>
    this.check(accessKeyId, [{ action, resource }], { 'aws:SecureTransport': 'true', ...conditions }).allowed;

  /** Whether `functionId`'s role may read the proof-of-ownership secret (secretsmanager:GetSecretValue on it). */
  mayReadProofSecret(functionId: FunctionId): boolean {
    const key = functionCredentials(functionId).accessKeyId;
    return this.check(key, secretsManagerAuthorizations('GetSecretValue', this.policies.proofSecretArn)).allowed;
  }
}
