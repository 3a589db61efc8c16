/** The `hashdrop` CLI end to end: put, ls, mv, rm, usage, get, each as a user would type it. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { newUser, randomFile, scratchPath, stack, token } from '../helpers.ts';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'hashdrop.js'); // built by `npm run build` (npm test builds first)

async function hashdrop(user: string, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const env = { ...process.env, HASHDROP_ENDPOINT: stack.endpoint, HASHDROP_TOKEN: await token(user) };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

const jsonLines = (stdout: string): Record<string, unknown>[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('hashdrop CLI', () => {
  it('manages files: put, ls, mv, rm, usage and get', async () => {
    const user = newUser('cli');
    const { path, bytes } = randomFile(12_345);
    expect((await hashdrop(user, 'put', path, '--as', 'notes.txt', '--quiet')).code).toBe(0);
    expect((await hashdrop(user, 'put', path, '--as', 'copy.txt', '--quiet')).code).toBe(0);

    const table = await hashdrop(user, 'ls');
    expect(table.stdout).toMatch(/modified\s+size\s+state\s+name/);
    expect(table.stdout).toMatch(/12\.1 KiB\s+complete\s+copy\.txt/);
    expect(jsonLines((await hashdrop(user, 'ls', '--json')).stdout).map((file) => file.name)).toEqual(['copy.txt', 'notes.txt']);

    const refused = await hashdrop(user, 'mv', 'notes.txt', 'copy.txt', '--json');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: 'file_exists' } });
    expect(jsonLines((await hashdrop(user, 'mv', 'notes.txt', 'archive/notes.txt', '--json')).stdout)).toEqual([
      expect.objectContaining({ name: 'archive/notes.txt', size: 12_345 }),
    ]);
    expect(jsonLines((await hashdrop(user, 'rm', 'copy.txt', '--json')).stdout)).toEqual([{ deleted: 'copy.txt' }]);
    expect(jsonLines((await hashdrop(user, 'ls', '--json')).stdout).map((file) => file.name)).toEqual(['archive/notes.txt']);

    const usage = jsonLines((await hashdrop(user, 'usage', '--json')).stdout)[0];
    expect(usage).toMatchObject({ files: 1, bytes: 12_345, savedBytes: 12_345 });
    expect((await hashdrop(user, 'usage')).stdout).toMatch(/^1 files, 12\.1 KiB of .*deduplication spared you sending 12\.1 KiB/);

    const out = scratchPath('notes.txt');
    const got = await hashdrop(user, 'get', 'archive/notes.txt', '-o', out);
    expect(got.stdout).toContain('(verified)');
    expect(readFileSync(out).equals(bytes)).toBe(true);

    const missing = await hashdrop(user, 'rm', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('file_not_found');
  }, 60_000);
});
