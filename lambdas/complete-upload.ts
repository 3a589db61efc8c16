/** POST /v1/uploads/{uploadId}/complete — assemble a multipart upload, verify and publish it now. */

import type { Deps } from '#domain/ports';
import { completeUpload } from '#domain/uploads';
import { json, route } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';
import { completeUploadBody, uploadPath } from './schemas.ts';

export const build = (deps: Deps) =>
  route({ budget: deps, body: completeUploadBody, path: uploadPath }, async ({ userId, body, path }) =>
    json(200, await completeUpload(deps, userId, path.uploadId, body.parts)),
  );

export const handler = lambdaEntry('CompleteUpload', build);
