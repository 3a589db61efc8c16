import { Duration, type Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { DEFAULTS, SWEEPER } from '#deploy/definitions';
import type { DataStores } from './data-stores.ts';
import { type AsyncRetryPolicy, FailureQueue } from './failure-queue.ts';
import type { HandlerFunction } from './handler-function.ts';

/**
 * Two retries, and no older than one interval: past that, the next scheduled run does the same
 * work, so a run still waiting would only overlap it.
 */
export const SWEEPER_RETRIES: AsyncRetryPolicy = {
  retryAttempts: 2,
  maxEventAge: Duration.seconds(DEFAULTS.sweepIntervalSeconds),
};

/**
 * The sweeper (domain/sweeper.ts) and the EventBridge schedule that runs it: it ends abandoned
 * uploads and deletes unreferenced contents. Built in the stack's own scope (see hashdrop-stack.ts).
 */
export class Sweeper {
  readonly handler: HandlerFunction;
  /** Runs that failed every attempt, or that EventBridge could not deliver. */
  readonly failures: FailureQueue;

  constructor(stack: Stack, data: DataStores) {
    this.handler = data.handlerFunction(SWEEPER.id, {
      entry: SWEEPER.entry,
      timeout: Duration.seconds(SWEEPER.timeoutSeconds),
      access: SWEEPER.access,
    });
    this.failures = new FailureQueue(stack, `${SWEEPER.id}Failures`);
    this.failures.keepFailuresOf(this.handler, SWEEPER_RETRIES);
    new Rule(stack, 'SweepSchedule', {
      description: 'hashdrop: end abandoned uploads, delete unreferenced contents',
      schedule: Schedule.rate(Duration.seconds(DEFAULTS.sweepIntervalSeconds)),
      targets: [this.failures.ruleTarget(this.handler, SWEEPER_RETRIES)],
    });
  }
}
