/** DELETE /v1/files/{name} — removes the file and releases its content in one transaction. */
import { deleteFile } from '#domain/files';
import { json, route } from './http.ts';
import { deps } from './runtime.ts';
import { filePath } from './schemas.ts';

export const handler = route({ path: filePath }, async ({ userId, path }) => {
  await deleteFile(deps, userId, path.name);
  return json(200, { deleted: path.name });
});
