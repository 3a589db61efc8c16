/** POST /v1/uploads/{uploadId}/parts — presigned URLs for a batch of parts of the caller's upload. */

import type { Deps } from '#domain/ports';
import { signParts } from '#domain/uploads';
import { json, route } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';
import { signPartsBody, uploadPath } from './schemas.ts';

export const build = (deps: Deps) =>
  route({ budget: deps, body: signPartsBody, path: uploadPath }, async ({ userId, body, path }) =>
    json(200, await signParts(deps, userId, path.uploadId, body.partNumbers)),
  );

export const handler = lambdaEntry('SignParts', build);
