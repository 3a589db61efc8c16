/**
 * The Files table's stream → file events for apps' backends (domain/file-events.ts,
 * docs/events.md). A batch's records come in commit order per item (one shard); each record's
 * events are derived from its images, then all are published in order. With ReportBatchItemFailures
 * the function answers the first record whose events did not all go out: Lambda checkpoints every
 * record before it and retries from it, so one bad record neither blocks the others for long nor
 * has the records before it sent twice (the ones after it may be: delivery is at least once, and
 * consumers deduplicate by eventId).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { createDocumentClient } from '#adapters/clients';
import { readConfig } from '#adapters/config';
import { DynamoCatalog } from '#adapters/dynamo-catalog';
import { createEventBridgeClient, EventBridgeEventSink } from '#adapters/eventbridge-events';
import { PowertoolsTelemetry } from '#adapters/powertools-telemetry';
import { WebhookEventSink } from '#adapters/webhook-events';
import { FILE_EVENTS, RESERVED_NAME_PREFIX } from '#deploy/definitions';
import { EventDeliveryError } from '#domain/errors';
import { fileEvents, mayBeRenameSource } from '#domain/file-events';
import type { Catalog, EventSink, FileRecord, Telemetry } from '#domain/ports';
import type { FileEvent } from '#protocol/events';

export interface FileEventsDeps {
  /** Only to tell a rename's source from a deleted file. */
  readonly catalog: Pick<Catalog, 'renamedAway'>;
  readonly sink: EventSink;
  readonly telemetry: Telemetry;
}

type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

/**
 * A stream image as a file record. Lambda's JSON images differ from the SDK's attribute values
 * only for binary attributes (base64 text instead of bytes), and Files items have none.
 */
function fileOf(image: Image | undefined): FileRecord | undefined {
  if (!image) return undefined;
  const { pendingContentId: _index, ...file } = unmarshall(image as Record<string, AttributeValue>);
  return file as FileRecord;
}

/** The events of one stream record: none for reserved items (usage, ledger, rename marks). */
async function eventsOf(record: DynamoDBRecord, catalog: FileEventsDeps['catalog']): Promise<FileEvent[]> {
  const change = record.dynamodb;
  const name = change?.Keys?.name?.S;
  if (!change || name === undefined || name.startsWith(RESERVED_NAME_PREFIX)) return [];
  const before = fileOf(change.OldImage);
  const after = fileOf(change.NewImage);
  const renamedAway = mayBeRenameSource(before, after) ? await catalog.renamedAway(before) : false;
  return fileEvents(before, after, {
    changeId: record.eventID ?? `${change.SequenceNumber}`,
    // Seconds: when DynamoDB wrote the record, the same on every delivery of it.
    committedAt: (change.ApproximateCreationDateTime ?? 0) * 1000,
    renamedAway,
  });
}

export const build = (deps: FileEventsDeps) =>
  middy<DynamoDBStreamEvent, DynamoDBBatchResponse>().handler(async (event) => {
    const records = event.Records;
    const derived: { readonly eventIds: ReadonlySet<string> }[] = [];
    const events: FileEvent[] = [];
    // The first record that must be retried; everything before it went out.
    let firstFailed: number | undefined;
    for (const record of records) {
      try {
        const found = await eventsOf(record, deps.catalog);
        derived.push({ eventIds: new Set(found.map((found) => found.eventId)) });
        events.push(...found);
      } catch (error) {
        deps.telemetry.log('error', 'file_events_failed', { stage: 'derive', detail: String(error) });
        firstFailed = derived.length;
        break;
      }
    }
    try {
      await deps.sink.publish(events);
    } catch (error) {
      const failedIds = error instanceof EventDeliveryError ? error.failedEventIds : events.map((found) => found.eventId);
      const first = derived.findIndex(({ eventIds }) => failedIds.some((id) => eventIds.has(id)));
      deps.telemetry.log('error', 'file_events_failed', { stage: 'publish', failed: failedIds.length, detail: String(error) });
      if (first >= 0) firstFailed = Math.min(firstFailed ?? first, first);
    }
    const published = events.length;
    deps.telemetry.log('info', 'file_events', { records: records.length, events: published, retryFrom: firstFailed });
    const retry = firstFailed === undefined ? undefined : records[firstFailed]?.dynamodb?.SequenceNumber;
    return { batchItemFailures: retry ? [{ itemIdentifier: retry }] : [] };
  });

/**
 * The Lambda entry. Not lambdas/lambda-entry.ts: that builds a function's whole Deps (S3 and the
 * proof secret too), which this function neither needs nor may use, and which would take its
 * bundle past its budget. The sink is EventBridge in AWS; the local stack names a URL instead.
 */
let built: ReturnType<typeof build> | undefined;
let telemetry: PowertoolsTelemetry | undefined;

export function fileEventsDeps(env: Readonly<Record<string, string | undefined>>, observed: Telemetry): FileEventsDeps {
  const config = readConfig(FILE_EVENTS.id, env);
  const webhook = env[FILE_EVENTS.webhookEnvVar];
  const bus = env[FILE_EVENTS.busEnvVar];
  if (!webhook && !bus) throw new Error(`environment variable ${FILE_EVENTS.busEnvVar} is not set`);
  return {
    catalog: new DynamoCatalog(createDocumentClient(config.aws), config.tables, { telemetry: observed }),
    sink: webhook ? new WebhookEventSink(webhook) : new EventBridgeEventSink(createEventBridgeClient(), bus ?? 'default'),
    telemetry: observed,
  };
}

export const handler = (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
  telemetry ??= new PowertoolsTelemetry({ functionId: FILE_EVENTS.id });
  const observed = telemetry;
  return observed.invocationOf(context, () => {
    built ??= build(fileEventsDeps(process.env, observed));
    return built(event, context);
  });
};
