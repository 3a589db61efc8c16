/** GET /v1/usage — the caller's files, logical bytes, bytes saved by deduplication, and quota. */
import { usageOf } from '#domain/files';
import { json, route } from './http.ts';
import { deps } from './runtime.ts';

export const handler = route({}, async ({ userId }) => json(200, await usageOf(deps, userId)));
