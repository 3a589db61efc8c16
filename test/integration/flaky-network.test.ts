/**
 * A multipart upload over a bad network, against the real local stack: storage requests fail in
 * every way a mobile link does (connection lost, 5xx, throttling, an expired URL) and URLs signed
 * again come in small batches. The upload still completes with the right bytes, re-signing where
 * it must.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MiB } from '#protocol/content-id';
import { HashdropClient } from '#sdk/api';
import { getFile } from '#sdk/download';
import { putFile } from '#sdk/upload';
import { contentItem, newUser, randomFile, scratchPath, stack, token } from '../helpers.ts';

const BLOCK = 8 * MiB;
type Fault = 'network' | 503 | 429 | 403;

describe('uploading over a flaky network', () => {
  it('retries network errors, 5xx and throttling, re-signs an expired URL, and signs in batches', async () => {
    const user = newUser('mobile');
    const { path, bytes } = randomFile(4 * BLOCK + 1); // five parts
    // The first try of each of these parts fails as given.
    const faults = new Map<number, Fault>([
      [1, 'network'],
      [2, 503],
      [3, 429],
      [5, 403],
    ]);
    const signRequests: number[][] = [];
    const faultyFetch: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.pathname.endsWith('/parts') && init?.body) {
        const body = JSON.parse(String(init.body)) as { partNumbers: number[] };
        signRequests.push(body.partNumbers);
      }
      const partNumber = Number(url.searchParams.get('partNumber'));
      const fault = init?.method === 'PUT' ? faults.get(partNumber) : undefined;
      if (fault !== undefined) {
        faults.delete(partNumber);
        if (fault === 'network') throw new TypeError('fetch failed');
        return new Response(`<Error><Code>injected ${fault}</Code></Error>`, { status: fault });
      }
      return fetch(input, init);
    };
    const client = new HashdropClient({ endpoint: stack.endpoint, token: () => token(user), fetch: faultyFetch });

    const put = await putFile(client, path, {
      name: 'commute.mp4',
      concurrency: 2,
      partsPerBatch: 2,
      retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
    });

    expect(faults.size, 'every fault was hit').toBe(0);
    expect(put).toMatchObject({ state: 'COMPLETE', deduplicated: false });
    // Refused tries count as sent (their bytes went out); the lost connection's did not.
    expect(put.bytesSent).toBe(bytes.length + 2 * BLOCK + 1);
    // Every part came with the first answer (the server signs the first 100 storage lacks); part 5
    // once more after its 403, in a batch of at most two.
    expect(signRequests.every((parts) => parts.length <= 2)).toBe(true);
    expect(signRequests.flat()).toEqual([5]);
    expect(await contentItem(put.contentId)).toMatchObject({ state: 'READY', refCount: 1 });

    const out = scratchPath('commute.mp4');
    await getFile(client, 'commute.mp4', out);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });

  it('asks again when its upload is no longer active, and resumes from what storage holds', async () => {
    const user = newUser('mobile');
    const { path, bytes } = randomFile(2 * BLOCK + 1); // three parts
    let refusedOnce = false;
    let expired = false;
    let asks = 0;
    const fetchWithTakeover: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.pathname === '/v1/uploads' && init?.method === 'POST') asks++;
      // Part 2's first URL is refused as expired, so the client asks /parts for another.
      if (init?.method === 'PUT' && url.searchParams.get('partNumber') === '2' && !expired) {
        expired = true;
        return new Response('<Error><Code>AccessDenied</Code></Error>', { status: 403 });
      }
      if (url.pathname.endsWith('/parts') && !refusedOnce) {
        refusedOnce = true;
        const error = { error: { code: 'upload_not_active', message: 'this upload holds no active permit' } };
        return new Response(JSON.stringify(error), { status: 409, headers: { 'content-type': 'application/json' } });
      }
      return fetch(input, init);
    };
    const client = new HashdropClient({ endpoint: stack.endpoint, token: () => token(user), fetch: fetchWithTakeover });
    const put = await putFile(client, path, { name: 'taken.bin', concurrency: 1, partsPerBatch: 1 });
    expect(put).toMatchObject({ state: 'COMPLETE', deduplicated: false });
    expect(refusedOnce).toBe(true);
    expect(asks).toBe(2);
    // The part stored before the refusal was resumed, not sent again (part 2's refused try counts).
    expect(put.bytesSent).toBe(bytes.length + BLOCK);
    const out = scratchPath('taken.bin');
    await getFile(client, 'taken.bin', out);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });
});
