/** DELETE /v1/uploads/{uploadId} — gives up an upload in progress, at once (domain/uploads.ts cancelUpload). */
import type { Deps } from '#domain/ports';
import { cancelUpload } from '#domain/uploads';
import { json, route } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';
import { uploadPath } from './schemas.ts';

export const build = (deps: Deps) =>
  route({ budget: deps, path: uploadPath }, async ({ userId, path }) => {
    await cancelUpload(deps, userId, path.uploadId);
    return json(200, { cancelled: path.uploadId });
  });

export const handler = lambdaEntry('CancelUpload', build);
