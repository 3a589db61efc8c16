/**
 * The composition root of a deployed function. Each handler module exports `build(deps)`, which
 * makes its handler from explicit dependencies (the local runner and the tests call it with
 * theirs), and `handler`, the Lambda entry point made here. The entry builds the function's
 * dependencies once per container, on the first invocation, from the configuration the stack
 * put in its environment: importing a handler module reads no environment and connects nothing.
 * A configuration error fails that first invocation loudly, with the variable it lacks.
 *
 * Every invocation runs inside the function's telemetry (Powertools): its log lines carry the
 * request id, and its metrics are flushed as one EMF line when it ends, whatever the outcome.
 */
import type { Context } from 'aws-lambda';
import { readConfig } from '#adapters/config';
import { createDeps } from '#adapters/deps';
import { PowertoolsTelemetry } from '#adapters/powertools-telemetry';
import type { FunctionId } from '#deploy/definitions';
import type { Deps } from '#domain/ports';

export type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;

export function lambdaEntry<E, R>(functionId: FunctionId, build: (deps: Deps) => LambdaHandler<E, R>): LambdaHandler<E, R> {
  let built: LambdaHandler<E, R> | undefined;
  let telemetry: PowertoolsTelemetry | undefined;
  return (event, context) => {
    // Made on the first invocation too: Powertools reads its settings from the environment.
    telemetry ??= new PowertoolsTelemetry({ functionId });
    const observed = telemetry;
    return observed.invocationOf(context, () => {
      built ??= build(createDeps(readConfig(functionId, process.env), observed));
      return built(event, context);
    });
  };
}
