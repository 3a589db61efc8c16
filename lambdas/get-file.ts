/** GET /v1/files/{name} — metadata and a short-lived presigned GET URL (ranges work). */
import { getFileDownload } from '#domain/files';
import { json, route } from './http.ts';
import { deps } from './runtime.ts';
import { filePath } from './schemas.ts';

export const handler = route({ path: filePath }, async ({ userId, path }) =>
  json(200, await getFileDownload(deps, userId, path.name)),
);
