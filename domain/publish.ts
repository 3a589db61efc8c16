/**
 * Publishing a stored object (docs/design.md §1, the S3 event path): verify that its bytes are the
 * content they claim to be, then make the content READY with the size they prove, fail the files
 * that waited for it under another size, and complete its uploader's file (with proofs of
 * ownership off, every file waiting for it).
 *
 * Runs for every S3 ObjectCreated event and for a client's synchronous completion, so it must be
 * idempotent and safe under duplicate, late and concurrent calls: invariant 5 (docs/design.md).
 * Nothing becomes READY unless its bytes are proven to match its id: invariant 1 (docs/design.md).
 * A READY content's object is verified again on every event for it; bytes that no longer match
 * are never served (the content is quarantined): invariant 7.
 */
import { blockCount } from '#protocol/content-id';
import { UnexpectedLengthError } from '#protocol/tree-hash';
import { contentIdFromS3Checksum, hashStream } from './hashing.ts';
import { parseObjectKey } from './object-keys.ts';
import type { ContentRecord, Deps, FileOwner, FileRecord, StoredObject, UploadAttempt } from './ports.ts';
import { challengeMetByUpload } from './proof.ts';

export type PublishOutcome =
  /** The object is the content's verified copy (now or already). */
  | 'ready'
  /** The content is READY with another object; this one was deleted. */
  | 'duplicate'
  /** No content claims this object; it was deleted. */
  | 'orphan'
  /** The bytes do not match the claimed id; the object was deleted and its upload failed. */
  | 'rejected'
  /** The object is not (or no longer) there. */
  | 'missing'
  /** A READY content's object no longer verified: the content was quarantined (an integrity incident). */
  | 'quarantined'
  /** Not a blob key. */
  | 'ignored';

export type Verdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'size_mismatch' | 'content_mismatch' }
  /** Deleted while being verified (a concurrent publish of the same object rejected it). */
  | { readonly ok: false; readonly reason: 'object_missing' };

const MAX_ROUNDS = 4;
/** Files completed in parallel when a content turns READY. */
const COMPLETION_CONCURRENCY = 16;

export async function publishObject(deps: Deps, key: string): Promise<PublishOutcome> {
  const parsed = parseObjectKey(key);
  if (!parsed) return 'ignored';
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const content = await deps.catalog.getContent(parsed.contentId);
    if (!content) {
      // Reservations precede permits, so an object without a content is left from an upload
      // whose reservation is gone: nothing can ever point at it.
      await deps.blobs.delete(key);
      return 'orphan';
    }
    if (content.state !== 'PENDING') {
      if (content.objectKey !== key) {
        if ((content.state === 'READY' || content.state === 'QUARANTINED') && content.attempt?.objectKey === key) {
          const outcome = await publishUploadOfStored(deps, content, content.attempt);
          if (outcome) return outcome;
          continue;
        }
        await deps.blobs.delete(key);
        return 'duplicate';
      }
      if (content.state !== 'READY') return 'ready';
      // Its own object again: an event delivered twice, or bytes written again. Checked anew.
      const outcome = await recheck(deps, content, key);
      if (outcome) return outcome;
      continue;
    }

    const stored = await deps.blobs.head(key);
    if (!stored) return 'missing';
    // The bytes prove their own size: a PENDING content's size is only the reservation's claim.
    const verdict = await verifyObject(deps, key, stored, { contentId: content.contentId, size: stored.size });
    if (!verdict.ok && verdict.reason === 'object_missing') return 'missing';
    const now = deps.now();
    const attempt = content.attempt;
    if (verdict.ok) {
      // Sending bytes that verify is a proof of ownership, if one file alone had URLs for them.
      const uploader = attempt?.objectKey === key && !attempt.shared ? attempt.owner : undefined;
      // Lost the race to another verified object (or a concurrent publish of this one): re-read.
      if (!(await deps.catalog.markReady(content.contentId, key, now, stored.size, uploader && { uploadId: uploader.uploadId })))
        continue;
      deps.telemetry.metric('BytesSent', stored.size);
      deps.telemetry.log('info', 'content_ready', { contentId: content.contentId, objectKey: key, size: stored.size });
      // Each multipart upload of the attempt made this object or can never finish.
      for (const layout of attempt?.multipartUploads ?? []) {
        await deps.blobs.abortMultipartUpload(attempt?.objectKey ?? key, layout.uploadId);
      }
      await settleWaitingFiles(deps, { contentId: content.contentId, size: stored.size }, uploader);
      return 'ready';
    }
    // The attempt is failed before its object is deleted, so that whoever finds the object gone
    // (a concurrent completion) also finds the file failed. An attempt has its own key: deleting
    // this object can only undo the attempt that wrote it.
    if (attempt?.objectKey === key) {
      await deps.catalog.failAttempt(content.contentId, attempt, verdict.reason, now);
      await deps.catalog.deleteUnreferencedPending(content.contentId);
    }
    await deps.blobs.delete(key);
    deps.telemetry.metric('BytesSent', stored.size);
    deps.telemetry.metric('VerificationFailures');
    deps.telemetry.log('warn', 'object_rejected', { contentId: content.contentId, objectKey: key, reason: verdict.reason });
    return 'rejected';
  }
  throw new Error(`publishing ${key} kept racing; the event will be retried`);
}

/**
 * Proves that the stored bytes are the content: from S3's own checksum where the store keeps
 * one of the expected form, otherwise by hashing the object (s3rver and some emulators keep none).
 */
export async function verifyObject(
  deps: Pick<Deps, 'blobs'>,
  key: string,
  stored: StoredObject,
  content: Pick<ContentRecord, 'contentId' | 'size'>,
): Promise<Verdict> {
  if (stored.size !== content.size) return { ok: false, reason: 'size_mismatch' };
  const vouched = stored.checksumSha256 ? contentIdFromS3Checksum(stored.checksumSha256) : undefined;
  if (vouched && vouched.parts === blockCount(content.size)) {
    return vouched.contentId === content.contentId ? { ok: true } : { ok: false, reason: 'content_mismatch' };
  }
  const bytes = await deps.blobs.read(key);
  if (!bytes) return { ok: false, reason: 'object_missing' };
  try {
    const tree = await hashStream(bytes, content.size);
    return tree.contentId === content.contentId ? { ok: true } : { ok: false, reason: 'content_mismatch' };
  } catch (error) {
    if (error instanceof UnexpectedLengthError) return { ok: false, reason: 'size_mismatch' };
    throw error;
  }
}

/**
 * A READY content's own object, checked again. Write-once storage makes a change impossible by
 * every path hashdrop signs (docs/design.md §1); should the bytes still no longer match (or be
 * gone), they are never served: the content is quarantined (downloads and new links refuse it,
 * files keep their references) and the incident is logged for operations to alarm on. Returns
 * undefined if the content changed meanwhile (the caller reads it again).
 */
async function recheck(deps: Deps, content: ContentRecord, key: string): Promise<PublishOutcome | undefined> {
  const stored = await deps.blobs.head(key);
  const verdict: Verdict = stored ? await verifyObject(deps, key, stored, content) : { ok: false, reason: 'object_missing' };
  if (verdict.ok) {
    if (!proofRequired(deps)) await completeWaitingFiles(deps, content);
    return 'ready';
  }
  if (!(await deps.catalog.quarantine(content.contentId, key, deps.now()))) return undefined;
  deps.telemetry.metric('VerificationFailures');
  deps.telemetry.metric('IntegrityIncidents');
  // The message is the term the integrity alarm's metric filter matches (lib/constructs/monitoring.ts).
  deps.telemetry.log('error', 'integrity_incident', {
    contentId: content.contentId,
    objectKey: key,
    reason: verdict.reason,
    action: 'quarantined',
  });
  return 'quarantined';
}

/**
 * The attempt's object of a content that already has one: a READY content's proof upload, or a
 * QUARANTINED content's repair. Its bytes are verified once, against the content's proven size,
 * then settled as what they are: bytes that repair the content, or a proof upload's. Returns
 * undefined if the content changed meanwhile (the caller reads it again).
 */
async function publishUploadOfStored(
  deps: Deps,
  content: ContentRecord,
  attempt: UploadAttempt,
): Promise<PublishOutcome | undefined> {
  const key = attempt.objectKey;
  const stored = await deps.blobs.head(key);
  if (!stored) return 'missing';
  const verdict = await verifyObject(deps, key, stored, content);
  if (!verdict.ok && verdict.reason === 'object_missing') return 'missing';
  if (verdict.ok && content.state === 'QUARANTINED') return publishRepair(deps, content, attempt);
  return settleProofUpload(deps, content, attempt, verdict);
}

/**
 * A proof upload ('always' mode, docs/design.md §4): the bytes of a stored content, sent by a file
 * whose answer to its challenge proved nothing (or a repair's bytes that did not verify). If they
 * verify, they complete that file (sending them is the proof) and meet its challenge; if not, the
 * file fails. Either way the upload ends and its object is deleted: storage keeps the content's
 * one object.
 */
async function settleProofUpload(
  deps: Deps,
  content: ContentRecord,
  attempt: UploadAttempt,
  verdict: Exclude<Verdict, { readonly reason: 'object_missing' }>,
): Promise<PublishOutcome> {
  const key = attempt.objectKey;
  const now = deps.now();
  const { owner } = attempt;
  if (verdict.ok) {
    await deps.catalog.completeFile(owner, content.contentId, now);
    await challengeMetByUpload(deps, owner.userId, content);
    await deps.catalog.endAttempt(content.contentId, attempt.id, now);
  } else {
    await deps.catalog.failAttempt(content.contentId, attempt, verdict.reason, now);
  }
  for (const layout of attempt.multipartUploads ?? []) await deps.blobs.abortMultipartUpload(key, layout.uploadId);
  await deps.blobs.delete(key);
  return verdict.ok ? 'duplicate' : 'rejected';
}

/**
 * A repair (docs/design.md §1): verified bytes of a QUARANTINED content, uploaded into the attempt
 * every file waiting for it shares. They become the content's object and it is READY again, its
 * owners' files downloadable, and the bytes that failed their check are deleted; the files that
 * waited settle as for any upload that made a content READY (the one that sent the bytes alone,
 * unshared, completes: sending them is the proof). Returns undefined if the content changed
 * meanwhile (the caller reads it again).
 */
async function publishRepair(deps: Deps, content: ContentRecord, attempt: UploadAttempt): Promise<PublishOutcome | undefined> {
  const key = attempt.objectKey;
  const badKey = content.objectKey;
  const now = deps.now();
  if (!badKey || !(await deps.catalog.repairQuarantined(content.contentId, badKey, attempt.id, key, now))) return undefined;
  // A warning, not an error: nothing is wrong any more, but an operator who saw the incident wants to know.
  deps.telemetry.log('warn', 'integrity_repaired', { contentId: content.contentId, objectKey: key, replaced: badKey });
  for (const layout of attempt.multipartUploads ?? []) await deps.blobs.abortMultipartUpload(key, layout.uploadId);
  await deps.blobs.delete(badKey);
  await settleWaitingFiles(deps, content, attempt.shared ? undefined : attempt.owner);
  return 'ready';
}

/** Whether files must prove they hold a content's bytes before they complete (docs/design.md §4). */
export const proofRequired = (deps: Pick<Deps, 'settings'>): boolean => deps.settings.proofMode !== 'off';

/** A waiting file of a size the stored bytes disproved: it fails, releasing its reference and usage. */
export const failForSize = (deps: Deps, file: FileRecord): Promise<boolean> =>
  deps.catalog.failPendingFile(file, 'size_mismatch', deps.now());

/** Runs `step` over `items`, COMPLETION_CONCURRENCY at a time; counts the steps that returned true. */
async function countInBatches<T>(items: readonly T[], step: (item: T) => Promise<boolean>): Promise<number> {
  let done = 0;
  for (let start = 0; start < items.length; start += COMPLETION_CONCURRENCY) {
    const results = await Promise.all(items.slice(start, start + COMPLETION_CONCURRENCY).map(step));
    done += results.filter(Boolean).length;
  }
  return done;
}

/**
 * Once a content is READY with the size its bytes proved: every file waiting for it under another
 * size fails; without proofs the others complete; with proofs only its uploader does (a shared
 * upload has none: it proves nothing of any one sender): the others prove theirs when they next
 * ask (domain/uploads.ts). Whoever reads the content READY first may complete the uploader (a
 * request of its own may come before this does): every step is idempotent.
 */
async function settleWaitingFiles(
  deps: Deps,
  content: Pick<ContentRecord, 'contentId' | 'size'>,
  uploader: FileOwner | undefined,
): Promise<void> {
  await completeWaitingFiles(deps, content);
  if (!proofRequired(deps) || !uploader) return;
  const file = await deps.catalog.getFile(uploader.userId, uploader.name);
  if (file?.state !== 'PENDING' || file.uploadId !== uploader.uploadId || file.contentId !== content.contentId) return;
  if (file.size !== content.size) {
    await failForSize(deps, file);
    return;
  }
  await deps.catalog.completeFile(uploader, content.contentId, deps.now());
  // 'always' mode showed the uploader a challenge for this content: its bytes met it.
  if (deps.settings.proofMode === 'always') await challengeMetByUpload(deps, uploader.userId, content);
}

/** Whether `file` is the one whose own, unshared upload stored a READY content's bytes (ContentRecord.uploader). */
export function uploadedBy(content: Pick<ContentRecord, 'uploader'>, file: Pick<FileRecord, 'uploadId'>): boolean {
  // Upload nonces are the server's, random and unique: no other file, of any user, carries this one.
  return content.uploader !== undefined && content.uploader.uploadId === file.uploadId;
}

/**
 * For every file waiting for a READY content: one of another size fails (its claim is false);
 * the others complete, only without proofs of ownership (with them, a waiting file completes by
 * proving or uploading). Each step is idempotent. Returns how many completed.
 */
export async function completeWaitingFiles(deps: Deps, content: Pick<ContentRecord, 'contentId' | 'size'>): Promise<number> {
  const waiting = await deps.catalog.pendingFiles(content.contentId);
  await countInBatches(
    waiting.filter((file) => file.size !== content.size),
    (file) => failForSize(deps, file),
  );
  if (proofRequired(deps)) return 0;
  return countInBatches(
    waiting.filter((file) => file.size === content.size),
    (file) => deps.catalog.completeFile(file, content.contentId, deps.now()),
  );
}
