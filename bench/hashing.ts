/**
 * 1. The client's tree SHA-256 on all cores vs `openssl dgst -sha256` on one core (SHA
 *    extensions), and vs the machine's real limit on two cores: two OpenSSL processes at once.
 *    Each round runs every contender once, in turn, from the page cache, so that load from other
 *    processes falls on all of them alike; the figures are the medians of the rounds.
 */
import { join } from 'node:path';
import { hashFileParallel } from '#sdk/hash-pool';
import { dropPageCache, fmt, quantile, run, timed, warmPageCache, writeRandomFile } from './measure.ts';
import type { Row } from './run.ts';

const ROUNDS = 7;
const TARGET = 1.7;

export async function benchHashing(dir: string, size: number) {
  const path = join(dir, 'hash.bin');
  await writeRandomFile(path, size);
  const openssl = () => run('openssl', ['dgst', '-sha256', path]);
  const contenders = {
    ours: () => hashFileParallel(path),
    oneThread: () => hashFileParallel(path, { workers: 1 }),
    openssl,
    // The two-core limit: two OpenSSL processes hashing the file at once (2 × size bytes).
    twoOpenssl: () => Promise.all([openssl(), openssl()]),
  };
  const samples: Record<keyof typeof contenders, number[]> = { ours: [], oneThread: [], openssl: [], twoOpenssl: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, work] of Object.entries(contenders) as [keyof typeof contenders, () => Promise<unknown>][]) {
      await warmPageCache(path);
      samples[name].push((await timed(work)).ms);
    }
  }
  const median = (name: keyof typeof contenders) => quantile(samples[name], 0.5);
  const [ours, oneThread, reference, twoCores] = [median('ours'), median('oneThread'), median('openssl'), median('twoOpenssl')];

  const canDrop = await dropPageCache();
  const cold = async (work: () => Promise<unknown>) => {
    const times = [];
    for (let round = 0; round < 3; round++) {
      await dropPageCache();
      times.push((await timed(work)).ms);
    }
    return quantile(times, 0.5);
  };
  const coldOurs = canDrop ? await cold(contenders.ours) : Number.NaN;
  const coldReference = canDrop ? await cold(openssl) : Number.NaN;

  const ratio = reference / ours;
  // Two processes hash 2 × size bytes in `twoCores` ms.
  const ofTwoCores = twoCores / 2 / ours;
  const rows: Row[] = [
    {
      benchmark: `1. hash ${fmt.mb(size)} (page cache, median of ${ROUNDS})`,
      hashdrop: fmt.rate(size, ours),
      limit: `openssl 1 core ${fmt.rate(size, reference)}`,
      ratio: fmt.ratio(ratio),
      target: `≥ ${TARGET.toFixed(2)}×`,
      met: ratio >= TARGET,
    },
    {
      benchmark: '   hash vs the two-core limit',
      hashdrop: fmt.rate(size, ours),
      limit: `2 × openssl at once ${fmt.rate(2 * size, twoCores)}`,
      ratio: fmt.ratio(ofTwoCores),
      target: '(reported)',
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
      twoOpensslMs: twoCores,
      samples,
      coldOursMs: coldOurs,
      coldOpensslMs: coldReference,
    },
  };
}
