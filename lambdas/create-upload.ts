/** POST /v1/uploads — the dedup decision: a hit completes at once, a miss gets an upload permit. */
import { requestUpload, type UploadView } from '#core/uploads';
import { json, route } from './http.ts';
import { deps } from './runtime.ts';
import { createUploadBody } from './schemas.ts';

/** 200 when the file is complete; 202 when bytes are still to come (upload, or wait for another's). */
export const statusCodeOf = (view: UploadView): number => (view.status === 'upload' || view.status === 'pending' ? 202 : 200);

export const handler = route({ body: createUploadBody }, async ({ userId, body }) => {
  const view = await requestUpload(deps, userId, body);
  return json(statusCodeOf(view), view);
});
