/**
 * hashdrop on AWS: an HTTP API with a JWT authorizer in front of one Lambda per route, the
 * Contents and Files tables, the blob bucket whose ObjectCreated events publish contents, an
 * hourly sweeper, and the alarms that say when any of it fails (failed asynchronous invocations
 * are kept in failure queues for replay).
 * Routes, tables and the bucket prefix come from deploy/definitions.ts, as in the local runner.
 *
 * The `rest` variant (`api: 'rest'`) is what LocalStack's free plan can run: a REST API with a
 * Lambda TOKEN authorizer instead of the HTTP API and Cognito, and ObjectCreated events through
 * EventBridge instead of CDK's bucket-notification custom resource.
 *
 * Each part (lib/constructs/) is a plain class that builds its resources in the stack's own
 * scope, not a construct of its own: a construct scope would change every logical id, and
 * CloudFormation would replace the deployed tables and buckets.
 */
import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { DEFAULTS } from '#deploy/definitions';
import { HashdropApi, type JwtIssuer } from './constructs/api.ts';
import type { BlobBucket } from './constructs/blob-bucket.ts';
import { DataStores } from './constructs/data-stores.ts';
import { EraseUser } from './constructs/erase-user.ts';
import { FileEvents } from './constructs/file-events.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { ObjectCreatedPublisher } from './constructs/object-created.ts';
import { HashdropRestApi } from './constructs/rest-api.ts';
import { Sweeper } from './constructs/sweeper.ts';
import { UserPoolIssuer, type UserPoolIssuerProps } from './constructs/user-pool.ts';

export interface HashdropStackProps extends StackProps {
  /**
   * An OIDC issuer (and audience) whose tokens the API accepts. Without it, the stack creates a
   * Cognito user pool and app client for the apps to sign users in with (not in the `rest`
   * variant, which then refuses every request).
   */
  readonly jwt?: JwtIssuer;
  /**
   * `http`: an HTTP API (API Gateway v2) with its JWT authorizer. `rest`: a REST API with a Lambda
   * TOKEN authorizer, no Cognito, ObjectCreated through EventBridge: only what LocalStack's free
   * plan has.
   * @default 'http'
   */
  readonly api?: 'http' | 'rest';
  /**
   * The issuer's public keys (a JWKS JSON document) for the `rest` variant's authorizer, which
   * is given them because a function inside LocalStack cannot fetch them from the host.
   */
  readonly jwks?: string;
  /** Steady-state requests per second across the API. @default 200 */
  readonly throttleRateLimit?: number;
  /** Burst of requests above the rate. @default 400 */
  readonly throttleBurstLimit?: number;
  /**
   * Logical bytes each user may store unless their usage item sets a quota of their own
   * (HASHDROP_DEFAULT_QUOTA_BYTES). @default 100 GiB
   */
  readonly defaultQuotaBytes?: number;
  /**
   * Each user's API requests per minute, beyond which the API answers 429 `rate_limited`
   * (HASHDROP_REQUESTS_PER_MINUTE); 0 turns the budget off. @default 600
   */
  readonly requestsPerMinute?: number;
  /**
   * Whether anyone may create an account in the stack's Cognito user pool (see UserPoolIssuer).
   * @default false
   */
  readonly selfSignUp?: boolean;
  /**
   * Whether the stack's app client also accepts USER_PASSWORD_AUTH (see UserPoolIssuer).
   * @default false
   */
  readonly passwordSignIn?: boolean;
  /**
   * Redirect sign-in through Cognito's managed login (see UserPoolIssuer).
   * @default none: the app client has no OAuth flows
   */
  readonly oauth?: UserPoolIssuerProps['oauth'];
  /**
   * The SES identity the user pool sends its e-mail from (see UserPoolIssuer).
   * @default Cognito's default sender (50 messages a day), with a synthesis warning
   */
  readonly sesEmail?: UserPoolIssuerProps['sesEmail'];
  /**
   * An e-mail address subscribed to the alarm topic (AWS asks it to confirm once). Without it
   * the topic has no subscription: subscribe whatever you use (chat, paging) to it yourself.
   */
  readonly alarmEmail?: string;
  /**
   * The EventBridge bus file events go to (docs/events.md): `default`, the account's default
   * bus, or the name of an existing one. @default a bus of the stack's own
   */
  readonly eventBus?: string;
}

export class HashdropStack extends Stack {
  readonly api: HttpApi | RestApi;
  readonly contents: TableV2;
  readonly files: TableV2;
  readonly limits: TableV2;
  readonly bucket: BlobBucket;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: HashdropStackProps = {}) {
    super(scope, id, props);
    // Log delivery is granted by bucket policy, not ACLs (the bucket enforces owner-only objects).
    // Context can only be set before the first child is added.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWSLambdaBasicExecutionRole only lets a function (ours, or CDK’s bucket-notification helper) write its logs.',
    });

    const data = new DataStores(this, {
      defaultQuotaBytes: props.defaultQuotaBytes ?? DEFAULTS.defaultQuotaBytes,
      requestsPerMinute: props.requestsPerMinute ?? DEFAULTS.requestsPerMinute,
    });
    this.contents = data.contents;
    this.files = data.files;
    this.limits = data.limits;
    this.bucket = data.bucket;
    const throttle = { throttleRateLimit: props.throttleRateLimit ?? 200, throttleBurstLimit: props.throttleBurstLimit ?? 400 };
    let apiUrl: string;
    if (props.api === 'rest') {
      const restApi = new HashdropRestApi(this, { data, jwt: props.jwt, jwks: props.jwks, ...throttle }).restApi;
      this.api = restApi;
      apiUrl = restApi.url;
      // LocalStack serves the API at http://<id>.execute-api.localhost.localstack.cloud:4566/api, not at ApiUrl.
      new CfnOutput(this, 'RestApiId', { value: restApi.restApiId });
    } else {
      const httpApi = new HashdropApi(this, { data, jwt: props.jwt ?? new UserPoolIssuer(this, props), ...throttle }).httpApi;
      this.api = httpApi;
      apiUrl = httpApi.apiEndpoint;
    }
    const publisher = new ObjectCreatedPublisher(data, { delivery: props.api === 'rest' ? 'eventbridge' : 'notification' });
    const sweeper = new Sweeper(this, data);
    // Operator-only: invoked directly by `npm run erase-user`, no route or trigger (README, Operations).
    const eraseUser = new EraseUser(this, data);
    const fileEvents = new FileEvents(this, data, { eventBus: props.eventBus });
    // Last: it watches every function built above.
    this.monitoring = new Monitoring(this, {
      api: this.api,
      tables: [this.contents, this.files, this.limits],
      failureQueues: [publisher.failures, sweeper.failures, fileEvents.failures],
      alarmEmail: props.alarmEmail,
      integrityMetricFilters: props.api !== 'rest',
    });

    new CfnOutput(this, 'ApiUrl', { value: apiUrl });
    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
    // What scripts/replay-failures.ts is given (README, Operations).
    new CfnOutput(this, 'ObjectCreatedFailureQueueUrl', { value: publisher.failures.queueUrl });
    new CfnOutput(this, 'SweeperFailureQueueUrl', { value: sweeper.failures.queueUrl });
    new CfnOutput(this, 'FileEventsFailureQueueUrl', { value: fileEvents.failures.queueUrl });
    new CfnOutput(this, 'EventBusName', { value: fileEvents.bus.eventBusName });
    // What `npm run erase-user -- --function <name>` is given.
    new CfnOutput(this, 'EraseUserFunctionName', { value: eraseUser.handler.functionName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
  }
}
