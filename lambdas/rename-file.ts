/** PATCH /v1/files/{name} `{name, overwrite?}` — renames the file atomically. */
import { renameFile } from '#domain/files';
import { json, route } from './http.ts';
import { deps } from './runtime.ts';
import { filePath, renameFileBody } from './schemas.ts';

export const handler = route({ path: filePath, body: renameFileBody }, async ({ userId, path, body }) =>
  json(200, { file: await renameFile(deps, userId, path.name, { to: body.name, overwrite: body.overwrite }) }),
);
