/**
 * docs/mobile.md, played step by step as a mobile app would, over plain fetch (no SDK): hash once
 * and persist the upload's state, write each part to its own file (iOS background uploads send
 * whole files), send parts from those files or from byte ranges of the original (Android), get
 * "killed" (everything but the persisted state and the part files is dropped), come back after
 * the part URLs expired, learn from `/parts` which parts storage holds (with their ETags, which
 * the killed app never saw) and get fresh URLs for the others, complete on a later launch, and
 * download-verify. A second user's instant upload answers its challenge from the file's byte
 * ranges. Every promise the guide makes is asserted here; if one fails, the guide is wrong.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '#sdk/browser';
import { fileItem, newUser, randomFile, scratchPath, stack, token } from '../helpers.ts';
import { fileReads, NativeBlob, NativeFileReader } from '../support/react-native.ts';

const MiB = 1024 * 1024;

// ---- What the app implements (docs/mobile.md, "Hashing") -------------------------------------

/** The protocol's block size: the smallest 8 MiB·2^k (up to 4 GiB) leaving at most 10,000 blocks. */
function blockSizeFor(size: number): number {
  for (let candidate = 8 * MiB; candidate <= 4 * 1024 * MiB; candidate *= 2) {
    if (Math.ceil(size / candidate) <= 10_000) return candidate;
  }
  return 5 * 1024 * MiB;
}

interface PartRange {
  readonly partNumber: number;
  readonly start: number;
  readonly end: number;
}

function partRanges(size: number, blockSize: number): PartRange[] {
  const count = Math.max(1, Math.ceil(size / blockSize));
  return Array.from({ length: count }, (_, index) => ({
    partNumber: index + 1,
    start: index * blockSize,
    end: Math.min(size, (index + 1) * blockSize),
  }));
}

const hexToBase64 = (digest: string): string => Buffer.from(digest, 'hex').toString('base64');

/** Once per file: every block's SHA-256 and the content id (SHA-256 of the digests, concatenated). */
async function hashFile(path: string) {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const blockSize = blockSizeFor(size);
    const blockDigests: string[] = [];
    for (const { start, end } of partRanges(size, blockSize)) {
      const block = Buffer.alloc(end - start);
      await handle.read(block, 0, block.length, start);
      blockDigests.push(createHash('sha256').update(block).digest('hex'));
    }
    const contentId = createHash('sha256')
      .update(Buffer.concat(blockDigests.map((digest) => Buffer.from(digest, 'hex'))))
      .digest('hex');
    return { size, blockSize, blockDigests, contentId };
  } finally {
    await handle.close();
  }
}

/** What the app keeps on disk between launches: enough to resume without reading the file again. */
interface UploadState {
  readonly uploadId: string;
  readonly name: string;
  readonly size: number;
  readonly contentId: string;
  readonly blockDigests: string[];
  readonly blockSize: number;
  readonly mode: 'single' | 'multipart';
  readonly sourcePath: string;
  /** Part files, written once (iOS background upload tasks send whole files). */
  readonly partFiles: Record<number, string>;
  /** Parts storage holds, with the ETag it answered: persisted as each PUT's answer arrives. */
  readonly done: Record<number, string>;
}

const saveState = (file: string, state: UploadState): void => writeFileSync(file, JSON.stringify(state));
const loadState = (file: string): UploadState => JSON.parse(readFileSync(file, 'utf8')) as UploadState;

interface PartPermit {
  readonly partNumber: number;
  readonly url: string;
  readonly headers: Record<string, string>;
}
interface StoredPart {
  readonly partNumber: number;
  readonly etag: string;
  readonly size: number;
  readonly sha256?: string;
}
interface ApiAnswer {
  readonly status: number;
  readonly body: {
    status?: string;
    uploadId?: string;
    retryAfterSeconds?: number;
    permit?: {
      mode: 'single' | 'multipart';
      blockSize: number;
      partCount: number;
      parts: PartPermit[];
      uploadedParts?: StoredPart[];
      expiresAt: string;
    };
    challenge?: { token: string; ranges: { start: number; length: number }[] };
    file?: { state: string; contentId: string; size: number };
    download?: { url: string };
    error?: { code: string };
    cancelled?: string;
  };
}

async function api(user: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const response = await fetch(`${stack.endpoint}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await token(user)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as ApiAnswer['body'] };
}

/**
 * One part PUT, as URLSession or OkHttp sends it: the permit's headers exactly as given, a body
 * read from a file (its length is the signed Content-Length), and the headers a mobile HTTP stack
 * adds on its own, which are not signed and which storage ignores.
 */
async function putPart(permit: PartPermit, body: Blob): Promise<{ status: number; etag: string | null; text: string }> {
  const response = await fetch(permit.url, {
    method: 'PUT',
    headers: { ...permit.headers, 'content-type': 'application/octet-stream', 'user-agent': 'hashdrop-mobile-test CFNetwork' },
    body,
  });
  return { status: response.status, etag: response.headers.get('etag'), text: await response.text() };
}

/** iOS: every part in a file of its own, for `uploadTask(with:fromFile:)`. */
async function writePartFiles(sourcePath: string, size: number, blockSize: number, dir: string): Promise<Record<number, string>> {
  mkdirSync(dir, { recursive: true });
  const handle = await open(sourcePath, 'r');
  const files: Record<number, string> = {};
  try {
    for (const { partNumber, start, end } of partRanges(size, blockSize)) {
      const bytes = Buffer.alloc(end - start);
      await handle.read(bytes, 0, bytes.length, start);
      files[partNumber] = join(dir, `part-${partNumber}`);
      writeFileSync(files[partNumber], bytes);
    }
  } finally {
    await handle.close();
  }
  return files;
}

/** Android: a byte range of the original file, read as the request is written. */
async function fileRange(path: string, start: number, end: number): Promise<Blob> {
  return (await openAsBlob(path)).slice(start, end);
}

/** The answer to a challenge: SHA-256 of the ranges' bytes, read from the file, concatenated in order. */
async function answerChallenge(path: string, ranges: readonly { start: number; length: number }[]): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    for (const { start, length } of ranges) {
      const bytes = Buffer.alloc(length);
      await handle.read(bytes, 0, length, start);
      hash.update(bytes);
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

const fileRef = (name: string): string => Buffer.from(name, 'utf8').toString('base64url');
const sleep = (ms: number) => new Promise((done) => setTimeout(done, Math.max(0, ms)));
const uploadPath = (state: UploadState): string => `/v1/uploads/${encodeURIComponent(state.uploadId)}`;

/** The request body of POST /v1/uploads, rebuilt from persisted state alone. */
const uploadRequest = (state: Pick<UploadState, 'name' | 'size' | 'contentId' | 'blockDigests'>) => ({
  name: state.name,
  size: state.size,
  contentId: state.contentId,
  blockDigests: state.blockDigests,
});

/**
 * Completes from persisted state. `pending` is polled as the SDK does, by asking POST /v1/uploads
 * again after `retryAfterSeconds` (GET only reports; the POST also settles a file whose content
 * turned READY, or answers the challenge such a file must meet).
 */
async function complete(user: string, state: UploadState): Promise<ApiAnswer> {
  const parts =
    state.mode === 'multipart'
      ? state.blockDigests.map((digest, index) => ({
          partNumber: index + 1,
          etag: state.done[index + 1] ?? '',
          sha256: hexToBase64(digest),
        }))
      : undefined;
  let answer = await api(user, 'POST', `${uploadPath(state)}/complete`, parts ? { parts } : {});
  for (let polls = 0; answer.body.status === 'pending' && polls < 30; polls++) {
    await sleep((answer.body.retryAfterSeconds ?? 1) * 1000);
    answer = await api(user, 'POST', '/v1/uploads', uploadRequest(state));
  }
  return answer;
}

async function downloadMatches(user: string, name: string, expected: Buffer): Promise<boolean> {
  const { body } = await api(user, 'GET', `/v1/files/${fileRef(name)}`);
  const response = await fetch(body.download?.url ?? '');
  const bytes = Buffer.from(await response.arrayBuffer());
  return response.status === 200 && bytes.equals(expected);
}

describe('the mobile guide (docs/mobile.md), over plain fetch', () => {
  it('a multipart upload survives two kills and expired URLs, completes on a later launch; another user proves ownership', async () => {
    const user = newUser('ios');
    const other = newUser('android');
    const name = 'DCIM/clip.mov';
    const { path, bytes } = randomFile(2 * 8 * MiB + 54_321);
    const stateFile = scratchPath('upload-state.json');
    const partsDir = scratchPath('parts');

    // ---- Launch 1: hash once, ask, persist, write part files, send some parts ----------------
    // It returns only what the test observed (storage's answers the app never persisted), to
    // check the server against; the app's memory ends with it: the "kill".
    const observed = await (async () => {
      const hashed = await hashFile(path);
      const first = await api(user, 'POST', '/v1/uploads', uploadRequest({ name, ...hashed }));
      expect(first.status).toBe(202);
      expect(first.body.status).toBe('upload');
      const permit = first.body.permit;
      if (!permit || !first.body.uploadId) throw new Error('no permit');
      expect(permit).toMatchObject({ mode: 'multipart', blockSize: hashed.blockSize, partCount: 3 });
      expect(permit.parts.map((part) => part.partNumber)).toEqual([1, 2, 3]);
      let state: UploadState = {
        uploadId: first.body.uploadId,
        name,
        ...hashed,
        mode: permit.mode,
        sourcePath: path,
        partFiles: await writePartFiles(path, hashed.size, permit.blockSize, partsDir),
        done: {},
      };
      saveState(stateFile, state);

      // Another user asking for the same content while it is being uploaded is told to wait.
      const waiting = await api(other, 'POST', '/v1/uploads', uploadRequest({ name: 'clip.mov', ...hashed }));
      expect(waiting.status).toBe(202);
      expect(waiting.body).toEqual({ status: 'wait', retryAfterSeconds: expect.any(Number) });

      const byNumber = new Map(permit.parts.map((part) => [part.partNumber, part]));
      const part = (n: number): PartPermit => byNumber.get(n) ?? { partNumber: n, url: '', headers: {} };
      // Part 1 from its own file (iOS); its ETag is persisted as the answer arrives.
      const put1 = await putPart(part(1), await openAsBlob(state.partFiles[1] ?? ''));
      expect(put1.status).toBe(200);
      expect(put1.etag).toBeTruthy();
      state = { ...state, done: { ...state.done, 1: put1.etag ?? '' } };
      saveState(stateFile, state);
      // Part 2 from a byte range of the original (Android); the app is killed before it hears
      // the answer, so its ETag is never persisted.
      const range2 = partRanges(state.size, state.blockSize)[1] ?? { start: 0, end: 0 };
      const put2 = await putPart(part(2), await fileRange(path, range2.start, range2.end));
      expect(put2.status).toBe(200);
      return { etag1: put1.etag, etag2: put2.etag, staleUrl: part(3), expiresAt: permit.expiresAt };
    })();

    // ---- Killed. The part URLs expire before the app comes back. -----------------------------
    await sleep(Date.parse(observed.expiresAt) - Date.now() + 1_000);
    const refused = await putPart(observed.staleUrl, await openAsBlob(loadState(stateFile).partFiles[3] ?? ''));
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('AccessDenied');
    expect(refused.text).toContain('Request has expired');

    // ---- Launch 2: persisted state only; /parts lists what storage holds and signs the rest ---
    let state = loadState(stateFile);
    const missing = partRanges(state.size, state.blockSize)
      .map((range) => range.partNumber)
      .filter((n) => !(n in state.done));
    expect(missing).toEqual([2, 3]);
    const renewed = await api(user, 'POST', `${uploadPath(state)}/parts`, { partNumbers: missing });
    expect(renewed.status).toBe(200);
    expect(renewed.body.status).toBe('upload');
    const fresh = renewed.body.permit;
    if (!fresh) throw new Error('no permit');
    // Both parts storage holds, with the ETag the killed app never saw, their size and SHA-256:
    // checked against the persisted digests, no byte of the file read again.
    expect(fresh.uploadedParts).toEqual([
      { partNumber: 1, etag: observed.etag1, size: 8 * MiB, sha256: hexToBase64(state.blockDigests[0] ?? '') },
      { partNumber: 2, etag: observed.etag2, size: 8 * MiB, sha256: hexToBase64(state.blockDigests[1] ?? '') },
    ]);
    expect(fresh.parts.map((p) => p.partNumber)).toEqual([3]);
    expect(fresh.parts[0]?.url).not.toBe(observed.staleUrl.url);
    expect(Date.parse(fresh.expiresAt)).toBeGreaterThan(Date.now());
    const adopted: Record<number, string> = { ...state.done };
    for (const stored of fresh.uploadedParts ?? []) {
      const range = partRanges(state.size, state.blockSize)[stored.partNumber - 1];
      const digest = state.blockDigests[stored.partNumber - 1] ?? '';
      if (range && stored.size === range.end - range.start && stored.sha256 === hexToBase64(digest)) {
        adopted[stored.partNumber] = stored.etag;
      }
    }
    state = { ...state, done: adopted };
    saveState(stateFile, state);

    // POST /v1/uploads again, rebuilt from the persisted state, answers the same upload and parts.
    const askedAgain = await api(user, 'POST', '/v1/uploads', uploadRequest(state));
    expect(askedAgain.body).toMatchObject({ status: 'upload', uploadId: state.uploadId });
    expect(askedAgain.body.permit?.uploadedParts?.map((p) => p.partNumber)).toEqual([1, 2]);

    // Part 3 from its file, sent twice (a retry after a lost answer): each part PUT is idempotent.
    const permit3 = fresh.parts[0] ?? observed.staleUrl;
    const put3 = await putPart(permit3, await openAsBlob(state.partFiles[3] ?? ''));
    const put3Again = await putPart(permit3, await openAsBlob(state.partFiles[3] ?? ''));
    expect([put3.status, put3Again.status]).toEqual([200, 200]);
    expect(put3Again.etag).toBe(put3.etag);
    state = { ...state, done: { ...state.done, 3: put3.etag ?? '' } };
    saveState(stateFile, state);

    // ---- Killed before completing. Launch 3 completes from persisted state. -------------------
    state = loadState(stateFile);
    const completed = await complete(user, state);
    expect(completed.status).toBe(200);
    expect(completed.body).toMatchObject({ status: 'complete', file: { state: 'COMPLETE', contentId: state.contentId } });
    expect(await downloadMatches(user, name, bytes)).toBe(true);
    rmSync(partsDir, { recursive: true, force: true });
    rmSync(stateFile);

    // ---- A second user with the same file: a challenge answered from its byte ranges ---------
    // Their own device hashes its own copy of the file.
    const theirs = uploadRequest({ name: 'clip.mov', ...(await hashFile(path)) });
    const challenged = await api(other, 'POST', '/v1/uploads', theirs);
    expect(challenged.status).toBe(202);
    const challenge = challenged.body.challenge;
    if (challenged.body.status !== 'challenge' || !challenge)
      throw new Error(`expected a challenge, got ${challenged.body.status}`);
    const sha256 = await answerChallenge(path, challenge.ranges);
    const instant = await api(other, 'POST', '/v1/uploads', {
      ...theirs,
      proof: { token: challenge.token, sha256 },
    });
    expect(instant.status).toBe(200);
    expect(instant.body).toMatchObject({ status: 'complete', deduplicated: true, file: { state: 'COMPLETE' } });
    expect(await downloadMatches(other, 'clip.mov', bytes)).toBe(true);
  }, 90_000);

  it('a single PUT: a retried PUT answered 412 counts as stored; after a relaunch, 409 upload_not_active sends the app to ask again', async () => {
    const user = newUser('ios');
    const name = 'note.m4a';
    const { path, bytes } = randomFile(300_000);
    const hashed = await hashFile(path);
    const first = await api(user, 'POST', '/v1/uploads', uploadRequest({ name, ...hashed }));
    const permit = first.body.permit;
    if (!permit || !first.body.uploadId) throw new Error('no permit');
    expect(permit.mode).toBe('single');
    const only = permit.parts[0];
    if (!only) throw new Error('no part URL');
    expect(only.headers).toMatchObject({
      'if-none-match': '*',
      'x-amz-checksum-sha256': hexToBase64(hashed.blockDigests[0] ?? ''),
    });
    const sent = await putPart(only, await fileRange(path, 0, hashed.size));
    expect(sent.status).toBe(200);
    // The answer was lost and the task retried: the write-once PUT finds the object stored.
    const retried = await putPart(only, await fileRange(path, 0, hashed.size));
    expect(retried.status).toBe(412);

    // Killed before completing; meanwhile S3's event verified the object and completed the file.
    const state: UploadState = {
      uploadId: first.body.uploadId,
      name,
      ...hashed,
      mode: 'single',
      sourcePath: path,
      partFiles: {},
      done: {},
    };
    for (let polls = 0; (await fileItem(user, name))?.state !== 'COMPLETE' && polls < 50; polls++) await sleep(100);
    const asked = await api(user, 'POST', `${uploadPath(state)}/parts`, { partNumbers: [1] });
    expect(asked.status).toBe(409);
    expect(asked.body.error?.code).toBe('upload_not_active');
    // The guide's answer to upload_not_active: ask POST /v1/uploads again from the persisted
    // request (no hashing); GET /v1/uploads/{id} reports the same.
    const askedAgain = await api(user, 'POST', '/v1/uploads', uploadRequest(state));
    expect(askedAgain).toMatchObject({ status: 200, body: { status: 'complete', uploadId: state.uploadId } });
    const status = await api(user, 'GET', uploadPath(state));
    expect(status.body).toMatchObject({ status: 'complete', file: { state: 'COMPLETE' } });
    // A completion sent anyway (the app completes on every launch until it hears an outcome) says the same.
    expect((await complete(user, state)).body).toMatchObject({ status: 'complete' });
    expect(await downloadMatches(user, name, bytes)).toBe(true);
  }, 60_000);

  it('cancel: DELETE /v1/uploads/{id} ends the upload; its id is then unknown (as a swept one), and asking again starts afresh without hashing', async () => {
    const user = newUser('android');
    const { path } = randomFile(8 * MiB + 1);
    const hashed = await hashFile(path);
    const first = await api(user, 'POST', '/v1/uploads', uploadRequest({ name: 'draft.mp4', ...hashed }));
    const uploadId = first.body.uploadId ?? '';
    const cancelled = await api(user, 'DELETE', `/v1/uploads/${encodeURIComponent(uploadId)}`);
    expect(cancelled).toEqual({ status: 200, body: { cancelled: uploadId } });
    const parts = await api(user, 'POST', `/v1/uploads/${encodeURIComponent(uploadId)}/parts`, { partNumbers: [1] });
    expect([parts.status, parts.body.error?.code]).toEqual([404, 'upload_not_found']);
    const status = await api(user, 'GET', `/v1/uploads/${encodeURIComponent(uploadId)}`);
    expect(status.status).toBe(404);
    // An unknown id (cancelled, or swept after the upload TTL): the persisted request starts a
    // new upload, under a new id, with nothing stored.
    const again = await api(user, 'POST', '/v1/uploads', uploadRequest({ name: 'draft.mp4', ...hashed }));
    expect(again.body.status).toBe('upload');
    expect(again.body.uploadId).not.toBe(uploadId);
    expect(again.body.permit?.uploadedParts).toBeUndefined();
    expect(again.body.permit?.parts.map((part) => part.partNumber)).toEqual([1, 2]);
    await api(user, 'DELETE', `/v1/uploads/${encodeURIComponent(again.body.uploadId ?? '')}`);
  }, 30_000);

  describe('React Native: the browser SDK without Worker and with a Blob lacking arrayBuffer()', () => {
    afterEach(() => {
      vi.unstubAllGlobals();
      fileReads.count = 0;
    });

    it('uploads a multipart file and proves ownership of it for another user, reading through FileReader', async () => {
      // React Native has FileReader and no Worker (Node has no Worker global either).
      vi.stubGlobal('FileReader', NativeFileReader);
      expect(typeof Worker).toBe('undefined');
      const data = new Uint8Array(randomFile(8 * MiB + 4_321).bytes);
      const clientOf = (user: string) => createClient({ endpoint: stack.endpoint, token: () => token(user) });
      const first = await clientOf(newUser('rn')).put(new NativeBlob([data]), { name: 'rn.mov' });
      expect(first).toMatchObject({ state: 'COMPLETE', deduplicated: false, bytesSent: data.length });
      const readsForUpload = fileReads.count;
      expect(readsForUpload).toBeGreaterThanOrEqual(2); // one read per block hashed
      const second = await clientOf(newUser('rn')).put(new NativeBlob([data]), { name: 'same.mov' });
      expect(second).toMatchObject({ state: 'COMPLETE', deduplicated: true, bytesSent: 0 });
      // The challenge's ranges were read through FileReader too (after the blocks were hashed).
      expect(fileReads.count).toBeGreaterThan(2 * readsForUpload);
    }, 60_000);
  });
});
