/**
 * The stores the domain works with, as interfaces. Adapters (adapters/) implement them on
 * DynamoDB and S3; the domain never imports an AWS SDK.
 */

import type { ByteRange, CompletedPart, FileState, StoredPart } from '#protocol/api';
import type { FileEvent } from '#protocol/events';

export type { ByteRange, CompletedPart, FileState, StoredPart };

/**
 * QUARANTINED: a READY content whose stored bytes failed a later check (an integrity incident,
 * docs/design.md §1): never served again, its files keep their references until an operator acts.
 */
export type ContentState = 'PENDING' | 'READY' | 'DELETING' | 'QUARANTINED';

export interface FileOwner {
  readonly userId: string;
  readonly name: string;
  /** The file's upload nonce: identifies this upload among successive ones under the same name. */
  readonly uploadId: string;
}

/** An S3 multipart upload of an attempt, for the part layout of one block size (docs/design.md §1). */
export interface MultipartLayout {
  readonly blockSize: number;
  readonly uploadId: string;
  /**
   * Epoch ms when it was created: past MULTIPART_UPLOAD_LIFETIME_DAYS the bucket's lifecycle rule
   * has aborted it (domain/uploads.ts). Absent on layouts made before it was recorded.
   */
  readonly createdAt?: number;
}

/**
 * The upload of a content's bytes while it is PENDING (docs/design.md §1, §3). Every part URL is
 * signed for the digest of its own block, taken from `blockDigests`, and for its exact length, so
 * storage can only ever hold the content's true blocks: the attempt is shared by every file that
 * uploads the content, and none can spoil another's parts.
 */
export interface UploadAttempt {
  /** Changes with every change of the attempt: the condition of the next one (Catalog.setAttempt). */
  readonly id: string;
  /** `blobs/<contentId>/<id of the attempt's first version>`: one key for the attempt's whole life. */
  readonly objectKey: string;
  /**
   * SHA-256 of every block, 32 bytes each, in order; they hash to the content id. At most 10,000
   * blocks: 320,000 bytes, which leaves the content item (400 KB at most) room for the rest.
   */
  readonly blockDigests: Uint8Array;
  /**
   * One multipart upload per block size claimed (contents of more than one block). Claims of the
   * same block count with another block size need a layout of their own; parts of a false layout
   * can never be stored, since no bytes of its lengths have the content's digests.
   */
  readonly multipartUploads?: readonly MultipartLayout[];
  /** The file that reserved the content (or restarted the attempt); it fails if the attempt's bytes are rejected. */
  readonly owner: FileOwner;
  /**
   * Epoch ms until which the attempt is live: the sweeper leaves it alone. Set when the attempt
   * starts and renewed only when storage holds more parts than `partsSeen`: invariant 14.
   */
  readonly leaseUntil: number;
  /** Parts storage held when the lease was last set. */
  readonly partsSeen: number;
  /** Another file than the owner was given URLs: with proofs on, every file then proves ownership once READY. */
  readonly shared?: boolean;
}

export interface ContentRecord {
  readonly contentId: string;
  readonly size: number;
  readonly state: ContentState;
  /** Number of PENDING or COMPLETE files pointing at this content: invariant 2 (docs/design.md). */
  readonly refCount: number;
  /** The verified object; set when READY. */
  readonly objectKey?: string;
  /**
   * Set when READY if one file's own upload, shared with no other, stored the bytes: sending them
   * proved it holds them, so it completes without a challenge (whoever first sees it READY).
   */
  readonly uploader?: UploaderMark;
  readonly attempt?: UploadAttempt;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * Which upload stored a content's bytes: its nonce alone (random, 128 bits, made by the server),
 * which is all a later request of that upload needs to be recognised. No user id or file name:
 * the content outlives its uploader's file whenever others own it too, and an erased user must
 * leave nothing of theirs on it (domain/erase-user.ts).
 */
export interface UploaderMark {
  readonly uploadId: string;
}

export interface FileRecord {
  readonly userId: string;
  readonly name: string;
  readonly contentId: string;
  readonly size: number;
  readonly state: FileState;
  readonly uploadId: string;
  /** Why a FAILED file failed (a stable code). */
  readonly failure?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The MIME type its uploader declared (protocol/content-type.ts), if any. */
  readonly contentType?: string;
  /**
   * Only on a PENDING file that replaces a COMPLETE one under its name: that version, still
   * referenced, counted and served until this upload completes (domain/file-versions.ts, invariant 15).
   */
  readonly previous?: FileVersion;
  /**
   * Only on a COMPLETE file whose replacement failed: that upload and why, so that its id still
   * answers `failed` (the file itself went back to this version, exactly as it was).
   */
  readonly failedUpload?: FailedUpload;
  /**
   * True when the file was linked at once to bytes storage already held (an instant upload:
   * usage's `savedBytes` counts it). A file that waited PENDING for an upload (its own, one it
   * joined, or another's it waited for) is not, whoever sent the bytes: parts of a shared upload
   * are not told apart by sender. Kept by the version when an upload replaces it.
   */
  readonly deduplicated?: boolean;
  /**
   * Set by a rename on the moved file (`at` = its `updatedAt` then), until the record's next
   * change: how the Files table's stream tells a rename from an upload (domain/file-events.ts).
   */
  readonly renamed?: RenameMark;
}

export interface RenameMark {
  /** The name the file had before. */
  readonly from: string;
  /** Epoch ms of the rename. */
  readonly at: number;
}

/** A COMPLETE version of a file, kept while an upload replaces it. */
export interface FileVersion {
  readonly contentId: string;
  readonly size: number;
  readonly contentType?: string;
  readonly deduplicated?: boolean;
  readonly uploadId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface FailedUpload {
  readonly uploadId: string;
  readonly contentId: string;
  readonly size: number;
  readonly failure: string;
  readonly failedAt: number;
}

/** A content the sweeper is due to look at, with the mark that made it due (deferSweep's condition). */
export interface SweepCandidate {
  readonly content: ContentRecord;
  readonly due: number;
}

/** What a link does to the content the new file points at. */
export type ContentLink =
  | { readonly op: 'create'; readonly record: ContentRecord }
  /** QUARANTINED: a file that will upload the content's true bytes to repair it (docs/design.md §1). */
  | { readonly op: 'reference'; readonly requireState: 'READY' | 'PENDING' | 'QUARANTINED' };

export interface LinkChange {
  readonly file: FileRecord;
  /** The file under that name as read before the change; the write fails if it changed since. */
  readonly previous: FileRecord | undefined;
  readonly content: ContentLink;
  /** The user's quota as read; the write fails if it would take usage beyond it. */
  readonly quota: QuotaGuard;
  /** Bytes this link spared the user from sending (an instant upload). */
  readonly savedBytes?: number;
}

/** A user's counted files (PENDING or COMPLETE) and their logical bytes, kept with every file change. */
export interface Usage {
  readonly files: number;
  readonly bytes: number;
  /** Bytes the user did not have to send: instant uploads of contents storage held. */
  readonly savedBytes: number;
  /** The user's own quota, where one is set; else the default applies. */
  readonly quotaBytes?: number;
}

export interface QuotaGuard {
  readonly maxBytes: number;
  /** The per-user override as read (undefined: none); the write fails if it changed since. */
  readonly override: number | undefined;
}

export interface RenameChange {
  readonly from: FileRecord;
  /** The same file under its new name. */
  readonly to: FileRecord;
  /** The file the rename replaces (only when asked to overwrite), as read. */
  readonly overwritten: FileRecord | undefined;
}

/**
 * One user's proof-of-ownership challenge for one content and size in one period: all it asks
 * is derived from these (docs/design.md §4).
 */
export interface ChallengeKey {
  readonly userId: string;
  readonly contentId: string;
  readonly size: number;
  /** floor(time / proof period). */
  readonly period: number;
}

/** How many challenges may be left unmet in one period (docs/design.md §4). */
export interface ChallengeLimits {
  /** Open (shown, not met) challenges of one user, across contents. */
  readonly perUser: number;
  /** Challenges of one content shown and not met yet, nor failed: one more must wait. */
  readonly inFlightPerContent: number;
  /** Challenges of one content that failed (unmet past `staleBefore`): one more is refused. */
  readonly failedPerContent: number;
  /** Epoch ms: a challenge opened before this and still unmet has failed. */
  readonly staleBefore: number;
}

export interface FilePage {
  readonly files: FileRecord[];
  readonly cursor?: string;
}

/**
 * Contents and files. Every method that changes a reference count does so in the same atomic
 * write as the file change: invariant 2 (docs/design.md). Conditional writes that lose a race throw
 * StaleWriteError.
 */
export interface Catalog {
  getContent(contentId: string): Promise<ContentRecord | undefined>;
  getFile(userId: string, name: string): Promise<FileRecord | undefined>;
  listFiles(userId: string, options: { prefix?: string; limit: number; cursor?: string }): Promise<FilePage>;
  /**
   * Puts `file` under its name in place of `previous` (as read), in one write with the reference
   * and usage changes between the two (file-versions.ts: referenceChanges, usageChange): the
   * contents `file` references (its own, and `file.previous`) gain one, those only `previous`
   * referenced lose one.
   */
  linkFile(change: LinkChange): Promise<void>;
  /**
   * Moves a file to a new name in one write; releases every reference of a file it overwrites.
   * The same write leaves a mark that `from` moved away (renamedAway), kept a few days.
   */
  renameFile(change: RenameChange): Promise<void>;
  /**
   * Whether `file` (a record as it was removed) left its name through a rename rather than a
   * delete: a removal seen on the Files table's stream carries no link to its transaction.
   */
  renamedAway(file: FileRecord): Promise<boolean>;
  /** Deletes a file (as read) and releases its references in one write. */
  deleteFile(file: FileRecord, now: number): Promise<void>;
  getUsage(userId: string): Promise<Usage>;
  /** Sets (or with undefined, removes) a user's own quota. */
  setQuota(userId: string, quotaBytes: number | undefined): Promise<void>;
  /**
   * Erases what a user leaves besides files (domain/erase-user.ts): their usage item (counts,
   * saved bytes, own quota) and their proof-of-ownership bookkeeping (answered challenges, open
   * challenges and counts, and their looks counted against contents). Only once they have no
   * file: false, with nothing deleted, while any file is listed or the usage item counts one (a
   * file linked concurrently), so usage never undercounts a file that exists. True also when
   * there was nothing to erase (a second run). False too when `haveTime` says the caller's time is
   * short before every record is gone: a user may hold thousands of them, and the next call resumes.
   */
  deleteUserRecords(userId: string, haveTime?: () => boolean): Promise<boolean>;
  /** Records a proof-of-ownership challenge as answered; false if it was already (a replay). */
  consumeChallenge(userId: string, nonce: string, expiresAt: number): Promise<boolean>;
  /**
   * The first issue of challenge `key` in its period opens it at `now`: one more open challenge
   * for the user, and one more in flight for the content. First, the content's challenges opened
   * before `limits.staleBefore` and still unmet become failed. 'limited' if the user has
   * `perUser` open or the content `failedPerContent` failed; 'busy' if the content has
   * `inFlightPerContent` in flight (nothing changes for either). Issuing it again changes nothing
   * ('open'). Everything it writes may go once `expiresAt` has passed.
   */
  openChallenge(
    key: ChallengeKey,
    limits: ChallengeLimits,
    now: number,
    expiresAt: number,
  ): Promise<'opened' | 'open' | 'busy' | 'limited'>;
  /**
   * Counts one answer to open challenge `key`: 'limited' once `maxAnswers` were counted while it
   * was unmet (a met challenge takes any number), 'unopened' if it was never opened or has expired.
   */
  countAnswer(key: ChallengeKey, maxAnswers: number): Promise<'counted' | 'limited' | 'unopened'>;
  /** Challenge `key` was met: no longer open for its user, in flight or failed for its content. True the first time. */
  closeChallenge(key: ChallengeKey): Promise<boolean>;
  /**
   * Installs `attempt` on a PENDING content whose current attempt has id `expectedAttemptId`
   * (undefined: none). Used to take over and to extend a lease. With `ready`, the content is READY
   * or QUARANTINED instead: a proof upload (docs/design.md §4; of a QUARANTINED content, a repair,
   * §1). A content whose attempt has the expected id may be any of the three (markReady removes
   * the attempt, so no PENDING attempt outlives it).
   */
  setAttempt(
    contentId: string,
    attempt: UploadAttempt,
    expectedAttemptId: string | undefined,
    options?: { readonly ready?: boolean },
  ): Promise<void>;
  /**
   * PENDING → READY with the verified object and the size its bytes proved (a PENDING content's
   * size is only the reservation's claim). Returns false if the content was not PENDING.
   */
  markReady(contentId: string, objectKey: string, now: number, size: number, uploader?: UploaderMark): Promise<boolean>;
  /**
   * READY → QUARANTINED, if `objectKey` is still its object: its bytes failed a check after it
   * was verified. Files keep their references. Returns false if the content was not so.
   */
  quarantine(contentId: string, objectKey: string, now: number): Promise<boolean>;
  /**
   * QUARANTINED → READY with `verifiedKey`, the object of its proof upload `attemptId` whose
   * bytes verified, if the content is still quarantined with `badKey` and that attempt; the
   * attempt is removed, and the content is due for the sweeper (its last reference may have gone
   * while it was quarantined). Returns false if the content was not so.
   */
  repairQuarantined(contentId: string, badKey: string, attemptId: string, verifiedKey: string, now: number): Promise<boolean>;
  /**
   * PENDING → COMPLETE for a file still waiting for `contentId`, releasing the version it
   * replaces (file-versions.ts: completedUpload) in the same write. Returns false if it was not.
   */
  completeFile(owner: FileOwner, contentId: string, now: number): Promise<boolean>;
  /** Files waiting for a content (eventually consistent: completion is also done on read). */
  pendingFiles(contentId: string): Promise<FileRecord[]>;
  /**
   * Ends a failed attempt: removes it from the content and, if its owner file still waits for it,
   * ends that file's upload with `failure` (file-versions.ts: endedUpload: FAILED, or back to the
   * version it replaced), releasing its reference and usage.
   */
  failAttempt(contentId: string, attempt: UploadAttempt, failure: string, now: number): Promise<void>;
  /**
   * Ends the upload of a file (as read) still waiting for its content with `failure`
   * (file-versions.ts: endedUpload), releasing its reference and usage in the same write.
   * Returns false if the file changed meanwhile.
   */
  failPendingFile(file: FileRecord, failure: string, now: number): Promise<boolean>;
  /**
   * Ends the upload of a file (as read) still waiting for its content at its owner's request
   * (file-versions.ts: endedUpload: deleted, or back to the version it replaced), releasing its
   * reference and usage in the same write. Returns false if the file changed meanwhile.
   */
  cancelPendingFile(file: FileRecord, now: number): Promise<boolean>;
  /** Deletes a PENDING content that nothing references any more. Returns whether it did. */
  deleteUnreferencedPending(contentId: string): Promise<boolean>;

  // The sweeper's view (domain/sweeper.ts).
  /**
   * Contents due for the sweeper's look by `now`, and only those (docs/design.md §5): a content is
   * marked due when it is reserved and whenever it loses a reference (in the same write), and
   * keeps its mark until the sweeper moves it on or clears it (deferSweep) or the record goes.
   * So a sweep reads what may need sweeping, never the whole table, and a run cut short leaves
   * the rest due for the next one. Each is read consistently.
   */
  sweepCandidates(now: number): AsyncIterable<SweepCandidate>;
  /**
   * The sweeper found nothing to do yet: look at the content again at `until` (epoch ms), or, with
   * undefined, not before it loses a reference again. Clearing is refused unless the content is
   * READY and referenced, or QUARANTINED (which the sweeper leaves), so an unreferenced content
   * always stays due. Only if its mark is still `seenDue` (a release since then marked it anew).
   */
  deferSweep(contentId: string, seenDue: number, until: number | undefined): Promise<boolean>;
  /** Files waiting for some content whose last change is older than `before` (epoch ms). */
  stalePendingFiles(before: number): AsyncIterable<FileRecord>;
  /** Removes an attempt from its content, if it is still the content's attempt (and, if asked, expired). */
  endAttempt(contentId: string, attemptId: string, now: number, options?: { onlyIfExpired?: boolean }): Promise<boolean>;
  /**
   * Ends the upload of a PENDING file unchanged since `staleBefore` (file-versions.ts:
   * endedUpload: deleted, or back to the version it replaced) and releases its reference, unless
   * its content has a live attempt again (someone resumed): the sweeper never drops a moving
   * upload. The content may be PENDING (an abandoned upload) or READY (a waiter that never proved).
   */
  dropPendingFile(file: FileRecord, now: number, staleBefore: number): Promise<boolean>;
  /** READY → DELETING, only while nothing references the content and it has not changed since `seenUpdatedAt`. */
  beginDelete(contentId: string, seenUpdatedAt: number, now: number): Promise<boolean>;
  /** Deletes a DELETING content's record (after its object is gone). */
  deleteDeleting(contentId: string): Promise<boolean>;
}

export interface DownloadOptions {
  readonly fileName: string;
  readonly expiresInSeconds: number;
  readonly contentType?: string | undefined;
  readonly inline?: boolean;
}

export interface PresignedRequest {
  readonly url: string;
  readonly method: 'PUT' | 'GET';
  /**
   * Headers the client must send exactly as given (they are signed). An upload URL also signs
   * the body's Content-Length, which HTTP clients derive from the body: send exactly that many bytes.
   */
  readonly headers: Record<string, string>;
}

export interface StoredObject {
  readonly size: number;
  /** S3's ChecksumSHA256 when the store keeps one. */
  readonly checksumSha256?: string;
}

/** The one body a part URL accepts: its SHA-256 and its exact length are both signed. */
export interface BlockClaim {
  readonly sha256Base64: string;
  readonly length: number;
}

export interface BlobStore {
  /**
   * A presigned single PUT of exactly `block`, write-once: it signs `If-None-Match: *` (a header
   * the client must send), so it can never replace an object the key holds (412).
   */
  presignPut(key: string, block: BlockClaim, expiresInSeconds: number): Promise<PresignedRequest>;
  createMultipartUpload(key: string): Promise<string>;
  /** A presigned UploadPart of exactly `block` (S3 has no conditional UploadPart: the completion is write-once). */
  presignUploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    block: BlockClaim,
    expiresInSeconds: number,
  ): Promise<PresignedRequest>;
  /**
   * Completes a multipart upload, write-once (`If-None-Match: *`). Returns normally when the key
   * holds an object already: this completion done earlier (a retry), or another one; whichever it
   * is, it is verified before it is used.
   */
  completeMultipartUpload(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<void>;
  /**
   * The parts storage holds for a multipart upload; undefined if the upload is gone (completed,
   * aborted, or aborted by the bucket's lifecycle rule after two days).
   */
  listParts(key: string, uploadId: string): Promise<StoredPart[] | undefined>;
  /** Best effort: a missing upload is not an error. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
  head(key: string): Promise<StoredObject | undefined>;
  /**
   * Stores a document the service writes itself (a user's export, domain/erase-user.ts), write-once,
   * under a key outside the blob prefix, so no content event fires for it.
   */
  putDocument(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** The object's bytes (or those of one range of it), or undefined if it is gone. */
  read(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined>;
  delete(key: string): Promise<void>;
  /**
   * A presigned GET whose answer names `fileName` and, where given, has `contentType`; shown
   * `inline` if asked, else downloaded as an attachment.
   */
  presignGet(key: string, options: DownloadOptions): Promise<PresignedRequest>;
}

/**
 * A limit on events of one kind per user over fixed windows: at most `limit` in each window of
 * `windowSeconds`, windows aligned on multiples of it since the epoch.
 */
export interface RateLimit {
  /**
   * The kind of event counted; each name is a counter of its own. `requests` is the HTTP edge's
   * request budget (lambdas/http.ts); a use case may count anything else per user, e.g.
   * `proof-failures` or `challenges:<contentId>`.
   */
  readonly counter: string;
  /** Most events per window, at least 1 (a caller whose limit is off does not call). */
  readonly limit: number;
  readonly windowSeconds: number;
}

export type RateDecision =
  | { readonly allowed: true; readonly remaining: number }
  /** The window's limit is reached; it starts again in `retryAfterSeconds` (at least 1). */
  | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * Per-user counters over fixed windows (adapters/dynamo-rate-limiter.ts, a table of its own).
 * `take` counts one event, atomically, only while the window is below its limit, so concurrent
 * callers can never count past it, and a refused event changes nothing. To limit failures only
 * (failed proofs), `peek` before the attempt and `take` after each failure.
 */
export interface RateLimiter {
  take(userId: string, limit: RateLimit, now: number): Promise<RateDecision>;
  /** What `take` would answer now, without counting anything. */
  peek(userId: string, limit: RateLimit, now: number): Promise<RateDecision>;
}

export interface Settings {
  readonly uploadUrlTtlSeconds: number;
  readonly downloadUrlTtlSeconds: number;
  readonly attemptLeaseSeconds: number;
  readonly maxPartsPerBatch: number;
  /** An upload with no activity for this long is abandoned: the sweeper drops it. */
  readonly uploadTtlSeconds: number;
  /** How long an unreferenced content stays stored before the sweeper deletes it: invariant 3 (docs/design.md). */
  readonly gcGraceSeconds: number;
  /** Logical bytes a user may hold unless their own quota says otherwise. */
  readonly defaultQuotaBytes: number;
  /** Each user's API requests per minute beyond which the edge answers 429 (lambdas/http.ts); 0: no budget. */
  readonly requestsPerMinute: number;
  /** When a request must prove it holds the bytes (docs/design.md §4). */
  readonly proofMode: ProofMode;
  /**
   * How long a completion waits for storage to assemble a multipart upload before answering
   * `pending` (domain/uploads.ts COMPLETION_WAIT_MS by default; tests shorten it).
   */
  readonly completionWaitMs?: number;
  /** How long a proof-of-ownership challenge may be answered. */
  readonly proofTtlSeconds: number;
  /**
   * A user's challenge for a content and size is the same for a period this long: asking again
   * does not re-roll it (docs/design.md §4).
   */
  readonly proofPeriodSeconds: number;
  /** Challenges a user may leave unmet in one period, across contents, before new ones are refused (429). */
  readonly proofFailuresPerUser: number;
  /** Challenges of one content that failed (unmet 30 s after shown) in one period, across users, before new ones are refused (429). */
  readonly proofFailuresPerContent: number;
}

export type ProofMode = 'off' | 'on-hit' | 'always';

/**
 * What operations watch (docs/design.md §10). Counts unless the name starts with `Bytes`.
 * - UploadsRequested: POST /v1/uploads decisions; InstantUploads: files linked to stored bytes;
 * - BytesSent: bytes clients sent to storage (each verified or rejected object, once);
 *   BytesDeduplicated: bytes instant uploads spared their users from sending;
 * - ProofFailures: proof-of-ownership answers that did not match;
 * - TransactionConflicts, Throttles: writes DynamoDB cancelled for a conflict or throttled
 *   (each one, whether the retry then succeeded or not);
 * - VerificationFailures: objects whose bytes did not match their claim (rejected or quarantined);
 *   IntegrityIncidents: READY contents quarantined;
 * - Sweeps, SweepItemsRead, SweepCollected, SweepExpired: sweeper runs, the items each read (its
 *   cost: docs/design.md §5), contents collected and abandoned uploads ended.
 */
export type MetricName =
  | 'UploadsRequested'
  | 'InstantUploads'
  | 'BytesSent'
  | 'BytesDeduplicated'
  | 'ProofFailures'
  | 'TransactionConflicts'
  | 'Throttles'
  | 'VerificationFailures'
  | 'IntegrityIncidents'
  | 'Sweeps'
  | 'SweepItemsRead'
  | 'SweepCollected'
  | 'SweepExpired';

/** Structured fields of a log line: flat, so that CloudWatch Logs Insights and metric filters can match them. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * Metrics and structured logs, without naming a library: in Lambda, Powertools (EMF metrics, JSON
 * logs with the request id); locally and in tests, readable lines and counts kept in memory
 * (adapters/telemetry.ts). Lines carry the invocation's own fields (request id, user) besides
 * those given here.
 */
export interface Telemetry {
  metric(name: MetricName, value?: number): void;
  log(level: 'info' | 'warn' | 'error', message: string, fields?: LogFields): void;
  /** Adds `fields` to every later line of the current invocation (the user once authenticated). */
  annotate(fields: LogFields): void;
}

export interface Deps {
  readonly catalog: Catalog;
  readonly blobs: BlobStore;
  readonly settings: Settings;
  /** Per-user counters: the request budget, and any limit a use case keeps per user. */
  readonly limiter: RateLimiter;
  readonly now: () => number;
  readonly newId: () => string;
  /** The key that signs proof-of-ownership challenges; fetched once, when first needed. */
  readonly proofSecret: () => Promise<Uint8Array>;
  readonly telemetry: Telemetry;
}

/**
 * Where file events go (docs/events.md): EventBridge in AWS, a webhook locally. `publish` sends
 * every event or throws; an EventDeliveryError names the events that did not go, so that the
 * changes they report are retried and the others are not held back.
 */
export interface EventSink {
  publish(events: readonly FileEvent[]): Promise<void>;
}
