import { Duration, type Stack, Validations } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  type MetricOptions,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { TABLES } from '#deploy/definitions';
import type { FailureQueue } from './failure-queue.ts';
import { HandlerFunction } from './handler-function.ts';

/** Every alarm looks at five-minute periods and fires on the first breaching one. */
const PERIOD = Duration.minutes(5);

/** The API's 5xx alarm: more than this percentage of requests in a period. */
export const API_5XX_PERCENT = 5;
/**
 * The fewest requests the 5xx rate is computed over: in a quiet period a single failed request
 * is not 100% (it takes two failures in up to 20 requests), yet a route that always fails still
 * alarms at low traffic, where a floor of "at least N requests" would hide it.
 */
export const API_5XX_MIN_REQUESTS = 20;

/** Where integrity incidents are counted (one metric for every function that can log one). */
export const INTEGRITY_METRIC = { namespace: 'Hashdrop', metricName: 'IntegrityIncidents' } as const;

export interface MonitoringProps {
  readonly api: HttpApi | RestApi;
  readonly tables: readonly TableV2[];
  readonly failureQueues: readonly FailureQueue[];
  /** Subscribed to the alarm topic by e-mail (the address confirms it once); none by default. */
  readonly alarmEmail?: string | undefined;
  /**
   * Count `integrity_incident` log lines with a CloudWatch Logs metric filter. The LocalStack
   * variant leaves them out: LocalStack's CloudFormation has no AWS::Logs::MetricFilter
   * (test/cdk/localstack.test.ts).
   * @default true
   */
  readonly integrityMetricFilters?: boolean;
}

/**
 * The stack's alarms and the SNS topic they notify: errors and throttles of every function,
 * the API's 5xx rate, messages waiting in a failure queue, DynamoDB throttling per table, and
 * integrity incidents (bytes of a READY content that failed verification). Built in the stack's
 * own scope, after every function (see hashdrop-stack.ts).
 */
export class Monitoring {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(
    private readonly stack: Stack,
    props: MonitoringProps,
  ) {
    this.topic = new Topic(stack, 'Alarms', { displayName: 'hashdrop alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names and metric values, no user data. CloudWatch cannot publish to a topic under the AWS-managed SNS key; a customer managed key (with a policy for CloudWatch) can be added if required.',
    });
    // The topic's own policy (enforceSSL) replaces SNS's default one, which let services of the
    // account publish: CloudWatch is allowed again by name, for this account's alarms only.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
        },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const functions = stack.node
      .findAll()
      .filter((construct): construct is HandlerFunction => construct instanceof HandlerFunction);
    for (const fn of functions) this.watchFunction(fn);
    this.watchApi(props.api);
    for (const queue of props.failureQueues) this.watchFailureQueue(queue);
    for (const table of props.tables) this.watchTable(table);
    if (props.integrityMetricFilters ?? true) this.watchIntegrity(functions);
  }

  /** An alarm on `metric` that notifies the topic; by default, at the first occurrence in a period. */
  private alarm(id: string, metric: IMetric, description: string, above?: number): Alarm {
    const alarm = new Alarm(this.stack, id, {
      metric,
      ...(above === undefined
        ? { threshold: 1, comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD }
        : { threshold: above, comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD }),
      evaluationPeriods: 1,
      // No data is no failure: a function not invoked, a queue never written to.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `hashdrop: ${description}`,
    });
    // OK too, so that whoever was told of a failure is told when it is over.
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }

  private watchFunction(fn: HandlerFunction): void {
    const id = fn.node.id;
    this.alarm(
      `${id}ErrorsAlarm`,
      fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
      `${id} failed (an unhandled error or a timeout); see its log group.`,
    );
    this.alarm(
      `${id}ThrottlesAlarm`,
      fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
      `${id} was throttled (account or reserved concurrency reached).`,
    );
  }

  private watchApi(api: HttpApi | RestApi): void {
    const options: MetricOptions = { period: PERIOD, statistic: 'Sum' };
    const rate = new MathExpression({
      expression: `100 * FILL(errors, 0) / IF(requests < ${API_5XX_MIN_REQUESTS}, ${API_5XX_MIN_REQUESTS}, requests)`,
      usingMetrics: { errors: api.metricServerError(options), requests: api.metricCount(options) },
      period: PERIOD,
      label: 'API 5xx (% of requests)',
    });
    this.alarm(
      'Api5xxAlarm',
      rate,
      `more than ${API_5XX_PERCENT}% of API requests answered 5xx (counted over at least ${API_5XX_MIN_REQUESTS} requests).`,
      API_5XX_PERCENT,
    );
  }

  private watchFailureQueue(queue: FailureQueue): void {
    this.alarm(
      `${queue.node.id}DepthAlarm`,
      queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      `an asynchronous invocation failed for good and waits in ${queue.node.id}; fix the cause, then replay it (README, Operations).`,
    );
  }

  /** Read and write throttle events of the table and of each of its indexes, summed. */
  private watchTable(table: TableV2): void {
    const id = table.node.id;
    const definition = TABLES.find((candidate) => candidate.id === id);
    const metrics: Record<string, IMetric> = {};
    const indexes = [undefined, ...(definition?.indexes.map((index) => index.indexName) ?? [])];
    indexes.forEach((indexName, i) => {
      for (const [kind, metricName] of [
        ['read', 'ReadThrottleEvents'],
        ['write', 'WriteThrottleEvents'],
      ] as const) {
        metrics[`${kind}${i}`] = new Metric({
          namespace: 'AWS/DynamoDB',
          metricName,
          dimensionsMap: { TableName: table.tableName, ...(indexName ? { GlobalSecondaryIndexName: indexName } : {}) },
          period: PERIOD,
          statistic: 'Sum',
        });
      }
    });
    const throttles = new MathExpression({
      expression: Object.keys(metrics)
        .map((name) => `FILL(${name}, 0)`)
        .join(' + '),
      usingMetrics: metrics,
      period: PERIOD,
      label: `${id} throttle events`,
    });
    this.alarm(`${id}TableThrottlesAlarm`, throttles, `DynamoDB throttled requests to the ${id} table or its indexes.`);
  }

  /**
   * Counts `integrity_incident` lines (domain/publish.ts) in every function's log group: the S3
   * event, a completion and the sweeper all run the publish step that logs one. The pattern is
   * the quoted term, not a JSON selector: it matches the line as the Node.js runtime writes it
   * (a text prefix before the JSON), as a JSON log format would (the line as a string field),
   * and as a structured logger would.
   */
  private watchIntegrity(functions: readonly HandlerFunction[]): void {
    for (const fn of functions) {
      new MetricFilter(this.stack, `${fn.node.id}IntegrityIncidents`, {
        logGroup: fn.logGroup,
        filterPattern: FilterPattern.allTerms('integrity_incident'),
        metricNamespace: INTEGRITY_METRIC.namespace,
        metricName: INTEGRITY_METRIC.metricName,
        metricValue: '1',
      });
    }
    this.alarm(
      'IntegrityIncidentsAlarm',
      new Metric({ ...INTEGRITY_METRIC, period: PERIOD, statistic: 'Sum' }),
      'stored bytes of a READY content failed verification; the content is QUARANTINED (README, "Stored bytes never change").',
    );
  }
}
