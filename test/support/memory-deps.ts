/**
 * The domain on the in-memory adapters, with a clock the test moves: decision tables and races in
 * milliseconds, without Java or a local stack. Also what a client does around the domain calls
 * (hash the bytes, answer a challenge, send the bytes to storage), so that tests read as flows.
 */
import { createHash } from 'node:crypto';
import { MemoryBlobStore } from '#adapters/memory-blob-store';
import { MemoryCatalog } from '#adapters/memory-catalog';
import { MemoryRateLimiter } from '#adapters/memory-rate-limiter';
import { type ReadableTelemetry, silentTelemetry } from '#adapters/telemetry';
import { BUCKET, DEFAULTS } from '#deploy/definitions';
import { hashBuffer } from '#domain/hashing';
import type { CompletedPart, Deps, Settings } from '#domain/ports';
import { publishObject } from '#domain/publish';
import { completeUpload, requestUpload } from '#domain/uploads';
import type { UploadView } from '#protocol/api';
import { blockRange } from '#protocol/content-id';

/** Where every test clock starts: a fixed instant, so that no test depends on the wall clock. */
export const EPOCH = Date.UTC(2026, 0, 1);

export const SECOND = 1000;

export class ManualClock {
  private current: number;

  constructor(start = EPOCH) {
    this.current = start;
  }

  readonly now = (): number => this.current;

  advance(ms: number): void {
    this.current += ms;
  }
}

export const DEFAULT_SETTINGS: Settings = {
  uploadUrlTtlSeconds: DEFAULTS.uploadUrlTtlSeconds,
  downloadUrlTtlSeconds: DEFAULTS.downloadUrlTtlSeconds,
  attemptLeaseSeconds: DEFAULTS.attemptLeaseSeconds,
  maxPartsPerBatch: DEFAULTS.maxPartsPerBatch,
  uploadTtlSeconds: DEFAULTS.uploadTtlSeconds,
  gcGraceSeconds: DEFAULTS.gcGraceSeconds,
  defaultQuotaBytes: DEFAULTS.defaultQuotaBytes,
  requestsPerMinute: DEFAULTS.requestsPerMinute,
  proofMode: 'on-hit',
  proofTtlSeconds: DEFAULTS.proofTtlSeconds,
  proofPeriodSeconds: DEFAULTS.proofPeriodSeconds,
  proofFailuresPerUser: DEFAULTS.proofFailuresPerUser,
  proofFailuresPerContent: DEFAULTS.proofFailuresPerContent,
};

export interface MemoryWorld {
  readonly deps: Deps;
  readonly catalog: MemoryCatalog;
  readonly blobs: MemoryBlobStore;
  readonly clock: ManualClock;
  /** What the domain counted and logged (nothing is printed). */
  readonly telemetry: ReadableTelemetry;
}

export interface MemoryWorldOptions {
  readonly settings?: Partial<Settings>;
  /** Deliver the bucket's ObjectCreated events to publishObject, as the object-created handler does (default: yes). */
  readonly deliverEvents?: boolean;
  readonly beforeWrite?: (method: string) => void | Promise<void>;
}

export function memoryWorld(options: MemoryWorldOptions = {}): MemoryWorld {
  const clock = new ManualClock();
  const catalog = new MemoryCatalog({ clock: clock.now, ...(options.beforeWrite ? { beforeWrite: options.beforeWrite } : {}) });
  const blobs = new MemoryBlobStore({ clock: clock.now });
  let ids = 0;
  const telemetry = silentTelemetry();
  const deps: Deps = {
    catalog,
    blobs,
    settings: { ...DEFAULT_SETTINGS, ...options.settings },
    limiter: new MemoryRateLimiter(),
    now: clock.now,
    // 32 hex digits, as domain/ids.ts makes them: upload refs and object keys require that form.
    newId: () => (++ids).toString(16).padStart(32, '0'),
    proofSecret: async () => new Uint8Array(32).fill(7),
    telemetry,
  };
  if (options.deliverEvents !== false) {
    blobs.onObjectCreated((key) => (key.startsWith(BUCKET.blobPrefix) ? publishObject(deps, key) : undefined));
  }
  return { deps, catalog, blobs, clock, telemetry };
}

/** What a client knows of its bytes before it asks. */
export interface LocalFile {
  readonly bytes: Uint8Array;
  readonly size: number;
  readonly contentId: string;
  /** Hex SHA-256 of every block. */
  readonly blockDigests: string[];
}

export function localFile(bytes: Uint8Array): LocalFile {
  const tree = hashBuffer(bytes);
  return {
    bytes,
    size: bytes.length,
    contentId: tree.contentId,
    blockDigests: tree.blockDigests.map((digest) => Buffer.from(digest).toString('hex')),
  };
}

/** The answer a client that holds the bytes gives to a challenge (sdk/files.ts answerChallenge). */
export function answerChallenge(bytes: Uint8Array, ranges: readonly { start: number; length: number }[]): string {
  const hash = createHash('sha256');
  for (const range of ranges) hash.update(bytes.subarray(range.start, range.start + range.length));
  return hash.digest('hex');
}

export function requestFor(file: LocalFile, name: string) {
  return { name, size: file.size, contentId: file.contentId, blockDigests: file.blockDigests };
}

/** Asks to upload; a challenge is answered from the bytes, as the SDK does. */
export async function ask(world: MemoryWorld, userId: string, name: string, file: LocalFile): Promise<UploadView> {
  const view = await requestUpload(world.deps, userId, requestFor(file, name));
  if (view.status !== 'challenge') return view;
  const proof = { token: view.challenge.token, sha256: answerChallenge(file.bytes, view.challenge.ranges) };
  return requestUpload(world.deps, userId, { ...requestFor(file, name), proof });
}

/**
 * Sends the bytes a permit asks for to storage, as a client does; returns the parts to complete
 * with. `body` lets a test send other bytes than the file's (a dishonest or corrupted client).
 */
export async function sendBytes(
  world: MemoryWorld,
  view: Extract<UploadView, { status: 'upload' }>,
  file: LocalFile,
  body: (partNumber: number, bytes: Uint8Array) => Uint8Array = (_, bytes) => bytes,
): Promise<CompletedPart[]> {
  const parts: CompletedPart[] = [];
  for (const permit of view.permit.parts) {
    const range = blockRange(file.size, permit.partNumber);
    const response = await world.blobs.send(
      { url: permit.url, method: permit.method, headers: permit.headers },
      body(permit.partNumber, file.bytes.subarray(range.start, range.end)),
    );
    if (response.status !== 200) throw new Error(`storage refused part ${permit.partNumber}: ${response.code}`);
    const sha256 = permit.headers['x-amz-checksum-sha256'] ?? '';
    parts.push({ partNumber: permit.partNumber, etag: response.headers.etag ?? '', sha256 });
  }
  return parts;
}

/**
 * The whole client flow: ask, send the bytes if asked to, complete; and, as the SDK does, ask
 * again (answering its challenge) when a completion of a shared upload says to at once.
 */
export async function upload(world: MemoryWorld, userId: string, name: string, file: LocalFile): Promise<UploadView> {
  const view = await ask(world, userId, name, file);
  if (view.status !== 'upload') return view;
  const parts = await sendBytes(world, view, file);
  const done = await completeUpload(world.deps, userId, view.uploadId, view.permit.mode === 'multipart' ? parts : undefined);
  await world.blobs.eventsSettled();
  return done.status === 'pending' && done.retryAfterSeconds === 0 ? ask(world, userId, name, file) : done;
}

/** Narrows a view to the status a test expects, with a readable failure otherwise. */
export function expectStatus<S extends UploadView['status']>(view: UploadView, status: S): Extract<UploadView, { status: S }> {
  if (view.status !== status) throw new Error(`expected status ${status}, got ${JSON.stringify(view)}`);
  return view as Extract<UploadView, { status: S }>;
}
