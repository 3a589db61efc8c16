/** POST /v1/uploads — the dedup decision: a hit completes at once, a miss gets an upload permit. */

import type { Deps } from '#domain/ports';
import { requestUpload } from '#domain/uploads';
import type { UploadView } from '#protocol/api';
import { json, route } from './http.ts';
import { lambdaEntry } from './lambda-entry.ts';
import { createUploadBody } from './schemas.ts';

/** 200 when the upload ended (complete or failed); 202 while the client still has something to do. */
export const statusCodeOf = (view: UploadView): number => (view.status === 'complete' || view.status === 'failed' ? 200 : 202);

export const build = (deps: Deps) =>
  route({ budget: deps, body: createUploadBody }, async ({ userId, body }) => {
    const view = await requestUpload(deps, userId, body);
    return json(statusCodeOf(view), view);
  });

export const handler = lambdaEntry('CreateUpload', build);
