/**
 * The operator's erasure of one user (README, Operations: "Erasing a user"), driving the EraseUser
 * function (lambdas/erase-user.ts) as `npm run erase-user` does: first what would go (a dry run,
 * always), then the export, saved locally, then, only with `yes`, the erasure, invoked again and
 * again while the function reports `done: false` (each invocation stops before its 15 minutes).
 *
 * Against AWS the function is invoked through the AWS CLI (the project ships no Lambda SDK
 * client, as scripts/failure-replay.ts); against `npm start` its handler runs in this process with
 * the function's own local credentials, so the running stack's local IAM checks it as AWS would.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { ExportedFile } from '#domain/erase-user';
import type { EraseUserEvent, EraseUserPlan, EraseUserResult } from '#lambdas/erase-user';
import { lambdaContext } from '#local/http-adapter';
import { type AwsCli, invokeThroughCli } from './aws-cli-invoke.ts';

/** Invokes the EraseUser function synchronously; throws on a function error. */
export type EraseUserInvoker = (event: EraseUserEvent) => Promise<EraseUserResult>;

export interface ErasureOptions {
  /** The user's id exactly as their tokens carry it (`sub`): never trimmed, matched or guessed. */
  readonly userId: string;
  /** Only say what would be exported and erased. */
  readonly dryRun?: boolean;
  /** Save the export, erase nothing. */
  readonly exportOnly?: boolean;
  /** Erase after the export: without it the command stops there and says how to go on. */
  readonly yes?: boolean;
  /**
   * With `yes`: the number of files the user must have (the count a dry run printed). A mistyped
   * id that names another real user is then refused unless that user has exactly as many files.
   */
  readonly expectFiles?: number;
  /** Where the export is saved. */
  readonly out: string;
  /** Invocations of the erasure before giving up. @default 100 */
  readonly maxRounds?: number;
  readonly log?: (line: string) => void;
  /** Fetches the export's link. @default fetch */
  readonly download?: (url: string) => Promise<string>;
}

export interface ErasureOutcome {
  readonly plan: EraseUserPlan;
  readonly exported?: { readonly key: string; readonly files: number; readonly savedTo: string };
  readonly erased?: { readonly deleted: number; readonly cancelled: number; readonly remaining: number; readonly done: boolean };
}

export class ErasureError extends Error {
  override readonly name = 'ErasureError';
}

const defaultDownload = async (url: string): Promise<string> => {
  const response = await fetch(url);
  if (!response.ok) throw new ErasureError(`downloading the export failed: HTTP ${response.status}`);
  return response.text();
};

export async function runErasure(invoke: EraseUserInvoker, options: ErasureOptions): Promise<ErasureOutcome> {
  const log = options.log ?? (() => undefined);
  const { userId } = options;
  const plan = await invoke({ userId, action: 'erase', dryRun: true });
  if (!('dryRun' in plan)) throw new ErasureError('the function did not answer a dry run with a plan');
  const states = Object.entries(plan.byState)
    .map(([state, count]) => `${count} ${state}`)
    .join(', ');
  // The id quoted as given, so that a stray space or a look-alike character shows.
  log(`user ${JSON.stringify(userId)}: ${plan.files} files${states ? ` (${states})` : ''}, ${plan.bytes} bytes`);
  if (options.dryRun) return { plan };
  if (options.yes && options.expectFiles !== plan.files) {
    throw new ErasureError(
      options.expectFiles === undefined
        ? `nothing done: --yes needs --files ${plan.files}, the count above, to erase this user`
        : `nothing done: ${JSON.stringify(userId)} has ${plan.files} files, not ${options.expectFiles}: check the user id`,
    );
  }

  const saved = await invoke({ userId, action: 'export' });
  if (!('exportUrl' in saved)) throw new ErasureError('the function did not answer the export with its key');
  const body = await (options.download ?? defaultDownload)(saved.exportUrl);
  const exported = JSON.parse(body) as { userId: string; files: ExportedFile[] };
  if (exported.userId !== userId || exported.files.length !== saved.files) {
    throw new ErasureError(
      `the export read back does not match: ${exported.files.length} files of ${JSON.stringify(exported.userId)}`,
    );
  }
  await writeFile(options.out, body, { mode: 0o600 });
  log(`exported ${saved.files} files to ${options.out} (kept in the bucket as ${saved.exportKey}, expired after a week)`);
  const outcome = { plan, exported: { key: saved.exportKey, files: saved.files, savedTo: options.out } };
  if (options.exportOnly) return outcome;
  if (!options.yes) {
    log(`nothing erased: run again with --yes --files ${plan.files} to erase this user`);
    return outcome;
  }

  let totals = { deleted: 0, cancelled: 0, remaining: 0, done: false };
  let stalled = 0;
  for (let round = 1; round <= (options.maxRounds ?? 100) && !totals.done; round++) {
    const report = await invoke({ userId, action: 'erase' });
    if (!('done' in report)) throw new ErasureError('the function did not answer the erasure with a report');
    totals = {
      deleted: totals.deleted + report.deleted,
      cancelled: totals.cancelled + report.cancelled,
      remaining: report.remaining,
      done: report.done,
    };
    log(`round ${round}: ${report.deleted} deleted, ${report.cancelled} uploads cancelled, ${report.remaining} remaining`);
    // Three rounds without progress: the user keeps uploading (block their sign-in first) or something fails.
    stalled = report.deleted + report.cancelled === 0 && !report.done ? stalled + 1 : 0;
    if (stalled >= 3) break;
  }
  log(
    totals.done
      ? `erased: ${totals.deleted} files deleted, ${totals.cancelled} uploads cancelled; contents nobody else owns are collected after the GC grace period`
      : `NOT finished: ${totals.remaining} files remain; run the command again`,
  );
  return { ...outcome, erased: totals };
}

/** The function through the AWS CLI (v2), with the operator's own credentials, profile and region. */
export function awsCliInvoker(functionName: string, options: { region?: string; profile?: string } = {}): EraseUserInvoker {
  const region = /^arn:[^:]+:lambda:([^:]+):/.exec(functionName)?.[1] ?? options.region;
  const cli: AwsCli = async (args) => {
    const extra = [...(region ? ['--region', region] : []), ...(options.profile ? ['--profile', options.profile] : [])];
    return (await promisify(execFile)('aws', [...args, ...extra, '--output', 'json'], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  };
  return async (event) => {
    const { statusCode, functionError, response } = await invokeThroughCli(cli, functionName, event);
    if (functionError || statusCode !== 200) {
      throw new ErasureError(`${functionName} failed (${functionError ?? statusCode}): ${response.slice(0, 500)}`);
    }
    return JSON.parse(response) as EraseUserResult;
  };
}

/**
 * The function's handler against the stack `npm start` runs (its `.hashdrop/local.json`), built
 * in this process with the function's own local key: the stack's local IAM grants it exactly the
 * deployed role's permissions. Loaded lazily, so the AWS path needs none of it.
 */
export async function localInvoker(localConfigFile: string): Promise<EraseUserInvoker> {
  const [{ createDeps }, { ERASE_USER }, { build }, { handlerConfig }] = await Promise.all([
    import('#adapters/deps'),
    import('#deploy/definitions'),
    import('#lambdas/erase-user'),
    import('#local/stack'),
  ]);
  const info = JSON.parse(await readFile(localConfigFile, 'utf8')) as Parameters<typeof handlerConfig>[0];
  const handler = build(createDeps(handlerConfig(info, ERASE_USER.id)));
  // The deployed function's timeout.
  return (event) => handler(event, lambdaContext(ERASE_USER.id, 15 * 60 * 1000));
}
