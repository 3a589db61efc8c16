/**
 * Downloading a file and proving its bytes against its content id on the way to disk. An
 * interrupted download leaves `<path>.<id>.partial`; the next `getFile` of the same content asks
 * storage only for the rest (HTTP Range) and hashes the whole, old bytes and new.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { UnexpectedLengthError } from '#protocol/tree-hash';
import type { HashdropClient } from './api.ts';
import { hashStream } from './hashing.ts';
import { UploadFailedError } from './upload.ts';

export interface GetResult {
  readonly name: string;
  readonly size: number;
  readonly contentId: string;
  readonly path: string;
  /** Bytes received in this call (less than `size` when an earlier download was resumed). */
  readonly bytesReceived: number;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

export async function getFile(client: HashdropClient, name: string, outPath: string): Promise<GetResult> {
  const { file, download } = await client.getFile(name);
  // Named after the content: only bytes of the same content are ever resumed.
  const partial = `${outPath}.${file.contentId.slice(0, 16)}.partial`;
  const held = await sizeOf(partial);
  let start = held !== undefined && held <= file.size ? held : 0;

  let body: AsyncIterable<Uint8Array> = (async function* () {})();
  if (start < file.size) {
    const response = await client.fetchImpl(download.url, start > 0 ? { headers: { range: `bytes=${start}-` } } : {});
    if (!response.ok || !response.body) {
      throw new UploadFailedError('download_failed', `storage answered HTTP ${response.status}`);
    }
    if (response.status !== 206) start = 0; // the whole object came: start over
    body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
  }

  const out = createWriteStream(partial, { flags: start > 0 ? 'a' : 'w' });
  let bytesReceived = 0;
  async function* wholeFile(): AsyncGenerator<Uint8Array> {
    if (start > 0) yield* createReadStream(partial, { end: start - 1 }) as AsyncIterable<Uint8Array>;
    for await (const chunk of body) {
      if (!out.write(chunk)) await once(out, 'drain');
      bytesReceived += chunk.length;
      yield chunk;
    }
  }
  let contentId: string;
  try {
    contentId = (await hashStream(wholeFile(), file.size)).contentId;
  } catch (error) {
    out.end();
    await once(out, 'finish');
    // Bytes of the wrong length cannot be resumed; a broken connection leaves its bytes to resume.
    if (error instanceof UnexpectedLengthError) await rm(partial, { force: true });
    throw error;
  }
  out.end();
  await once(out, 'finish');
  if (contentId !== file.contentId) {
    await rm(partial, { force: true });
    throw new UploadFailedError('content_mismatch', 'downloaded bytes do not match the file content id');
  }
  await rename(partial, outPath);
  return { name: file.name, size: file.size, contentId: file.contentId, path: outPath, bytesReceived };
}
