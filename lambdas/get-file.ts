/** GET /v1/files/{fileRef} (protocol/file-ref.ts) — metadata and a short-lived presigned GET URL (ranges work). */
import { getFileDownload } from '#domain/files';
import type { Deps } from '#domain/ports';
import { json, route } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';
import { filePath, getFileQuery } from './schemas.ts';

export const build = (deps: Deps) =>
  route({ budget: deps, path: filePath, query: getFileQuery }, async ({ userId, path, query }) =>
    json(200, await getFileDownload(deps, userId, path.name, query)),
  );

export const handler = lambdaEntry('GetFile', build);
