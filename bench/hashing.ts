/** 1. The client's tree SHA-256 on all cores vs `openssl dgst -sha256` (one core, SHA extensions). */
import { join } from 'node:path';
import { hashFileParallel } from '#sdk/hash-pool';
import { dropPageCache, fmt, run, timed, warmPageCache, writeRandomFile } from './measure.ts';
import type { Row } from './run.ts';

const ROUNDS = 3;

async function best(work: () => Promise<unknown>, before: () => Promise<unknown>): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    await before();
    fastest = Math.min(fastest, (await timed(work)).ms);
  }
  return fastest;
}

export async function benchHashing(dir: string, size: number) {
  const path = join(dir, 'hash.bin');
  await writeRandomFile(path, size);
  const openssl = () => run('openssl', ['dgst', '-sha256', path]);
  const warm = () => warmPageCache(path);

  const ours = await best(() => hashFileParallel(path), warm);
  const oneThread = await best(() => hashFileParallel(path, { workers: 1 }), warm);
  const reference = await best(openssl, warm);
  const canDrop = await dropPageCache();
  const coldOurs = canDrop ? await best(() => hashFileParallel(path), dropPageCache) : Number.NaN;
  const coldReference = canDrop ? await best(openssl, dropPageCache) : Number.NaN;

  const ratio = reference / ours;
  const rows: Row[] = [
    {
      benchmark: `1. hash ${fmt.mb(size)} (page cache)`,
      hashdrop: fmt.rate(size, ours),
      limit: `openssl 1 core ${fmt.rate(size, reference)}`,
      ratio: fmt.ratio(ratio),
      target: '≥ 1.60×',
      met: ratio >= 1.6,
    },
    {
      benchmark: '   hash, one thread (in process)',
      hashdrop: fmt.rate(size, oneThread),
      limit: `openssl 1 core ${fmt.rate(size, reference)}`,
      ratio: fmt.ratio(reference / oneThread),
      target: '(per-core cost)',
    },
    {
      benchmark: '   hash, cold cache',
      hashdrop: canDrop ? fmt.rate(size, coldOurs) : 'n/a (needs root)',
      limit: canDrop ? `openssl ${fmt.rate(size, coldReference)}` : 'n/a',
      ratio: canDrop ? fmt.ratio(coldReference / coldOurs) : 'n/a',
      target: '(reported)',
    },
  ];
  return {
    rows,
    figures: {
      size,
      oursMs: ours,
      oneThreadMs: oneThread,
      opensslMs: reference,
      coldOursMs: coldOurs,
      coldOpensslMs: coldReference,
    },
  };
}
