import { type CfnElement, Duration, type Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { ERASE_USER } from '#deploy/definitions';
import { EXPORT_PREFIX } from '#domain/object-keys';
import type { DataStores } from './data-stores.ts';
import type { HandlerFunction } from './handler-function.ts';

/**
 * The operator's erasure of a user (lambdas/erase-user.ts; README, Operations). Invoked directly
 * (`npm run erase-user`), never through the API: no route, trigger or schedule points at it, and
 * nothing but the caller's own lambda:InvokeFunction reaches it. Its grants are the ones a user's
 * own cancels and deletes use (ERASE_USER.access), plus writing and reading exports, only under
 * `exports/`. Built in the stack's own scope (see hashdrop-stack.ts).
 */
export class EraseUser {
  readonly handler: HandlerFunction;

  constructor(stack: Stack, data: DataStores) {
    this.handler = data.handlerFunction(ERASE_USER.id, {
      entry: ERASE_USER.entry,
      timeout: Duration.seconds(ERASE_USER.timeoutSeconds),
      access: ERASE_USER.access,
    });
    const exports = data.bucket.arnForObjects(`${EXPORT_PREFIX}*`);
    // PutObject: the export, written once; GetObject: the link the function signs for the operator.
    this.handler.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [exports] }));
    Validations.of(this.handler).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(data.bucket.node.defaultChild as CfnElement)}.Arn>/${EXPORT_PREFIX}*]`,
      reason: 'Scoped to the users’ exports (exports/ only); no wildcard action is granted (asserted by the template tests).',
    });
  }
}
