/**
 * 6. Cold-start proxy: each function's minified bundle, and the time to import it in a fresh Node.
 *    The CLI's start-up: the built `hashdrop` bin run directly, to `hashdrop --help`, beside a
 *    Node that runs nothing.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { FUNCTIONS } from '#deploy/definitions';
import { esbuildFunctionOptions } from '../lib/constructs/bundling.ts';
import { fmt, quantile } from './measure.ts';
import type { Row } from './run.ts';

const ROOT = join(import.meta.dirname, '..');
const IMPORTS = 5;
const TARGET_BYTES = 500 * 1000;

function importMs(bundle: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(bundle)}); console.log(performance.now() - t);`;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('exit', (code) => (code === 0 ? done(Number(out.trim())) : fail(new Error(`import of ${bundle} failed`))));
  });
}

/** Wall time of a process from spawn to exit. */
function processMs(args: readonly string[]): Promise<number> {
  return new Promise((done, fail) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    child.on('exit', (code) =>
      code === 0 ? done(performance.now() - start) : fail(new Error(`${args.join(' ')} exited ${code}`)),
    );
  });
}

const CLI_RUNS = 9;
const CLI_TARGET_MS = 150;

async function cliStartup(): Promise<{ row: Row; figures: { helpMs: number; bareNodeMs: number } }> {
  const bin = join(ROOT, 'dist', 'cli', 'hashdrop.js'); // npm run bench builds it first
  const help = [];
  const bare = [];
  for (let round = 0; round < CLI_RUNS; round++) {
    help.push(await processMs([bin, '--help']));
    bare.push(await processMs(['-e', '']));
  }
  const helpMs = quantile(help, 0.5);
  const bareNodeMs = quantile(bare, 0.5);
  return {
    row: {
      benchmark: `   CLI start-up: hashdrop --help (median of ${CLI_RUNS})`,
      hashdrop: fmt.ms(helpMs),
      limit: `node -e '' ${fmt.ms(bareNodeMs)}`,
      ratio: fmt.ratio(helpMs / bareNodeMs),
      target: `≤ ${CLI_TARGET_MS} ms`,
      met: helpMs <= CLI_TARGET_MS,
    },
    figures: { helpMs, bareNodeMs },
  };
}

export async function benchColdStart(dir: string) {
  const functions = FUNCTIONS.map(({ id, entry }) => ({ id, entry }));
  const measured = [];
  for (const { id, entry } of functions) {
    const outfile = join(dir, 'bundles', `${id}.mjs`);
    await build({
      ...esbuildFunctionOptions(),
      entryPoints: [join(ROOT, entry)],
      outfile,
      logLevel: 'error',
    });
    const bytes = statSync(outfile).size;
    const times = [];
    for (let round = 0; round < IMPORTS; round++) times.push(await importMs(outfile));
    measured.push({ id, bytes, importMs: quantile(times, 0.5) });
  }
  const largest = Math.max(...measured.map((fn) => fn.bytes));
  const rows: Row[] = measured.map((fn, index) => ({
    benchmark: index === 0 ? `6. bundle, import (median of ${IMPORTS}): ${fn.id}` : `   ${fn.id}`,
    hashdrop: `${fmt.kb(fn.bytes)}, ${fmt.ms(fn.importMs)}`,
    limit: '',
    ratio: fmt.ratio(fn.bytes / TARGET_BYTES),
    target: '≤ 500 KB',
    met: fn.bytes <= TARGET_BYTES,
  }));
  const cli = await cliStartup();
  rows.push(cli.row);
  return { rows, figures: { functions: measured, largestBytes: largest, cli: cli.figures } };
}
