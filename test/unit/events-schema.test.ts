/**
 * The file events' published schema (docs/events.schema.json, openapi/events.ts) accepts every
 * event the producer makes (domain/file-events.ts, over records built with the helpers the
 * catalogs apply, as test/unit/file-events.test.ts does), documents every field it sends, refuses
 * what is not an event, and stays open to what version "1" may add. The OpenAPI document has one
 * webhook per event type.
 */
import { describe, expect, it } from 'vitest';
import { fileEvents } from '#domain/file-events';
import { completedUpload, endedUpload } from '#domain/file-versions';
import { envelopeOf, FILE_EVENT_TYPES, type FileEvent } from '#protocol/events';
import { contractDocument } from '../../openapi/contract.ts';
import { eventSchemaCheck } from '../support/event-schema.ts';
import { complete, hex, moved, T0, upload } from '../support/file-records.ts';

let changes = 0;
const change = (extra: { renamedAway?: boolean } = {}) => ({ changeId: `rec-${++changes}`, committedAt: T0, ...extra });

/** The events of one change of every kind domain/file-events.ts tells apart. */
function producedEvents(): FileEvent[] {
  const pending = upload(undefined);
  const replacing = upload(complete());
  const overwritten = complete({ name: 'b.bin', contentId: hex('d'), uploadId: 'u-b' });
  return [
    // A miss completes; an instant upload (with a content type) replaces a file; a replacement completes.
    ...fileEvents(pending, completedUpload(pending, T0), change()),
    ...fileEvents(
      complete(),
      { ...upload(undefined, { contentType: 'image/png', deduplicated: true }), state: 'COMPLETE' },
      change(),
    ),
    ...fileEvents(replacing, completedUpload(replacing, T0), change()),
    // Uploads that end without completing, for each reason.
    ...fileEvents(replacing, endedUpload(replacing, T0, 'content_mismatch'), change()),
    ...fileEvents(pending, endedUpload(pending, T0, 'size_mismatch'), change()),
    ...fileEvents(pending, undefined, change()),
    ...fileEvents(replacing, upload(replacing, { uploadId: 'u-newer', contentId: hex('e') }), change()),
    // Deletes, of a file and mid-replacement.
    ...fileEvents(complete(), undefined, change()),
    ...fileEvents(replacing, undefined, change()),
    // Renames, plain and onto a replacement in flight.
    ...fileEvents(undefined, moved(complete(), 'b.bin'), change()),
    ...fileEvents(upload(overwritten, { name: 'b.bin' }), moved(complete(), 'b.bin'), change()),
  ];
}

const check = eventSchemaCheck();
const defs = check.schema.$defs as Record<string, { properties: Record<string, { const?: string }> }>;
/** The `$defs` id of an event type's schema, read from the published file. */
function idOf(type: string): string {
  const id = Object.entries(defs).find(([, schema]) => schema.properties.type?.const === type)?.[0];
  if (!id) throw new Error(`no schema for ${type}`);
  return id;
}

describe('docs/events.schema.json', () => {
  const events = producedEvents();

  it('names the version it describes and tells events apart by `type`', () => {
    expect(check.schema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'urn:hashdrop:file-events:v1',
      title: 'hashdrop file events, version 1',
    });
    expect(check.schema.oneOf).toEqual(FILE_EVENT_TYPES.map((type) => ({ $ref: `#/$defs/${idOf(type)}` })));
  });

  it('accepts every event the producer makes, and their envelopes', () => {
    // Every type and every failure code is among them.
    expect(new Set(events.map((event) => event.type))).toEqual(new Set(FILE_EVENT_TYPES));
    const failures = events.flatMap((event) => (event.type === 'upload.failed' ? [event.failure] : []));
    expect(new Set(failures)).toEqual(new Set(['content_mismatch', 'size_mismatch', 'upload_abandoned', 'upload_superseded']));
    expect(events.some((event) => 'contentType' in event && 'replacedContentId' in event)).toBe(true);
    for (const event of events) {
      expect(check.event(event), JSON.stringify(event)).toBeUndefined();
      expect(check.definition('FileEventEnvelope', envelopeOf(event))).toBeUndefined();
      expect(check.definition(`${idOf(event.type)}Envelope`, envelopeOf(event))).toBeUndefined();
      expect(check.envelope(envelopeOf(event))).toBeUndefined();
    }
  });

  it('documents every field the producer sends (the schema itself lets consumers ignore more)', () => {
    for (const event of events) {
      const documented = Object.keys(defs[idOf(event.type)]?.properties ?? {});
      expect(
        Object.keys(event).filter((key) => !documented.includes(key)),
        event.type,
      ).toEqual([]);
    }
  });

  it('refuses an unknown type, a missing or malformed field, another version', () => {
    const [completed] = events;
    const deleted = events.find((event) => event.type === 'file.deleted');
    if (!completed || !deleted) throw new Error('no events');
    expect(check.event({ ...completed, type: 'file.created' })).toBeDefined();
    const { size: _size, ...sizeless } = deleted;
    expect(check.event(sizeless)).toMatch(/size/);
    expect(check.event({ ...completed, deduplicated: 'no' })).toBeDefined();
    expect(check.event({ ...completed, contentId: 'abc' })).toBeDefined();
    expect(check.event({ ...completed, time: 'yesterday' })).toBeDefined();
    expect(check.event({ ...completed, version: '2' })).toBeDefined();
    expect(check.definition('FileEventEnvelope', { ...envelopeOf(completed), source: 'aws.s3' })).toBeDefined();
    expect(check.definition('FileEventEnvelope', { ...envelopeOf(completed), detail: sizeless })).toBeDefined();
    // A type's envelope holds that type only.
    expect(check.definition(`${idOf('file.deleted')}Envelope`, envelopeOf(completed))).toBeDefined();
    expect(check.envelope({ ...envelopeOf(completed), 'detail-type': 'file.deleted' })).toBeDefined();
    expect(check.envelope({ ...envelopeOf(completed), 'detail-type': 'file.created' })).toBeDefined();
  });

  it('accepts what version "1" may add, and the fields EventBridge adds to the envelope', () => {
    const [completed] = events;
    if (!completed) throw new Error('no events');
    expect(check.event({ ...completed, someNewField: 1 })).toBeUndefined();
    const eventBridge = { version: '0', account: '123456789012', region: 'eu-west-1', resources: [], ...envelopeOf(completed) };
    expect(check.definition('FileEventEnvelope', { ...eventBridge, id: 'a-uuid-of-eventbridge' })).toBeUndefined();
  });
});

describe('the webhooks of docs/openapi.yaml', () => {
  it('one per event type, its body that type’s envelope', () => {
    const document = contractDocument() as {
      webhooks: Record<string, { post: { requestBody: { content: { 'application/json': { schema: { $ref: string } } } } } }>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(document.webhooks)).toEqual([...FILE_EVENT_TYPES]);
    for (const type of FILE_EVENT_TYPES) {
      const body = document.webhooks[type]?.post.requestBody.content['application/json'].schema;
      expect(body).toEqual({ $ref: `#/components/schemas/${idOf(type)}Envelope` });
      expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining([idOf(type), `${idOf(type)}Envelope`]));
    }
  });
});
