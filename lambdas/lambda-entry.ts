/**
 * The composition root of a deployed function. Each handler module exports `build(deps)`, which
 * makes its handler from explicit dependencies (the local runner and the tests call it with
 * theirs), and `handler`, the Lambda entry point made here. The entry builds the function's
 * dependencies once per container, on the first invocation, from the configuration the stack
 * put in its environment: importing a handler module reads no environment and connects nothing.
 * A configuration error fails that first invocation loudly, with the variable it lacks.
 */
import type { Context } from 'aws-lambda';
import { readConfig } from '#adapters/config';
import { createDeps } from '#adapters/deps';
import type { FunctionId } from '#deploy/definitions';
import type { Deps } from '#domain/ports';

export type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;

export function lambdaEntry<E, R>(functionId: FunctionId, build: (deps: Deps) => LambdaHandler<E, R>): LambdaHandler<E, R> {
  let built: LambdaHandler<E, R> | undefined;
  return (event, context) => {
    built ??= build(createDeps(readConfig(functionId, process.env)));
    return built(event, context);
  };
}
