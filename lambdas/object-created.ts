/**
 * S3 ObjectCreated under `blobs/` — verify the bytes and publish the content (domain/publish.ts).
 * Events come at least once, late or out of order; publishing is idempotent. A failure throws,
 * so that Lambda retries the event.
 */
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import { BUCKET } from '#deploy/definitions';
import type { Deps } from '#domain/ports';
import { type PublishOutcome, publishObject } from '#domain/publish';
import { lambdaEntry } from './lambda-entry.ts';

/** S3 event keys are URL-encoded, with spaces as '+'. */
export const decodeEventKey = (key: string): string => decodeURIComponent(key.replace(/\+/g, ' '));

export const build = (deps: Deps) =>
  middy<S3Event, PublishOutcome[]>().handler(async (event) => {
    const keys = event.Records.filter(
      (record) => record.eventName.startsWith('ObjectCreated:') && record.s3.object.key.startsWith(BUCKET.blobPrefix),
    ).map((record) => decodeEventKey(record.s3.object.key));
    const results = await Promise.allSettled(keys.map((key) => publishObject(deps, key)));
    const outcomes: PublishOutcome[] = [];
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') {
        outcomes.push(result.value);
        deps.telemetry.log('info', 'published', { objectKey: keys[index], outcome: result.value });
      }
    });
    const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed.length > 0)
      throw new AggregateError(
        failed.map((result) => result.reason),
        'publishing failed; retrying',
      );
    return outcomes;
  });

export const handler = lambdaEntry('ObjectCreated', build);
