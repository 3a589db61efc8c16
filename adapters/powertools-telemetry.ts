/**
 * The Telemetry port (domain/ports.ts) in Lambda, on Powertools for AWS Lambda: one JSON line per
 * log call (`level`, `message`, `service`, `timestamp`, the request id and cold start from the
 * Lambda context, the invocation's user, and the call's fields such as contentId and uploadId),
 * and metrics as CloudWatch Embedded Metric Format, one EMF line per invocation, which CloudWatch
 * turns into metrics in the `hashdrop` namespace with no API call (docs/design.md §10).
 *
 * Lambda runs one invocation at a time per container, so one Logger and one Metrics per container
 * suffice; the invocation's fields still live in an AsyncLocalStorage scope (InvocationScopes) so
 * that nothing of one request reaches the next.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { LogFields, MetricName } from '#domain/ports';
import { InvocationScopes, type InvocationTelemetry, metricUnitOf } from './telemetry.ts';

/** The CloudWatch namespace of every hashdrop metric; the alarms and dashboards name it (lib/). */
export const METRICS_NAMESPACE = 'hashdrop';
export const SERVICE_NAME = 'hashdrop';

export interface PowertoolsTelemetryOptions {
  /** The function (a construct id of deploy/definitions.ts): a field of every line. */
  readonly functionId: string;
  /** For tests: where Powertools writes (by default its own console on stdout). */
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export class PowertoolsTelemetry implements InvocationTelemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
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
