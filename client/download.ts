/** Downloading a file and proving its bytes against its content id on the way to disk. */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { hashStream } from '#core/tree-hash';
import type { HashdropClient } from './api.ts';
import { UploadFailedError } from './upload.ts';

export interface GetResult {
  readonly name: string;
  readonly size: number;
  readonly contentId: string;
  readonly path: string;
}

export async function getFile(client: HashdropClient, name: string, outPath: string): Promise<GetResult> {
  const { file, download } = await client.getFile(name);
  const response = await client.fetchImpl(download.url);
  if (!response.ok || !response.body) throw new UploadFailedError('download_failed', `storage answered HTTP ${response.status}`);
  const partial = `${outPath}.partial`;
  const out = createWriteStream(partial);
  const body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
  async function* teeToDisk(): AsyncGenerator<Uint8Array> {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      if (!out.write(chunk)) await once(out, 'drain');
      yield chunk;
    }
  }
  try {
    const tree = await hashStream(teeToDisk(), file.size);
    out.end();
    await once(out, 'finish');
    if (tree.contentId !== file.contentId) {
      throw new UploadFailedError('content_mismatch', 'downloaded bytes do not match the file content id');
    }
    await rename(partial, outPath);
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  return { name: file.name, size: file.size, contentId: file.contentId, path: outPath };
}
