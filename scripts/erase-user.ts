/**
 * Exports and erases one user (README, Operations: "Erasing a user"):
 *
 *   npm run erase-user -- --user <sub> (--function <name or ARN> | --local) [--dry-run] [--export-only]
 *                         [--yes --files <count>] [--out <file.json>] [--region <r>] [--profile <p>]
 *
 * Always prints what the user has first (the id quoted exactly, the file count by state). Then
 * saves the export (to --out, default hashdrop-export-<time>.json), and erases only with --yes and
 * --files, the user's file count as a dry run printed it (so that a mistyped id naming another
 * real user is refused), invoking the function until it reports the user gone. The function's name is the stack's
 * output EraseUserFunctionName; --local runs it against `npm start` (.hashdrop/local.json).
 * Exits 0 when done (or when nothing was asked beyond the export), 1 if anything remains.
 * Uses the AWS CLI (v2) and its credentials: the caller needs lambda:InvokeFunction on it.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { awsCliInvoker, ErasureError, localInvoker, runErasure } from './user-erasure.ts';

const USAGE =
  'usage: npm run erase-user -- --user <sub> (--function <name> | --local) [--dry-run] [--export-only] [--yes --files <count>] [--out <file.json>] [--region <r>] [--profile <p>]';

const { values } = parseArgs({
  options: {
    user: { type: 'string' },
    function: { type: 'string' },
    local: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
    'export-only': { type: 'boolean', default: false },
    yes: { type: 'boolean', default: false },
    files: { type: 'string' },
    out: { type: 'string' },
    region: { type: 'string' },
    profile: { type: 'string' },
  },
});

// Exactly one target, and a user id: an empty or missing one is refused, never defaulted.
const expectFiles = values.files === undefined ? undefined : Number(values.files);
if (
  !values.user ||
  values.local === (values.function !== undefined) ||
  (expectFiles !== undefined && !(Number.isInteger(expectFiles) && expectFiles >= 0))
) {
  console.error(USAGE);
  process.exit(2);
}

const invoke = values.local
  ? await localInvoker(join(resolve(process.env.HASHDROP_DATA_DIR ?? '.hashdrop'), 'local.json'))
  : awsCliInvoker(values.function ?? '', {
      ...(values.region ? { region: values.region } : {}),
      ...(values.profile ? { profile: values.profile } : {}),
    });

try {
  const outcome = await runErasure(invoke, {
    userId: values.user,
    dryRun: values['dry-run'],
    exportOnly: values['export-only'],
    yes: values.yes,
    ...(expectFiles !== undefined ? { expectFiles } : {}),
    out: values.out ?? `hashdrop-export-${new Date().toISOString().replaceAll(':', '-')}.json`,
    log: (line) => console.log(line),
  });
  process.exitCode = outcome.erased && !outcome.erased.done ? 1 : 0;
} catch (error) {
  console.error(error instanceof ErasureError ? error.message : error);
  process.exitCode = 1;
}
