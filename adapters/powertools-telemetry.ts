/**
 * The Telemetry port (domain/ports.ts) in Lambda: metrics through Powertools for AWS Lambda as
 * CloudWatch Embedded Metric Format, one EMF line per invocation, which CloudWatch turns into
 * metrics in the `hashdrop` namespace with no API call; and one JSON line per log call with the
 * keys Powertools Logger writes (`level`, `message`, `service`, `timestamp`, `function_request_id`,
 * `cold_start`), the invocation's user and the call's fields such as contentId and uploadId.
 *
 * Why not Powertools Logger too: it adds about 21 KB to every bundle, which takes the API
 * functions past the 500 KB budget (the benchmark's bundle sizes: CreateUpload was 516 KB with
 * it), for lines this writer makes with the same keys in a few lines.
 *
 * Lambda runs one invocation at a time per container, so one Metrics per container suffices; the
 * invocation's fields live in an AsyncLocalStorage scope (InvocationScopes) so that nothing of one
 * request reaches the next.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { LogFields, MetricName } from '#domain/ports';
import { InvocationScopes, type InvocationTelemetry, metricUnitOf } from './telemetry.ts';

/** The CloudWatch namespace of every hashdrop metric. */
export const METRICS_NAMESPACE = 'hashdrop';
export const SERVICE_NAME = 'hashdrop';

export interface PowertoolsTelemetryOptions {
  /** The function (a construct id of deploy/definitions.ts): a field of every line. */
  readonly functionId: string;
  /** For tests: where lines go (by default stdout, which Lambda sends to the function's log group). */
  readonly write?: (line: string) => void;
  readonly metrics?: Metrics;
}

export class PowertoolsTelemetry implements InvocationTelemetry {
  readonly metrics: Metrics;
  private readonly scopes = new InvocationScopes();
  private readonly functionId: string;
  private readonly write: (line: string) => void;
  private context: Readonly<Record<string, string | boolean>> = {};
  private coldStart = true;

  constructor(options: PowertoolsTelemetryOptions) {
    this.functionId = options.functionId;
    this.write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
    // Only the `service` dimension (Powertools' default): a metric sums over every function.
    this.metrics = options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  }

  metric(name: MetricName, value = 1): void {
    this.metrics.addMetric(name, metricUnitOf(name) === 'Bytes' ? MetricUnit.Bytes : MetricUnit.Count, value);
  }

  log(level: 'info' | 'warn' | 'error', message: string, fields: LogFields = {}): void {
    this.write(
      JSON.stringify({
        level: level.toUpperCase(),
        message,
        timestamp: new Date().toISOString(),
        service: SERVICE_NAME,
        function: this.functionId,
        ...this.context,
        ...fields,
        ...this.scopes.current(),
      }),
    );
  }

  annotate(fields: LogFields): void {
    this.scopes.annotate(fields);
  }

  /** One Lambda invocation: its lines carry the context's request id; its metrics are flushed as one EMF line at its end. */
  invocationOf<T>(context: Context | undefined, run: () => Promise<T>): Promise<T> {
    this.context = context
      ? { function_request_id: context.awsRequestId, function_name: context.functionName, cold_start: this.coldStart }
      : {};
    this.coldStart = false;
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
