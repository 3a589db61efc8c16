/**
 * The permissions the local IAM reads from the synthesized stack: each function's role policies
 * and the bucket policy, resolved to the local stack's names, evaluated as AWS would.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, CONTENTS_TABLE, FILES_TABLE, type FunctionId } from '#deploy/definitions';
import { AccessControl } from '#local/iam/access';
import { dynamoAuthorizations, s3Authorizations } from '#local/iam/actions';
import { FUNCTION_IDS, functionCredentials } from '#local/iam/credentials';
import { type StackPolicies, stackPolicies, synthesizeTemplate, type Template, withoutGrant } from '#local/iam/policies';

const ADMIN = { accessKeyId: 'ADMIN', secretAccessKey: 'ADMIN' };
const REGION = 'us-east-1';
const OBJECT_KEY = 'blobs/0123/attempt';

let template: Template;
let policies: StackPolicies;
let access: AccessControl;

beforeAll(async () => {
  template = await synthesizeTemplate();
  policies = await stackPolicies(template);
  access = new AccessControl(policies, ADMIN);
});

const key = (functionId: FunctionId) => functionCredentials(functionId).accessKeyId;
const s3 = (functionId: FunctionId, operation: string, objectKey: string | undefined = OBJECT_KEY, on = access) =>
  on.check(key(functionId), s3Authorizations(operation, BUCKET.localName, objectKey), { 'aws:SecureTransport': 'true' });
const dynamo = (functionId: FunctionId, operation: string, body: unknown) =>
  access.check(key(functionId), dynamoAuthorizations(operation, body, REGION));

describe('the stack’s policies, locally', () => {
  it('finds every function’s role and policies, resolved to local names and ARNs', () => {
    expect(Object.keys(policies.functions).sort()).toEqual([...FUNCTION_IDS].sort());
    const createUpload = policies.functions.CreateUpload;
    expect(createUpload.principal.arn).toMatch(
      /^arn:aws:sts::000000000000:assumed-role\/Hashdrop-CreateUploadServiceRole\w+\/Hashdrop-CreateUpload$/,
    );
    const resources = JSON.stringify(createUpload.identity);
    expect(resources).toContain(`arn:aws:dynamodb:${REGION}:000000000000:table/${CONTENTS_TABLE.localName}`);
    expect(resources).toContain(`arn:aws:s3:::${BUCKET.localName}/blobs/*`);
    expect(resources).not.toMatch(/Fn::|"Ref"/);
    expect(Object.keys(policies.bucketPolicies)).toContain(BUCKET.localName);
  });

  it('a resume may list the parts S3 holds (CreateUpload → ListParts), under blobs/ only', () => {
    expect(s3('CreateUpload', 'ListParts')).toEqual({ allowed: true });
    expect(s3('CreateUpload', 'ListParts', 'elsewhere/key').allowed).toBe(false);
  });

  it('…and was refused before s3:ListMultipartUploadParts was granted: the known bug, as AWS words it', async () => {
    const before = new AccessControl(await stackPolicies(withoutGrant(template, 's3:ListMultipartUploadParts')), ADMIN);
    const verdict = s3('CreateUpload', 'ListParts', OBJECT_KEY, before);
    expect(verdict).toMatchObject({ allowed: false, authorization: { action: 's3:ListMultipartUploadParts' } });
    expect(verdict.allowed ? '' : verdict.message).toMatch(
      /^User: arn:aws:sts::000000000000:assumed-role\/\S+\/Hashdrop-CreateUpload is not authorized to perform: s3:ListMultipartUploadParts on resource: arn:aws:s3:::hashdrop-blobs\/blobs\/0123\/attempt because no identity-based policy allows the s3:ListMultipartUploadParts action$/,
    );
    // Everything else the upload needs is still there: only the listing was missing.
    for (const operation of ['CreateMultipartUpload', 'UploadPart', 'AbortMultipartUpload', 'HeadObject']) {
      expect(s3('CreateUpload', operation, OBJECT_KEY, before).allowed, operation).toBe(true);
    }
  });

  it('grants each function only what its route declares', () => {
    expect(dynamo('GetUsage', 'GetItem', { TableName: FILES_TABLE.localName }).allowed).toBe(true);
    expect(dynamo('GetUsage', 'UpdateItem', { TableName: FILES_TABLE.localName }).allowed).toBe(false);
    expect(dynamo('GetUsage', 'GetItem', { TableName: CONTENTS_TABLE.localName }).allowed).toBe(false);
    expect(dynamo('ListFiles', 'PutItem', { TableName: FILES_TABLE.localName }).allowed).toBe(false);
    expect(dynamo('ObjectCreated', 'Query', { TableName: FILES_TABLE.localName, IndexName: 'pendingByContent' }).allowed).toBe(
      true,
    );
    expect(s3('GetFile', 'GetObject').allowed).toBe(true);
    expect(s3('GetFile', 'PutObject').allowed).toBe(false);
    expect(s3('SignParts', 'UploadPart').allowed).toBe(true);
    expect(s3('DeleteFile', 'DeleteObject').allowed).toBe(false);
    expect(s3('Sweeper', 'DeleteObject').allowed).toBe(true);
  });

  it('the bucket policy refuses plain HTTP to everyone (enforceSSL), even where the role allows', () => {
    const over = (secure: string) =>
      access.check(key('GetFile'), s3Authorizations('GetObject', BUCKET.localName, OBJECT_KEY), {
        'aws:SecureTransport': secure,
      });
    expect(over('true').allowed).toBe(true);
    const plainHttp = over('false');
    expect(plainHttp.allowed ? '' : plainHttp.message).toMatch(/with an explicit deny in a resource-based policy$/);
    // The S3 hook evaluates the transport as the deployed stack sees it: HTTPS.
    expect(
      access.authorizeS3({
        accessKeyId: key('GetFile'),
        action: 's3:GetObject',
        resource: `arn:aws:s3:::${BUCKET.localName}/${OBJECT_KEY}`,
      }),
    ).toBe(true);
  });

  it('only CreateUpload may read the proof secret', () => {
    expect(FUNCTION_IDS.filter((id) => access.mayReadProofSecret(id))).toEqual(['CreateUpload']);
  });

  it('the admin key may do anything; an unknown key nothing', () => {
    expect(access.check(ADMIN.accessKeyId, dynamoAuthorizations('DeleteTable', { TableName: 'x' }, REGION))).toEqual({
      allowed: true,
    });
    expect(access.check('AKIAUNKNOWN', s3Authorizations('GetObject', BUCKET.localName, OBJECT_KEY)).allowed).toBe(false);
  });
});
