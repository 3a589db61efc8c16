/**
 * `npm run bench`: hashdrop measured against its physical limits, side by side in one run on
 * one machine, so that a noisy machine moves both sides of each ratio alike. Prints a table and
 * writes bench/results.json. Benchmarks print; they never fail.
 *
 *   BENCH_SCALE=0.25 npm run bench    # smaller files, for a quick look
 *   BENCH_ONLY=peers,growth npm run bench   # some of the benchmarks (names below)
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchColdStart } from './cold-start.ts';
import { benchGrowth } from './growth.ts';
import { benchHashing } from './hashing.ts';
import { fmt, GiB, MiB, run } from './measure.ts';
import { benchPeers } from './peers.ts';
import { benchRace, benchRequestPath } from './requests.ts';
import { type BenchStack, startStackProcess } from './stack-process.ts';
import { benchMemory, benchUploads } from './uploads.ts';

export interface Row {
  readonly benchmark: string;
  readonly hashdrop: string;
  readonly limit: string;
  readonly ratio: string;
  readonly target: string;
  readonly met?: boolean;
}

/** A table of its own, for comparisons that are not one ratio (peers, growth). */
export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const scale = Number(process.env.BENCH_SCALE ?? 1);
const sizes = { hash: Math.round(GiB * scale), race: 32 * MiB, memory: Math.round(2 * GiB * scale) };

const work = mkdtempSync(join(tmpdir(), 'hashdrop-bench-'));
console.error(`hashdrop bench: working in ${work} (scale ${scale})`);
const quota = { HASHDROP_DEFAULT_QUOTA_BYTES: String(1024 * GiB) };
const started: BenchStack[] = [];
/** A stack started when a benchmark first needs it (each is a process with its DynamoDB Local). */
function lazyStack(name: string, env: Record<string, string>): () => Promise<BenchStack> {
  let stack: Promise<BenchStack> | undefined;
  return () =>
    (stack ??= startStackProcess(join(work, name), env).then((each) => {
      started.push(each);
      return each;
    }));
}
const mainStack = lazyStack('stack', quota);
// A second stack without proofs of ownership: the protocol's cost of an instant upload with one round trip.
const plainStack = lazyStack('plain-stack', { ...quota, HASHDROP_PROOF_MODE: 'off' });

const rows: Row[] = [];
const tables: Table[] = [];
const figures: Record<string, unknown> = {};
type Result = { rows: Row[]; tables?: Table[]; figures: unknown };
const benchmarks: [name: string, run: () => Promise<Result>][] = [
  ['hashing', () => benchHashing(work, sizes.hash)],
  ['uploads', async () => benchUploads(await mainStack(), await plainStack(), work, sizes.hash)],
  ['requestPath', async () => benchRequestPath(await mainStack(), work)],
  ['race', async () => benchRace(await mainStack(), work, sizes.race)],
  ['coldStart', () => benchColdStart(work)],
  ['memory', async () => benchMemory(await mainStack(), work, sizes.memory)],
  ['peers', async () => benchPeers(await mainStack(), work, sizes.hash)],
  // A stack of its own, in this process (its sweeper runs on demand), so its seeded items weigh on no other benchmark.
  ['growth', () => benchGrowth(work, scale)],
];
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
try {
  for (const [name, bench] of benchmarks) {
    if (only && !only.includes(name)) continue;
    console.error(`running ${name}...`);
    const result = await bench();
    figures[name] = result.figures;
    rows.push(...result.rows);
    tables.push(...(result.tables ?? []));
  }
} finally {
  await Promise.all(started.map((stack) => stack.stop()));
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
console.log(`\nhashdrop benchmarks — ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}\n`);
const met = (row: Row) => (row === header ? 'met' : row.met === undefined ? '' : row.met ? 'yes' : 'no');
if (rows.length > 0) {
  printTable(
    columns,
    [header, ...rows].map((row) => [...columns.map((column) => row[column]), met(row)]),
  );
}
for (const table of tables) {
  console.log(`\n${table.title}\n`);
  printTable(table.columns, [[...table.columns], ...table.rows]);
}

/** A markdown-like table; the first row is the header. */
function printTable(columns: readonly string[], cells: readonly (readonly string[])[]): void {
  const widths = (cells[0] ?? columns).map((_, index) => Math.max(...cells.map((row) => (row[index] ?? '').length)));
  const line = (row: readonly string[]) => `| ${widths.map((width, index) => (row[index] ?? '').padEnd(width)).join(' | ')} |`;
  const [head, ...body] = cells;
  console.log(line(head ?? []));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of body) console.log(line(row));
}

// A partial run (BENCH_ONLY) leaves the full run's results where they are.
const out = only ? join(tmpdir(), `hashdrop-bench-${only.join('-')}.json`) : join(import.meta.dirname, 'results.json');
writeFileSync(out, `${JSON.stringify({ machine, rows, tables, figures }, null, 2)}\n`);
console.log(`\nwrote ${out} (${fmt.kb(statSync(out).size)})`);
