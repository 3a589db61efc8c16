/**
 * File events POSTed to a URL, one request per event, in order, each body the event's envelope
 * (protocol/events.ts: the fields of an EventBridge event). The local stack's functions deliver to
 * its event bus stand-in this way (local/event-bus.ts), and the stand-in to an app's webhook.
 * An answer other than 2xx, or none within the timeout, fails that event and every later one.
 */
import { EventDeliveryError } from '#domain/errors';
import type { EventSink } from '#domain/ports';
import { envelopeOf, type FileEvent } from '#protocol/events';

export class WebhookEventSink implements EventSink {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 5000,
  ) {}

  async publish(events: readonly FileEvent[]): Promise<void> {
    for (const [index, event] of events.entries()) {
      const unsent = events.slice(index).map((later) => later.eventId);
      let status: number;
      try {
        const response = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(envelopeOf(event)),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        status = response.status;
        // Drained, so that the connection can be reused.
        await response.arrayBuffer();
      } catch (error) {
        throw new EventDeliveryError(unsent, `webhook ${this.url} unreachable`, { cause: error });
      }
      if (status < 200 || status > 299) throw new EventDeliveryError(unsent, `webhook ${this.url} answered ${status}`);
    }
  }
}

/** One readable line per event, e.g. `event file.completed alice a.bin size=10 deduplicated=false …`. */
export function describeEvent(event: FileEvent): string {
  const { type, userId, version: _v, eventId, time: _t, ...fields } = event;
  const details = Object.entries(fields)
    .filter(([key]) => key !== 'type')
    .map(([key, value]) => `${key}=${typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : String(value)}`);
  return `event ${type} user=${userId} ${details.join(' ')} eventId=${eventId}`;
}

/** Prints each event readably (the local stack's event bus stand-in shows every event it gets). */
export class PrintingEventSink implements EventSink {
  constructor(private readonly print: (line: string) => void = (line) => console.info(line)) {}

  async publish(events: readonly FileEvent[]): Promise<void> {
    for (const event of events) this.print(describeEvent(event));
  }
}
