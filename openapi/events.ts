/**
 * The file events (protocol/events.ts, docs/events.md) as zod schemas, for their published
 * schema: docs/events.schema.json (JSON Schema 2020-12) and the `webhooks` of docs/openapi.yaml,
 * both written by `npm run openapi`. The types in protocol/events.ts stay the truth the producer
 * compiles against; the checks at the end of this file make the build fail when a schema here and
 * its type there stop describing the same JSON, in either direction.
 *
 * Objects are open (no `additionalProperties: false`): version "1" may gain fields and event
 * types (docs/events.md, Versioning), and an EventBridge event carries fields the local webhook's
 * envelope does not (`account`, `region`, …). A consumer validating with this schema must still
 * accept those; the producer's own events are held to the listed fields by
 * test/unit/events-schema.test.ts.
 */
import * as z from 'zod';
import {
  FILE_EVENT_SOURCE,
  FILE_EVENT_TYPES,
  FILE_EVENT_VERSION,
  type FileCompletedEvent,
  type FileDeletedEvent,
  type FileEvent,
  type FileEventEnvelope,
  type FileEventType,
  type FileRenamedEvent,
  type UploadFailedEvent,
} from '#protocol/events';
import type { Json } from './yaml.ts';

type JsonObject = { [key: string]: Json };

/** Schemas with an id become `$defs` of docs/events.schema.json and components of docs/openapi.yaml. */
export const eventRegistry = z.registry<{ id: string }>();

function named<T extends z.ZodType>(schema: T, id: string, description: string): T {
  const described = schema.describe(description);
  eventRegistry.add(described, { id });
  return described;
}

/** The published schema's identifier: it changes with the events' `version`. */
export const EVENTS_SCHEMA_ID = `urn:hashdrop:file-events:v${FILE_EVENT_VERSION}`;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const size = z.int().min(0).describe('The file’s size in bytes.');
const contentId = hex64.describe('Tree SHA-256 of the file’s bytes (protocol/content-id.ts).');
const name = z.string().describe('The file name (UTF-8, NFC, `/`-separated segments).');
const uploadId = z.string().describe('The upload’s nonce: the public upload id of the API is `base64url(name).<uploadId>`.');
const timestamp = z.iso.datetime();

/** The fields every event carries, after its `type`. */
const base = {
  version: z
    .literal(FILE_EVENT_VERSION)
    .describe(`The schema version: "${FILE_EVENT_VERSION}" until a field is removed, renamed or given another meaning.`),
  eventId: z.string().describe('The same on every delivery of one event, unique across events: deduplicate redeliveries by it.'),
  time: timestamp.describe('When the change committed (ISO 8601; to the second in AWS, to the minute on DynamoDB Local).'),
  userId: z.string().describe('The file’s owner: the `sub` of the token that made the change.'),
};

export const fileCompletedEventSchema = named(
  z.object({
    type: z.literal('file.completed'),
    ...base,
    name,
    size,
    contentId,
    contentType: z.string().optional().describe('The MIME type declared when it was uploaded.'),
    uploadId,
    deduplicated: z.boolean().describe('true: linked at once to bytes storage already held (an instant upload); none were sent.'),
    replacedContentId: hex64
      .optional()
      .describe('The content of the COMPLETE version this one replaced under the same name, if any.'),
  }),
  'FileCompletedEvent',
  'A file is COMPLETE with a new version: its upload completed, or it was linked at once to stored bytes.',
);

export const fileDeletedEventSchema = named(
  z.object({ type: z.literal('file.deleted'), ...base, name, size, contentId, uploadId }),
  'FileDeletedEvent',
  'A COMPLETE file (or the version a replacement in flight served) was deleted. Not sent for a rename’s source.',
);

export const fileRenamedEventSchema = named(
  z.object({
    type: z.literal('file.renamed'),
    ...base,
    from: name.describe('The name it had.'),
    to: name.describe('The name it has now.'),
    size,
    contentId,
    uploadId,
    replacedContentId: hex64.optional().describe('The content of the file the rename overwrote under `to`, if any.'),
  }),
  'FileRenamedEvent',
  'A COMPLETE file moved to a new name.',
);

export const uploadFailedEventSchema = named(
  z.object({
    type: z.literal('upload.failed'),
    ...base,
    name,
    size,
    contentId,
    uploadId,
    failure: z
      .string()
      .describe(
        'Why (a stable code; new ones may be added): `content_mismatch`, `size_mismatch` (its bytes were rejected), `upload_abandoned` (cancelled, swept when idle, or deleted before it completed), `upload_superseded` (another upload or a rename took its name first).',
      ),
  }),
  'UploadFailedEvent',
  'An upload ended without completing. If it replaced a file, that file is unchanged.',
);

export const fileEventSchema = named(
  z.discriminatedUnion('type', [
    fileCompletedEventSchema,
    fileDeletedEventSchema,
    fileRenamedEventSchema,
    uploadFailedEventSchema,
  ]),
  'FileEvent',
  'One change of a user’s files, told apart by `type`.',
);

/** An envelope (protocol/events.ts envelopeOf, in its order): the fields of an EventBridge event around `detail`. */
const envelope = <T extends z.ZodType, E extends z.ZodType>(detailType: T, detail: E) =>
  z.object({
    id: z
      .string()
      .describe(
        'Locally the event’s `eventId`; on EventBridge its own id, new each time hashdrop publishes the event again: deduplicate by `detail.eventId`.',
      ),
    source: z.literal(FILE_EVENT_SOURCE),
    'detail-type': detailType,
    time: timestamp.describe('The event’s `time`.'),
    detail,
  });

export const fileEventEnvelopeSchema = named(
  envelope(z.enum(FILE_EVENT_TYPES).describe('The event’s `type`.'), fileEventSchema),
  'FileEventEnvelope',
  'An event as a backend receives it: the fields of an EventBridge event (which has more: `account`, `region`, …), as POSTed to the local webhook too. `detail-type` is `detail.type`.',
);

interface EventDoc {
  readonly schema: z.ZodType;
  readonly envelope: z.ZodType;
  readonly summary: string;
}

/** Each event type's schema, its envelope's (`detail-type` fixed to it) and a webhook summary. */
function eventDoc<T extends FileEventType, S extends z.ZodType>(type: T, schema: S, summary: string) {
  const id = `${eventRegistry.get(schema)?.id ?? type}Envelope`;
  return {
    schema,
    envelope: named(envelope(z.literal(type), schema), id, `A \`${type}\` event as a backend receives it.`),
    summary,
  } satisfies EventDoc;
}

export const EVENT_DOCS = {
  'file.completed': eventDoc('file.completed', fileCompletedEventSchema, 'A file is complete with a new version'),
  'file.deleted': eventDoc('file.deleted', fileDeletedEventSchema, 'A file was deleted'),
  'file.renamed': eventDoc('file.renamed', fileRenamedEventSchema, 'A file was renamed'),
  'upload.failed': eventDoc('upload.failed', uploadFailedEventSchema, 'An upload ended without completing'),
} as const satisfies Record<FileEventType, EventDoc>;

const idOf = (schema: z.ZodType): string => {
  const id = eventRegistry.get(schema)?.id;
  if (!id) throw new Error('an event schema without an id in eventRegistry');
  return id;
};

/**
 * The registry's schemas as JSON Schema, referring to each other at `${prefix}<id>`. The webhooks
 * of the OpenAPI document need only the event types' own: redocly refuses unused components.
 */
export function eventSchemas(prefix: string, only: 'all' | 'webhooks' = 'all'): Record<string, JsonObject> {
  // `input`: what a consumer's parser accepts, so objects stay open (zod's `output` closes them).
  const { schemas } = z.toJSONSchema(eventRegistry, { target: 'draft-2020-12', io: 'input', uri: (id) => `${prefix}${id}` });
  const out: Record<string, JsonObject> = {};
  const general = new Set([fileEventSchema, fileEventEnvelopeSchema].map(idOf));
  for (const [id, schema] of Object.entries(schemas)) {
    if (only === 'webhooks' && general.has(id)) continue;
    const { $schema: _draft, $id: _id, ...rest } = schema as JsonObject;
    out[id] = rest;
  }
  return out;
}

/** docs/events.schema.json: one event (the `detail`), a `oneOf` told apart by `type`; envelopes in `$defs`. */
export function eventsJsonSchema(): JsonObject {
  const defs = eventSchemas('#/$defs/');
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: EVENTS_SCHEMA_ID,
    $comment: 'Generated by `npm run openapi` from openapi/events.ts: do not edit.',
    title: `hashdrop file events, version ${FILE_EVENT_VERSION}`,
    description: [
      `An event hashdrop publishes for an app’s backend (docs/events.md), version "${FILE_EVENT_VERSION}": the \`detail\``,
      `of an EventBridge event (source \`${FILE_EVENT_SOURCE}\`, detail-type its \`type\`) in AWS, of a webhook POST locally.`,
      'What a backend receives whole is `#/$defs/FileEventEnvelope`. Version 1 may gain fields, event types and',
      '`failure` codes: ignore what you do not know.',
    ].join(' '),
    oneOf: FILE_EVENT_TYPES.map((type) => ({ $ref: `#/$defs/${idOf(EVENT_DOCS[type].schema)}` })),
    $defs: defs,
  };
}

/** The `webhooks` of the OpenAPI document: one per event type, its body that type's envelope. */
export function eventWebhooks(ref: (id: string) => JsonObject): JsonObject {
  const webhooks: JsonObject = {};
  for (const type of FILE_EVENT_TYPES) {
    const doc = EVENT_DOCS[type];
    webhooks[type] = {
      post: {
        operationId: type.replace(/\.(\w)/, (_, letter: string) => letter.toUpperCase()),
        summary: doc.summary,
        description: [
          `${doc.schema.description ?? ''}`,
          '',
          `In AWS it arrives on Amazon EventBridge (source \`${FILE_EVENT_SOURCE}\`, detail-type \`${type}\`; the`,
          'stack’s `EventBusName` output): a rule’s target gets this body, with EventBridge’s other fields. Locally',
          '(`npm start`) it is POSTed as JSON to `HASHDROP_EVENTS_WEBHOOK_URL`. At least once: deduplicate by `detail.eventId`.',
          `JSON Schema: docs/events.schema.json (${EVENTS_SCHEMA_ID}).`,
        ].join('\n'),
        tags: ['events'],
        requestBody: { required: true, content: { 'application/json': { schema: ref(idOf(doc.envelope)) } } },
        responses: {
          '2XX': { description: 'Received. Any other answer, or none within 5 seconds, is retried (3 times locally).' },
        },
      },
    };
  }
  return webhooks;
}

// Type-level checks: each schema's JSON and its protocol type accept exactly the same values.
/** The keys of each member of a union. */
type KeysOf<T> = T extends unknown ? keyof T : never;
/**
 * Assignable both ways, and the same keys: assignability alone lets an optional field be missing
 * on either side (`{a: string}` and `{a: string; b?: string}` are assignable both ways).
 */
type Mutual<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [KeysOf<A>] extends [KeysOf<B>]
      ? [KeysOf<B>] extends [KeysOf<A>]
        ? true
        : false
      : false
    : false
  : false;
/** The envelope of one event type, as FileEventEnvelope narrowed by `detail-type`. */
type EnvelopeOf<E extends FileEvent> = Omit<FileEventEnvelope, 'detail-type' | 'detail'> & {
  readonly 'detail-type': E['type'];
  readonly detail: E;
};
type Checked = {
  FileCompletedEvent: Mutual<z.infer<typeof fileCompletedEventSchema>, FileCompletedEvent>;
  FileDeletedEvent: Mutual<z.infer<typeof fileDeletedEventSchema>, FileDeletedEvent>;
  FileRenamedEvent: Mutual<z.infer<typeof fileRenamedEventSchema>, FileRenamedEvent>;
  UploadFailedEvent: Mutual<z.infer<typeof uploadFailedEventSchema>, UploadFailedEvent>;
  FileEvent: Mutual<z.infer<typeof fileEventSchema>, FileEvent>;
  FileEventEnvelope: Mutual<z.infer<typeof fileEventEnvelopeSchema>, FileEventEnvelope>;
  'file.completed': Mutual<z.infer<(typeof EVENT_DOCS)['file.completed']['envelope']>, EnvelopeOf<FileCompletedEvent>>;
  'file.deleted': Mutual<z.infer<(typeof EVENT_DOCS)['file.deleted']['envelope']>, EnvelopeOf<FileDeletedEvent>>;
  'file.renamed': Mutual<z.infer<(typeof EVENT_DOCS)['file.renamed']['envelope']>, EnvelopeOf<FileRenamedEvent>>;
  'upload.failed': Mutual<z.infer<(typeof EVENT_DOCS)['upload.failed']['envelope']>, EnvelopeOf<UploadFailedEvent>>;
};
/** Fails to compile the moment any entry of Checked is `false`. */
export const SAME_AS_PROTOCOL: Checked = {
  FileCompletedEvent: true,
  FileDeletedEvent: true,
  FileRenamedEvent: true,
  UploadFailedEvent: true,
  FileEvent: true,
  FileEventEnvelope: true,
  'file.completed': true,
  'file.deleted': true,
  'file.renamed': true,
  'upload.failed': true,
};
