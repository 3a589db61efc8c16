/** POST /v1/uploads/{uploadId}/complete — assemble a multipart upload, verify and publish it now. */
import { completeUpload } from '#domain/uploads';
import { json, route } from './http.ts';
import { deps } from './runtime.ts';
import { completeUploadBody, uploadPath } from './schemas.ts';

export const handler = route({ body: completeUploadBody, path: uploadPath }, async ({ userId, body, path }) =>
  json(200, await completeUpload(deps, userId, path.uploadId, body.parts)),
);
