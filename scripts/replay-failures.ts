/**
 * Replays the failed invocations kept in a failure queue (README, Operations):
 *
 *   npx tsx scripts/replay-failures.ts --queue <url> [--dry-run] [--limit <n>] [--region <r>] [--profile <p>]
 *
 * The queue URLs are the stack's outputs ObjectCreatedFailureQueueUrl, SweeperFailureQueueUrl and
 * FileEventsFailureQueueUrl (whose messages name stream records, read back from the Files table's
 * stream while it holds them: 24 hours). Each message is replayed to the function it names and
 * deleted only once that succeeded; what fails stays in the queue. Exits 1 if anything was left.
 * Uses the AWS CLI (v2) and its credentials.
 */
import { parseArgs } from 'node:util';
import { awsCliClients, replayFailures } from './failure-replay.ts';

const { values } = parseArgs({
  options: {
    queue: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    limit: { type: 'string' },
    region: { type: 'string' },
    profile: { type: 'string' },
  },
});
const limit = values.limit === undefined ? undefined : Number(values.limit);
if (!values.queue || (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0))) {
  console.error(
    'usage: npx tsx scripts/replay-failures.ts --queue <url> [--dry-run] [--limit <n>] [--region <r>] [--profile <p>]',
  );
  process.exit(2);
}
const { queue, lambda, streams } = awsCliClients({
  queueUrl: values.queue,
  ...(values.region ? { region: values.region } : {}),
  ...(values.profile ? { profile: values.profile } : {}),
});
const report = await replayFailures(queue, lambda, {
  dryRun: values['dry-run'],
  ...(limit === undefined ? {} : { limit }),
  log: (line) => console.log(line),
  streams,
});
console.log(
  values['dry-run']
    ? `${report.planned.length} would be replayed, ${report.failed.length} unreadable`
    : `${report.replayed.length} replayed, ${report.failed.length} left in the queue`,
);
process.exitCode = report.failed.length > 0 ? 1 : 0;
