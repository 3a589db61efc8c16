/** PATCH /v1/files/{fileRef} `{name, overwrite?}` (protocol/file-ref.ts) — renames the file atomically. */
import { renameFile } from '#domain/files';
import type { Deps } from '#domain/ports';
import { json, route } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';
import { filePath, renameFileBody } from './schemas.ts';

export const build = (deps: Deps) =>
  route({ budget: deps, path: filePath, body: renameFileBody }, async ({ userId, path, body }) =>
    json(200, { file: await renameFile(deps, userId, path.name, { to: body.name, overwrite: body.overwrite }) }),
  );

export const handler = lambdaEntry('RenameFile', build);
