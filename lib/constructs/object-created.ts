import { Duration, Stack } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { type CfnBucket, EventType } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { BUCKET, OBJECT_CREATED, objectCreatedRecords } from '#deploy/definitions';
import type { DataStores } from './data-stores.ts';
import { type AsyncRetryPolicy, FailureQueue } from './failure-queue.ts';
import type { HandlerFunction } from './handler-function.ts';

/**
 * Lambda's most retries, and its longest wait: an event published late is still right (publishing
 * is idempotent), and one dropped leaves a content PENDING until its upload is swept.
 */
export const OBJECT_CREATED_RETRIES: AsyncRetryPolicy = { retryAttempts: 2, maxEventAge: Duration.hours(6) };

export interface ObjectCreatedOptions {
  /**
   * How S3 calls the function: a bucket notification, which CDK configures through a
   * CloudFormation custom resource, or EventBridge, which needs none (a property of the bucket
   * and a rule): LocalStack's free plan runs no custom resources.
   * @default 'notification'
   */
  readonly delivery?: 'notification' | 'eventbridge';
}

/**
 * The function that verifies and publishes a content when its object lands under `blobs/`, and
 * what delivers S3's event to it. Built in the stack's own scope, through `data`.
 */
export class ObjectCreatedPublisher {
  readonly handler: HandlerFunction;
  /** The events that failed every attempt, or that EventBridge could not deliver. */
  readonly failures: FailureQueue;

  constructor(data: DataStores, options: ObjectCreatedOptions = {}) {
    this.handler = data.handlerFunction(OBJECT_CREATED.id, {
      entry: OBJECT_CREATED.entry,
      timeout: Duration.seconds(OBJECT_CREATED.timeoutSeconds),
      access: { contents: 'readwrite', files: 'readwrite', bucket: ['put', 'read', 'delete'] },
    });
    // S3 and EventBridge both invoke the function asynchronously.
    this.failures = new FailureQueue(Stack.of(data.bucket), `${OBJECT_CREATED.id}Failures`);
    this.failures.keepFailuresOf(this.handler, OBJECT_CREATED_RETRIES);
    if (options.delivery === 'eventbridge') {
      this.deliverThroughEventBridge(data);
      return;
    }
    data.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(this.handler), {
      prefix: BUCKET.blobPrefix,
    });
  }

  private deliverThroughEventBridge(data: DataStores): void {
    (data.bucket.node.defaultChild as CfnBucket).addPropertyOverride(
      'NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled',
      true,
    );
    new Rule(Stack.of(data.bucket), 'ObjectCreatedEvents', {
      description: 'hashdrop: objects created under blobs/, to the object-created function',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [data.bucket.bucketName] }, object: { key: [{ prefix: BUCKET.blobPrefix }] } },
      },
      targets: [
        this.failures.ruleTarget(this.handler, OBJECT_CREATED_RETRIES, {
          // The function reads S3 notification records: the event is handed over as one.
          event: RuleTargetInput.fromObject(objectCreatedRecords(EventField.fromPath('$.detail.object.key'))),
        }),
      ],
    });
  }
}
