/**
 * The Telemetry port (domain/ports.ts) off Lambda: readable log lines on the console and metric
 * totals kept in memory (what tests read), with the same fields as the Powertools adapter
 * (adapters/powertools-telemetry.ts) writes as JSON and EMF in Lambda.
 *
 * The fields of an invocation (request id, user) live in an AsyncLocalStorage scope rather than
 * on the object: the local stack runs many invocations of one handler at once in one process,
 * and each line must carry its own request's fields.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogFields, MetricName, Telemetry } from '#domain/ports';

/** The mutable fields of one invocation. */
type Scope = Record<string, string | number | boolean | undefined>;

/** What a function's entry does around each invocation (lambdas/lambda-entry.ts, the local stack). */
export interface InvocationTelemetry extends Telemetry {
  /** Runs one invocation: its lines carry `fields` and what it annotates; its metrics are published when it ends. */
  invocation<T>(fields: LogFields, run: () => Promise<T>): Promise<T>;
}

/** Invocation scopes for any adapter: the fields of the invocation that is running. */
export class InvocationScopes {
  private readonly storage = new AsyncLocalStorage<Scope>();

  run<T>(fields: LogFields, run: () => Promise<T>): Promise<T> {
    return this.storage.run({ ...fields }, run);
  }

  /** Outside an invocation (a script, a unit test calling the domain) there is nothing to annotate. */
  annotate(fields: LogFields): void {
    const scope = this.storage.getStore();
    if (scope) Object.assign(scope, fields);
  }

  current(): LogFields {
    return this.storage.getStore() ?? {};
  }
}

/** The unit of a metric: its name says it (MetricName). */
export const metricUnitOf = (name: MetricName): 'Bytes' | 'Count' => (name.startsWith('Bytes') ? 'Bytes' : 'Count');

/** `key=value` pairs, values quoted only when they hold spaces: readable, and still greppable. */
function readableFields(fields: LogFields): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : String(value)}`)
    .join(' ');
}

export interface ReadableTelemetryOptions {
  /** Where lines go; by default the console (errors to stderr). */
  readonly write?: (level: 'info' | 'warn' | 'error', line: string) => void;
  /** Keep every line in `lines` too (tests; a long-running stack would grow without bound). */
  readonly record?: boolean;
}

/** A line as logged: what tests assert on. */
export interface LoggedLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields;
}

/**
 * Readable lines (`INFO  published key=… outcome=ready user=alice requestId=…`) and metric totals
 * in memory. At the end of each invocation that counted something, one `metrics` line lists its
 * counts, as the EMF line would in Lambda.
 */
export class ReadableTelemetry implements InvocationTelemetry {
  /** Every metric counted since this adapter was made, summed: what tests assert on. */
  readonly totals = new Map<MetricName, number>();
  /** Every line logged, with its fields, when made with `record`. */
  readonly lines: LoggedLine[] = [];
  private readonly record: boolean;
  private readonly scopes = new InvocationScopes();
  private readonly pending = new AsyncLocalStorage<Map<MetricName, number>>();
  private readonly write: (level: 'info' | 'warn' | 'error', line: string) => void;

  constructor(options: ReadableTelemetryOptions = {}) {
    this.record = options.record ?? false;
    this.write =
      options.write ??
      ((level, line) => {
        if (level === 'error') console.error(line);
        else if (level === 'warn') console.warn(line);
        else console.info(line);
      });
  }

  metric(name: MetricName, value = 1): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + value);
    const pending = this.pending.getStore();
    pending?.set(name, (pending.get(name) ?? 0) + value);
  }

  log(level: 'info' | 'warn' | 'error', message: string, fields: LogFields = {}): void {
    const all = { ...fields, ...this.scopes.current() };
    if (this.record) this.lines.push({ level, message, fields: all });
    const text = readableFields(all);
    this.write(level, `${level.toUpperCase().padEnd(5)} ${message}${text ? ` ${text}` : ''}`);
  }

  annotate(fields: LogFields): void {
    this.scopes.annotate(fields);
  }

  total(name: MetricName): number {
    return this.totals.get(name) ?? 0;
  }

  invocation<T>(fields: LogFields, run: () => Promise<T>): Promise<T> {
    const counted = new Map<MetricName, number>();
    return this.pending.run(counted, () =>
      this.scopes.run(fields, async () => {
        try {
          return await run();
        } finally {
          if (counted.size > 0) this.log('info', 'metrics', Object.fromEntries(counted));
        }
      }),
    );
  }
}

/** Metrics and lines kept in memory, printed nowhere: the domain's unit tests. */
export const silentTelemetry = (): ReadableTelemetry => new ReadableTelemetry({ write: () => undefined, record: true });
