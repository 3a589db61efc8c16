/**
 * Operator-only: exports and erases one user (domain/erase-user.ts; README, Operations). No API
 * route reaches it; it is invoked directly (Lambda Invoke) by `npm run erase-user`, whose caller
 * needs lambda:InvokeFunction on it.
 *
 * Input `{ userId, action, dryRun? }`:
 * - `export`: the user's files are written to storage (`exports/…`); the answer names the key and
 *   a short-lived link. With `dryRun`, nothing is written: only the counts.
 * - `erase`: every file, upload and per-user record goes, until the invocation's time runs short;
 *   `done: false` says to invoke it again, which goes on where this one stopped. With `dryRun`,
 *   nothing changes: the answer says what would go.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { type EraseReport, eraseUser, exportUserFiles, saveUserExport } from '#domain/erase-user';
import type { Deps } from '#domain/ports';
import type { FileState } from '#protocol/api';
import { MAX_USER_ID_BYTES } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';

/** Stop taking new files with this much of the invocation left: one file's few transactions (and an abort) take well under a second. */
export const TIME_RESERVE_MS = 10_000;

/**
 * A user id as the API takes it from a token's `sub` (lambdas/http.ts): an id no token could carry
 * names nobody, and is refused rather than searched for.
 */
const userIdSchema = z
  .string()
  .check(
    z.refine(
      (id) =>
        id.length > 0 && Buffer.byteLength(id, 'utf8') <= MAX_USER_ID_BYTES && !/[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u.test(id),
      'a user id as tokens carry it (their sub)',
    ),
  );

/**
 * An event that is not an erasure's. Not a DomainError: no HTTP caller sees it (and the API's
 * error codes do not list it); the operator's command sees a function error and stops.
 */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
  readonly code = 'invalid_event';
}

export const eraseUserEvent = z.strictObject({
  userId: userIdSchema,
  action: z.enum(['export', 'erase']),
  dryRun: z.optional(z.boolean()),
});

export type EraseUserEvent = z.infer<typeof eraseUserEvent>;

/** What a dry run reports: the files that would be exported or erased, by state, and their bytes. */
export interface EraseUserPlan {
  readonly userId: string;
  readonly action: 'export' | 'erase';
  readonly dryRun: true;
  readonly files: number;
  readonly byState: Readonly<Partial<Record<FileState, number>>>;
  readonly bytes: number;
}

export type EraseUserResult =
  | EraseUserPlan
  | {
      readonly userId: string;
      readonly action: 'export';
      readonly exportKey: string;
      readonly exportUrl: string;
      readonly files: number;
    }
  | (EraseReport & { readonly action: 'erase' });

async function plan(deps: Deps, userId: string, action: 'export' | 'erase'): Promise<EraseUserPlan> {
  const files = await exportUserFiles(deps, userId);
  const byState: Partial<Record<FileState, number>> = {};
  for (const file of files) byState[file.state] = (byState[file.state] ?? 0) + 1;
  return {
    userId,
    action,
    dryRun: true,
    files: files.length,
    byState,
    bytes: files.reduce((sum, file) => sum + file.size + (file.previous?.size ?? 0), 0),
  };
}

export const build = (deps: Deps) =>
  middy<unknown, EraseUserResult>().handler(async (event: unknown, context: Context) => {
    const parsed = eraseUserEvent.safeParse(event);
    if (!parsed.success) {
      // Thrown, not answered: the operator's command sees a function error and stops.
      throw new InvalidEventError(`expected { userId, action: 'export' | 'erase', dryRun? }: ${parsed.error.message}`);
    }
    const { userId, action, dryRun } = parsed.data;
    deps.telemetry.annotate({ erasedUser: userId, action, dryRun: dryRun === true });
    if (dryRun) return plan(deps, userId, action);
    if (action === 'export') {
      const saved = await saveUserExport(deps, userId);
      deps.telemetry.log('info', 'user_exported', { userId, key: saved.key, files: saved.files });
      return { userId, action, exportKey: saved.key, exportUrl: saved.url, files: saved.files };
    }
    const report = await eraseUser(deps, userId, { haveTime: () => context.getRemainingTimeInMillis() > TIME_RESERVE_MS });
    return { ...report, action };
  });

export const handler = lambdaEntry('EraseUser', build);
