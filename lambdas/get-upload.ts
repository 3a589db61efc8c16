/** GET /v1/uploads/{uploadId} — where an upload stands. */
import { uploadStatus } from '#domain/uploads';
import { json, route } from './http.ts';
import { deps } from './runtime.ts';
import { uploadPath } from './schemas.ts';

export const handler = route({ path: uploadPath }, async ({ userId, path }) =>
  json(200, await uploadStatus(deps, userId, path.uploadId)),
);
