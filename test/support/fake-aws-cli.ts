/**
 * A stand-in `aws` program for the operator scripts' CLI paths (scripts/failure-replay.ts): a
 * Node script in a temporary folder that records each call's arguments, plus the payload a
 * `--payload fileb://…` names, and answers as `answers` says. `answers` is Node code run with
 * `fs`, `args` (the call's arguments) and `arg(name)` (the value after `name`) in scope.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeAwsCli {
  /** The program's path, to pass as the scripts' `command`. */
  readonly path: string;
  /** Every call so far, in order: its arguments, then the payload it was given, if any. */
  calls(): Promise<string[][]>;
  remove(): Promise<void>;
}

export async function fakeAwsCli(answers: string): Promise<FakeAwsCli> {
  const dir = await mkdtemp(join(tmpdir(), 'hashdrop-fake-aws-'));
  const path = join(dir, 'aws');
  const log = join(dir, 'calls.jsonl');
  await writeFile(
    path,
    `#!/usr/bin/env node
const fs = require('node:fs');
const args = process.argv.slice(2);
const arg = (name) => args[args.indexOf(name) + 1];
const payload = arg('--payload');
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(args.concat(payload && payload.startsWith('fileb://') ? [fs.readFileSync(payload.slice(8), 'utf8')] : [])) + '\\n');
${answers}
`,
  );
  await chmod(path, 0o755);
  return {
    path,
    calls: async () =>
      (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as string[]),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
