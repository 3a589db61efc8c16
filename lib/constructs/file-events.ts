import { Duration, type Stack, Validations } from 'aws-cdk-lib';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { FILE_EVENTS } from '#deploy/definitions';
import type { DataStores } from './data-stores.ts';
import { FailureQueue } from './failure-queue.ts';
import { HandlerFunction } from './handler-function.ts';

/**
 * How the stream's records are retried. A record whose events cannot be published is retried
 * (the batch bisected around it) at most 10 times and for at most 6 hours, then recorded in the
 * failure queue, so that one bad record never holds its shard back beyond that.
 *
 * Why 6 hours, not the stream's 24-hour retention: the failure queue gets only where the records
 * are (shard and sequence numbers), and the replay (scripts/replay-failures.ts) reads them back
 * from the stream. Both ages count from the record's arrival in the stream, so a record given up
 * at 24 hours would be trimmed as it lands in the queue and could never be replayed; given up at
 * 6 hours, it leaves the operator paged by the queue's depth alarm about 18 hours to replay it.
 * The 10 retries fit well inside (each attempt ends within the function's 1-minute timeout, and
 * bisecting costs none); the age bounds what retries do not count: throttling, an outage of the
 * function. A rename's mark on its source outlives them all (FILE_EVENTS.renameMarkSeconds, 3 days),
 * so a replay still tells a rename's source from a deleted file.
 */
export const FILE_EVENTS_RETRIES = { retryAttempts: 10, maxRecordAge: Duration.hours(6) } as const;

export interface FileEventsProps {
  /**
   * `default`: the account's default bus; another name: an existing bus. Absent: a bus of the
   * stack's own (context `hashdrop:eventBus`).
   */
  readonly eventBus?: string | undefined;
}

/**
 * File events for apps' backends (docs/events.md): the Files table's stream (a transactional
 * outbox: every committed change, both images) read by the FileEvents function, which puts
 * `file.completed`, `file.deleted`, `file.renamed` and `upload.failed` on an EventBridge bus.
 * Built in the stack's own scope (see hashdrop-stack.ts).
 *
 * No filter criteria: records of reserved items (usage, ledger, rename marks) reach the function,
 * which skips them by name. A filter on a key beginning with U+0000 would save little (they come
 * in the same batches as the file changes) and could not be checked by the local stack, which
 * hands every record to the same handler.
 */
export class FileEvents {
  readonly handler: HandlerFunction;
  readonly bus: IEventBus;
  /** Records that failed every attempt (Lambda's on-failure record: shard and sequence numbers). */
  readonly failures: FailureQueue;

  constructor(stack: Stack, data: DataStores, props: FileEventsProps = {}) {
    this.bus =
      props.eventBus === undefined
        ? new EventBus(stack, 'FileEventsBus', { description: 'hashdrop: file events for apps’ backends' })
        : EventBus.fromEventBusName(stack, 'FileEventsBus', props.eventBus);
    this.handler = new HandlerFunction(stack, FILE_EVENTS.id, {
      entry: FILE_EVENTS.entry,
      environment: { ...data.environment, [FILE_EVENTS.busEnvVar]: this.bus.eventBusName },
      timeout: Duration.seconds(FILE_EVENTS.timeoutSeconds),
      memorySize: 256,
    });
    // Least privilege: the rename marks (one GetItem per removed file) and this bus alone.
    // The table alone: TableV2.grant would add its indexes, which GetItem never reads.
    this.handler.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [data.files.tableArn] }));
    this.bus.grantPutEventsTo(this.handler);
    this.failures = new FailureQueue(stack, `${FILE_EVENTS.id}Failures`);
    this.handler.addEventSource(
      new DynamoEventSource(data.files, {
        // Everything the stream still holds when the mapping is created, then in order.
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: FILE_EVENTS_RETRIES.retryAttempts,
        maxRecordAge: FILE_EVENTS_RETRIES.maxRecordAge,
        onFailure: new SqsDlq(this.failures),
      }),
    );
    Validations.of(this.handler).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Reading a table stream needs dynamodb:ListStreams, which takes no resource (AWS requires "*"); the stream itself is read by its ARN.',
    });
  }
}
