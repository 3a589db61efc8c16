/**
 * The upload protocol (docs/design.md §1): the dedup decision, reservations, permits and completion.
 *
 * A request for (user, name, contentId, size, every block's digest) ends in one of three ways:
 * - the content is READY: the file is linked at once (a hit: no bytes travel);
 * - the content is unknown: it is reserved with an upload attempt, and the caller gets a permit;
 * - the content is PENDING: an attempt is uploading it. A requester of the same size waits for
 *   that attempt during its first lease (invariant 14), so concurrent requesters send the bytes
 *   once. Otherwise (the attempt is older, or the requester claims another size) the requester joins the attempt
 *   and uploads into it too: every URL signs its block's digest from the attempt's own list and
 *   its exact length, so storage keeps only true blocks, whoever sent them, and nobody who lacks
 *   the bytes can hold up one who has them.
 *
 * Every write is conditional on what was read; a lost race re-reads and decides again.
 */
import type { CompletedPart, PartPermit, Proof, UploadPermit, UploadRequest, UploadView } from '#protocol/api';
import { blockCount, blockRange, blockSize, isMultipart } from '#protocol/content-id';
import { bytesToBase64, bytesToHex, hexToBytes } from '#protocol/encoding';
import { BusyError, ConflictError, NotFoundError, QuotaExceededError, StaleWriteError, ValidationError } from './errors.ts';
import { fallbackOf, uploadOf, usageChange } from './file-versions.ts';
import { quotaBytesOf } from './files.ts';
import { contentIdFromBlockDigests, sha256 } from './hashing.ts';
import { objectKeyFor } from './object-keys.ts';
import type {
  ContentRecord,
  Deps,
  FileOwner,
  FileRecord,
  MultipartLayout,
  QuotaGuard,
  StoredPart,
  UploadAttempt,
  Usage,
} from './ports.ts';
import { checkAnswer, issueChallenge, ProofError } from './proof.ts';
import { failForSize, proofRequired, publishObject, uploadedBy } from './publish.ts';
import { withRetries } from './retries.ts';
import { decodeUploadRef, encodeUploadRef, fileView } from './views.ts';

export async function requestUpload(deps: Deps, userId: string, request: UploadRequest): Promise<UploadView> {
  deps.telemetry.metric('UploadsRequested');
  const digests = checkDigestList(request);
  // A proof is checked (its token consumed, its answer counted) once; a decision decided again
  // after a lost race reuses the outcome rather than refuse the proof as a replay.
  const answers: Answers = new Map();
  const view = await withRetries(() => decide(deps, userId, request, digests, answers));
  const instant = view.status === 'complete' && view.deduplicated === true;
  if (instant) {
    deps.telemetry.metric('InstantUploads');
    deps.telemetry.metric('BytesDeduplicated', request.size);
  }
  deps.telemetry.log('info', 'upload_requested', {
    contentId: request.contentId,
    size: request.size,
    uploadId: 'uploadId' in view ? view.uploadId : undefined,
    status: view.status,
    instant,
  });
  return view;
}

/** SHA-256 of no bytes: the one block digest whose length is known without the bytes. */
const EMPTY_BLOCK_DIGEST = bytesToHex(sha256(new Uint8Array()));

/**
 * Every block's digest, in order, hashing to the content id (docs/design.md §1): each part URL is
 * then signed for the digest of its own block from this list, so no URL can store other bytes.
 * Returns them as the attempt keeps them: 32 bytes each, end to end.
 */
function checkDigestList(request: UploadRequest): Uint8Array {
  const count = blockCount(request.size);
  const sent = request.blockDigests.length;
  if (sent !== count) {
    const code = sent > count ? 'too_many_block_digests' : 'missing_block_digests';
    throw new ValidationError(code, `a file of ${request.size} bytes has ${count} blocks: send the digest of each`, {
      blockCount: count,
    });
  }
  const digests = request.blockDigests.map(hexToBytes);
  if (contentIdFromBlockDigests(digests) !== request.contentId) {
    throw new ValidationError('block_digests_mismatch', 'the block digests do not hash to the contentId');
  }
  // A claim of size 0 needs the empty block's digest: the one claimed length checkable without bytes.
  if (request.size === 0 && request.blockDigests[0] !== EMPTY_BLOCK_DIGEST) {
    throw new ValidationError('block_digests_mismatch', 'an empty file has one empty block');
  }
  const list = new Uint8Array(32 * count);
  for (const [index, digest] of digests.entries()) list.set(digest, 32 * index);
  return list;
}

async function decide(
  deps: Deps,
  userId: string,
  request: UploadRequest,
  digests: Uint8Array,
  answers: Answers,
): Promise<UploadView> {
  const [content, existing, usage] = await Promise.all([
    deps.catalog.getContent(request.contentId),
    deps.catalog.getFile(userId, request.name),
    deps.catalog.getUsage(userId),
  ]);
  // Stored bytes proved a READY content's size (a PENDING content's is only a claim): any other
  // size is false. The caller's own file waiting under it fails, releasing its reference.
  const proving = proofRequired(deps) && request.size > 0;
  // In 'always' mode nothing before a valid proof may depend on what storage holds (docs/design.md
  // §4): a wrong size is challenged like any claim, and its answer cannot prove anything.
  const hiding = proving && deps.settings.proofMode === 'always';
  if (content && content.state !== 'PENDING' && content.size !== request.size && !hiding) {
    if (existing?.contentId === content.contentId && existing.state === 'PENDING') {
      await deps.catalog.failPendingFile(existing, 'size_mismatch', deps.now());
    }
    throw new ConflictError('size_mismatch', 'this contentId is stored with another size');
  }
  const same = existing?.contentId === request.contentId && existing.size === request.size;
  if (existing && same && existing.state !== 'FAILED' && content) {
    // The same upload asked again: a retry, a resume, or a waiting file polling.
    return continueFile(deps, existing, content, digests, request, answers);
  }

  const now = deps.now();
  // An upload over a COMPLETE file keeps that version, served and counted, until it completes:
  // invariant 15 (docs/design.md, file-versions.ts).
  const fallback = fallbackOf(existing);
  const file: FileRecord = {
    userId,
    name: request.name,
    contentId: request.contentId,
    size: request.size,
    state: 'PENDING',
    uploadId: deps.newId(),
    createdAt: now,
    updatedAt: now,
    ...(request.contentType ? { contentType: request.contentType } : {}),
    ...(fallback ? { previous: fallback } : {}),
  };
  // A hit replaces the file at once; anything else keeps both versions until the bytes are up.
  const { previous: _replacedAtOnce, ...linked } = { ...file, state: 'COMPLETE' as const, deduplicated: true };
  // Checked before anything is written (in 'always' mode, as for a miss: nothing may depend on
  // what storage holds); the write itself is conditioned on the same quota, so concurrent
  // uploads cannot overshoot it together.
  const hit = content?.state === 'READY' && content.size === request.size && !hiding;
  const quota = checkQuota(deps, usage, usageChange(existing, hit ? linked : file).bytes);

  // In 'always' mode every new file is challenged first, and the answer is counted and its token
  // consumed whatever storage holds; one that does not prove ownership of a stored content is
  // answered like a miss (docs/design.md §4).
  if (hiding) {
    if (!request.proof) return challengeFor(deps, userId, request);
    const proven = await answerOnce(deps, userId, request, request.proof, content, answers);
    if (!proven && content && content.state !== 'PENDING') {
      return uploadToProve(deps, file, { previous: existing, quota }, content, digests);
    }
  }
  // A miss needs no proof: the bytes will be uploaded and verified.
  if (!content) return reserve(deps, file, existing, quota, digests);

  switch (content.state) {
    case 'READY': {
      const proof = await proveOwnership(deps, userId, content, request, answers);
      if (proof === 'unproven') return uploadToProve(deps, file, { previous: existing, quota }, content, digests);
      if (proof !== 'proven') return proof;
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
      // that must prove ownership waits while it is live (and proves once the content is READY),
      // or joins to upload the bytes itself.
      if (proving && !uploadOpen(deps, content, file.size)) {
        return { status: 'wait', retryAfterSeconds: POLL_SECONDS };
      }
      await deps.catalog.linkFile({ file, previous: existing, content: { op: 'reference', requireState: 'PENDING' }, quota });
      return continueFile(deps, file, content, digests, request, answers);
    case 'DELETING':
      throw new BusyError('content_deleting', 'this content is being deleted; retry in a moment');
    case 'QUARANTINED':
      // Its stored bytes failed a check: nobody can prove against them, and a client that holds
      // the true bytes repairs it by uploading them (docs/design.md §1).
      return uploadToProve(deps, file, { previous: existing, quota }, content, digests);
  }
}

/** Whether the request's proof proved ownership, per content id, once it was checked. */
type Answers = Map<string, boolean>;

/**
 * The proof-of-ownership step for a READY content (docs/design.md §4): 'proven' without proofs,
 * for an empty file, or when the request's answer matches the stored bytes; a challenge when the
 * request brings no answer; 'unproven' when it does not match, in 'always' mode (the caller
 * answers like a miss). In 'on-hit' mode the challenge told that the content is stored, and a
 * wrong answer is refused (403).
 */
async function proveOwnership(
  deps: Deps,
  userId: string,
  content: ContentRecord,
  request: UploadRequest,
  answers: Answers,
): Promise<UploadView | 'proven' | 'unproven'> {
  if (!proofRequired(deps) || content.size === 0 || !content.objectKey) return 'proven';
  if (!request.proof) return challengeFor(deps, userId, request);
  if (await answerOnce(deps, userId, request, request.proof, content, answers)) return 'proven';
  if (deps.settings.proofMode === 'always') return 'unproven';
  throw new ProofError('proof_failed', 'the answer does not match the content');
}

/**
 * Checks the request's answer once per request: counted and its token consumed whatever storage
 * holds, compared with the stored bytes only for a READY content of the request's size.
 */
async function answerOnce(
  deps: Deps,
  userId: string,
  request: UploadRequest,
  proof: Proof,
  content: ContentRecord | undefined,
  answers: Answers,
): Promise<boolean> {
  const known = answers.get(request.contentId);
  if (known !== undefined) return known;
  const objectKey = content?.state === 'READY' && content.size === request.size ? content.objectKey : undefined;
  const proven = await checkAnswer(deps, userId, request, proof, objectKey ? { objectKey } : undefined);
  answers.set(request.contentId, proven);
  return proven;
}

/**
 * 'always' mode: an answer that proves nothing about a stored content is answered like a miss
 * (docs/design.md §4). The file waits PENDING on the content with an upload of its own, a *proof
 * upload* (the READY content's attempt): once its bytes verify they complete the file and are
 * deleted (publish.ts). While another file's proof upload is live: wait, as for a miss someone is
 * uploading. A QUARANTINED content is answered the same way in every mode, except that nobody
 * waits: a *repair* upload in progress is joined (shared), as a PENDING content's is, since its
 * parts are bound to their blocks and only verified bytes repair the content (docs/design.md §1);
 * whoever holds the bytes gets in at once. A content being deleted: wait (for the moment between
 * its two deletes; then it is a miss). `link`: the file is new and still to be linked.
 */
async function uploadToProve(
  deps: Deps,
  file: FileRecord,
  link: { readonly previous: FileRecord | undefined; readonly quota: QuotaGuard } | undefined,
  content: ContentRecord,
  digests: Uint8Array,
): Promise<UploadView> {
  const current = content.attempt;
  if (content.state !== 'READY' && content.state !== 'QUARANTINED') return { status: 'wait', retryAfterSeconds: POLL_SECONDS };
  if (current && sameOwner(current.owner, file)) return uploadView(deps, file, current);
  const repair = content.state === 'QUARANTINED';
  if (current && !repair && current.leaseUntil > deps.now()) return { status: 'wait', retryAfterSeconds: POLL_SECONDS };
  if (link) {
    const reference = { op: 'reference', requireState: content.state } as const;
    await deps.catalog.linkFile({ file, previous: link.previous, content: reference, quota: link.quota });
  }
  if (current && repair) return uploadView(deps, file, current);
  const attempt = newAttempt(deps, file, digests);
  await deps.catalog.setAttempt(content.contentId, attempt, current?.id, { ready: true });
  // The lapsed proof upload it replaces was one file's own: nobody else can use its parts.
  for (const layout of current?.multipartUploads ?? []) {
    await deps.blobs.abortMultipartUpload(current?.objectKey ?? attempt.objectKey, layout.uploadId);
  }
  return uploadView(deps, file, attempt);
}

/**
 * The upload `file` may send bytes into besides a PENDING content's: a READY content's proof
 * upload if it is this file's own; a QUARANTINED content's repair upload, which every file
 * waiting for the content shares.
 */
const proofUploadOf = (content: ContentRecord | undefined, file: FileRecord): UploadAttempt | undefined => {
  if (content?.state === 'QUARANTINED' && file.contentId === content.contentId) return content.attempt;
  return content?.state === 'READY' && content.attempt && sameOwner(content.attempt.owner, file) ? content.attempt : undefined;
};

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
  digests: Uint8Array,
): Promise<UploadView> {
  const attempt = newAttempt(deps, file, digests);
  const record: ContentRecord = {
    contentId: file.contentId,
    size: file.size,
    state: 'PENDING',
    refCount: 1,
    attempt,
    createdAt: file.createdAt,
    updatedAt: file.createdAt,
  };
  // Storage is touched only once the reservation is won (uploadView creates the multipart
  // upload): concurrent losers cost no S3 call.
  await deps.catalog.linkFile({ file, previous, content: { op: 'create', record }, quota });
  return uploadView(deps, file, attempt);
}

/** A file that points at a content already: finish it, let it wait, or let it upload (resume or join). */
async function continueFile(
  deps: Deps,
  file: FileRecord,
  content: ContentRecord,
  digests: Uint8Array,
  request: UploadRequest,
  answers: Answers,
): Promise<UploadView> {
  const uploadId = encodeUploadRef(file.name, file.uploadId);
  if (file.state === 'COMPLETE') return { status: 'complete', uploadId, file: fileView(file) };
  if (content.state === 'READY') {
    // Its own proof upload ('always' mode): resumed.
    const own = proofUploadOf(content, file);
    if (own) return uploadView(deps, file, own);
    // A file that waited for someone else's bytes proves it holds them, like a hit; the one whose
    // own upload stored them has.
    const proof = uploadedBy(content, file) ? 'proven' : await proveOwnership(deps, file.userId, content, request, answers);
    if (proof === 'unproven') return uploadToProve(deps, file, undefined, content, digests);
    return proof === 'proven' ? settle(deps, file, content, { proven: true }) : proof;
  }
  if (content.state === 'DELETING') throw new BusyError('content_deleting', 'this content is being deleted; retry in a moment');
  // A repair upload, resumed or started (a waiting file whose content was quarantined since).
  if (content.state === 'QUARANTINED') return uploadToProve(deps, file, undefined, content, digests);

  const attempt = content.attempt;
  if (!attempt) {
    // The last attempt failed or was swept: this file starts another.
    const fresh = newAttempt(deps, file, digests);
    await deps.catalog.setAttempt(content.contentId, fresh, undefined);
    return uploadView(deps, file, fresh);
  }
  return mayUpload(deps, content, attempt, file) ? uploadView(deps, file, attempt) : statusView(file);
}

const leaseFrom = (deps: Deps): number => deps.now() + deps.settings.attemptLeaseSeconds * 1000;

function newAttempt(deps: Deps, file: FileRecord, blockDigests: Uint8Array): UploadAttempt {
  const id = deps.newId();
  const owner: FileOwner = { userId: file.userId, name: file.name, uploadId: file.uploadId };
  return {
    id,
    objectKey: objectKeyFor(file.contentId, id),
    blockDigests,
    owner,
    leaseUntil: leaseFrom(deps),
    partsSeen: 0,
  };
}

function sameOwner(owner: FileOwner, file: FileRecord): boolean {
  return owner.userId === file.userId && owner.name === file.name && owner.uploadId === file.uploadId;
}

/**
 * Whether a requester of `size` may upload into the content's attempt now rather than wait: when
 * there is none, when it claims another size than the reservation (one of the two claims is
 * false, and only bytes can tell which), or once the reservation is one lease old. Waiting is a
 * courtesy of the reservation's first lease, not a lock: progress renews the lease against the
 * sweeper, but not the wait, or a client holding a few real blocks could store one per lease and
 * hold an uploader off for as many leases. Joining costs at most duplicate bandwidth: every part
 * URL is bound to its block, and stored parts are listed to the joiner. Invariant 14.
 */
function uploadOpen(deps: Deps, content: ContentRecord, size: number): boolean {
  const attempt = content.attempt;
  if (!attempt || size !== content.size) return true;
  // From the reservation's creation, not the attempt's start: a squatter that cancels and asks
  // again starts a new attempt, never a new wait (a cancel leaves the reservation to the sweeper).
  return deps.now() >= content.createdAt + deps.settings.attemptLeaseSeconds * 1000;
}

/**
 * Whether `file`, waiting for the content, may have URLs: its reserver may; with proofs on, so
 * may every other waiting file (a requester that must prove gets a file only to upload, never
 * to wait: it waits with nothing written); without, a file that joined while the attempt was
 * live waits for it, unless the attempt is shared already or open (uploadOpen).
 */
function mayUpload(deps: Deps, content: ContentRecord, attempt: UploadAttempt, file: FileRecord): boolean {
  if (sameOwner(attempt.owner, file) || proofRequired(deps) || attempt.shared) return true;
  return uploadOpen(deps, content, file.size);
}

const layoutOf = (attempt: UploadAttempt, size: number): MultipartLayout | undefined =>
  attempt.multipartUploads?.find((layout) => layout.blockSize === blockSize(size));

interface Prepared {
  readonly attempt: UploadAttempt;
  /** The multipart upload of the file's layout; none for a single PUT. */
  readonly layout?: MultipartLayout;
  readonly stored: StoredPart[];
  /** S3 no longer lists the layout's upload because a completion of it is assembling the object. */
  readonly assembling?: true;
}

/**
 * Readies `attempt` for `file` to upload into, in one conditional write of whatever changed: the
 * multipart upload of its layout, created if there is none yet; the lease, renewed if storage
 * holds more parts than when it was last set (progress, and only progress: invariant 14); and
 * `shared` once a file other than its owner gets URLs. If the write loses a race, the multipart
 * upload it created is aborted and the race surfaces as StaleWriteError.
 */
async function prepare(deps: Deps, file: FileRecord, attempt: UploadAttempt): Promise<Prepared> {
  const held = layoutOf(attempt, file.size);
  const listed = held ? await deps.blobs.listParts(attempt.objectKey, held.uploadId) : [];
  // A multipart upload S3 no longer lists but the attempt still holds, younger than the lifecycle
  // rule: nothing of hashdrop aborted it (ending an attempt drops its layouts first), so a
  // completion is assembling it, which may take minutes. Replacing it would have the client send
  // every byte again; the object-created event publishes the object when S3 is done.
  if (held && !listed && !abortedByLifecycle(deps, held)) return { attempt, layout: held, stored: [], assembling: true };
  // One the bucket's lifecycle rule aborted is replaced rather than handed out: its URLs could
  // store nothing.
  const existing = listed ? held : undefined;
  const created =
    isMultipart(file.size) && !existing
      ? {
          blockSize: blockSize(file.size),
          uploadId: await deps.blobs.createMultipartUpload(attempt.objectKey),
          createdAt: deps.now(),
        }
      : undefined;
  const layout = existing ?? created;
  const stored = listed ?? [];
  const progressed = stored.length > attempt.partsSeen;
  const joining = !attempt.shared && !sameOwner(attempt.owner, file);
  if (!created && !progressed && !joining) return { attempt, ...(layout ? { layout } : {}), stored };
  const kept = (attempt.multipartUploads ?? []).filter((other) => other !== held || existing);
  const next: UploadAttempt = {
    ...attempt,
    id: deps.newId(),
    ...(created ? { multipartUploads: [...kept, created] } : {}),
    ...(held && !existing ? { partsSeen: 0 } : {}),
    ...(progressed ? { partsSeen: stored.length, leaseUntil: leaseFrom(deps) } : {}),
    ...(joining ? { shared: true } : {}),
  };
  try {
    await deps.catalog.setAttempt(file.contentId, next, attempt.id);
  } catch (error) {
    if (created) await deps.blobs.abortMultipartUpload(attempt.objectKey, created.uploadId);
    throw error;
  }
  return { attempt: next, ...(layout ? { layout } : {}), stored };
}

/**
 * An `upload` answer for `file`: URLs for the parts asked for (by default the first batch of those
 * storage lacks), and the parts storage holds already, whoever sent them (the client sends only
 * the others).
 */
async function uploadView(
  deps: Deps,
  file: FileRecord,
  attempt: UploadAttempt,
  partNumbers?: readonly number[],
): Promise<UploadView> {
  const { attempt: active, layout, stored, assembling: beingAssembled } = await prepare(deps, file, attempt);
  if (beingAssembled) return assembling(deps, file);
  const held = new Set(stored.map((part) => part.partNumber));
  const wanted = partNumbers ?? Array.from({ length: blockCount(file.size) }, (_, index) => index + 1);
  const missing = wanted.filter((partNumber) => !held.has(partNumber)).slice(0, deps.settings.maxPartsPerBatch);
  const permit = await permitFor(deps, file.size, active, layout, missing);
  return {
    status: 'upload',
    uploadId: encodeUploadRef(file.name, file.uploadId),
    file: fileView(file),
    permit: stored.length > 0 ? { ...permit, uploadedParts: stored } : permit,
  };
}

/**
 * What a part URL accepts: the digest of its own block, from the attempt's list (never one a
 * client sends), and the block's exact length under the file's claimed size (docs/design.md §1).
 */
function blockClaim(attempt: UploadAttempt, size: number, partNumber: number) {
  const { start, end } = blockRange(size, partNumber);
  const digest = attempt.blockDigests.subarray(32 * (partNumber - 1), 32 * partNumber);
  return { sha256Base64: bytesToBase64(digest), length: end - start };
}

async function permitFor(
  deps: Deps,
  size: number,
  attempt: UploadAttempt,
  layout: MultipartLayout | undefined,
  partNumbers: readonly number[],
): Promise<UploadPermit> {
  const ttl = deps.settings.uploadUrlTtlSeconds;
  const signed = await Promise.all(
    partNumbers.map(async (partNumber): Promise<PartPermit> => {
      const block = blockClaim(attempt, size, partNumber);
      const request = layout
        ? await deps.blobs.presignUploadPart(attempt.objectKey, layout.uploadId, partNumber, block, ttl)
        : await deps.blobs.presignPut(attempt.objectKey, block, ttl);
      return { partNumber, method: 'PUT', url: request.url, headers: request.headers };
    }),
  );
  return {
    mode: layout ? 'multipart' : 'single',
    blockSize: blockSize(size),
    partCount: blockCount(size),
    parts: signed,
    expiresAt: new Date(deps.now() + ttl * 1000).toISOString(),
  };
}

async function loadOwnUpload(deps: Deps, userId: string, uploadRef: string): Promise<FileRecord> {
  const ref = decodeUploadRef(uploadRef);
  // A failed replacement answers through the version the name went back to (file-versions.ts).
  const file = ref ? uploadOf(await deps.catalog.getFile(userId, ref.name), ref.uploadId) : undefined;
  // The same answer for a foreign, superseded or malformed id: nothing about others leaks.
  if (!file) throw new NotFoundError('upload_not_found', 'no such upload');
  return file;
}

/**
 * Without proofs of ownership, completes a PENDING file whose content turned READY (the
 * object-created handler may lag). With them, only a request that proved may do so: callers
 * that cannot prove (status, completion) just report the file as it stands. A file of another
 * size than the one the bytes proved fails instead.
 */
async function settle(
  deps: Deps,
  file: FileRecord,
  content: ContentRecord,
  options: { proven?: boolean } = {},
): Promise<UploadView> {
  if (content.size !== file.size) await failForSize(deps, file);
  else if (proofRequired(deps) && !options.proven && !uploadedBy(content, file)) return statusView(file);
  else await deps.catalog.completeFile(file, file.contentId, deps.now());
  return statusView(await currentUpload(deps, file));
}

/** The upload `file` as it stands now (as read before, if the name has moved on since). */
async function currentUpload(deps: Deps, file: FileRecord): Promise<FileRecord> {
  return uploadOf(await deps.catalog.getFile(file.userId, file.name), file.uploadId) ?? file;
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
  // A proof upload's file waits for its own bytes, like a miss's.
  return content?.state === 'READY' && !proofUploadOf(content, file) ? settle(deps, file, content) : statusView(file);
}

/**
 * DELETE /v1/uploads/{id}: the caller gives up an upload in progress. Its file goes as an
 * abandoned one would (deleted, or back to the version it was replacing: invariant 15), at once
 * rather than after the sweeper's TTL, and an attempt that was this file's own, shared with
 * nobody, ends with its multipart uploads (their parts can serve nobody else). The reservation
 * itself stays for the sweeper: deleting it would let a squatter cancel and reserve anew, each
 * time with a fresh wait for others (invariant 14). Cancelling a failed upload changes nothing;
 * a complete one is a file: `409 upload_complete` (delete the file instead).
 */
export function cancelUpload(deps: Deps, userId: string, uploadRef: string): Promise<void> {
  return withRetries(async () => {
    const file = await loadOwnUpload(deps, userId, uploadRef);
    if (file.state === 'COMPLETE') {
      throw new ConflictError('upload_complete', 'this upload is complete: delete the file instead');
    }
    if (file.state === 'FAILED') return;
    await cancelPendingUpload(deps, file);
  });
}

/**
 * Ends the upload of `file` (as read, PENDING) as its owner's cancel does: the file goes, or back
 * to the version it was replacing, releasing its reference and usage in one write; an attempt no
 * other file waits for ends with its multipart uploads. Throws StaleWriteError if the file changed
 * meanwhile (run it inside withRetries). Also how an erased user's uploads end (domain/erase-user.ts).
 */
export async function cancelPendingUpload(deps: Deps, file: FileRecord): Promise<void> {
  const content = await deps.catalog.getContent(file.contentId);
  if (!(await deps.catalog.cancelPendingFile(file, deps.now()))) {
    throw new StaleWriteError('cancel upload: the file changed concurrently');
  }
  const attempt = content?.attempt;
  if (attempt && (await nobodyElseUploads(deps, attempt, file))) {
    if (await deps.catalog.endAttempt(file.contentId, attempt.id, deps.now())) {
      for (const layout of attempt.multipartUploads ?? []) {
        await deps.blobs.abortMultipartUpload(attempt.objectKey, layout.uploadId);
      }
    }
  }
}

/**
 * Whether `attempt` serves no file but the cancelled `file`: its own, unshared, or a shared one
 * no other file waits for any more. Its parts then serve nobody, and they go at once: a shared
 * attempt left behind by cancels would otherwise hold stored parts outside every quota for as long
 * as someone keeps touching the content. The pending index is eventually consistent: a file that
 * joined a moment ago may be missed: its next request then gets a new attempt.
 */
async function nobodyElseUploads(deps: Deps, attempt: UploadAttempt, file: FileRecord): Promise<boolean> {
  if (sameOwner(attempt.owner, file) && !attempt.shared) return true;
  const waiting = await deps.catalog.pendingFiles(file.contentId);
  return waiting.every((other) => other.userId === file.userId && other.name === file.name && other.uploadId === file.uploadId);
}

/**
 * More presigned part URLs for the caller's upload, by part number: each is signed for its own
 * block's digest from the attempt's list and its exact length. None is signed for bytes nobody
 * awaits (a content stored already, an attempt that ended, a file that does not upload it).
 * Asking renews no lease: only parts storage holds do (invariant 14).
 */
export async function signParts(
  deps: Deps,
  userId: string,
  uploadRef: string,
  partNumbers: readonly number[],
): Promise<UploadView> {
  if (partNumbers.length > deps.settings.maxPartsPerBatch) {
    throw new ValidationError('too_many_parts', `at most ${deps.settings.maxPartsPerBatch} parts per request`);
  }
  return withRetries(async () => {
    const file = await loadOwnUpload(deps, userId, uploadRef);
    const count = blockCount(file.size);
    if (partNumbers.some((partNumber) => !Number.isInteger(partNumber) || partNumber < 1 || partNumber > count)) {
      throw new ValidationError('invalid_part_number', `part numbers run from 1 to ${count}`);
    }
    const content = file.state === 'PENDING' ? await deps.catalog.getContent(file.contentId) : undefined;
    const attempt = content?.state === 'PENDING' ? content.attempt : proofUploadOf(content, file);
    if (!content || !attempt || !mayUpload(deps, content, attempt, file)) {
      throw new ConflictError('upload_not_active', 'this upload holds no active permit; ask POST /v1/uploads again');
    }
    const view = await uploadView(deps, file, attempt, partNumbers);
    // Storage is assembling the parts (a completion is under way): there is nothing left to sign.
    if (view.status !== 'upload') {
      throw new ConflictError('upload_not_active', 'storage is assembling this upload; ask POST /v1/uploads again');
    }
    return view;
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
  const proofUpload = proofUploadOf(content, file);
  if (content?.state === 'READY' && !proofUpload) return completionView(deps, await settle(deps, file, content));
  const attempt = content?.state === 'PENDING' ? content.attempt : proofUpload;
  if (!content || !attempt) {
    // The attempt ended between the two reads (most often: the object-created event has just
    // verified or rejected these bytes): the file, read again, says how.
    return completionView(deps, statusView(await currentUpload(deps, file)));
  }

  const multipart = isMultipart(file.size);
  if (multipart) {
    // The multipart upload of this file's layout: one it was given URLs for.
    const layout = layoutOf(attempt, file.size);
    if (!layout) throw new ConflictError('upload_not_active', 'this upload holds no active permit; ask POST /v1/uploads again');
    checkCompletedParts(parts, blockCount(file.size));
    if (!(await assemble(deps, file, attempt, layout, parts ?? []))) return assembling(deps, file);
  }
  const outcome = await publishObject(deps, attempt.objectKey);
  // A multipart upload S3 accepted to complete but whose object is not there yet: another
  // completion of it is still being assembled (see assemble).
  if (multipart && outcome === 'missing') return assembling(deps, file);
  const current = await currentUpload(deps, file);
  // 'missing' while still pending: nothing was uploaded. (A concurrent event may also have
  // published or rejected the object already; then the file says so.)
  if (outcome === 'missing' && current.state === 'PENDING' && current.uploadId === file.uploadId) {
    throw new ConflictError('object_not_uploaded', 'storage holds no object for this upload yet');
  }
  // The ObjectCreated event may have made the content READY first and not yet settled this file:
  // settled here too, so the answer does not depend on that race.
  const ready = current.state === 'PENDING' ? await deps.catalog.getContent(file.contentId) : undefined;
  return completionView(deps, ready?.state === 'READY' ? await settle(deps, current, ready) : statusView(current));
}

/** How long a client should wait before asking again about an upload S3 is still assembling. */
const ASSEMBLING_POLL_SECONDS = 5;

/**
 * How long a completion waits for S3's CompleteMultipartUpload before answering `pending`: S3 may
 * take minutes to assemble a very large object, beyond the API functions' 10 s timeout and the
 * HTTP API's 30 s, so the request answers well before either and the object-created event
 * publishes the object when S3 is done (docs/design.md §1, long operations).
 */
export const COMPLETION_WAIT_MS = 6_000;

/**
 * Asks S3 to assemble the parts. False when the object is not there yet but S3 is (most likely)
 * still assembling it: the call outlived COMPLETION_WAIT_MS, or it repeats one that timed out
 * (S3 then no longer knows the multipart upload while the object is not visible yet, which the
 * store reports as `upload_expired`; while the attempt still holds that upload, nothing of
 * hashdrop aborted it). The caller answers `pending`, never a 409 for a completion that will land.
 */
async function assemble(
  deps: Deps,
  file: FileRecord,
  attempt: UploadAttempt,
  layout: MultipartLayout,
  parts: readonly CompletedPart[],
): Promise<boolean> {
  const completing = deps.blobs.completeMultipartUpload(attempt.objectKey, layout.uploadId, parts).then(() => true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<false>((done) => {
    timer = setTimeout(() => done(false), deps.settings.completionWaitMs ?? COMPLETION_WAIT_MS);
  });
  try {
    const done = await Promise.race([completing, waited]);
    // Still running: its outcome reaches nobody (the event publishes the object, or nothing lands).
    if (!done) completing.catch(() => undefined);
    return done;
  } catch (error) {
    if (!(error instanceof ConflictError && error.code === 'upload_expired')) throw error;
    const current = await deps.catalog.getContent(file.contentId);
    const held =
      current?.attempt?.objectKey === attempt.objectKey &&
      current.attempt.multipartUploads?.some((held) => held.uploadId === layout.uploadId);
    if (held && !abortedByLifecycle(deps, layout)) return false;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Days after which the bucket's lifecycle rule aborts an unfinished multipart upload
 * (lib/constructs/blob-bucket.ts): the backstop to the sweeper for uploads kept alive by progress.
 */
export const MULTIPART_UPLOAD_LIFETIME_DAYS = 2;

/**
 * Whether S3's answer that it no longer knows `layout` means the lifecycle rule aborted it rather
 * than that an earlier completion is still assembling it: the rule aborts every multipart upload
 * this old, so none of that age can still be completing, and its parts are gone for good. The
 * client is told `upload_expired` at once, and its next request replaces the layout (prepare).
 */
function abortedByLifecycle(deps: Deps, layout: MultipartLayout): boolean {
  // A layout of unknown age (none is recorded without one since createdAt exists) counts as aborted.
  return layout.createdAt === undefined || deps.now() - layout.createdAt >= MULTIPART_UPLOAD_LIFETIME_DAYS * 24 * 60 * 60 * 1000;
}

/** The answer while S3 assembles the object: the file as it stands (pending, or done if the event won), asked again later. */
async function assembling(deps: Deps, file: FileRecord): Promise<UploadView> {
  const view = await completionView(deps, statusView(await currentUpload(deps, file)));
  // 0: the content is READY and the file must prove it holds it (completionView): at once.
  if (view.status !== 'pending' || view.retryAfterSeconds === 0) return view;
  return { ...view, retryAfterSeconds: ASSEMBLING_POLL_SECONDS };
}

/**
 * The answer to a completion. A file still PENDING once the content is READY (proofs on, and its
 * upload was shared, so sending bytes proved nothing on its own) must prove it holds them, which
 * only POST /v1/uploads asks (only its function may read the proof key): it is told to ask again
 * at once (docs/design.md §4).
 */
async function completionView(deps: Deps, view: UploadView): Promise<UploadView> {
  if (view.status !== 'pending') return view;
  const content = await deps.catalog.getContent(view.file.contentId);
  return content?.state === 'READY' ? { ...view, retryAfterSeconds: 0 } : view;
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
