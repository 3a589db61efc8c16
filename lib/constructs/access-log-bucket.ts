import { Duration, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { SecureBucket } from './secure-bucket.ts';

/** The blob bucket's server access logs: who read or wrote which object, kept 90 days. */
export class AccessLogBucket extends SecureBucket {
  constructor(scope: Construct, id = 'AccessLogs') {
    super(scope, id, { lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }] });
    Validations.of(this).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access-log bucket itself.' });
  }
}
