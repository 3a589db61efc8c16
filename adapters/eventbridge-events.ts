/**
 * File events on Amazon EventBridge (docs/events.md): PutEvents in order, in requests within
 * EventBridge's limits (10 entries and 256 KB a request). PutEvents answers 200 even when it
 * refuses some entries (`FailedEntryCount`, an `ErrorCode` per entry): those, and every event of
 * the requests not sent after a failure, are thrown back as an EventDeliveryError, so that the
 * changes they report are retried. Events sent before stay sent: consumers deduplicate by eventId.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { EventDeliveryError } from '#domain/errors';
import type { EventSink } from '#domain/ports';
import { FILE_EVENT_SOURCE, type FileEvent } from '#protocol/events';

/** PutEvents' limits: entries per request, and bytes per request as EventBridge counts them. */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

/**
 * An entry's size as EventBridge counts it ("Calculating PutEvents event entry size"): its
 * Source, DetailType and Detail in UTF-8, 14 bytes for a Time, and its resources.
 */
const entrySize = (entry: PutEventsRequestEntry): number =>
  Buffer.byteLength(entry.Source ?? '') + Buffer.byteLength(entry.DetailType ?? '') + Buffer.byteLength(entry.Detail ?? '') + 14;

/** Entries in order, in requests of at most MAX_ENTRIES and MAX_REQUEST_BYTES. */
export function batchesOf(entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const batches: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    if (current.length === MAX_ENTRIES || (current.length > 0 && bytes + size > MAX_REQUEST_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export const entryOf = (event: FileEvent, busName: string): PutEventsRequestEntry => ({
  EventBusName: busName,
  Source: FILE_EVENT_SOURCE,
  DetailType: event.type,
  Detail: JSON.stringify(event),
  Time: new Date(event.time),
});

export class EventBridgeEventSink implements EventSink {
  constructor(
    private readonly client: { send(command: PutEventsCommand): Promise<PutEventsCommandOutput> },
    /** A bus name or ARN; `default` is the account's default bus. */
    private readonly busName: string,
  ) {}

  async publish(events: readonly FileEvent[]): Promise<void> {
    const ids = events.map((event) => event.eventId);
    const batches = batchesOf(events.map((event) => entryOf(event, this.busName)));
    let sent = 0;
    for (const batch of batches) {
      const unsent = ids.slice(sent);
      let answer: PutEventsCommandOutput;
      try {
        answer = await this.client.send(new PutEventsCommand({ Entries: batch }));
      } catch (error) {
        throw new EventDeliveryError(unsent, 'PutEvents failed', { cause: error });
      }
      if ((answer.FailedEntryCount ?? 0) > 0) {
        // Entries answer in request order; a refused one has an ErrorCode.
        const refused = batch.flatMap((_, index) => (answer.Entries?.[index]?.ErrorCode ? [ids[sent + index] ?? ''] : []));
        const codes = [...new Set((answer.Entries ?? []).flatMap((entry) => (entry.ErrorCode ? [entry.ErrorCode] : [])))];
        throw new EventDeliveryError(
          [...refused, ...ids.slice(sent + batch.length)],
          `PutEvents refused entries: ${codes.join(', ')}`,
        );
      }
      sent += batch.length;
    }
  }
}

export const createEventBridgeClient = (region?: string): EventBridgeClient => new EventBridgeClient(region ? { region } : {});
