/**
 * The built browser SDK (dist/browser/hashdrop.js) in Chromium, from a page on its own loopback
 * origin, against the local stack: every API call and every presigned part PUT and download is
 * cross-origin (the API's and the bucket's CORS rules answer), and parts land in the strict
 * local S3 (SigV4, the signed checksum and Content-Length, If-None-Match).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MiB } from '#protocol/content-id';
import { hashBuffer } from '#sdk/hashing';
import { contentItem, fileItem, newUser, objectKeys, stack, token, usageItem } from '../helpers.ts';
import { seededBytes } from './bytes.ts';
import { type Browser, launch, type TestWindow } from './chromium.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/** What a test passes into the page: where the API is, whose token, which seeded file. */
interface Job {
  readonly endpoint: string;
  readonly token: string;
  readonly seed: string;
  readonly size: number;
  readonly name: string;
}

const job = async (user: string, name: string, size: number, seed = `${user}-${name.replace(/\W/g, '-')}`): Promise<Job> => ({
  endpoint: stack.endpoint,
  token: await token(user),
  seed,
  size,
  name,
});

/** The upload requests (`POST /v1/uploads`) and cancels (`DELETE /v1/uploads/…`) a page makes. */
function watchApi(page: Page): { asks: number; cancels: string[] } {
  const seen = { asks: 0, cancels: [] as string[] };
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!request.url().startsWith(stack.endpoint)) return;
    if (request.method() === 'POST' && url.pathname === '/v1/uploads') seen.asks++;
    if (request.method() === 'DELETE' && url.pathname.startsWith('/v1/uploads/')) seen.cancels.push(url.pathname);
  });
  return seen;
}

describe('browser SDK', () => {
  it('serves the page from another origin than the API and storage', () => {
    const page = new URL(browser.context.pages()[0]?.url() ?? 'http://127.0.0.1:1');
    expect(new URL(stack.endpoint).origin).not.toBe(page.origin);
    expect(new URL(stack.s3Endpoint).origin).not.toBe(page.origin);
  });

  it('a miss: hashes, sends the bytes through presigned URLs and resolves to what the CLI prints', async () => {
    const page = await browser.open();
    const input = await job(newUser(), 'photos/miss.bin', 1 * MiB + 7);
    const { result, phases } = await page.evaluate(async (input) => {
      const w = window as unknown as TestWindow;
      const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token });
      const phases = new Set<string>();
      const blob = await w.seeded(input.seed, input.size);
      const result = await client.put(blob, { name: input.name, onProgress: (progress) => phases.add(progress.phase) });
      return { result, phases: [...phases] };
    }, input);

    const { contentId } = hashBuffer(seededBytes(input.seed, input.size));
    expect(result).toEqual({
      name: input.name,
      size: input.size,
      contentId,
      state: 'COMPLETE',
      deduplicated: false,
      bytesSent: input.size,
      uploadId: expect.any(String),
    });
    expect(phases).toEqual(['hashing', 'uploading']);
    expect(await objectKeys(`blobs/${contentId}`)).toHaveLength(1);
  });

  it("another user's upload of stored bytes is instant: challenged, proven, 0 bytes sent", async () => {
    const seed = `shared-${newUser()}`;
    const first = await job(newUser(), 'mine.bin', 300_001, seed);
    const second = await job(newUser(), 'theirs.bin', 300_001, seed);
    const page = await browser.open();
    const api = watchApi(page);
    const put = (input: Job) =>
      page.evaluate(async (input) => {
        const w = window as unknown as TestWindow;
        const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token });
        return client.put(await w.seeded(input.seed, input.size), { name: input.name });
      }, input);

    expect(await put(first)).toMatchObject({ deduplicated: false, bytesSent: 300_001 });
    const asksBefore = api.asks;
    const result = await put(second);
    expect(result).toMatchObject({ name: 'theirs.bin', state: 'COMPLETE', deduplicated: true, bytesSent: 0 });
    // The hit was challenged and the page answered from the Blob's bytes.
    expect(api.asks - asksBefore).toBe(2);
  });

  it('a file larger than one block is hashed in Web Workers and sent as a multipart upload', async () => {
    const page = await browser.open();
    let workers = 0;
    page.on('worker', () => workers++);
    const input = await job(newUser(), 'big.bin', 8 * MiB + 512 * 1024 + 3);
    const { result, last } = await page.evaluate(async (input) => {
      const w = window as unknown as TestWindow;
      const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token });
      let last: unknown;
      const result = await client.put(await w.seeded(input.seed, input.size), {
        name: input.name,
        onProgress: (progress) => {
          last = progress;
        },
      });
      return { result, last };
    }, input);

    expect(result).toMatchObject({ contentId: hashBuffer(seededBytes(input.seed, input.size)).contentId, bytesSent: input.size });
    expect(last).toMatchObject({ phase: 'uploading', partsDone: 2, partCount: 2, bytesSent: input.size });
    expect(workers).toBeGreaterThanOrEqual(1);
  });

  it('a page whose CSP refuses workers hashes in its own thread instead', async () => {
    const page = await browser.open('/no-workers');
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const input = await job(newUser(), 'strict.bin', 8 * MiB + 10);
    const result = await page.evaluate(async (input) => {
      const w = window as unknown as TestWindow;
      const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token });
      return client.put(await w.seeded(input.seed, input.size), { name: input.name });
    }, input);
    expect(result).toMatchObject({ contentId: hashBuffer(seededBytes(input.seed, input.size)).contentId, state: 'COMPLETE' });
    // The browser did refuse the workers: this test ran the fallback.
    expect(errors.join('\n')).toMatch(/Content Security Policy/);
  });

  it('an upload interrupted by a page reload resumes: only the parts storage lacks are sent', async () => {
    const page = await browser.open();
    const input = await job(newUser(), 'resumed.bin', 8 * MiB + 1 * MiB);
    // Part 2's PUT never gets an answer, so the reload interrupts the upload with part 1 stored.
    await page.evaluate(async (input) => {
      const w = window as unknown as TestWindow;
      const held: typeof fetch = (url, init) =>
        init?.method === 'PUT' && String(url).includes('partNumber=2') ? new Promise(() => undefined) : fetch(url, init);
      const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token, fetch: held });
      w.partsDone = 0;
      void client.put(await w.seeded(input.seed, input.size), {
        name: input.name,
        onProgress: (progress) => {
          if (progress.phase === 'uploading') w.partsDone = progress.partsDone;
        },
      });
    }, input);
    await page.waitForFunction(() => Number((window as unknown as TestWindow).partsDone) >= 1);
    await page.reload();
    await page.waitForFunction(() => (window as unknown as TestWindow).sdkReady === true);

    const { result, resumed } = await page.evaluate(async (input) => {
      const w = window as unknown as TestWindow;
      const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token });
      let resumed = -1;
      const result = await client.put(await w.seeded(input.seed, input.size), {
        name: input.name,
        onProgress: (progress) => {
          if (progress.phase === 'uploading') resumed = progress.bytesResumed;
        },
      });
      return { result, resumed };
    }, input);
    expect(resumed).toBe(8 * MiB);
    expect(result).toMatchObject({ state: 'COMPLETE', deduplicated: false, bytesSent: 1 * MiB });
    expect(await objectKeys(`blobs/${result.contentId}`)).toHaveLength(1);
  });

  it('a download comes back byte for byte, checked against its content id', async () => {
    const page = await browser.open();
    const input = await job(newUser(), 'round-trip.bin', 8 * MiB + 4099);
    const same = await page.evaluate(async (input) => {
      const w = window as unknown as TestWindow;
      const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token });
      const original = await w.seeded(input.seed, input.size);
      await client.put(original, { name: input.name });
      const copy = new Uint8Array(await (await client.get(input.name)).arrayBuffer());
      const bytes = new Uint8Array(await original.arrayBuffer());
      return copy.length === bytes.length && copy.every((byte, index) => byte === bytes[index]);
    }, input);
    expect(same).toBe(true);
  });

  it('a download whose bytes do not match the content id is refused', async () => {
    const page = await browser.open();
    const input = await job(newUser(), 'tampered.bin', 64 * 1024);
    const failure = await page.evaluate(
      async ({ input, storage }) => {
        const w = window as unknown as TestWindow;
        // Storage's answer to the download, with one byte changed on the way.
        const tampering: typeof fetch = async (url, init) => {
          const response = await fetch(url, init);
          if (!String(url).startsWith(storage) || (init?.method ?? 'GET') !== 'GET') return response;
          const bytes = new Uint8Array(await response.arrayBuffer());
          bytes[100] = (bytes[100] ?? 0) ^ 1;
          return new Response(bytes, { status: response.status, headers: response.headers });
        };
        const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token, fetch: tampering });
        await client.put(await w.seeded(input.seed, input.size), { name: input.name });
        try {
          await client.get(input.name);
          return undefined;
        } catch (error) {
          return { isTyped: error instanceof w.hashdrop.UploadFailedError, code: (error as { code?: string }).code };
        }
      },
      { input, storage: stack.s3Endpoint },
    );
    expect(failure).toEqual({ isTyped: true, code: 'content_mismatch' });
  });

  it('renames, lists, reports usage and deletes; errors carry the API code', async () => {
    const page = await browser.open();
    const input = await job(newUser(), 'draft.txt', 1000);
    const seen = await page.evaluate(async (input) => {
      const w = window as unknown as TestWindow;
      const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token });
      const codeOf = async (call: () => Promise<unknown>) => {
        try {
          await call();
          return 'no error';
        } catch (error) {
          return error instanceof w.hashdrop.ApiError ? error.code : `untyped: ${String(error)}`;
        }
      };
      const blob = await w.seeded(input.seed, input.size);
      await client.put(blob, { name: input.name });
      await client.put(blob, { name: 'other.txt' });
      const renamed = await client.rename(input.name, 'docs/final.txt');
      const listed = (await client.list({ prefix: 'docs/' })).files.map((file) => file.name);
      const taken = await codeOf(() => client.rename('other.txt', 'docs/final.txt'));
      const usage = await client.usage();
      await client.remove('docs/final.txt');
      const afterRemove = (await client.list()).files.map((file) => file.name);
      const gone = await codeOf(() => client.get('docs/final.txt'));
      return { renamed: renamed.name, listed, taken, usage, afterRemove, gone };
    }, input);
    expect(seen).toEqual({
      renamed: 'docs/final.txt',
      listed: ['docs/final.txt'],
      taken: 'file_exists',
      usage: expect.objectContaining({ files: 2, bytes: 2000 }),
      afterRemove: ['other.txt'],
      gone: 'file_not_found',
    });
  });

  it('a retried single PUT answered 412 counts as stored', async () => {
    const page = await browser.open();
    const input = await job(newUser(), 'lost-answer.bin', 200_000);
    const { result, statuses } = await page.evaluate(async (input) => {
      const w = window as unknown as TestWindow;
      const statuses: number[] = [];
      // The first PUT reaches storage, but its answer is lost: the SDK sends it again.
      const losing: typeof fetch = async (url, init) => {
        const response = await fetch(url, init);
        if (init?.method !== 'PUT') return response;
        statuses.push(response.status);
        if (statuses.length === 1) throw new TypeError('Failed to fetch');
        return response;
      };
      const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token, fetch: losing });
      return { result: await client.put(await w.seeded(input.seed, input.size), { name: input.name }), statuses };
    }, input);
    // Storage stored the first PUT and refused the retry (If-None-Match: *); the SDK counts only
    // what it saw answered.
    expect(statuses).toEqual([200, 412]);
    expect(result).toMatchObject({ state: 'COMPLETE', deduplicated: false, bytesSent: input.size });
  });

  it('aborting a put rejects with the abort and cancels the upload on the server', async () => {
    const page = await browser.open();
    const api = watchApi(page);
    const user = newUser();
    const input = await job(user, 'aborted.bin', 8 * MiB + 100);
    const outcome = await page.evaluate(async (input) => {
      const w = window as unknown as TestWindow;
      const abort = new AbortController();
      // Part 2 hangs until the abort, which must also end its request.
      const held: typeof fetch = (url, init) =>
        init?.method === 'PUT' && String(url).includes('partNumber=2')
          ? new Promise((_, fail) => init.signal?.addEventListener('abort', () => fail(init.signal?.reason)))
          : fetch(url, init);
      const client = w.hashdrop.createClient({ endpoint: input.endpoint, token: input.token, fetch: held });
      try {
        await client.put(await w.seeded(input.seed, input.size), {
          name: input.name,
          signal: abort.signal,
          onProgress: (progress) => {
            if (progress.phase === 'uploading' && progress.partsDone === 1) abort.abort();
          },
        });
        return 'resolved';
      } catch (error) {
        return (error as Error).name;
      }
    }, input);
    expect(outcome).toBe('AbortError');
    expect(api.cancels).toHaveLength(1);
    expect(api.cancels[0]).toMatch(/^\/v1\/uploads\/[A-Za-z0-9_-]+\.[0-9a-f]{32}$/);
    // The server gave the upload up at once: no file, no attempt, no parts left behind (the
    // unreferenced reservation is the sweeper's).
    const bytes = seededBytes(input.seed, input.size);
    await vi.waitFor(async () => expect(await fileItem(user, input.name)).toBeUndefined(), { timeout: 10_000 });
    expect(await contentItem(hashBuffer(bytes).contentId)).toMatchObject({ state: 'PENDING', refCount: 0 });
    expect((await contentItem(hashBuffer(bytes).contentId))?.attempt).toBeUndefined();
    expect(await usageItem(user)).toMatchObject({ files: 0, bytes: 0 });
  });
});
