/**
 * No failure is silent (issue 14 point 1): every asynchronous invocation has explicit retries and
 * age and keeps what fails in an SQS queue; every EventBridge target has a dead-letter queue; and
 * alarms (errors and throttles of every function, the API's 5xx rate, the failure queues' depth,
 * DynamoDB throttling per table, integrity incidents) notify one SNS topic, which an e-mail
 * address subscribes to only when the context names one. In both variants of the stack.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { OBJECT_CREATED, POWERTOOLS_ENVIRONMENT, ROUTES, SWEEPER, TABLES, TOKEN_AUTHORIZER } from '#deploy/definitions';
import { PROJECT_ROOT } from '../../lib/constructs/handler-function.ts';
import { INTEGRITY_METRIC } from '../../lib/constructs/monitoring.ts';
import { CONTEXT_KEYS, stackPropsFromContext } from '../../lib/context.ts';
import { HashdropStack, type HashdropStackProps } from '../../lib/hashdrop-stack.ts';

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}
type Resources = Record<string, Resource>;

function synth(props: HashdropStackProps = {}): Resources {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new HashdropStack(app, 'Ops', props)).toJSON().Resources as Resources;
}

const REST: HashdropStackProps = {
  api: 'rest',
  jwt: { issuer: 'https://issuer.example.com', audience: ['app'] },
  jwks: '{"keys":[{"kty":"EC"}]}',
};
const VARIANTS: [string, HashdropStackProps][] = [
  ['the default stack', {}],
  ['the LocalStack variant', REST],
];

const ofType = (resources: Resources, type: string): [string, Resource][] =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);

/** The logical id of the function construct `id` (`<id><8 hex>`, not its log group or role). */
function functionId(resources: Resources, id: string): string {
  const found = ofType(resources, 'AWS::Lambda::Function').find(([logicalId]) =>
    new RegExp(`^${id}[0-9A-F]{8}$`).test(logicalId),
  );
  if (!found) throw new Error(`no function ${id}`);
  return found[0];
}

const getAtt = (value: unknown): [string, string] | undefined => (value as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt'];
const ref = (value: unknown): string | undefined => (value as { Ref?: string })?.Ref;

/** Functions a service invokes asynchronously: S3 and EventBridge are allowed to invoke them. */
function asyncInvoked(resources: Resources): string[] {
  const invoked = ofType(resources, 'AWS::Lambda::Permission')
    .filter(([, permission]) => ['s3.amazonaws.com', 'events.amazonaws.com'].includes(String(permission.Properties.Principal)))
    .map(([, permission]) => getAtt(permission.Properties.FunctionName)?.[0] ?? ref(permission.Properties.FunctionName));
  return [...new Set(invoked.filter((id): id is string => id !== undefined))].sort();
}

const alarms = (resources: Resources) => ofType(resources, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);

/** Every metric an alarm looks at: its own, or those of its metric math. */
function metricsOf(alarm: Record<string, unknown>): { name: string; dimensions: Record<string, unknown> }[] {
  const toMap = (dimensions: unknown) =>
    Object.fromEntries(((dimensions ?? []) as { Name: string; Value: unknown }[]).map((d) => [d.Name, d.Value]));
  if (typeof alarm.MetricName === 'string') return [{ name: alarm.MetricName, dimensions: toMap(alarm.Dimensions) }];
  return ((alarm.Metrics ?? []) as { MetricStat?: { Metric: { MetricName: string; Dimensions?: unknown } } }[]).flatMap((m) =>
    m.MetricStat ? [{ name: m.MetricStat.Metric.MetricName, dimensions: toMap(m.MetricStat.Metric.Dimensions) }] : [],
  );
}

describe.each(VARIANTS)('%s: failed asynchronous invocations', (_label, props) => {
  const resources = synth(props);

  it('invokes the object-created function and the sweeper asynchronously (what the next tests cover)', () => {
    expect(asyncInvoked(resources)).toEqual([functionId(resources, OBJECT_CREATED.id), functionId(resources, SWEEPER.id)].sort());
  });

  it('gives every asynchronously invoked function explicit retries and age, and an SQS queue on failure', () => {
    const configs = ofType(resources, 'AWS::Lambda::EventInvokeConfig').map(([, config]) => config.Properties);
    for (const fn of asyncInvoked(resources)) {
      const config = configs.find((candidate) => ref(candidate.FunctionName) === fn);
      expect(config, fn).toMatchObject({
        MaximumRetryAttempts: expect.any(Number),
        MaximumEventAgeInSeconds: expect.any(Number),
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } } },
      });
      const destination = config?.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined;
      const queue = getAtt(destination?.OnFailure?.Destination)?.[0];
      expect(resources[queue ?? '']?.Type, fn).toBe('AWS::SQS::Queue');
    }
    // Lambda's bounds: 0–2 retries, 1 minute to 6 hours.
    expect(configs.find((config) => ref(config.FunctionName) === functionId(resources, SWEEPER.id))).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
    });
    expect(configs.find((config) => ref(config.FunctionName) === functionId(resources, OBJECT_CREATED.id))).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
    });
  });

  it('gives every EventBridge target (the sweeper’s schedule among them) a retry policy and a dead-letter queue', () => {
    const rules = ofType(resources, 'AWS::Events::Rule');
    expect(rules.map(([id]) => id)).toContainEqual(expect.stringMatching(/^SweepSchedule/));
    for (const [id, rule] of rules) {
      for (const target of rule.Properties.Targets as Record<string, unknown>[]) {
        expect(target, id).toMatchObject({
          RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } },
        });
        const queue = getAtt((target.DeadLetterConfig as { Arn: unknown }).Arn)?.[0] ?? '';
        expect(resources[queue]?.Type, id).toBe('AWS::SQS::Queue');
        // EventBridge may send to it, from this rule only.
        const policies = ofType(resources, 'AWS::SQS::QueuePolicy').filter(([, policy]) =>
          (policy.Properties.Queues as unknown[]).some((q) => ref(q) === queue),
        );
        expect(JSON.stringify(policies), id).toContain(`"Service":"events.amazonaws.com"`);
        expect(JSON.stringify(policies), id).toContain(`"aws:SourceArn":{"Fn::GetAtt":["${id}","Arn"]}`);
      }
    }
  });

  it('keeps failures 14 days in queues encrypted at rest that refuse anything but TLS', () => {
    const queues = ofType(resources, 'AWS::SQS::Queue');
    expect(queues.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'FileEventsFailures',
      'ObjectCreatedFailures',
      'SweeperFailures',
    ]);
    for (const [id, queue] of queues) {
      expect(queue.Properties, id).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
      const policy = ofType(resources, 'AWS::SQS::QueuePolicy').find(([, p]) =>
        (p.Properties.Queues as unknown[]).some((q) => ref(q) === id),
      );
      expect(JSON.stringify(policy?.[1].Properties.PolicyDocument), id).toContain(
        '"Condition":{"Bool":{"aws:SecureTransport":"false"}},"Effect":"Deny"',
      );
    }
  });
});

describe.each(VARIANTS)('%s: alarms', (_label, props) => {
  const resources = synth(props);
  const all = alarms(resources);
  const [topic] = ofType(resources, 'AWS::SNS::Topic').map(([id]) => id);

  it('alarms on the errors and the throttles of every function, each its own', () => {
    const ids = [
      ...ROUTES.map((route) => route.id),
      OBJECT_CREATED.id,
      SWEEPER.id,
      ...(props.api === 'rest' ? [TOKEN_AUTHORIZER.id] : []),
    ];
    for (const id of ids) {
      const fn = functionId(resources, id);
      for (const metric of ['Errors', 'Throttles']) {
        const matching = all.filter((alarm) =>
          metricsOf(alarm).some((m) => m.name === metric && ref(m.dimensions.FunctionName) === fn),
        );
        expect(matching, `${id} ${metric}`).toHaveLength(1);
        expect(matching[0], `${id} ${metric}`).toMatchObject({
          Namespace: 'AWS/Lambda',
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      }
    }
  });

  it('alarms on the API’s 5xx rate: 5xx over requests (at least 20), above 5%', () => {
    const [errors, count] = props.api === 'rest' ? ['5XXError', 'Count'] : ['5xx', 'Count'];
    const api = all.filter((alarm) => metricsOf(alarm).some((m) => m.name === errors));
    expect(api).toHaveLength(1);
    expect(metricsOf(api[0] ?? {}).map((m) => m.name)).toEqual([errors, count]);
    expect(api[0]).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanThreshold' });
    expect(JSON.stringify(api[0]?.Metrics)).toContain('100 * FILL(errors, 0) / IF(requests < 20, 20, requests)');
  });

  it('alarms as soon as a message waits in a failure queue', () => {
    for (const [queue] of ofType(resources, 'AWS::SQS::Queue')) {
      const depth = all.filter((alarm) =>
        metricsOf(alarm).some(
          (m) => m.name === 'ApproximateNumberOfMessagesVisible' && getAtt(m.dimensions.QueueName)?.[0] === queue,
        ),
      );
      expect(depth, queue).toHaveLength(1);
      expect(depth[0], queue).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    }
  });

  it('alarms on DynamoDB throttling of every table, its reads and writes and those of its indexes', () => {
    for (const table of TABLES) {
      const [logicalId] =
        ofType(resources, 'AWS::DynamoDB::GlobalTable').find(([id]) => new RegExp(`^${table.id}[0-9A-F]{8}$`).test(id)) ?? [];
      const throttles = all.filter((alarm) => metricsOf(alarm).some((m) => ref(m.dimensions.TableName) === logicalId));
      expect(throttles, table.id).toHaveLength(1);
      const metrics = metricsOf(throttles[0] ?? {});
      expect(metrics.map((m) => `${m.name} ${String(m.dimensions.GlobalSecondaryIndexName ?? '')}`).sort(), table.id).toEqual(
        [undefined, ...table.indexes.map((index) => index.indexName)]
          .flatMap((index) => [`ReadThrottleEvents ${index ?? ''}`, `WriteThrottleEvents ${index ?? ''}`])
          .sort(),
      );
    }
  });

  it('notifies the one SNS topic, on alarm and when it is over, which CloudWatch may publish to over TLS only', () => {
    expect(topic).toBeDefined();
    expect(all.length).toBeGreaterThan(0);
    for (const alarm of all) {
      expect(alarm.AlarmActions, String(alarm.AlarmDescription)).toEqual([{ Ref: topic }]);
      expect(alarm.OKActions, String(alarm.AlarmDescription)).toEqual([{ Ref: topic }]);
    }
    const [, policy] = ofType(resources, 'AWS::SNS::TopicPolicy')[0] ?? [];
    const statements = (policy?.Properties.PolicyDocument as { Statement?: Record<string, unknown>[] } | undefined)?.Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
      }),
    );
  });
});

describe('integrity incidents', () => {
  const resources = synth();

  it('counts the integrity_incident line in the log group of every function that publishes (object-created among them)', () => {
    const filters = ofType(resources, 'AWS::Logs::MetricFilter').map(([, filter]) => filter.Properties);
    for (const id of [OBJECT_CREATED.id, SWEEPER.id, 'CompleteUpload']) {
      const logging = resources[functionId(resources, id)]?.Properties.LoggingConfig as { LogGroup?: unknown } | undefined;
      const logGroup = ref(logging?.LogGroup) ?? '';
      expect(resources[logGroup]?.Properties.RetentionInDays, id).toBe(30);
      expect(
        filters.find((filter) => ref(filter.LogGroupName) === logGroup),
        id,
      ).toEqual({
        LogGroupName: { Ref: logGroup },
        FilterPattern: '"integrity_incident"',
        MetricTransformations: [
          { MetricNamespace: INTEGRITY_METRIC.namespace, MetricName: INTEGRITY_METRIC.metricName, MetricValue: '1' },
        ],
      });
    }
    // The term is the line's message as the publish step logs it (JSON in Lambda: test/unit/telemetry.test.ts).
    expect(readFileSync(join(PROJECT_ROOT, 'domain', 'publish.ts'), 'utf8')).toContain("log('error', 'integrity_incident'");
  });

  it('alarms on the first incident', () => {
    const incidents = alarms(resources).filter((alarm) => metricsOf(alarm).some((m) => m.name === INTEGRITY_METRIC.metricName));
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      Namespace: INTEGRITY_METRIC.namespace,
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});

describe('the alarm e-mail (context hashdrop:alarmEmail)', () => {
  const fromContext = (context: Record<string, unknown>): Resources => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
    const stack = new HashdropStack(app, 'Mail', stackPropsFromContext(app.node, {}));
    return Template.fromStack(stack).toJSON().Resources as Resources;
  };

  it('subscribes nobody by default', () => {
    expect(ofType(fromContext({}), 'AWS::SNS::Subscription')).toEqual([]);
  });

  it('subscribes the address given, to the alarm topic, by e-mail', () => {
    const resources = fromContext({ [CONTEXT_KEYS.alarmEmail]: 'ops@example.com' });
    const [topic] = ofType(resources, 'AWS::SNS::Topic').map(([id]) => id);
    expect(ofType(resources, 'AWS::SNS::Subscription').map(([, s]) => s.Properties)).toEqual([
      { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topic } },
    ]);
  });
});

describe.each(VARIANTS)('%s: Powertools', (_label, props) => {
  const resources = synth(props);

  it('gives every function Powertools’ service name, metrics namespace and log level, and active tracing', () => {
    const functions = ofType(resources, 'AWS::Lambda::Function').filter(
      ([logicalId]) => !logicalId.startsWith('CustomS3AutoDelete'),
    );
    expect(functions.length).toBeGreaterThan(ROUTES.length);
    for (const [logicalId, fn] of functions) {
      if (logicalId.startsWith('BucketNotificationsHandler')) continue;
      const environment = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
      expect(environment, logicalId).toMatchObject(POWERTOOLS_ENVIRONMENT);
      expect(fn.Properties.TracingConfig, logicalId).toEqual({ Mode: 'Active' });
    }
  });
});
