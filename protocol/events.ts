/**
 * The events hashdrop publishes for an app's backend (docs/events.md): on Amazon EventBridge in
 * AWS (source `hashdrop`, detail-type the event's `type`, detail this JSON), and to a webhook
 * locally. The JSON Schema (docs/events.schema.json) is generated from openapi/events.ts, which
 * the type checker holds to these types.
 *
 * Versioning: `version` changes only for a change a consumer could trip on (a field removed,
 * renamed or given another meaning); new fields and new event types keep version "1".
 */

export const FILE_EVENT_VERSION = '1';

/** EventBridge `Source` of every event (the webhook's `source` too). */
export const FILE_EVENT_SOURCE = 'hashdrop';

export const FILE_EVENT_TYPES = ['file.completed', 'file.deleted', 'file.renamed', 'upload.failed'] as const;
export type FileEventType = (typeof FILE_EVENT_TYPES)[number];

interface EventBase {
  readonly version: typeof FILE_EVENT_VERSION;
  /**
   * The same for every delivery of one event (derived from the change it reports), unique across
   * events: a consumer deduplicates redeliveries by it.
   */
  readonly eventId: string;
  /** When the change was committed (ISO 8601, to the second). */
  readonly time: string;
  /** The file's owner: the `sub` of the token that made it. */
  readonly userId: string;
}

/** A file is COMPLETE with a new version: uploaded, or linked at once to stored bytes. */
export interface FileCompletedEvent extends EventBase {
  readonly type: 'file.completed';
  readonly name: string;
  readonly size: number;
  readonly contentId: string;
  readonly contentType?: string;
  /** The upload's nonce (the public upload id is `base64url(name).uploadId`). */
  readonly uploadId: string;
  /** true: linked at once to bytes storage already held (an instant upload); none were sent. */
  readonly deduplicated: boolean;
  /** The content of the COMPLETE version this one replaced under the same name, if any. */
  readonly replacedContentId?: string;
}

/** A COMPLETE file was deleted (a rename's source is not: that is `file.renamed`). */
export interface FileDeletedEvent extends EventBase {
  readonly type: 'file.deleted';
  readonly name: string;
  readonly size: number;
  readonly contentId: string;
  readonly uploadId: string;
}

/** A COMPLETE file moved to a new name. */
export interface FileRenamedEvent extends EventBase {
  readonly type: 'file.renamed';
  readonly from: string;
  readonly to: string;
  readonly size: number;
  readonly contentId: string;
  readonly uploadId: string;
  /** The content of the file the rename overwrote under `to`, if any. */
  readonly replacedContentId?: string;
}

/**
 * An upload ended without completing. `failure`: `content_mismatch`, `size_mismatch` (its bytes
 * were rejected), `upload_abandoned` (cancelled, swept when idle, or its file deleted before it
 * completed), `upload_superseded` (another upload or a rename took its name first).
 */
export interface UploadFailedEvent extends EventBase {
  readonly type: 'upload.failed';
  readonly name: string;
  readonly size: number;
  readonly contentId: string;
  readonly uploadId: string;
  readonly failure: string;
}

export type FileEvent = FileCompletedEvent | FileDeletedEvent | FileRenamedEvent | UploadFailedEvent;

/**
 * An event as a webhook receives it: the fields of an EventBridge event a rule's target gets, so
 * that one parser serves both.
 */
export interface FileEventEnvelope {
  readonly id: string;
  readonly source: typeof FILE_EVENT_SOURCE;
  readonly 'detail-type': FileEventType;
  readonly time: string;
  readonly detail: FileEvent;
}

export const envelopeOf = (event: FileEvent): FileEventEnvelope => ({
  id: event.eventId,
  source: FILE_EVENT_SOURCE,
  'detail-type': event.type,
  time: event.time,
  detail: event,
});
