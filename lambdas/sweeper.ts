/** Scheduled (EventBridge): sweeps abandoned uploads and unreferenced contents (domain/sweeper.ts). */
import middy from '@middy/core';
import type { Deps } from '#domain/ports';
import { type SweepReport, sweep } from '#domain/sweeper';
import { lambdaEntry } from './lambda-entry.ts';

export const build = (deps: Deps) =>
  middy<unknown, SweepReport>().handler(async () => {
    const report = await sweep(deps);
    console.info(JSON.stringify({ message: 'swept', ...report }));
    return report;
  });

export const handler = lambdaEntry('Sweeper', build);
