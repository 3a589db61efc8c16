/**
 * `npm run bench`: hashdrop measured against its physical limits, side by side in one run on
 * one machine, so that a noisy machine moves both sides of each ratio alike. Prints a table and
 * writes bench/results.json. Benchmarks print; they never fail.
 *
 *   BENCH_SCALE=0.25 npm run bench    # smaller files, for a quick look
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchColdStart } from './cold-start.ts';
import { benchHashing } from './hashing.ts';
import { fmt, GiB, MiB, run } from './measure.ts';
import { benchRace, benchRequestPath } from './requests.ts';
import { startStackProcess } from './stack-process.ts';
import { benchMemory, benchUploads } from './uploads.ts';

export interface Row {
  readonly benchmark: string;
  readonly hashdrop: string;
  readonly limit: string;
  readonly ratio: string;
  readonly target: string;
  readonly met?: boolean;
}

const scale = Number(process.env.BENCH_SCALE ?? 1);
const sizes = { hash: Math.round(GiB * scale), race: 32 * MiB, memory: Math.round(2 * GiB * scale) };

const work = mkdtempSync(join(tmpdir(), 'hashdrop-bench-'));
console.error(`hashdrop bench: working in ${work} (scale ${scale})`);
const quota = { HASHDROP_DEFAULT_QUOTA_BYTES: String(1024 * GiB) };
const stack = await startStackProcess(join(work, 'stack'), quota);
// A second stack without proofs of ownership: the protocol's cost of an instant upload with one round trip.
const plainStack = await startStackProcess(join(work, 'plain-stack'), { ...quota, HASHDROP_PROOF_MODE: 'off' });

const rows: Row[] = [];
const figures: Record<string, unknown> = {};
const benchmarks: [name: string, run: () => Promise<{ rows: Row[]; figures: unknown }>][] = [
  ['hashing', () => benchHashing(work, sizes.hash)],
  ['uploads', () => benchUploads(stack, plainStack, work, sizes.hash)],
  ['requestPath', () => benchRequestPath(stack, work)],
  ['race', () => benchRace(stack, work, sizes.race)],
  ['coldStart', () => benchColdStart(work)],
  ['memory', () => benchMemory(stack, work, sizes.memory)],
];
try {
  for (const [name, bench] of benchmarks) {
    console.error(`running ${name}...`);
    const result = await bench();
    figures[name] = result.figures;
    rows.push(...result.rows);
  }
} finally {
  await Promise.all([stack.stop(), plainStack.stop()]);
  rmSync(work, { recursive: true, force: true });
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: availableParallelism(),
  memoryGiB: Math.round(totalmem() / GiB),
  node: process.version,
  openssl: (await run('openssl', ['version'])).stdout.trim(),
  date: new Date().toISOString(),
  scale,
};

const header: Row = { benchmark: 'benchmark', hashdrop: 'hashdrop', limit: 'limit (same run)', ratio: 'ratio', target: 'target' };
const columns = ['benchmark', 'hashdrop', 'limit', 'ratio', 'target'] as const;
const widths = columns.map((column) => Math.max(...[header, ...rows].map((row) => row[column].length)));
const line = (row: Row) =>
  `| ${columns.map((column, index) => row[column].padEnd(widths[index] ?? 0)).join(' | ')} | ${
    row === header ? 'met' : row.met === undefined ? '' : row.met ? 'yes' : 'no'
  }`;
console.log(`\nhashdrop benchmarks — ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}\n`);
console.log(line(header));
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|-----`);
for (const row of rows) console.log(line(row));

const out = join(import.meta.dirname, 'results.json');
writeFileSync(out, `${JSON.stringify({ machine, rows, figures }, null, 2)}\n`);
console.log(`\nwrote ${out} (${fmt.kb(statSync(out).size)})`);
