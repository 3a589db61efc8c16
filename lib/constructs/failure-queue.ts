import { Duration, Validations } from 'aws-cdk-lib';
import type { IRuleTarget } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * How often and for how long an asynchronous invocation of a function is tried before it lands
 * in its failure queue: Lambda's own retries of a function error, and EventBridge's retries of
 * a delivery to the function (the same numbers for both).
 */
export interface AsyncRetryPolicy {
  /** Retries after the first attempt (Lambda allows 0–2). */
  readonly retryAttempts: number;
  /** How long an event may wait for an attempt (Lambda allows 1 minute – 6 hours). */
  readonly maxEventAge: Duration;
}

/**
 * Where a failed asynchronous invocation of one function is kept for replay
 * (scripts/replay-failures.ts): Lambda's on-failure records (`requestContext`, the original event
 * under `requestPayload`) and, for a function behind an EventBridge rule, the events the rule
 * could not deliver (the event itself, with RULE_ARN/TARGET_ARN attributes). Kept 14 days, SQS's
 * longest, so that a failure found after a weekend can still be replayed.
 */
export class FailureQueue extends Queue {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      // SQS-managed keys: Lambda and EventBridge may send to the queue without a key policy of
      // ours (a customer managed key would need one granting both services).
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself where failed invocations end (Lambda on-failure destination, EventBridge DLQ); it is drained by scripts/replay-failures.ts, not by a consumer that could fail in turn.',
    });
  }

  /**
   * Makes every asynchronous invocation of `fn` (by S3, by EventBridge) explicit: `policy`'s
   * retries and age, then a record of the failure in this queue instead of Lambda dropping it.
   */
  keepFailuresOf(fn: IFunction, policy: AsyncRetryPolicy): void {
    fn.configureAsyncInvoke({
      retryAttempts: policy.retryAttempts,
      maxEventAge: policy.maxEventAge,
      onFailure: new SqsDestination(this),
    });
  }

  /**
   * An EventBridge target for `fn` whose undeliverable events (throttled past `policy`, the
   * function or its permission missing) land in this queue rather than being dropped.
   */
  ruleTarget(fn: IFunction, policy: AsyncRetryPolicy, props: ConstructorParameters<typeof LambdaFunction>[1] = {}): IRuleTarget {
    return new LambdaFunction(fn, {
      ...props,
      retryAttempts: policy.retryAttempts,
      maxEventAge: policy.maxEventAge,
      deadLetterQueue: this,
    });
  }
}
