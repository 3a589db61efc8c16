import { Duration, type Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { DEFAULTS, SWEEPER } from '#deploy/definitions';
import type { DataStores } from './data-stores.ts';
import type { HandlerFunction } from './handler-function.ts';

/**
 * The sweeper (domain/sweeper.ts) and the EventBridge schedule that runs it: it ends abandoned
 * uploads and deletes unreferenced contents. Built in the stack's own scope (see hashdrop-stack.ts).
 */
export class Sweeper {
  readonly handler: HandlerFunction;

  constructor(stack: Stack, data: DataStores) {
    this.handler = data.handlerFunction(SWEEPER.id, {
      entry: SWEEPER.entry,
      // One run walks every candidate; a large backlog is finished by the next run.
      timeout: Duration.minutes(15),
      access: SWEEPER.access,
    });
    new Rule(stack, 'SweepSchedule', {
      description: 'hashdrop: end abandoned uploads, delete unreferenced contents',
      schedule: Schedule.rate(Duration.seconds(DEFAULTS.sweepIntervalSeconds)),
      targets: [new LambdaFunction(this.handler, { retryAttempts: 2 })],
    });
  }
}
