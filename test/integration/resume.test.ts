/**
 * Resume: a CLI killed with SIGKILL in the middle of a multipart upload, run again, sends only
 * what storage does not hold yet (plus at most one block that was in flight).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { MiB } from '#protocol/content-id';
import { contentItem, newUser, objectKeys, randomFile, stack, token } from '../helpers.ts';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'hashdrop.js'); // built by `npm run build` (npm test builds first)
const BLOCK = 8 * MiB;

function runCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('resuming an interrupted upload', () => {
  it('after SIGKILL, the second run sends no more than the missing bytes plus one block', async () => {
    const user = newUser('mobile');
    const { path, bytes } = randomFile(12 * BLOCK + 12345);
    const env = { HASHDROP_ENDPOINT: stack.endpoint, HASHDROP_TOKEN: await token(user) };

    // First run: one part at a time; killed once it reports three parts stored.
    const first = runCli(['put', path, '--as', 'movie.mp4', '--concurrency', '1'], env);
    let partsDoneAtKill = 0;
    const lines = createInterface({ input: first.stderr ?? process.stdin });
    const killed = new Promise<void>((done) => {
      lines.on('line', (line) => {
        const parts = /parts (\d+)\/(\d+)/.exec(line);
        if (parts && Number(parts[1]) >= 3 && partsDoneAtKill === 0) {
          partsDoneAtKill = Number(parts[1]);
          first.kill('SIGKILL');
        }
      });
      first.on('exit', () => done());
    });
    await killed;
    expect(partsDoneAtKill, 'the first run was killed mid-upload').toBeGreaterThanOrEqual(3);
    expect(first.signalCode).toBe('SIGKILL');

    // Second run: the same command completes, sending only what is missing.
    const second = runCli(['put', path, '--as', 'movie.mp4', '--json', '--quiet'], env);
    let stdout = '';
    let stderr = '';
    second.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    second.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((done) => second.on('exit', done));
    expect(code).toBe(0);
    expect(stderr, '--quiet prints no progress').toBe('');
    const result = JSON.parse(stdout.trim()) as { state: string; bytesSent: number; contentId: string };
    expect(result.state).toBe('COMPLETE');
    const missing = bytes.length - partsDoneAtKill * BLOCK;
    expect(result.bytesSent).toBeGreaterThan(0);
    expect(result.bytesSent).toBeLessThanOrEqual(missing + BLOCK);
    expect(await contentItem(result.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
    expect(await objectKeys(`blobs/${result.contentId}/`)).toHaveLength(1);
  }, 120_000);
});
