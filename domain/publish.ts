/**
 * Publishing a stored object (docs/design.md §1, the S3 event path): verify that its bytes are the
 * content they claim to be, then make the content READY and complete its uploader's file (with
 * proofs of ownership off, every file waiting for it).
 *
 * Runs for every S3 ObjectCreated event and for a client's synchronous completion, so it must be
 * idempotent and safe under duplicate, late and concurrent calls: invariant 5 (docs/design.md).
 * Nothing becomes READY unless its bytes are proven to match its id: invariant 1 (docs/design.md).
 */
import { blockCount } from '#protocol/content-id';
import { UnexpectedLengthError } from '#protocol/tree-hash';
import { contentIdFromS3Checksum, hashStream } from './hashing.ts';
import { parseObjectKey } from './object-keys.ts';
import type { ContentRecord, Deps, StoredObject } from './ports.ts';

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
      if (content.objectKey === key) {
        if (content.state === 'READY' && !proofRequired(deps)) await completeWaitingFiles(deps, content.contentId);
        return 'ready';
      }
      await deps.blobs.delete(key);
      return 'duplicate';
    }

    const stored = await deps.blobs.head(key);
    if (!stored) return 'missing';
    const verdict = await verifyObject(deps, key, stored, content);
    if (!verdict.ok && verdict.reason === 'object_missing') return 'missing';
    const now = deps.now();
    if (verdict.ok) {
      // Lost the race to another verified object (or a concurrent publish of this one): re-read.
      if (!(await deps.catalog.markReady(content.contentId, key, now))) continue;
      const superseded = content.attempt;
      if (superseded && superseded.objectKey !== key && superseded.multipartUploadId) {
        await deps.blobs.abortMultipartUpload(superseded.objectKey, superseded.multipartUploadId);
      }
      if (!proofRequired(deps)) await completeWaitingFiles(deps, content.contentId);
      else if (superseded?.id === parsed.attemptId) {
        // Sending bytes that verify is a proof of ownership; waiting for someone else's is not:
        // the other waiting files prove theirs when they next ask (domain/uploads.ts).
        await deps.catalog.completeFile(superseded.owner, content.contentId, now);
      }
      return 'ready';
    }
    // The attempt is failed before its object is deleted, so that whoever finds the object gone
    // (a concurrent completion) also finds the file failed. Each attempt writes its own key:
    // deleting this object can only undo the attempt that wrote it.
    if (content.attempt?.id === parsed.attemptId) {
      await deps.catalog.failAttempt(content, content.attempt, verdict.reason, now);
      await deps.catalog.deleteUnreferencedPending(content.contentId);
    }
    await deps.blobs.delete(key);
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

/** Whether files must prove they hold a content's bytes before they complete (docs/design.md §4). */
export const proofRequired = (deps: Pick<Deps, 'settings'>): boolean => deps.settings.proofMode !== 'off';

/**
 * PENDING → COMPLETE for every file waiting for a READY content; each step is idempotent. Only
 * without proofs of ownership: with them, a waiting file completes by proving or uploading.
 */
export async function completeWaitingFiles(deps: Deps, contentId: string): Promise<number> {
  const waiting = await deps.catalog.pendingFiles(contentId);
  let completed = 0;
  for (let start = 0; start < waiting.length; start += COMPLETION_CONCURRENCY) {
    const batch = waiting.slice(start, start + COMPLETION_CONCURRENCY);
    const results = await Promise.all(batch.map((file) => deps.catalog.completeFile(file, contentId, deps.now())));
    completed += results.filter(Boolean).length;
  }
  return completed;
}
