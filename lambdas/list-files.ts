/** GET /v1/files — the caller's files, by name, a page at a time. */
import { listFiles } from '#domain/files';
import { json, route } from './http.ts';
import { deps } from './runtime.ts';
import { listFilesQuery } from './schemas.ts';

export const handler = route({ query: listFilesQuery }, async ({ userId, query }) =>
  json(200, await listFiles(deps, userId, query)),
);
