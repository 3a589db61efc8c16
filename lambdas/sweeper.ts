/** Scheduled (EventBridge): sweeps abandoned uploads and unreferenced contents (domain/sweeper.ts). */
import middy from '@middy/core';
import type { Deps } from '#domain/ports';
import { type SweepReport, sweep } from '#domain/sweeper';
import { lambdaEntry } from './lambda-entry.ts';

export const build = (deps: Deps) =>
  middy<unknown, SweepReport>().handler(async () => {
    // The domain logs and counts the run (`swept`, Sweeps, SweepItemsRead: domain/sweeper.ts).
    return sweep(deps);
  });

export const handler = lambdaEntry('Sweeper', build);
