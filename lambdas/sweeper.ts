/** Scheduled (EventBridge): sweeps abandoned uploads and unreferenced contents (domain/sweeper.ts). */
import middy from '@middy/core';
import { type SweepReport, sweep } from '#domain/sweeper';
import { deps } from './runtime.ts';

export const handler = middy<unknown, SweepReport>().handler(async () => {
  const report = await sweep(deps);
  console.info(JSON.stringify({ message: 'swept', ...report }));
  return report;
});
