/** GET /v1/usage — the caller's files, logical bytes, bytes saved by deduplication, and quota. */
import { usageOf } from '#domain/files';
import type { Deps } from '#domain/ports';
import { json, route } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';

export const build = (deps: Deps) => route({ budget: deps }, async ({ userId }) => json(200, await usageOf(deps, userId)));

export const handler = lambdaEntry('GetUsage', build);
