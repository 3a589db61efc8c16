/** POST /v1/uploads/{uploadId}/parts — presigned URLs for a batch of parts of the caller's upload. */
import { signParts } from '#domain/uploads';
import { json, route } from './http.ts';
import { deps } from './runtime.ts';
import { signPartsBody, uploadPath } from './schemas.ts';

export const handler = route({ body: signPartsBody, path: uploadPath }, async ({ userId, body, path }) =>
  json(200, await signParts(deps, userId, path.uploadId, body.parts)),
);
