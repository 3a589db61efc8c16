import { Duration } from 'aws-cdk-lib';
import { EventType } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { BUCKET, OBJECT_CREATED } from '#deploy/definitions';
import type { DataStores } from './data-stores.ts';
import type { HandlerFunction } from './handler-function.ts';

/**
 * The function that verifies and publishes a content when its object lands under `blobs/`, and
 * the bucket notification that calls it. Built in the stack's own scope, through `data`.
 */
export class ObjectCreatedPublisher {
  readonly handler: HandlerFunction;

  constructor(data: DataStores) {
    this.handler = data.handlerFunction(OBJECT_CREATED.id, {
      entry: OBJECT_CREATED.entry,
      // Where a store keeps no checksum, verification streams the whole object.
      timeout: Duration.minutes(15),
      access: { contents: 'readwrite', files: 'readwrite', bucket: ['put', 'read', 'delete'] },
    });
    data.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(this.handler), {
      prefix: BUCKET.blobPrefix,
    });
  }
}
