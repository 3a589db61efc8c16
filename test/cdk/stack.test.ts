/** The synthesized template: routes, authorizer, tables, bucket, notification and grants. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { API_CORS, BUCKET, LIMITS_TABLE, PROOF_SECRET, ROUTES, SETTING_ENV_VARS, SWEEPER } from '#deploy/definitions';
import { HashdropStack, type HashdropStackProps } from '../../lib/hashdrop-stack.ts';

function synth(props: HashdropStackProps = {}): Template {
  // Template tests need no bundles; the real bundling is checked by `cdk synth` below.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new HashdropStack(app, 'Test', props));
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

/** The statements of the inline policy attached to a function's role. */
function statementsOf(template: Template, functionId: string): Statement[] {
  const functions = template.findResources('AWS::Lambda::Function');
  const logicalId = Object.keys(functions).find((id) => id.startsWith(functionId) && !id.includes('Logs'));
  const fn = logicalId ? functions[logicalId] : undefined;
  if (!fn) throw new Error(`no function ${functionId}`);
  const roleRef = (fn.Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'][0];
  const policies = template.findResources('AWS::IAM::Policy');
  const statements = Object.values(policies)
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleRef))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
  expect(statements.length, functionId).toBeGreaterThan(0);
  return statements;
}

const actionsOf = (statements: Statement[]) => statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

const FUNCTION_IDS = [...ROUTES.map((route) => route.id), 'ObjectCreated', SWEEPER.id];

/** What Lambda's active tracing needs, on "*" (X-Ray takes no resource-level permission). */
const XRAY_WRITE_ACTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

describe('HashdropStack', () => {
  const template = synth();

  it('routes every API route, behind the JWT authorizer, to its own function', () => {
    for (const route of ROUTES) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
        AuthorizationType: 'JWT',
        AuthorizerId: Match.anyValue(),
      });
    }
    template.resourceCountIs('AWS::ApiGatewayV2::Route', ROUTES.length);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: Match.objectLike({ 'Fn::Join': Match.anyValue() }), Audience: Match.anyValue() },
    });
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
    });
  });

  it('declares the CORS configuration the local adapter serves (API_CORS), exposing retry-after', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: [...API_CORS.allowOrigins],
        AllowMethods: [...API_CORS.allowMethods],
        AllowHeaders: [...API_CORS.allowHeaders],
        ExposeHeaders: ['retry-after'],
        MaxAge: API_CORS.maxAgeSeconds,
      },
    });
  });

  it('accepts a configured OIDC issuer instead of creating a user pool', () => {
    const custom = synth({ jwt: { issuer: 'https://id.example.com', audience: ['app'] } });
    custom.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Issuer: 'https://id.example.com', Audience: ['app'] },
    });
    custom.resourceCountIs('AWS::Cognito::UserPool', 0);
  });

  it('defines both tables on demand with point-in-time recovery and the pending index', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'contentId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
    });
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'userId', KeyType: 'HASH' },
        { AttributeName: 'name', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'pendingByContent',
          KeySchema: [
            { AttributeName: 'pendingContentId', KeyType: 'HASH' },
            { AttributeName: 'userId', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
  });

  it('locks the bucket down and aborts forgotten multipart uploads', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      // Among its rules (exports expire too: test/cdk/erase-user.test.ts).
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } })]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('makes objects under blobs/ write-once: object creation without If-None-Match is denied to everyone', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'WriteOnceBlobs',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:PutObject',
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Blobs'), 'Arn'] }, '/blobs/*']] },
            // As AWS documents it: CreateMultipartUpload and UploadPart (which take no condition) are exempt.
            Condition: { Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } },
          },
        ]),
      },
    });
  });

  it('sends ObjectCreated events under blobs/ to the object-created function', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          Match.objectLike({
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: BUCKET.blobPrefix }] } },
          }),
        ],
      },
    });
  });

  it('keeps the proof-of-ownership key out of the template and the environment', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
    const functions = template.findResources('AWS::Lambda::Function');
    const variables = Object.entries(functions).map(([id, fn]) => ({
      id,
      vars: ((fn.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables ?? {}) as Record<
        string,
        unknown
      >,
    }));
    const withKey = variables.filter(({ vars }) => PROOF_SECRET.arnEnvVar in vars);
    expect(withKey.map(({ id }) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(['CreateUpload']);
    // Only a reference to the secret (its ARN), never a value.
    expect(withKey[0]?.vars[PROOF_SECRET.arnEnvVar]).toEqual({ Ref: expect.stringMatching(/^ProofSecret/) });
    const createUpload = actionsOf(statementsOf(template, 'CreateUpload'));
    expect(createUpload).toContain('secretsmanager:GetSecretValue');
    for (const id of FUNCTION_IDS.filter((fn) => fn !== 'CreateUpload')) {
      expect(actionsOf(statementsOf(template, id)), id).not.toContain('secretsmanager:GetSecretValue');
    }
  });

  it('logs API access and the bucket’s object access', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
    });
  });

  it('runs the sweeper on a schedule, with the rights to end uploads and delete objects', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)', // DEFAULTS.sweepIntervalSeconds
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${SWEEPER.id}`), 'Arn'] } })],
    });
    const actions = actionsOf(statementsOf(template, SWEEPER.id));
    expect(actions).toEqual(
      expect.arrayContaining(['s3:AbortMultipartUpload', 's3:DeleteObject', 'dynamodb:DeleteItem', 'dynamodb:Scan']),
    );
  });

  it('runs every function on Node.js 24, ARM64, with the table and bucket names', () => {
    for (const id of FUNCTION_IDS) {
      const functions = template.findResources('AWS::Lambda::Function', {
        Properties: { Runtime: 'nodejs24.x', Architectures: ['arm64'] },
      });
      const fn = Object.entries(functions).find(([logicalId]) => logicalId.startsWith(id))?.[1];
      if (!fn) throw new Error(`no function ${id} on nodejs24.x/arm64`);
      const variables = (fn.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables;
      expect(Object.keys(variables)).toEqual(expect.arrayContaining(['CONTENTS_TABLE', 'FILES_TABLE', 'BUCKET_NAME']));
    }
  });

  it('traces every function with X-Ray (active tracing), allowed to send its segments and nothing else on "*"', () => {
    // Every function of hashdrop's own (CDK's bucket-notifications custom resource, which runs at
    // deployment only, is not one).
    const functions = Object.entries(template.findResources('AWS::Lambda::Function'));
    for (const id of FUNCTION_IDS) {
      const fn = functions.find(([logicalId]) => logicalId.startsWith(id) && !logicalId.includes('Logs'))?.[1];
      expect(fn?.Properties, id).toMatchObject({ TracingConfig: { Mode: 'Active' } });
      expect(
        statementsOf(template, id).filter((statement) => statement.Resource === '*'),
        id,
      ).toEqual([expect.objectContaining({ Effect: 'Allow', Action: expect.arrayContaining(XRAY_WRITE_ACTIONS) })]);
    }
  });

  it('grants each function only what its route needs', () => {
    const createUpload = actionsOf(statementsOf(template, 'CreateUpload'));
    expect(createUpload).toEqual(expect.arrayContaining(['s3:PutObject', 's3:AbortMultipartUpload']));
    expect(createUpload).not.toContain('s3:DeleteObject');
    // GetObject: a proof of ownership is checked with range reads of the stored object.
    expect(createUpload).toContain('s3:GetObject');

    const listFiles = actionsOf(statementsOf(template, 'ListFiles'));
    expect(listFiles.some((action) => action.startsWith('s3:'))).toBe(false);
    expect(listFiles).not.toContain('dynamodb:PutItem');

    // Deleting a file only releases a reference; the sweeper alone deletes objects.
    const deleteFile = actionsOf(statementsOf(template, 'DeleteFile'));
    expect(deleteFile.some((action) => action.startsWith('s3:'))).toBe(false);

    const getFile = actionsOf(statementsOf(template, 'GetFile'));
    expect(getFile).toContain('s3:GetObject');
    expect(getFile).not.toContain('s3:PutObject');

    for (const id of FUNCTION_IDS) {
      for (const statement of statementsOf(template, id)) {
        const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
        expect(actions, id).not.toContain('*');
        expect(
          actions.filter((action) => action.endsWith(':*')),
          id,
        ).toEqual([]);
        // X-Ray's two write actions take no resource-level permission: "*" for them alone.
        if (statement.Resource === '*') expect([...actions].sort(), id).toEqual(XRAY_WRITE_ACTIONS);
        else expect(statement.Resource, id).not.toBe('*');
        if (actions.some((action) => ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'].includes(action))) {
          expect(JSON.stringify(statement.Resource), id).toContain(`/${BUCKET.blobPrefix}*`);
        }
      }
    }
  });
});

describe('the request budget and the settings the stack is given', () => {
  const template = synth();

  /** The environment variables of a function, by construct id. */
  function variablesOf(of: Template, functionId: string): Record<string, unknown> {
    const functions = of.findResources('AWS::Lambda::Function');
    const fn = Object.entries(functions).find(([id]) => id.startsWith(functionId) && !id.includes('Logs'))?.[1];
    if (!fn) throw new Error(`no function ${functionId}`);
    return (fn.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables;
  }

  it('keeps per-user counters in a table of their own, on demand, deleted by TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: LIMITS_TABLE.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: LIMITS_TABLE.sortKey?.name, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('lets every API function count requests (read and update counters, nothing more), and no other function', () => {
    const limitsTable = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable')).find((id) =>
      id.startsWith(LIMITS_TABLE.id),
    );
    for (const route of ROUTES) {
      expect(variablesOf(template, route.id), route.id).toHaveProperty(LIMITS_TABLE.envVar);
      const onLimits = statementsOf(template, route.id).filter((statement) =>
        JSON.stringify(statement.Resource).includes(`"${limitsTable}"`),
      );
      expect(actionsOf(onLimits).sort(), route.id).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    }
    for (const id of ['ObjectCreated', SWEEPER.id]) {
      expect(variablesOf(template, id), id).not.toHaveProperty(LIMITS_TABLE.envVar);
      expect(JSON.stringify(statementsOf(template, id)), id).not.toContain(`"${limitsTable}"`);
    }
  });

  it('gives every function the default quota and the budget: 100 GiB and 600 requests a minute unless told otherwise', () => {
    for (const id of FUNCTION_IDS) {
      expect(variablesOf(template, id), id).toMatchObject({
        [SETTING_ENV_VARS.defaultQuotaBytes]: String(100 * 1024 ** 3),
        [SETTING_ENV_VARS.requestsPerMinute]: '600',
      });
    }
    const configured = synth({ defaultQuotaBytes: 5 * 1024 ** 3, requestsPerMinute: 0 });
    for (const id of FUNCTION_IDS) {
      expect(variablesOf(configured, id), id).toMatchObject({
        [SETTING_ENV_VARS.defaultQuotaBytes]: String(5 * 1024 ** 3),
        [SETTING_ENV_VARS.requestsPerMinute]: '0',
      });
    }
  });
});

describe('cdk synth', () => {
  it('bundles every function with the local esbuild, offline and without AWS credentials', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hashdrop-synth-'));
    try {
      const env = { ...process.env };
      for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
      await promisify(execFile)('npx', ['cdk', 'synth', '--quiet', '--output', out], { env, timeout: 180_000 });
      expect(existsSync(join(out, 'Hashdrop.template.json'))).toBe(true);
      const template = Template.fromJSON(JSON.parse(readFileSync(join(out, 'Hashdrop.template.json'), 'utf8')));
      template.resourceCountIs('AWS::ApiGatewayV2::Route', ROUTES.length);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
