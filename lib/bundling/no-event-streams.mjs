/**
 * What every function bundle gets in place of `@smithy/core/event-streams` (BUNDLING.alias in
 * lib/constructs/bundling.ts). S3's client imports the event-stream codec statically for one
 * operation, SelectObjectContent, which hashdrop never calls: about 15 KB of every bundle, the room
 * Powertools Logger needs within the functions' 500 KB budget (bench, row 6). The SDK itself loads
 * the codec lazily for every other client; this makes S3's lazy too, and absent.
 *
 * The client's config step does what the SDK's does (resolveEventStreamSerdeConfig: the provider's
 * marshaller on the config); the marshaller refuses to be used, so an event-stream call would fail
 * loudly rather than misbehave. The bundle test runs the deployed bundles through every S3 call
 * hashdrop makes, so a change of the SDK's use of this module fails there.
 */
export const resolveEventStreamSerdeConfig = (input) =>
  Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });

function unsupported() {
  throw new Error('S3 event streams (SelectObjectContent) are left out of hashdrop bundles: lib/bundling/no-event-streams.mjs');
}

export const eventStreamSerdeProvider = () => ({ serialize: unsupported, deserialize: unsupported });

export class EventStreamSerde {
  constructor() {
    unsupported();
  }
}
