/**
 * The bucket on disk. Bytes live in `data/`, one file per PUT body or uploaded part, written once
 * and never changed; what S3 would call the object (its key, size, ETag, checksum and the files
 * that hold its bytes, in order) is a small JSON record in `objects/`, and a multipart upload's
 * state is one record per upload and per part in `uploads/`. A record is written to `tmp/` and
 * renamed into place, so a write is atomic: a crash leaves the old record or the new one, never a
 * torn one; data files no record names are removed on the next start.
 *
 * Completing a multipart upload links the parts' files into the object's record instead of copying
 * them, so completion costs the same for 1 MiB and 1 GiB. Records are also kept in memory, which
 * is the state requests read; the disk copy is what survives a restart (`persist`).
 *
 * A data file replaced or deleted while a GET streams it stays until that GET is done (pins).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChecksumAlgorithm, ChecksumType, StoredChecksum } from './checksums.ts';

/** One stored body: a PUT's, or an uploaded part's. */
export interface Segment {
  readonly file: string;
  readonly size: number;
}

export interface PartRecord extends Segment {
  readonly partNumber: number;
  /** Quoted, as S3 returns it: `"<md5 hex>"`. */
  readonly etag: string;
  readonly lastModified: string;
  /** The part's additional checksum (base64), if it was sent with one. */
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
}

export interface ObjectRecord {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: string;
  readonly contentType: string;
  /** `x-amz-meta-*`, by lower-case name without the prefix. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly checksum?: StoredChecksum;
  /** The files that hold the bytes, in order: one for a PUT, the listed parts for a multipart upload. */
  readonly segments: readonly Segment[];
  /** For a completed multipart upload: its id (a retried completion is answered from it) and its parts. */
  readonly multipart?: {
    readonly uploadId: string;
    readonly parts: readonly Omit<PartRecord, 'file' | 'lastModified'>[];
  };
}

export interface UploadRecord {
  readonly uploadId: string;
  readonly key: string;
  readonly initiated: string;
  readonly contentType: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly type: ChecksumType };
}

export interface Upload extends UploadRecord {
  readonly parts: Map<number, PartRecord>;
}

const nameOf = (text: string): string => createHash('sha256').update(text).digest('hex');

/** One operation at a time per name (a key, an upload), in arrival order. */
class Locks {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(names: readonly string[], operation: () => Promise<T>): Promise<T> {
    if (names.length === 0) return operation();
    const [first, ...rest] = [...names].sort();
    if (first === undefined) return operation();
    const previous = this.tails.get(first) ?? Promise.resolve();
    const current = previous.then(
      () => this.run(rest, operation),
      () => this.run(rest, operation),
    );
    const tail = current.catch(() => undefined);
    this.tails.set(first, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(first) === tail) this.tails.delete(first);
    }
  }
}

export class Store {
  readonly dataDir: string;
  private readonly objects = new Map<string, ObjectRecord>();
  private readonly uploads = new Map<string, Upload>();
  /** Uploads a slow completion is assembling: S3 no longer lists them, and their object is not there yet. */
  private readonly assembling = new Set<string>();
  private readonly locks = new Locks();
  private readonly pins = new Map<string, number>();
  private readonly doomed = new Set<string>();

  private constructor(private readonly root: string) {
    this.dataDir = join(root, 'data');
  }

  /** Opens the store at `root`: as it was (`persist`), or empty. */
  static async open(root: string, persist: boolean): Promise<Store> {
    if (!persist) await rm(root, { recursive: true, force: true });
    const store = new Store(root);
    for (const dir of ['data', 'tmp', 'objects', 'uploads']) await mkdir(join(root, dir), { recursive: true });
    await store.load();
    return store;
  }

  // Objects.

  getObject(key: string): ObjectRecord | undefined {
    return this.objects.get(key);
  }

  /** Every key, in S3's listing order (UTF-8 bytes, which for these strings is code point order). */
  keys(): string[] {
    return [...this.objects.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  /**
   * Runs `operation` with `key` (and `uploadId`, if given) locked, so that a precondition checked
   * in it still holds when its record is written.
   */
  locked<T>(names: { key?: string; uploadId?: string }, operation: () => Promise<T>): Promise<T> {
    const held = [
      ...(names.key === undefined ? [] : [`key:${names.key}`]),
      ...(names.uploadId === undefined ? [] : [`upload:${names.uploadId}`]),
    ];
    return this.locks.run(held, operation);
  }

  /** Makes `record` the object at its key (call under its lock); the replaced object's files go. */
  async setObject(record: ObjectRecord): Promise<void> {
    await this.writeRecord(join('objects', `${nameOf(record.key)}.json`), record);
    const previous = this.objects.get(record.key);
    this.objects.set(record.key, record);
    if (previous) this.releaseFiles(previous.segments, record.segments);
  }

  /** Removes the object at `key`, if any (call under its lock). */
  async deleteObject(key: string): Promise<void> {
    const previous = this.objects.get(key);
    if (!previous) return;
    await rm(join(this.root, 'objects', `${nameOf(key)}.json`), { force: true });
    this.objects.delete(key);
    this.releaseFiles(previous.segments, []);
  }

  // Multipart uploads.

  /** The upload, unless it is unknown, ended, or being assembled (S3 answers NoSuchUpload for each). */
  getUpload(uploadId: string): Upload | undefined {
    return this.assembling.has(uploadId) ? undefined : this.uploads.get(uploadId);
  }

  /**
   * Hides an upload while a completion assembles it (call under its lock, after the completion's
   * checks): every request naming it meets NoSuchUpload, as in S3, until `endUpload` (assembled)
   * or `resumeUpload` (the completion failed, and S3 leaves the upload as it was). Its parts
   * cannot change meanwhile, since UploadPart no longer finds it. Only in memory: after a restart
   * it is an upload again, whose completion can be sent again.
   */
  assembleUpload(uploadId: string): void {
    this.assembling.add(uploadId);
  }

  resumeUpload(uploadId: string): void {
    this.assembling.delete(uploadId);
  }

  async createUpload(record: UploadRecord): Promise<void> {
    const dir = join('uploads', nameOf(record.uploadId));
    await mkdir(join(this.root, dir), { recursive: true });
    await this.writeRecord(join(dir, 'upload.json'), record);
    this.uploads.set(record.uploadId, { ...record, parts: new Map() });
  }

  /** Records a part of an upload that exists (call under the upload's lock); a part sent again replaces the earlier one. */
  async setPart(upload: Upload, part: PartRecord): Promise<void> {
    await this.writeRecord(join('uploads', nameOf(upload.uploadId), `part-${part.partNumber}.json`), part);
    const previous = upload.parts.get(part.partNumber);
    upload.parts.set(part.partNumber, part);
    if (previous) this.releaseFiles([previous], []);
  }

  /**
   * Ends an upload (call under its lock): completed, its parts' files now belong to an object
   * (`kept`), and the rest go; aborted, all go.
   */
  async endUpload(upload: Upload, kept: readonly Segment[] = []): Promise<void> {
    this.uploads.delete(upload.uploadId);
    this.assembling.delete(upload.uploadId);
    await rm(join(this.root, 'uploads', nameOf(upload.uploadId)), { recursive: true, force: true });
    this.releaseFiles([...upload.parts.values()], kept);
  }

  // Bytes.

  /** Removes a data file no record names (a refused body). */
  async discard(file: string): Promise<void> {
    await unlink(join(this.dataDir, file)).catch(() => undefined);
  }

  /**
   * The bytes `[start, end]` (inclusive) of an object's segments, streamed from their files, which
   * stay on disk until the stream ends even if the object is replaced or deleted meanwhile.
   */
  async *read(segments: readonly Segment[], start: number, end: number): AsyncGenerator<Buffer> {
    const files = segments.map((segment) => segment.file);
    for (const file of files) this.pins.set(file, (this.pins.get(file) ?? 0) + 1);
    try {
      let offset = 0;
      for (const segment of segments) {
        const from = Math.max(start, offset);
        const to = Math.min(end, offset + segment.size - 1);
        offset += segment.size;
        if (from > to) continue;
        const stream = createReadStream(join(this.dataDir, segment.file), {
          start: from - (offset - segment.size),
          end: to - (offset - segment.size),
          highWaterMark: 1024 * 1024,
        });
        for await (const chunk of stream) yield chunk as Buffer;
      }
    } finally {
      for (const file of files) this.unpin(file);
    }
  }

  /** Removes the whole store (one that does not persist ends as empty as it started). */
  async destroy(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  // Internals.

  private async writeRecord(path: string, record: unknown): Promise<void> {
    const temporary = join(this.root, 'tmp', randomBytes(12).toString('hex'));
    await writeFile(temporary, JSON.stringify(record));
    await rename(temporary, join(this.root, path));
  }

  /** Deletes the files of `segments` that `kept` does not name, or marks them to go once unpinned. */
  private releaseFiles(segments: readonly Segment[], kept: readonly Segment[]): void {
    const keep = new Set(kept.map((segment) => segment.file));
    for (const { file } of segments) {
      if (keep.has(file)) continue;
      if (this.pins.has(file)) this.doomed.add(file);
      else void this.discard(file);
    }
  }

  private unpin(file: string): void {
    const count = (this.pins.get(file) ?? 1) - 1;
    if (count > 0) {
      this.pins.set(file, count);
      return;
    }
    this.pins.delete(file);
    if (this.doomed.delete(file)) void this.discard(file);
  }

  /** Reads the records back after a restart, and removes what no record names. */
  private async load(): Promise<void> {
    const referenced = new Set<string>();
    await rm(join(this.root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(this.root, 'tmp'));
    for (const name of await readdir(join(this.root, 'objects'))) {
      const record = JSON.parse(await readFile(join(this.root, 'objects', name), 'utf8')) as ObjectRecord;
      this.objects.set(record.key, record);
      for (const segment of record.segments) referenced.add(segment.file);
    }
    // An upload whose object was recorded but whose own records were not yet removed (a crash
    // mid-completion) is complete: its files belong to the object now.
    const completed = new Set([...this.objects.values()].flatMap((record) => record.multipart?.uploadId ?? []));
    for (const dir of await readdir(join(this.root, 'uploads'))) {
      const path = join(this.root, 'uploads', dir);
      const names = await readdir(path);
      const record = names.includes('upload.json')
        ? (JSON.parse(await readFile(join(path, 'upload.json'), 'utf8')) as UploadRecord)
        : undefined;
      if (!record || completed.has(record.uploadId)) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      const upload: Upload = { ...record, parts: new Map() };
      for (const name of names.filter((entry) => entry.startsWith('part-'))) {
        const part = JSON.parse(await readFile(join(path, name), 'utf8')) as PartRecord;
        upload.parts.set(part.partNumber, part);
        referenced.add(part.file);
      }
      this.uploads.set(upload.uploadId, upload);
    }
    for (const file of await readdir(this.dataDir)) {
      if (!referenced.has(file)) await this.discard(file);
    }
  }
}
