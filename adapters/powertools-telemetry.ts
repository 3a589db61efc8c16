/**
 * The Telemetry port (domain/ports.ts) in Lambda, on Powertools for AWS Lambda: metrics through
 * Powertools Metrics as CloudWatch Embedded Metric Format, one EMF line per invocation, which
 * CloudWatch turns into metrics in the `hashdrop` namespace with no API call; and log lines
 * through Powertools Logger, as JSON with its keys (`level`, `message`, `service`, `timestamp`,
 * `xray_trace_id`, and from the invocation's context `function_request_id`, `function_name`,
 * `cold_start`…), plus the function, the invocation's user and the call's fields such as
 * contentId and uploadId. Logger honours POWERTOOLS_LOG_LEVEL and Lambda's own log level.
 *
 * Lambda runs one invocation at a time per container, so one Logger and one Metrics per container
 * suffice; the invocation's fields live in an AsyncLocalStorage scope (InvocationScopes) so that
 * nothing of one request reaches the next, and each line is given them explicitly.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { POWERTOOLS_ENVIRONMENT } from '#deploy/definitions';
import type { LogFields, MetricName } from '#domain/ports';
import { InvocationScopes, type InvocationTelemetry, metricUnitOf } from './telemetry.ts';

const { POWERTOOLS_SERVICE_NAME: SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE } = POWERTOOLS_ENVIRONMENT;

export interface PowertoolsTelemetryOptions {
  /** The function (a construct id of deploy/definitions.ts): a field of every line. */
  readonly functionId: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export class PowertoolsTelemetry implements InvocationTelemetry {
  readonly metrics: Metrics;
  readonly logger: Logger;
  private readonly scopes = new InvocationScopes();

  constructor(options: PowertoolsTelemetryOptions) {
    this.logger = options.logger ?? new Logger({ serviceName: SERVICE_NAME, persistentKeys: { function: options.functionId } });
    // Only the `service` dimension (Powertools' default): a metric sums over every function.
    this.metrics = options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  }

  metric(name: MetricName, value = 1): void {
    this.metrics.addMetric(name, metricUnitOf(name) === 'Bytes' ? MetricUnit.Bytes : MetricUnit.Count, value);
  }

  log(level: 'info' | 'warn' | 'error', message: string, fields: LogFields = {}): void {
    this.logger[level](message, { ...fields, ...this.scopes.current() });
  }

  annotate(fields: LogFields): void {
    this.scopes.annotate(fields);
  }

  /** One Lambda invocation: its lines carry the context's request id; its metrics are flushed as one EMF line at its end. */
  invocationOf<T>(context: Context | undefined, run: () => Promise<T>): Promise<T> {
    if (context) this.logger.addContext(context);
    return this.invocation({}, run);
  }

  async invocation<T>(fields: LogFields, run: () => Promise<T>): Promise<T> {
    try {
      return await this.scopes.run(fields, run);
    } finally {
      // An invocation that counted nothing writes no EMF line (Powertools would warn of an empty one).
      if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
    }
  }
}
