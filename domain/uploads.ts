/**
 * The upload protocol (docs/design.md §1): the dedup decision, reservations, permits and completion.
 *
 * A request for (user, name, contentId) ends in one of three ways:
 * - the content is READY: the file is linked at once (a hit: no bytes travel);
 * - the content is unknown: it is reserved with an upload attempt, and the caller gets a permit;
 * - the content is PENDING under another file's attempt: the file joins it and waits. Only one
 *   attempt uploads a content at a time, so concurrent requesters send its bytes once; if that
 *   attempt fails or its lease runs out, the next request of a waiting file takes it over.
 *
 * Every write is conditional on what was read; a lost race re-reads and decides again.
 */
import type { CompletedPart, PartDigest, PartPermit, UploadPermit, UploadRequest, UploadView } from '#protocol/api';
import { blockCount, blockSize, isMultipart } from '#protocol/content-id';
import { hexToBase64, hexToBytes } from '#protocol/encoding';
import { BusyError, ConflictError, NotFoundError, QuotaExceededError, ValidationError } from './errors.ts';
import { quotaBytesOf } from './files.ts';
import { contentIdFromBlockDigests } from './hashing.ts';
import { objectKeyFor } from './object-keys.ts';
import type { ContentRecord, Deps, FileOwner, FileRecord, QuotaGuard, UploadAttempt, Usage } from './ports.ts';
import { checkChallenge, issueChallenge, verifyProof } from './proof.ts';
import { proofRequired, publishObject } from './publish.ts';
import { withRetries } from './retries.ts';
import { decodeUploadRef, encodeUploadRef, fileView } from './views.ts';

export function requestUpload(deps: Deps, userId: string, request: UploadRequest): Promise<UploadView> {
  checkDigestList(request);
  // A proof is checked (and its challenge consumed) once; a decision decided again after a lost
  // race must not refuse it as a replay.
  const proven = new Set<string>();
  return withRetries(() => decide(deps, userId, request, proven));
}

/** The digests a client sends must be a prefix of the file's blocks; all of them must match the id. */
function checkDigestList(request: UploadRequest): void {
  const count = blockCount(request.size);
  if (request.blockDigests.length > count) {
    throw new ValidationError('too_many_block_digests', `a file of ${request.size} bytes has ${count} blocks`, {
      blockCount: count,
    });
  }
  if (request.blockDigests.length === count) {
    const digests = request.blockDigests.map(hexToBytes);
    if (contentIdFromBlockDigests(digests) !== request.contentId) {
      throw new ValidationError('block_digests_mismatch', 'the block digests do not hash to the contentId');
    }
  }
}

async function decide(deps: Deps, userId: string, request: UploadRequest, proven: Set<string>): Promise<UploadView> {
  const [content, existing, usage] = await Promise.all([
    deps.catalog.getContent(request.contentId),
    deps.catalog.getFile(userId, request.name),
    deps.catalog.getUsage(userId),
  ]);
  if (content && content.size !== request.size) {
    throw new ConflictError('size_mismatch', 'this contentId is stored with another size');
  }
  if (existing && existing.contentId === request.contentId && existing.state !== 'FAILED' && content) {
    // The same upload asked again: a retry, a resume, or a waiting file polling.
    return continueFile(deps, existing, content, request, proven);
  }

  // Checked before anything is written; the write itself is conditioned on the same quota, so
  // concurrent uploads cannot overshoot it together.
  const quota = checkQuota(deps, usage, request.size - (existing && existing.state !== 'FAILED' ? existing.size : 0));
  const now = deps.now();
  const file: FileRecord = {
    userId,
    name: request.name,
    contentId: request.contentId,
    size: request.size,
    state: 'PENDING',
    uploadId: deps.newId(),
    createdAt: now,
    updatedAt: now,
  };

  const proving = proofRequired(deps) && request.size > 0;
  // In 'always' mode every new file is challenged first, so that the answer to a request never
  // tells whether storage holds the content before ownership is proven; a miss then carries a
  // genuine challenge for this very request (its answer is checked once there are bytes).
  if (proving && deps.settings.proofMode === 'always') {
    if (!request.proof) return challengeFor(deps, userId, request);
    await checkChallenge(deps, userId, request, request.proof);
  }
  // A miss needs no proof: the bytes will be uploaded and verified.
  if (!content) return reserve(deps, file, existing, quota, request.blockDigests);

  switch (content.state) {
    case 'READY': {
      const challenge = await proveOwnership(deps, userId, content, request, proven);
      if (challenge) return challenge;
      const linked: FileRecord = { ...file, state: 'COMPLETE' };
      await deps.catalog.linkFile({
        file: linked,
        previous: existing,
        content: { op: 'reference', requireState: 'READY' },
        quota,
        savedBytes: linked.size,
      });
      return {
        status: 'complete',
        uploadId: encodeUploadRef(file.name, file.uploadId),
        file: fileView(linked),
        deduplicated: true,
      };
    }
    case 'PENDING':
      // Joining an upload in progress would hand over the file without any proof: a caller
      // that must prove ownership waits for the content to be READY (or for the upload to be
      // abandoned, and then uploads the bytes itself).
      if (proving && content.attempt && content.attempt.leaseUntil > deps.now()) {
        return { status: 'wait', retryAfterSeconds: POLL_SECONDS };
      }
      await deps.catalog.linkFile({ file, previous: existing, content: { op: 'reference', requireState: 'PENDING' }, quota });
      return continueFile(deps, file, content, request, proven);
    case 'DELETING':
      throw new BusyError('content_deleting', 'this content is being deleted; retry in a moment');
  }
}

/**
 * The proof-of-ownership step for a READY content (docs/design.md §4): nothing without proofs or for
 * an empty file; a challenge when the request brings no answer; else the answer is checked
 * (once per request, so a decision retried after a lost race does not count it as a replay).
 */
async function proveOwnership(
  deps: Deps,
  userId: string,
  content: ContentRecord,
  request: UploadRequest,
  proven: Set<string>,
): Promise<UploadView | undefined> {
  if (!proofRequired(deps) || content.size === 0 || !content.objectKey || proven.has(content.contentId)) return undefined;
  if (!request.proof) return challengeFor(deps, userId, content);
  await verifyProof(deps, userId, { ...content, objectKey: content.objectKey }, request.proof);
  proven.add(content.contentId);
  return undefined;
}

async function challengeFor(
  deps: Deps,
  userId: string,
  content: { readonly contentId: string; readonly size: number },
): Promise<UploadView> {
  return { status: 'challenge', challenge: await issueChallenge(deps, userId, content.contentId, content.size) };
}

/** The quota a new file of `growth` more bytes must fit in; refuses it at once if it cannot. */
function checkQuota(deps: Deps, usage: Usage, growth: number): QuotaGuard {
  const maxBytes = quotaBytesOf(deps, usage);
  if (growth > 0 && usage.bytes + growth > maxBytes) {
    throw new QuotaExceededError(maxBytes, usage.bytes, growth);
  }
  return { maxBytes, override: usage.quotaBytes };
}

/** A new content: reserve it with an attempt owned by `file`, and hand out the permit. */
async function reserve(
  deps: Deps,
  file: FileRecord,
  previous: FileRecord | undefined,
  quota: QuotaGuard,
  blockDigests: readonly string[],
): Promise<UploadView> {
  const attempt = newAttempt(deps, file);
  const record: ContentRecord = {
    contentId: file.contentId,
    size: file.size,
    state: 'PENDING',
    refCount: 1,
    attempt,
    createdAt: file.createdAt,
    updatedAt: file.createdAt,
  };
  // Storage is touched only once the reservation is won: concurrent losers cost no S3 call.
  await deps.catalog.linkFile({ file, previous, content: { op: 'create', record }, quota });
  // A single PUT needs nothing more; a multipart upload is created now and recorded.
  const active = isMultipart(file.size) ? await install(deps, file, attempt, attempt.id) : attempt;
  return uploadView(deps, file, active, blockDigestsAsParts(blockDigests));
}

/** A file that points at a content already: finish it, let it wait, resume or take over its upload. */
async function continueFile(
  deps: Deps,
  file: FileRecord,
  content: ContentRecord,
  request: UploadRequest,
  proven: Set<string>,
): Promise<UploadView> {
  const { blockDigests } = request;
  const uploadId = encodeUploadRef(file.name, file.uploadId);
  if (file.state === 'COMPLETE') return { status: 'complete', uploadId, file: fileView(file) };
  if (content.state === 'READY') {
    // A file that waited for someone else's bytes proves it holds them, like a hit.
    const challenge = await proveOwnership(deps, file.userId, content, request, proven);
    return challenge ?? settle(deps, file, { proven: true });
  }
  if (content.state === 'DELETING') throw new BusyError('content_deleting', 'this content is being deleted; retry in a moment');

  const current = content.attempt;
  if (current && sameOwner(current.owner, file)) {
    const renewed = await install(deps, file, { ...current, leaseUntil: leaseFrom(deps) }, current.id);
    return uploadView(deps, file, renewed, blockDigestsAsParts(blockDigests), { resume: true });
  }
  if (current && current.leaseUntil > deps.now()) return statusView(file);
  // The attempt failed or went silent past its lease (so none of its URLs can still write): take over.
  const attempt = await install(deps, file, newAttempt(deps, file), current?.id);
  if (current?.multipartUploadId) await deps.blobs.abortMultipartUpload(current.objectKey, current.multipartUploadId);
  return uploadView(deps, file, attempt, blockDigestsAsParts(blockDigests));
}

const leaseFrom = (deps: Deps): number => deps.now() + deps.settings.attemptLeaseSeconds * 1000;

function newAttempt(deps: Deps, file: FileRecord): UploadAttempt {
  const id = deps.newId();
  const owner: FileOwner = { userId: file.userId, name: file.name, uploadId: file.uploadId };
  return { id, objectKey: objectKeyFor(file.contentId, id), owner, leaseUntil: leaseFrom(deps) };
}

/**
 * Makes `attempt` the content's active upload in place of attempt `expectedId`, first creating
 * its S3 multipart upload if it needs one and has none yet. If the write loses a race, the
 * multipart upload it created is aborted and the race surfaces as StaleWriteError.
 */
async function install(
  deps: Deps,
  file: FileRecord,
  attempt: UploadAttempt,
  expectedId: string | undefined,
): Promise<UploadAttempt> {
  const needsUpload = isMultipart(file.size) && !attempt.multipartUploadId;
  const ready = needsUpload
    ? { ...attempt, multipartUploadId: await deps.blobs.createMultipartUpload(attempt.objectKey) }
    : attempt;
  try {
    await deps.catalog.setAttempt(file.contentId, ready, expectedId);
  } catch (error) {
    if (needsUpload && ready.multipartUploadId) await deps.blobs.abortMultipartUpload(ready.objectKey, ready.multipartUploadId);
    throw error;
  }
  return ready;
}

function sameOwner(owner: FileOwner, file: FileRecord): boolean {
  return owner.userId === file.userId && owner.name === file.name && owner.uploadId === file.uploadId;
}

function blockDigestsAsParts(blockDigests: readonly string[]): PartDigest[] {
  return blockDigests.map((sha256, index) => ({ partNumber: index + 1, sha256 }));
}

async function uploadView(
  deps: Deps,
  file: FileRecord,
  attempt: UploadAttempt,
  parts: readonly PartDigest[],
  options: { resume?: boolean } = {},
): Promise<UploadView> {
  const uploaded =
    options.resume && attempt.multipartUploadId ? await deps.blobs.listParts(attempt.objectKey, attempt.multipartUploadId) : [];
  const held = new Set(uploaded.map((part) => part.partNumber));
  const missing = parts.filter((part) => !held.has(part.partNumber)).slice(0, deps.settings.maxPartsPerBatch);
  const permit = await permitFor(deps, file.size, attempt, missing);
  return {
    status: 'upload',
    uploadId: encodeUploadRef(file.name, file.uploadId),
    file: fileView(file),
    permit: uploaded.length > 0 ? { ...permit, uploadedParts: uploaded } : permit,
  };
}

async function permitFor(deps: Deps, size: number, attempt: UploadAttempt, parts: readonly PartDigest[]): Promise<UploadPermit> {
  const ttl = deps.settings.uploadUrlTtlSeconds;
  const partCount = blockCount(size);
  const signed = await Promise.all(
    parts.map(async ({ partNumber, sha256 }): Promise<PartPermit> => {
      if (partNumber < 1 || partNumber > partCount) {
        throw new ValidationError('invalid_part_number', `part numbers run from 1 to ${partCount}`);
      }
      const checksum = hexToBase64(sha256);
      const request = attempt.multipartUploadId
        ? await deps.blobs.presignUploadPart(attempt.objectKey, attempt.multipartUploadId, partNumber, checksum, ttl)
        : await deps.blobs.presignPut(attempt.objectKey, checksum, ttl);
      return { partNumber, method: 'PUT', url: request.url, headers: request.headers };
    }),
  );
  return {
    mode: attempt.multipartUploadId ? 'multipart' : 'single',
    blockSize: blockSize(size),
    partCount,
    parts: signed,
    expiresAt: new Date(deps.now() + ttl * 1000).toISOString(),
  };
}

async function loadOwnUpload(deps: Deps, userId: string, uploadRef: string): Promise<FileRecord> {
  const ref = decodeUploadRef(uploadRef);
  const file = ref ? await deps.catalog.getFile(userId, ref.name) : undefined;
  // The same answer for a foreign, superseded or malformed id: nothing about others leaks.
  if (!ref || !file || file.uploadId !== ref.uploadId) throw new NotFoundError('upload_not_found', 'no such upload');
  return file;
}

/**
 * Without proofs of ownership, completes a PENDING file whose content turned READY (the
 * object-created handler may lag). With them, only a request that proved may do so: callers
 * that cannot prove (status, completion) just report the file as it stands.
 */
async function settle(deps: Deps, file: FileRecord, options: { proven?: boolean } = {}): Promise<UploadView> {
  if (proofRequired(deps) && !options.proven) return statusView(file);
  await deps.catalog.completeFile(file, file.contentId, deps.now());
  const current = await deps.catalog.getFile(file.userId, file.name);
  return statusView(current ?? file);
}

/** How soon a waiting client should ask again. */
const POLL_SECONDS = 1;

function statusView(file: FileRecord): UploadView {
  const uploadId = encodeUploadRef(file.name, file.uploadId);
  switch (file.state) {
    case 'COMPLETE':
      return { status: 'complete', uploadId, file: fileView(file) };
    case 'FAILED':
      return { status: 'failed', uploadId, file: fileView(file), failure: file.failure ?? 'failed' };
    case 'PENDING':
      return { status: 'pending', uploadId, file: fileView(file), retryAfterSeconds: POLL_SECONDS };
  }
}

/** GET /v1/uploads/{id}: where an upload stands. */
export async function uploadStatus(deps: Deps, userId: string, uploadRef: string): Promise<UploadView> {
  const file = await loadOwnUpload(deps, userId, uploadRef);
  if (file.state !== 'PENDING') return statusView(file);
  const content = await deps.catalog.getContent(file.contentId);
  return content?.state === 'READY' ? settle(deps, file) : statusView(file);
}

/** More presigned part URLs for the caller's own active attempt (also renews its lease). */
export async function signParts(
  deps: Deps,
  userId: string,
  uploadRef: string,
  parts: readonly PartDigest[],
): Promise<UploadView> {
  if (parts.length > deps.settings.maxPartsPerBatch) {
    throw new ValidationError('too_many_parts', `at most ${deps.settings.maxPartsPerBatch} parts per request`);
  }
  return withRetries(async () => {
    const file = await loadOwnUpload(deps, userId, uploadRef);
    const content = file.state === 'PENDING' ? await deps.catalog.getContent(file.contentId) : undefined;
    const attempt = content?.state === 'PENDING' ? content.attempt : undefined;
    if (!attempt || !sameOwner(attempt.owner, file)) {
      throw new ConflictError('upload_not_active', 'this upload holds no active permit; ask POST /v1/uploads again');
    }
    const renewed = await install(deps, file, { ...attempt, leaseUntil: leaseFrom(deps) }, attempt.id);
    return uploadView(deps, file, renewed, parts);
  });
}

/**
 * The client says its bytes are up. For a multipart upload, S3 assembles the parts (each part's
 * checksum is checked again against the one signed); then the object is verified and published
 * right here, exactly as the object-created event would, so the client learns the outcome at once.
 */
export async function completeUpload(
  deps: Deps,
  userId: string,
  uploadRef: string,
  parts: readonly CompletedPart[] | undefined,
): Promise<UploadView> {
  const file = await loadOwnUpload(deps, userId, uploadRef);
  if (file.state !== 'PENDING') return statusView(file);
  const content = await deps.catalog.getContent(file.contentId);
  if (content?.state === 'READY') return settle(deps, file);
  const attempt = content?.attempt;
  if (!content || !attempt || !sameOwner(attempt.owner, file)) {
    // The attempt ended between the two reads (most often: the object-created event has just
    // verified or rejected these bytes): the file, read again, says how.
    return statusView((await deps.catalog.getFile(userId, file.name)) ?? file);
  }

  if (attempt.multipartUploadId) {
    checkCompletedParts(parts, blockCount(content.size));
    await deps.blobs.completeMultipartUpload(attempt.objectKey, attempt.multipartUploadId, parts ?? []);
  }
  const outcome = await publishObject(deps, attempt.objectKey);
  const current = (await deps.catalog.getFile(userId, file.name)) ?? file;
  // 'missing' while still pending: nothing was uploaded. (A concurrent event may also have
  // published or rejected the object already; then the file says so.)
  if (outcome === 'missing' && current.state === 'PENDING' && current.uploadId === file.uploadId) {
    throw new ConflictError('object_not_uploaded', 'storage holds no object for this upload yet');
  }
  return statusView(current);
}

function checkCompletedParts(parts: readonly CompletedPart[] | undefined, partCount: number): void {
  if (!parts || parts.length !== partCount) {
    throw new ValidationError('invalid_parts', `a multipart completion lists all ${partCount} parts`);
  }
  parts.forEach((part, index) => {
    if (part.partNumber !== index + 1) {
      throw new ValidationError('invalid_parts', 'parts must be listed once each, in order, from 1');
    }
  });
}
