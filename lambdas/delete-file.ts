/** DELETE /v1/files/{fileRef} (protocol/file-ref.ts) — removes the file and releases its content in one transaction. */
import { deleteFile } from '#domain/files';
import type { Deps } from '#domain/ports';
import { json, route } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';
import { filePath } from './schemas.ts';

export const build = (deps: Deps) =>
  route({ budget: deps, path: filePath }, async ({ userId, path }) => {
    await deleteFile(deps, userId, path.name);
    return json(200, { deleted: path.name });
  });

export const handler = lambdaEntry('DeleteFile', build);
