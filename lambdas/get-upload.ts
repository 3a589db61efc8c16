/** GET /v1/uploads/{uploadId} — where an upload stands. */

import type { Deps } from '#domain/ports';
import { uploadStatus } from '#domain/uploads';
import { json, route } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';
import { uploadPath } from './schemas.ts';

export const build = (deps: Deps) =>
  route({ budget: deps, path: uploadPath }, async ({ userId, path }) =>
    json(200, await uploadStatus(deps, userId, path.uploadId)),
  );

export const handler = lambdaEntry('GetUpload', build);
