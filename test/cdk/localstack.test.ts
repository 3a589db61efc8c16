/**
 * The stack's LocalStack variant (`-c hashdrop:api=rest`) deploys on LocalStack's free "Hobby"
 * plan: every resource type of its template is one that plan deploys. The default stack is not
 * (API Gateway v2, Cognito, a custom resource), which shows the check can fail.
 *
 * Where the list comes from (LocalStack's documentation, read November 2026):
 * - which plan has which service: the API coverage catalog, https://docs.localstack.cloud/api-coverage/v1/index.md,
 *   and each service's page, https://docs.localstack.cloud/api-coverage/v1/services/<service>.md ("License
 *   availability: available starting with the Hobby plan": cloudformation, lambda, dynamodb, iam, logs, events,
 *   secretsmanager; apigateway "Hobby / Base": REST APIs from Hobby, HTTP APIs from Base, as
 *   https://docs.localstack.cloud/aws/services/apigateway/ says; cognito-idp "Base");
 *   the plan table, https://docs.localstack.cloud/aws/licensing/ (S3, IAM, STS, CloudWatch Logs, EventBridge,
 *   Secrets Manager, Lambda, DynamoDB, API Gateway REST API free; HTTP API and Cognito user pools not);
 * - which resource types CloudFormation deploys: https://docs.localstack.cloud/aws/services/cloudformation/
 *   ("Resources");
 * - the failure queues and alarms (issue 14): SQS and SNS are "Free", CloudWatch "Hobby"
 *   (https://docs.localstack.cloud/aws/services/sqs/, …/sns/, …/cloudwatch/, read November 2026);
 *   AWS::SQS::Queue, AWS::SQS::QueuePolicy, AWS::SNS::Topic, AWS::SNS::TopicPolicy, AWS::SNS::Subscription,
 *   AWS::CloudWatch::Alarm and AWS::Lambda::EventInvokeConfig are in the CloudFormation page's Community list.
 *   AWS::Logs::MetricFilter is in neither of its lists, so the variant counts no integrity incidents
 *   (lib/constructs/monitoring.ts): the log line is still written.
 * - X-Ray (issue 14): active tracing adds no resource type, only properties (`TracingConfig` on
 *   AWS::Lambda::Function, `TracingEnabled` on AWS::ApiGateway::Stage) and the functions' permission
 *   to send segments, so the check below does not cover it. LocalStack's X-Ray page
 *   (https://docs.localstack.cloud/aws/services/xray/) describes its X-Ray API; I found no statement of
 *   which plan records Lambda's or API Gateway's traces, so on the Hobby plan expect the properties to be
 *   accepted and traces perhaps not recorded. The functions do not depend on it: no tracer SDK runs in them.
 * - custom resources (CDK's `Custom::S3BucketNotifications`) need a paid plan: "AWS CDK", Current limitations,
 *   https://docs.localstack.cloud/aws/connecting/infrastructure-as-code/aws-cdk/ (they rely on
 *   AWS::CloudFormation::CustomResource), and https://github.com/localstack/localstack/issues/9352 ("No resource
 *   provider found for Custom::S3BucketNotifications"). So the variant sends ObjectCreated through EventBridge.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_CORS, BUCKET, OBJECT_CREATED, ROUTES, TOKEN_AUTHORIZER } from '#deploy/definitions';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateSigningKey, mintToken, publishedKeySet, type SigningKey } from '#local/auth';
import { type BundledFunction, startBundledFunction } from '#local/bundled-functions';
import { esbuildFunctionOptions } from '../../lib/constructs/bundling.ts';
import { HashdropStack, type HashdropStackProps } from '../../lib/hashdrop-stack.ts';

/** The resource types the Hobby plan deploys that the stacks use, each with where it comes from. */
const HOBBY_RESOURCE_TYPES: Readonly<Record<string, string>> = {
  'AWS::ApiGateway::RestApi': 'API Gateway REST API (Hobby)',
  'AWS::ApiGateway::Resource': 'API Gateway REST API (Hobby)',
  'AWS::ApiGateway::Method': 'API Gateway REST API (Hobby): proxy integrations and the CORS preflights’ mock ones',
  'AWS::ApiGateway::Deployment': 'API Gateway REST API (Hobby)',
  'AWS::ApiGateway::Stage': 'API Gateway REST API (Hobby)',
  'AWS::ApiGateway::Account': 'API Gateway REST API (Hobby): the CloudWatch role for execution logs',
  // CreateAuthorizer is implemented for REST APIs (api-coverage/v1/services/apigateway.md). The
  // CloudFormation page lists this type under the former Pro image, not the community one: the
  // first thing to look at if a Hobby deployment fails.
  'AWS::ApiGateway::Authorizer': 'API Gateway REST API (Hobby): the Lambda TOKEN authorizer',
  'AWS::Lambda::Function': 'Lambda (Hobby)',
  'AWS::Lambda::Permission': 'Lambda (Hobby): API Gateway and EventBridge may invoke',
  'AWS::IAM::Role': 'IAM (Hobby)',
  'AWS::IAM::Policy': 'IAM (Hobby)',
  'AWS::Logs::LogGroup': 'CloudWatch Logs (Hobby)',
  'AWS::DynamoDB::GlobalTable': 'DynamoDB (Hobby): CDK’s TableV2 is a global table of one replica',
  'AWS::S3::Bucket': 'S3 (Hobby), with its EventBridge notification property',
  'AWS::S3::BucketPolicy': 'S3 (Hobby)',
  'AWS::Events::Rule': 'EventBridge (Hobby): the sweeper’s schedule, ObjectCreated events',
  'AWS::Events::EventBus': 'EventBridge (Hobby): the bus file events go to (docs/events.md)',
  'AWS::Lambda::EventSourceMapping': 'Lambda (Hobby): the Files table’s stream to the FileEvents function',
  'AWS::SecretsManager::Secret': 'Secrets Manager (Hobby): the proof-of-ownership key',
  'AWS::CDK::Metadata': 'CloudFormation (Hobby): CDK’s own metadata resource',
  'AWS::Lambda::EventInvokeConfig': 'Lambda (Hobby): retries, age and on-failure destination of asynchronous invocations',
  'AWS::SQS::Queue': 'SQS (Free): the failure queues',
  'AWS::SQS::QueuePolicy': 'SQS (Free): TLS only, and EventBridge may send undeliverable events',
  'AWS::SNS::Topic': 'SNS (Free): the alarm topic',
  'AWS::SNS::TopicPolicy': 'SNS (Free): TLS only, CloudWatch may publish',
  'AWS::SNS::Subscription': 'SNS (Free): the alarm e-mail, only with hashdrop:alarmEmail',
  'AWS::CloudWatch::Alarm': 'CloudWatch (Hobby): the alarms (LocalStack evaluates simple ones; see its CloudWatch page)',
};

const JWT = { issuer: LOCAL_ISSUER, audience: [LOCAL_AUDIENCE] };

function synth(props: HashdropStackProps): Template {
  // Template tests need no bundles; the authorizer's bundle is built below.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new HashdropStack(app, 'Test', props));
}

const typesOf = (template: Template): string[] =>
  [...new Set(Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type))].sort();

const notOnHobby = (template: Template): string[] => typesOf(template).filter((type) => !(type in HOBBY_RESOURCE_TYPES));

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

describe('the LocalStack (Hobby plan) variant', () => {
  let key: SigningKey;
  let jwks: string;
  let template: Template;

  beforeAll(async () => {
    key = await loadOrCreateSigningKey(undefined);
    jwks = JSON.stringify(publishedKeySet(key), null, 2);
    template = synth({ api: 'rest', jwt: JWT, jwks });
  });

  it('uses only resource types of LocalStack’s Hobby plan', () => {
    expect(notOnHobby(template)).toEqual([]);
    expect(typesOf(template)).toEqual(expect.arrayContaining(['AWS::ApiGateway::RestApi', 'AWS::ApiGateway::Authorizer']));
  });

  it('traces every function and the stage with X-Ray, with no resource type for it', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties).toMatchObject({ TracingConfig: { Mode: 'Active' } });
    }
    template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
    expect(typesOf(template).filter((type) => type.startsWith('AWS::XRay::'))).toEqual([]);
  });

  it('has no CloudWatch Logs metric filter (not on LocalStack), even with an alarm e-mail subscribed', () => {
    const withEmail = synth({ api: 'rest', jwt: JWT, jwks, alarmEmail: 'ops@example.com' });
    expect(notOnHobby(withEmail)).toEqual([]);
    withEmail.resourceCountIs('AWS::Logs::MetricFilter', 0);
    withEmail.resourceCountIs('AWS::SNS::Subscription', 1);
  });

  it('needs the paid plan in its default form: API Gateway v2, Cognito, a custom resource', () => {
    expect(notOnHobby(synth({}))).toEqual(
      expect.arrayContaining(['AWS::ApiGatewayV2::Api', 'AWS::Cognito::UserPool', 'Custom::S3BucketNotifications']),
    );
  });

  it('routes every route of ROUTES, with its path and method, to its own function behind the token authorizer', () => {
    const resources = template.toJSON().Resources as Record<string, CfnResource>;
    const pathOf = (ref: unknown): string => {
      const id = (ref as { Ref?: string }).Ref;
      const resource = id ? resources[id] : undefined;
      if (!resource) return ''; // the root resource, referenced by Fn::GetAtt
      return `${pathOf(resource.Properties.ParentId)}/${String(resource.Properties.PathPart)}`;
    };
    const methods = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Method');
    const routed = methods
      .filter((method) => method.Properties.HttpMethod !== 'OPTIONS')
      .map((method) => {
        const uri = JSON.stringify((method.Properties.Integration as { Uri: unknown }).Uri);
        return {
          key: `${String(method.Properties.HttpMethod)} ${pathOf(method.Properties.ResourceId)}`,
          authorization: method.Properties.AuthorizationType,
          authorizer: method.Properties.AuthorizerId,
          integration: (method.Properties.Integration as { Type: string }).Type,
          fn: /"Fn::GetAtt":\["([A-Za-z]+?)[0-9A-F]{8}","Arn"\]/.exec(uri)?.[1],
        };
      });
    expect(routed.map((route) => route.key).sort()).toEqual(ROUTES.map((route) => `${route.method} ${route.path}`).sort());
    for (const route of ROUTES) {
      expect(routed.find((r) => r.key === `${route.method} ${route.path}`)).toEqual({
        key: `${route.method} ${route.path}`,
        authorization: 'CUSTOM',
        authorizer: { Ref: expect.stringMatching(/^Authorizer/) },
        integration: 'AWS_PROXY',
        fn: route.id,
      });
    }
  });

  it('answers CORS preflights on every resource, without the authorizer, as API_CORS says', () => {
    const resources = Object.keys(template.findResources('AWS::ApiGateway::Resource'));
    const preflights = template.findResources('AWS::ApiGateway::Method', {
      Properties: { HttpMethod: 'OPTIONS', AuthorizationType: 'NONE', Integration: Match.objectLike({ Type: 'MOCK' }) },
    });
    // Every resource, and the root.
    expect(Object.keys(preflights)).toHaveLength(resources.length + 1);
    for (const preflight of Object.values(preflights)) {
      expect(preflight.Properties.Integration.IntegrationResponses[0].ResponseParameters).toEqual({
        'method.response.header.Access-Control-Allow-Headers': `'${API_CORS.allowHeaders.join(',')}'`,
        'method.response.header.Access-Control-Allow-Origin': `'${API_CORS.allowOrigins.join(',')}'`,
        'method.response.header.Access-Control-Allow-Methods': `'${API_CORS.allowMethods.join(',')}'`,
        'method.response.header.Access-Control-Max-Age': `'${API_CORS.maxAgeSeconds}'`,
      });
    }
  });

  it('gives the authorizer the issuer, the audiences and the compacted key set, uncached', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [TOKEN_AUTHORIZER.issuerEnvVar]: LOCAL_ISSUER,
          [TOKEN_AUTHORIZER.audienceEnvVar]: LOCAL_AUDIENCE,
          [TOKEN_AUTHORIZER.jwksEnvVar]: JSON.stringify(publishedKeySet(key)),
        }),
      },
    });
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      IdentityValidationExpression: '^Bearer [-0-9a-zA-Z._]+$',
      AuthorizerResultTtlInSeconds: 0,
    });
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
  });

  it('outputs the REST API’s id, from which LocalStack’s URL of the API is made (README, LocalStack)', () => {
    template.hasOutput('RestApiId', { Value: { Ref: Match.stringLikeRegexp('^RestApi') } });
  });

  it('throttles, logs access and errors, and logs no bodies', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'api',
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          ThrottlingRateLimit: 200,
          ThrottlingBurstLimit: 400,
        }),
      ],
    });
  });

  it('sends ObjectCreated under blobs/ through EventBridge to the object-created function, as S3 records', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ Ref: Match.stringLikeRegexp(`^${BUCKET.id}`) }] },
          object: { key: [{ prefix: BUCKET.blobPrefix }] },
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${OBJECT_CREATED.id}`), 'Arn'] },
          InputTransformer: {
            InputPathsMap: { 'detail-object-key': '$.detail.object.key' },
            InputTemplate: '{"Records":[{"eventName":"ObjectCreated:EventBridge","s3":{"object":{"key":<detail-object-key>}}}]}',
          },
        }),
      ],
    });
  });

  it('refuses a key set that is not one, and synthesizes without one (the authorizer then fails every request)', () => {
    expect(() => synth({ api: 'rest', jwt: JWT, jwks: '{"keys":[]}' })).toThrow(/at least one key/);
    expect(() => synth({ api: 'rest', jwt: JWT, jwks: 'not json' })).toThrow(/not JSON/);
    const unconfigured = synth({ api: 'rest' });
    expect(notOnHobby(unconfigured)).toEqual([]);
  });
});

describe('the token authorizer’s bundle', () => {
  let outdir: string;
  let authorizer: BundledFunction;
  let key: SigningKey;

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'hashdrop-authorizer-'));
    // As NodejsFunction bundles it (lib/constructs/handler-function.ts), offline: only the
    // authorizer is new in this variant, and the stack tests bundle every other function.
    await build({
      ...esbuildFunctionOptions(),
      entryPoints: [resolve(import.meta.dirname, '..', '..', TOKEN_AUTHORIZER.entry)],
      outfile: join(outdir, 'index.mjs'),
      sourcemap: true,
      logLevel: 'silent',
    });
    key = await loadOrCreateSigningKey(undefined);
    authorizer = await startBundledFunction(TOKEN_AUTHORIZER.id, join(outdir, 'index.mjs'), {
      [TOKEN_AUTHORIZER.issuerEnvVar]: LOCAL_ISSUER,
      [TOKEN_AUTHORIZER.audienceEnvVar]: LOCAL_AUDIENCE,
      [TOKEN_AUTHORIZER.jwksEnvVar]: JSON.stringify(publishedKeySet(key)),
    });
  });

  afterAll(async () => {
    await authorizer?.stop();
    rmSync(outdir, { recursive: true, force: true });
  });

  it('runs from its environment: a dev token is allowed, anything else is Unauthorized', async () => {
    const methodArn = 'arn:aws:execute-api:us-east-1:000000000000:abc123/api/GET/v1/usage';
    const allowed = await authorizer.invoke<{ principalId: string }>({
      type: 'TOKEN',
      methodArn,
      authorizationToken: `Bearer ${await mintToken(key, 'alice')}`,
    });
    expect(allowed.principalId).toBe('alice');
    await expect(authorizer.invoke({ type: 'TOKEN', methodArn, authorizationToken: 'Bearer x.y.z' })).rejects.toThrow(
      /^Unauthorized$/,
    );
  });
});
