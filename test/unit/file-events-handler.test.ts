/**
 * lambdas/file-events.ts on stream records as Lambda hands them over: reserved items are skipped,
 * a rename's source is not a delete, and a failure reports the first record to retry from (never
 * one before it), whether deriving or publishing failed. The EventBridge adapter's batching and
 * its reading of PutEvents' partial failures are tested here too.
 */
import type { PutEventsCommand, PutEventsCommandOutput, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { batchesOf, EventBridgeEventSink } from '#adapters/eventbridge-events';
import { silentTelemetry } from '#adapters/telemetry';
import { USAGE_ITEM_NAME } from '#deploy/definitions';
import { EventDeliveryError } from '#domain/errors';
import type { EventSink, FileRecord } from '#domain/ports';
import { build, type FileEventsDeps } from '#lambdas/file-events';
import type { FileEvent } from '#protocol/events';
import { complete } from '../support/file-records.ts';

const T = 1_767_000_000;
const file = (name: string, overrides: Partial<FileRecord> = {}): FileRecord =>
  complete({ name, uploadId: `u-${name}`, createdAt: T * 1000, updatedAt: T * 1000, ...overrides });

type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;
const image = (item: object): Image => marshall(item, { removeUndefinedValues: true }) as unknown as Image;

let sequence = 100;
function record(before: object | undefined, after: object | undefined): DynamoDBRecord {
  const key = (after ?? before) as { userId: string; name: string };
  sequence += 1;
  return {
    eventID: `id-${sequence}`,
    eventName: !before ? 'INSERT' : !after ? 'REMOVE' : 'MODIFY',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: T,
      Keys: image({ userId: key.userId, name: key.name }),
      ...(before ? { OldImage: image(before) } : {}),
      ...(after ? { NewImage: image(after) } : {}),
      SequenceNumber: String(sequence),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

class RecordingSink implements EventSink {
  readonly published: FileEvent[] = [];
  constructor(private readonly refuse: (event: FileEvent) => boolean = () => false) {}
  async publish(events: readonly FileEvent[]): Promise<void> {
    const index = events.findIndex(this.refuse);
    this.published.push(...(index < 0 ? events : events.slice(0, index)));
    if (index >= 0)
      throw new EventDeliveryError(
        events.slice(index).map((event) => event.eventId),
        'refused',
      );
  }
}

function run(records: DynamoDBRecord[], deps: Partial<FileEventsDeps> & { sink: EventSink }) {
  const handler = build({
    catalog: { renamedAway: async () => false },
    telemetry: silentTelemetry(),
    ...deps,
  });
  return handler({ Records: records } as DynamoDBStreamEvent, {} as Context);
}

describe('the file-events handler', () => {
  it('publishes each record’s events in order, skips reserved items, asks the catalog only about removed COMPLETE files', async () => {
    const sink = new RecordingSink();
    const asked: string[] = [];
    const renamedAway = async (removed: FileRecord) => {
      asked.push(removed.name);
      return removed.name === 'moved-away';
    };
    const result = await run(
      [
        record(undefined, file('a')),
        record(undefined, { userId: 'alice', name: USAGE_ITEM_NAME, files: 1, bytes: 10 }),
        record(file('moved-away'), undefined),
        record(file('deleted'), undefined),
        record(file('pending', { state: 'PENDING' }), undefined),
      ],
      { sink, catalog: { renamedAway } },
    );
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sink.published.map((event) => [event.type, 'name' in event ? event.name : ''])).toEqual([
      ['file.completed', 'a'],
      ['file.deleted', 'deleted'],
      ['upload.failed', 'pending'],
    ]);
    expect(asked).toEqual(['moved-away', 'deleted']);
    expect(sink.published[0]).toMatchObject({ eventId: 'id-101:file.completed', time: new Date(T * 1000).toISOString() });
  });

  it('a refused event: retry from its record, not from any record before it', async () => {
    const sink = new RecordingSink((event) => 'name' in event && event.name === 'b');
    const records = [record(undefined, file('a')), record(undefined, file('b')), record(undefined, file('c'))];
    const result = await run(records, { sink });
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }] });
    expect(sink.published.map((event) => ('name' in event ? event.name : ''))).toEqual(['a']);
  });

  it('a record whose rename mark cannot be read: the records before it go out, retry from it', async () => {
    const sink = new RecordingSink();
    const records = [record(undefined, file('a')), record(file('b'), undefined), record(undefined, file('c'))];
    const result = await run(records, {
      sink,
      catalog: {
        renamedAway: async () => {
          throw new Error('throttled');
        },
      },
    });
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }] });
    expect(sink.published.map((event) => ('name' in event ? event.name : ''))).toEqual(['a']);
  });

  it('any other failure of the sink retries from the first record that had events', async () => {
    const sink: EventSink = {
      publish: async () => {
        throw new Error('socket hang up');
      },
    };
    const records = [record(undefined, { userId: 'alice', name: USAGE_ITEM_NAME }), record(undefined, file('a'))];
    expect(await run(records, { sink })).toEqual({
      batchItemFailures: [{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }],
    });
  });
});

describe('the EventBridge sink', () => {
  const event = (n: number, detailBytes = 10): FileEvent => ({
    type: 'file.deleted',
    version: '1',
    eventId: `e${n}`,
    time: new Date(T * 1000).toISOString(),
    userId: 'alice',
    name: 'x'.repeat(detailBytes),
    size: 1,
    contentId: 'a'.repeat(64),
    uploadId: 'u',
  });

  it('batches at most 10 entries and 256 KB a request, in order', () => {
    const entries = (count: number, bytes: number): PutEventsRequestEntry[] =>
      Array.from({ length: count }, () => ({ Source: 'hashdrop', DetailType: 'file.deleted', Detail: 'x'.repeat(bytes) }));
    expect(batchesOf(entries(25, 10)).map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(batchesOf(entries(3, 100 * 1024)).map((batch) => batch.length)).toEqual([2, 1]);
  });

  it('entries refused in a 200 answer (FailedEntryCount) fail with every later one; earlier batches stay sent', async () => {
    const sent: PutEventsRequestEntry[][] = [];
    const client = {
      send: async (command: PutEventsCommand): Promise<PutEventsCommandOutput> => {
        const entries = command.input.Entries ?? [];
        sent.push(entries);
        const refuse = sent.length === 2;
        return {
          $metadata: {},
          FailedEntryCount: refuse ? 1 : 0,
          Entries: entries.map((_, index) => (refuse && index === 3 ? { ErrorCode: 'ThrottlingException' } : { EventId: 'x' })),
        };
      },
    };
    const events = Array.from({ length: 25 }, (_, n) => event(n));
    const error = await new EventBridgeEventSink(client, 'my-bus').publish(events).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EventDeliveryError);
    expect((error as EventDeliveryError).failedEventIds).toEqual(['e13', ...events.slice(20).map((later) => later.eventId)]);
    expect(sent.length).toBe(2);
    expect(sent[0]?.[0]).toMatchObject({ EventBusName: 'my-bus', Source: 'hashdrop', DetailType: 'file.deleted' });
    expect(JSON.parse(sent[0]?.[0]?.Detail ?? '{}')).toEqual(events[0]);
  });
});
