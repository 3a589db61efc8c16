/**
 * The local stack in a process of its own, exactly as `npm start` runs it, so that the load the
 * benchmarks generate does not share an event loop with the handlers that serve it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { mintToken, type SigningKey } from '#local/auth';
import { LOCAL_CREDENTIALS, type LocalStackInfo } from '#local/stack';

export interface BenchStack {
  readonly info: LocalStackInfo;
  mintToken(userId: string): Promise<string>;
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '..');

export async function startStackProcess(dataDir: string, env: Record<string, string> = {}): Promise<BenchStack> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local', 'start.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      HASHDROP_DATA_DIR: dataDir,
      HASHDROP_PORT: '0',
      HASHDROP_S3_PORT: '0',
      HASHDROP_DYNAMODB_PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const localJson = join(dataDir, 'local.json');
  const deadline = Date.now() + 120_000;
  while (!existsSync(localJson)) {
    if (child.exitCode !== null) throw new Error(`the local stack exited (${child.exitCode})`);
    if (Date.now() > deadline) throw new Error('the local stack did not start within 2 minutes');
    await new Promise((done) => setTimeout(done, 200));
  }
  const info = JSON.parse(readFileSync(localJson, 'utf8')) as LocalStackInfo & { signingKeyFile: string };
  const key = JSON.parse(readFileSync(info.signingKeyFile, 'utf8')) as SigningKey;
  return {
    info,
    mintToken: (userId) => mintToken(key, userId),
    async stop() {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A plain S3 client of the stack's S3 server, for what the benchmarks do beside hashdrop. */
export function s3ClientOf(stack: BenchStack): S3Client {
  return new S3Client({
    endpoint: stack.info.s3Endpoint,
    region: stack.info.region,
    // The admin key: allowed everything, as the account owner in the console.
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    // No SDK-added checksum: a raw upload sends exactly the bytes, as hashdrop's client does.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}
