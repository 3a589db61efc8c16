/**
 * The sweeper (run on a schedule): ends abandoned uploads and deletes contents nobody owns.
 *
 * - An upload untouched for `uploadTtlSeconds` whose lease has run out is abandoned. If its
 *   object landed but the event was lost, it is published after all; otherwise its multipart
 *   upload is aborted, its waiting files are dropped (each releasing its reference in the same
 *   transaction) and the reservation is deleted once nothing references it.
 * - Files left PENDING on a READY content: one of another size than the bytes proved fails;
 *   without proofs of ownership (a completion that never ran) the others are completed; with
 *   proofs, a waiting file completes only by proving, so one whose
 *   client never came back within `uploadTtlSeconds` is dropped with its reference and usage
 *   (otherwise it would count against its user's quota and block garbage collection for ever).
 * - A READY content with no reference for `gcGraceSeconds` goes READY → DELETING, then its
 *   object, then its record: invariant 3 (docs/design.md). A crash in between leaves a DELETING
 *   record that the next run finishes.
 *
 * Every step is conditional on the state it read, so the sweeper may race clients, events and
 * other sweeps: the loser of a race leaves the item for the next run.
 *
 * Its cost follows the work, not the table (docs/design.md §5): it reads only the contents due
 * for a look (Catalog.sweepCandidates: marked when reserved or when they lose a reference), and
 * each look that finds nothing to do yet moves the mark to when there may be (the end of the
 * upload TTL, of a lease, of the grace period) or clears it (a referenced READY content: its next
 * release marks it again). A run cut short leaves the rest due: the next one resumes there.
 */
import type { ContentRecord, Deps, FileRecord, SweepCandidate } from './ports.ts';
import { completeWaitingFiles, proofRequired, publishObject } from './publish.ts';

export interface SweepReport {
  /** Abandoned uploads whose object had landed unnoticed, now published. */
  published: number;
  /** Abandoned reservations removed. */
  expired: number;
  multipartAborted: number;
  pendingFilesDropped: number;
  pendingFilesCompleted: number;
  /** Unreferenced contents deleted with their objects. */
  collected: number;
  /** Candidates looked at too early (marked for later) or needing no sweep (mark cleared). */
  deferred: number;
  /**
   * Items the run read: contents due for a look and waiting files past their bound, each once
   * (with the index entry that led to it). What a run costs, in proportion to its candidates
   * rather than to the table (the benchmark's growth figures read it).
   */
  itemsRead: number;
}

export async function sweep(deps: Deps): Promise<SweepReport> {
  const report: SweepReport = {
    published: 0,
    expired: 0,
    multipartAborted: 0,
    pendingFilesDropped: 0,
    pendingFilesCompleted: 0,
    collected: 0,
    deferred: 0,
    itemsRead: 0,
  };
  for await (const candidate of deps.catalog.sweepCandidates(deps.now())) {
    report.itemsRead++;
    const { content } = candidate;
    if (content.state === 'PENDING' && isAbandoned(deps, content)) await expireUpload(deps, content, report);
    else if (content.state === 'READY' && isCollectable(deps, content)) await collect(deps, content, report);
    else if (content.state === 'DELETING') await finishDelete(deps, content, report);
    else if (await deps.catalog.deferSweep(content.contentId, candidate.due, nextLook(deps, candidate))) report.deferred++;
  }
  await settleStalePendingFiles(deps, report);
  deps.telemetry.metric('Sweeps');
  deps.telemetry.metric('SweepItemsRead', report.itemsRead);
  deps.telemetry.metric('SweepCollected', report.collected);
  deps.telemetry.metric('SweepExpired', report.expired);
  deps.telemetry.log('info', 'swept', { ...report });
  return report;
}

/**
 * When a candidate with nothing to do now may have something: a PENDING content when its upload
 * TTL and lease have run out; an unreferenced READY one when its grace period has; never
 * (undefined) for a referenced READY one (its next release marks it) or a QUARANTINED one
 * (an operator's). A content that may not be cleared is looked at again an upload TTL on.
 */
function nextLook(deps: Deps, { content }: SweepCandidate): number | undefined {
  const { uploadTtlSeconds, gcGraceSeconds } = deps.settings;
  // One millisecond past each bound: the checks above compare strictly.
  if (content.state === 'PENDING') {
    return Math.max(content.updatedAt + uploadTtlSeconds * 1000, content.attempt?.leaseUntil ?? 0) + 1;
  }
  if (content.state === 'READY' && content.refCount <= 0) return content.updatedAt + gcGraceSeconds * 1000 + 1;
  return undefined;
}

function isAbandoned(deps: Deps, content: ContentRecord): boolean {
  const now = deps.now();
  const idle = content.updatedAt < now - deps.settings.uploadTtlSeconds * 1000;
  return idle && (!content.attempt || content.attempt.leaseUntil < now);
}

function isCollectable(deps: Deps, content: ContentRecord): boolean {
  return content.refCount <= 0 && content.updatedAt < deps.now() - deps.settings.gcGraceSeconds * 1000;
}

async function expireUpload(deps: Deps, content: ContentRecord, report: SweepReport): Promise<void> {
  const attempt = content.attempt;
  if (attempt) {
    // The object may be complete with its event lost: publishing keeps the upload's work.
    const outcome = await publishObject(deps, attempt.objectKey);
    if (outcome === 'ready') {
      report.published++;
      return;
    }
    if (outcome !== 'rejected') {
      // Only if still expired: its client may have come back since the scan and renewed it.
      if (!(await deps.catalog.endAttempt(content.contentId, attempt.id, deps.now(), { onlyIfExpired: true }))) return;
      for (const layout of attempt.multipartUploads ?? []) {
        await deps.blobs.abortMultipartUpload(attempt.objectKey, layout.uploadId);
        report.multipartAborted++;
      }
    }
  }
  const staleBefore = deps.now() - deps.settings.uploadTtlSeconds * 1000;
  for (const file of await deps.catalog.pendingFiles(content.contentId)) {
    // A file that joined since the scan is not abandoned: it stays (and may take the upload over).
    if (await deps.catalog.dropPendingFile(file, deps.now(), staleBefore)) report.pendingFilesDropped++;
  }
  if (await deps.catalog.deleteUnreferencedPending(content.contentId)) report.expired++;
}

async function collect(deps: Deps, content: ContentRecord, report: SweepReport): Promise<void> {
  // Conditional on the record being unchanged since it was read: a link or release in between
  // (which bumps updatedAt) restarts the grace period.
  if (!(await deps.catalog.beginDelete(content.contentId, content.updatedAt, deps.now()))) return;
  await finishDelete(deps, { ...content, state: 'DELETING' }, report);
}

async function finishDelete(deps: Deps, content: ContentRecord, report: SweepReport): Promise<void> {
  if (content.objectKey) await deps.blobs.delete(content.objectKey);
  if (await deps.catalog.deleteDeleting(content.contentId)) report.collected++;
}

async function settleStalePendingFiles(deps: Deps, report: SweepReport): Promise<void> {
  const proofs = proofRequired(deps);
  // Without proofs the file only missed its completion: a lease is long enough to tell. With
  // proofs its client must come back and prove: it gets the whole upload TTL to do so.
  const staleBefore = deps.now() - (proofs ? deps.settings.uploadTtlSeconds : deps.settings.attemptLeaseSeconds) * 1000;
  const byContent = new Map<string, FileRecord[]>();
  for await (const file of deps.catalog.stalePendingFiles(staleBefore)) {
    report.itemsRead++;
    byContent.set(file.contentId, [...(byContent.get(file.contentId) ?? []), file]);
  }
  for (const [contentId, files] of byContent) {
    const content = await deps.catalog.getContent(contentId);
    if (content?.state === 'QUARANTINED') await expireRepair(deps, content, files, report);
    if (content?.state !== 'READY') continue;
    // Fails those of another size than the bytes proved; completes the others without proofs.
    report.pendingFilesCompleted += await completeWaitingFiles(deps, content);
    if (!proofs) continue;
    for (const file of files.filter((waiting) => waiting.size === content.size)) {
      // Conditional on the file being unchanged since `staleBefore`: a client that came back wins.
      if (await deps.catalog.dropPendingFile(file, deps.now(), staleBefore)) report.pendingFilesDropped++;
    }
  }
}

/**
 * Files waiting for a QUARANTINED content are repairers (docs/design.md §1). The content is off
 * the sweep index (nothing of it is collectable), so an abandoned repair is found through its
 * stale files: once the repair upload's lease has lapsed and the content has been idle for the
 * upload TTL, the attempt ends with its multipart uploads, and each file unchanged for the TTL
 * goes as an abandoned upload's (deleted, or back to the version it replaced).
 */
async function expireRepair(
  deps: Deps,
  content: ContentRecord,
  files: readonly FileRecord[],
  report: SweepReport,
): Promise<void> {
  const now = deps.now();
  const staleBefore = now - deps.settings.uploadTtlSeconds * 1000;
  const attempt = content.attempt;
  if (attempt && attempt.leaseUntil < now && content.updatedAt < staleBefore) {
    if (await deps.catalog.endAttempt(content.contentId, attempt.id, now, { onlyIfExpired: true })) {
      for (const layout of attempt.multipartUploads ?? []) {
        await deps.blobs.abortMultipartUpload(attempt.objectKey, layout.uploadId);
        report.multipartAborted++;
      }
    }
  }
  for (const file of files) {
    if (await deps.catalog.dropPendingFile(file, now, staleBefore)) report.pendingFilesDropped++;
  }
}
