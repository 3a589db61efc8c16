/**
 * 8. Peers, side by side in one run on the same local S3 (the stack's, with the admin key):
 *    - tus: @tus/server with @tus/s3-store (bench/tus-server.ts, a process of its own), driven by
 *      tus-js-client from this process: one PATCH stream the server cuts into 8 MiB S3 parts;
 *    - a plain multipart upload with the AWS SDK's @aws-sdk/lib-storage (8 MiB parts, 4 at a
 *      time, the SDK's default CRC32 checksum on each part);
 *    - hashdrop's putFile (hash on all cores, then 8 MiB parts, 4 at a time, each with its SHA-256).
 *    For each: the first upload of a large file, the same file again by another user, and 100
 *    files of 1 MiB one after another (the per-file cost of each protocol).
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload as MultipartUpload } from '@aws-sdk/lib-storage';
import { Upload as TusUpload } from 'tus-js-client';
import { LOCAL_CREDENTIALS } from '#local/stack';
import type { HashdropClient } from '#sdk/api';
import { putFile } from '#sdk/upload';
import { fmt, MiB, quantile, timed, warmPageCache, writeRandomFile } from './measure.ts';
import type { Table } from './run.ts';
import type { BenchStack } from './stack-process.ts';
import { clientOf } from './uploads.ts';

const SMALL_FILES = 100;
const SMALL_SIZE = MiB;
const PART_SIZE = 8 * MiB;
const CONCURRENCY = 4;

/** One way of uploading a file from disk, as the named user. */
interface Peer {
  readonly name: string;
  /** What the user's session does once, before its uploads. */
  prepare?(user: string): Promise<void>;
  upload(path: string, user: string, name: string): Promise<{ bytesSent: number }>;
}

async function startTusServer(stack: BenchStack): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const script = join(import.meta.dirname, 'tus-server.ts');
  const { s3Endpoint, region, bucket } = stack.info;
  const child = spawn(process.execPath, ['--import', 'tsx', script, s3Endpoint, region, bucket], {
    cwd: join(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const endpoint = await new Promise<string>((done, fail) => {
    lines.once('line', done);
    child.once('exit', (code) => fail(new Error(`the tus server exited (${code})`)));
  });
  return {
    endpoint,
    async stop() {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function tusPeer(endpoint: string, size: (path: string) => number): Peer {
  return {
    name: 'tus (@tus/server + s3-store, tus-js-client)',
    upload: (path, user, name) =>
      new Promise((done, fail) => {
        const upload = new TusUpload(createReadStream(path), {
          endpoint,
          uploadSize: size(path),
          metadata: { filename: name, user },
          retryDelays: [],
          onError: fail,
          onSuccess: () => done({ bytesSent: size(path) }),
        });
        upload.start();
      }),
  };
}

function multipartPeer(stack: BenchStack, size: (path: string) => number): Peer {
  // The SDK's defaults, as an app would use it (a CRC32 checksum on every part).
  const s3 = new S3Client({
    endpoint: stack.info.s3Endpoint,
    region: stack.info.region,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
  });
  return {
    name: 'multipart (@aws-sdk/lib-storage)',
    async upload(path, user, name) {
      const Key = `peers/${user}/${name}`;
      const upload = new MultipartUpload({
        client: s3,
        params: { Bucket: stack.info.bucket, Key, Body: createReadStream(path, { highWaterMark: MiB }) },
        partSize: PART_SIZE,
        queueSize: CONCURRENCY,
      });
      await upload.done();
      return { bytesSent: size(path) };
    },
  };
}

function hashdropPeer(stack: BenchStack): Peer {
  const clients = new Map<string, HashdropClient>();
  return {
    name: 'hashdrop (putFile)',
    async prepare(user) {
      // A client holds one token for its session: minted, and its connection open, before the timings.
      const client = clientOf(stack, user);
      await client.listFiles();
      clients.set(user, client);
    },
    async upload(path, user, name) {
      const client = clients.get(user) ?? clientOf(stack, user);
      const result = await putFile(client, path, { name, concurrency: CONCURRENCY });
      return { bytesSent: result.bytesSent };
    },
  };
}

export async function benchPeers(stack: BenchStack, dir: string, size: number) {
  const big = join(dir, 'peer-big.bin');
  await writeRandomFile(big, size);
  const small = Array.from({ length: SMALL_FILES }, (_, index) => join(dir, `peer-small-${index}.bin`));
  for (const path of small) await writeRandomFile(path, SMALL_SIZE);
  const sizes = new Map<string, number>([[big, size], ...small.map((path) => [path, SMALL_SIZE] as const)]);
  const sizeOf = (path: string) => sizes.get(path) ?? 0;

  const tus = await startTusServer(stack);
  const peers = [hashdropPeer(stack), tusPeer(tus.endpoint, sizeOf), multipartPeer(stack, sizeOf)];
  const measured = [];
  try {
    for (const [index, peer] of peers.entries()) {
      const user = (who: string) => `peer-${index}-${who}`;
      for (const who of ['alice', 'bob']) await peer.prepare?.(user(who));
      // Each peer gets its own bytes: hashdrop must not find another peer's upload stored.
      await writeRandomFile(big, size);
      await warmPageCache(big);
      const first = await timed(() => peer.upload(big, user('alice'), 'big.bin'));
      await warmPageCache(big);
      const again = await timed(() => peer.upload(big, user('bob'), 'big.bin'));
      for (const path of small) await writeRandomFile(path, SMALL_SIZE);
      const perFile: number[] = [];
      const smallRun = await timed(async () => {
        for (const [file, path] of small.entries()) {
          perFile.push((await timed(() => peer.upload(path, user('alice'), `small-${file}.bin`))).ms);
        }
      });
      measured.push({
        peer: peer.name,
        first: { ms: first.ms, bytesSent: first.value.bytesSent },
        again: { ms: again.ms, bytesSent: again.value.bytesSent },
        small: { files: SMALL_FILES, size: SMALL_SIZE, totalMs: smallRun.ms, p50Ms: quantile(perFile, 0.5) },
      });
    }
  } finally {
    await tus.stop();
  }

  const table: Table = {
    title: `Peers on the same local S3: a ${fmt.mb(size)} file, the same file by another user, ${SMALL_FILES} files of ${fmt.mb(SMALL_SIZE)} one after another`,
    columns: [
      'peer',
      `first upload ${fmt.mb(size)}`,
      'throughput',
      'again, another user',
      `${SMALL_FILES} × 1 MiB (median per file)`,
    ],
    rows: measured.map((m) => [
      m.peer,
      fmt.ms(m.first.ms),
      fmt.rate(size, m.first.ms),
      `${fmt.ms(m.again.ms)} (${fmt.mb(m.again.bytesSent)} sent)`,
      `${fmt.ms(m.small.totalMs)} (${fmt.ms(m.small.p50Ms)})`,
    ]),
  };
  return { rows: [], tables: [table], figures: { size, peers: measured } };
}
