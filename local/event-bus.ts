/**
 * The local stand-in for the EventBridge bus file events go to (docs/events.md): the FileEvents
 * function POSTs each event's envelope here (adapters/webhook-events.ts) as it would PutEvents in
 * AWS; the bus prints it readably and, like a rule's target, delivers it to the app's webhook
 * (`npm start`: HASHDROP_EVENTS_WEBHOOK_URL) on its own, with a few retries, so that a backend
 * that is down holds up nothing but its own deliveries, as with EventBridge.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrintingEventSink, WebhookEventSink } from '#adapters/webhook-events';
import type { FileEventEnvelope } from '#protocol/events';

export interface LocalEventBusOptions {
  /** Where each event also goes: an app's backend. */
  readonly webhookUrl?: string | undefined;
  /** @default console.info */
  readonly print?: (line: string) => void;
}

export interface LocalEventBus {
  /** Where the FileEvents function puts events. */
  readonly url: string;
  /** Resolves once every delivery to the webhook begun so far has ended. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const DELIVERY_ATTEMPTS = 3;

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startLocalEventBus(options: LocalEventBusOptions = {}): Promise<LocalEventBus> {
  const printer = new PrintingEventSink(options.print);
  const target = options.webhookUrl ? new WebhookEventSink(options.webhookUrl) : undefined;
  const deliveries = new Set<Promise<void>>();
  const deliver = async (envelope: FileEventEnvelope) => {
    for (let attempt = 1; target && attempt <= DELIVERY_ATTEMPTS; attempt++) {
      try {
        await target.publish([envelope.detail]);
        return;
      } catch (error) {
        console.error(
          `event ${envelope.id} to ${options.webhookUrl} failed (attempt ${attempt} of ${DELIVERY_ATTEMPTS}):`,
          error,
        );
        await new Promise((done) => setTimeout(done, 250 * attempt));
      }
    }
  };
  const server = createServer((request, response) => {
    readJson(request)
      .then(async (body) => {
        const envelope = body as FileEventEnvelope;
        await printer.publish([envelope.detail]);
        const delivery = deliver(envelope).finally(() => deliveries.delete(delivery));
        deliveries.add(delivery);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      })
      .catch(() => response.writeHead(400).end());
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    async settled() {
      while (deliveries.size > 0) await Promise.all([...deliveries]);
    },
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      await closed;
    },
  };
}
