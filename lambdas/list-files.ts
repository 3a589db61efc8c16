/** GET /v1/files?prefixRef=&limit=&cursor= — the caller's files, by name, a page at a time. */
import { listFiles } from '#domain/files';
import type { Deps } from '#domain/ports';
import { json, route } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';
import { listFilesQuery } from './schemas.ts';

export const build = (deps: Deps) =>
  route({ budget: deps, query: listFilesQuery }, async ({ userId, query }) => json(200, await listFiles(deps, userId, query)));

export const handler = lambdaEntry('ListFiles', build);
