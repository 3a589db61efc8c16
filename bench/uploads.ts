/**
 * 2. Instant upload: a hit vs the first upload of the same file.
 * 3. Upload throughput on a miss (hash excluded) vs raw multipart PUTs of the same bytes.
 * 7. Peak RSS of the CLI uploading a large file.
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { blockCount, blockRange } from '#protocol/content-id';
import { HashdropClient } from '#sdk/api';
import { type PutResult, putFile } from '#sdk/upload';
import { fmt, MiB, pool, quantile, timed, warmPageCache, writeRandomFile } from './measure.ts';
import type { Row } from './run.ts';
import { type BenchStack, s3ClientOf } from './stack-process.ts';

const CONCURRENCY = 4;

/** A client with one token for its session, as an app holds one. */
export function clientOf(stack: BenchStack, user: string): HashdropClient {
  let token: Promise<string> | undefined;
  return new HashdropClient({ endpoint: stack.info.endpoint, token: () => (token ??= stack.mintToken(user)) });
}

/** A put, timed in its phases: hashing ends when the last block is hashed. */
async function timedPut(stack: BenchStack, user: string, path: string, name: string) {
  const start = performance.now();
  let hashedAt = start;
  const result: PutResult = await putFile(clientOf(stack, user), path, {
    name,
    concurrency: CONCURRENCY,
    onProgress: (event) => {
      if (event.phase === 'hashing' && event.bytesHashed === event.size) hashedAt = performance.now();
    },
  });
  const end = performance.now();
  return { result, totalMs: end - start, hashMs: hashedAt - start, afterHashMs: end - hashedAt };
}

/** The same bytes, in the same parts and with the same concurrency, straight to S3. */
async function rawMultipartUpload(stack: BenchStack, path: string, size: number): Promise<number> {
  const s3 = s3ClientOf(stack);
  const Bucket = stack.info.bucket;
  const Key = 'bench/raw-upload';
  const { ms } = await timed(async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const handle = await open(path, 'r');
    try {
      const parts = await pool(
        Array.from({ length: blockCount(size) }, (_, index) => index + 1),
        CONCURRENCY,
        async (PartNumber) => {
          const { start, end } = blockRange(size, PartNumber);
          const body = Buffer.allocUnsafe(end - start);
          await handle.read(body, 0, body.length, start);
          const { ETag } = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: body }));
          return { PartNumber, ETag };
        },
      );
      await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    } finally {
      await handle.close();
    }
  });
  s3.destroy();
  return ms;
}

export async function benchUploads(stack: BenchStack, plainStack: BenchStack, dir: string, size: number) {
  const path = join(dir, 'upload.bin');
  await writeRandomFile(path, size);
  await warmPageCache(path);
  const miss = await timedPut(stack, 'bench-alice', path, 'video.bin');
  await warmPageCache(path);
  const hit = await timedPut(stack, 'bench-bob', path, 'same-video.bin');
  await warmPageCache(path);
  const rawMs = await rawMultipartUpload(stack, path, size);
  // Without proofs of ownership: a hit is one request.
  const smallPath = join(dir, 'small.bin');
  await writeRandomFile(smallPath, 64 * MiB);
  await timedPut(plainStack, 'bench-alice', smallPath, 'small.bin');
  const plainHits = [];
  for (let round = 0; round < 5; round++)
    plainHits.push((await timedPut(plainStack, `bench-bob-${round}`, smallPath, 'small.bin')).afterHashMs);
  const plainProtocolMs = quantile(plainHits, 0.5);

  const instant = miss.totalMs / hit.totalMs;
  const protocolMs = hit.afterHashMs;
  const throughput = rawMs / miss.afterHashMs;
  const rows: Row[] = [
    {
      benchmark: `2. put ${fmt.mb(size)}, already stored`,
      hashdrop: `${fmt.ms(hit.totalMs)} (${hit.result.bytesSent} B sent)`,
      limit: `first upload ${fmt.ms(miss.totalMs)}`,
      ratio: fmt.ratio(instant),
      target: '≥ 20×',
      met: instant >= 20,
    },
    {
      benchmark: '   hit minus its hash, proof of ownership on',
      hashdrop: fmt.ms(protocolMs),
      limit: '2 requests + 44 range reads (8 at a time)',
      ratio: '',
      target: '≤ 50 ms',
      met: protocolMs <= 50,
    },
    {
      benchmark: '   hit minus its hash, proofs off',
      hashdrop: fmt.ms(plainProtocolMs),
      limit: '1 request (median of 5)',
      ratio: '',
      target: '≤ 50 ms',
      met: plainProtocolMs <= 50,
    },
    {
      benchmark: `3. miss: upload ${fmt.mb(size)}, hash excluded`,
      hashdrop: fmt.rate(size, miss.afterHashMs),
      limit: `raw multipart ${fmt.rate(size, rawMs)}`,
      ratio: fmt.ratio(throughput),
      target: '≥ 0.90×',
      met: throughput >= 0.9,
    },
  ];
  return {
    rows,
    figures: {
      size,
      miss: { totalMs: miss.totalMs, hashMs: miss.hashMs, uploadMs: miss.afterHashMs, bytesSent: miss.result.bytesSent },
      hit: { totalMs: hit.totalMs, hashMs: hit.hashMs, protocolMs, bytesSent: hit.result.bytesSent },
      hitWithoutProofs: { protocolMsMedian: plainProtocolMs, samples: plainHits },
      rawMultipartMs: rawMs,
    },
  };
}

/** The CLI in a process of its own, reporting its peak resident set size when it exits. */
export async function benchMemory(stack: BenchStack, dir: string, size: number) {
  const path = join(dir, 'memory.bin');
  await writeRandomFile(path, size);
  const wrapper = join(import.meta.dirname, 'rss-wrapper.mjs');
  const env = { ...process.env, HASHDROP_ENDPOINT: stack.info.endpoint, HASHDROP_TOKEN: await stack.mintToken('bench-memory') };
  const child = spawn(process.execPath, [wrapper, 'put', path, '--quiet', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  const maxRssKb = Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? Number.NaN);
  const peak = maxRssKb * 1024;
  const rows: Row[] = [
    {
      benchmark: `7. CLI put ${fmt.mb(size)}: peak RSS`,
      hashdrop: code === 0 ? fmt.mb(peak) : `failed (${code})`,
      limit: `file ${fmt.mb(size)}`,
      ratio: fmt.ratio(peak / size),
      target: '≤ 200 MB',
      met: code === 0 && peak <= 200 * MiB,
    },
  ];
  return { rows, figures: { size, peakRssBytes: peak, exitCode: code } };
}
