/**
 * Every stable error code the API answers, with the kind that sets its status (lambdas/http.ts
 * STATUS), and which route can answer which. test/unit/openapi.test.ts reads the sources of
 * domain/, lambdas/ and adapters/ and fails when a code is thrown that is not here (or under
 * another kind), or is here and thrown nowhere; the integration tests fail when a route answers
 * a code its entry below does not list (test/support/contract-check.ts).
 *
 * The codes of a malformed input are not listed by hand: openapi/document.ts derives them from
 * each route's schemas, as lambdas/http.ts `parse` names them (`invalid_<field>`, `unknown_field`).
 */
import type { ROUTES } from '#deploy/definitions';
import type { ErrorKind } from '#domain/errors';

/** The id of one of ROUTES: every route has an entry in the tables keyed by it. */
type RouteId = (typeof ROUTES)[number]['id'];

interface CodeEntry {
  readonly kind: ErrorKind;
  readonly description: string;
}

export const ERROR_CODES = {
  // The edge (lambdas/http.ts), whatever the route.
  unauthenticated: {
    kind: 'unauthenticated',
    description: 'The token has no usable `sub` (API Gateway refuses other bad tokens itself).',
  },
  rate_limited: { kind: 'limited', description: "The minute's request budget is spent; retry after `retry-after` seconds." },
  invalid_json: { kind: 'invalid', description: 'The body is not valid JSON.' },
  body_too_large: { kind: 'too_large', description: 'The body exceeds 2 MiB.' },
  // Uploads (domain/uploads.ts, domain/proof.ts, adapters/*-blob-store.ts).
  missing_block_digests: { kind: 'invalid', description: 'Fewer block digests than the size has blocks.' },
  too_many_block_digests: { kind: 'invalid', description: 'More block digests than the size has blocks.' },
  block_digests_mismatch: { kind: 'invalid', description: 'The block digests do not hash to the contentId.' },
  size_mismatch: { kind: 'conflict', description: 'This contentId is stored with another size.' },
  quota_exceeded: {
    kind: 'too_large',
    description: 'The upload would take the user past their quota (`details` says by how much).',
  },
  content_deleting: { kind: 'busy', description: 'The content is being deleted; ask again in a moment to upload it afresh.' },
  content_quarantined: { kind: 'conflict', description: 'The content failed an integrity check and is never served.' },
  proof_failed: { kind: 'forbidden', description: 'The proof of ownership does not match the stored bytes.' },
  invalid_challenge: { kind: 'forbidden', description: 'The challenge token is not one this server issued.' },
  challenge_expired: { kind: 'forbidden', description: 'The challenge expired; ask again.' },
  challenge_mismatch: { kind: 'forbidden', description: 'The challenge was issued for another request.' },
  challenge_used: { kind: 'forbidden', description: 'The challenge was answered already; ask again.' },
  proof_limited: { kind: 'limited', description: 'Too many unmet proofs of ownership; retry after `retry-after` seconds.' },
  proof_busy: { kind: 'busy', description: 'Many clients are proving this content right now; ask again in a moment.' },
  contention: { kind: 'busy', description: 'Too many concurrent changes; retry.' },
  upload_not_found: {
    kind: 'not_found',
    description: "No such upload of the caller's (foreign, superseded and malformed ids alike).",
  },
  too_many_parts: { kind: 'invalid', description: 'More part numbers than one request may ask for.' },
  invalid_part_number: { kind: 'invalid', description: 'A part number beyond the file’s part count.' },
  upload_not_active: {
    kind: 'conflict',
    description: 'The content awaits no bytes from this upload; ask POST /v1/uploads again.',
  },
  invalid_parts: {
    kind: 'invalid',
    description: 'The completion does not list every part once, in order, as storage holds them.',
  },
  upload_expired: { kind: 'conflict', description: 'The multipart upload no longer exists; ask POST /v1/uploads again.' },
  object_not_uploaded: { kind: 'conflict', description: 'Storage holds no object for this upload yet.' },
  upload_complete: { kind: 'conflict', description: 'The upload is complete, so there is nothing to cancel: delete the file.' },
  // Files (domain/files.ts, adapters/list-cursor.ts).
  invalid_cursor: { kind: 'invalid', description: 'The cursor is not one this listing returned.' },
  file_not_found: { kind: 'not_found', description: 'No such file.' },
  file_not_ready: { kind: 'conflict', description: 'The file is not complete, so not downloadable yet.' },
  same_name: { kind: 'invalid', description: 'The new name is the current one.' },
  file_not_complete: { kind: 'conflict', description: 'Only a complete file can be renamed.' },
  file_exists: { kind: 'conflict', description: 'A file already has the new name; ask to overwrite it.' },
  replacement_in_progress: {
    kind: 'conflict',
    description: 'An upload is replacing this file; wait for it, or delete the file.',
  },
} as const satisfies Record<string, CodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Answered by every route (lambdas/http.ts): a token without a usable user, the request budget,
 * and contention DynamoDB kept up past the store's retries (adapters/dynamo-contention.ts: the
 * budget's own count can meet it, as can any read or write of the route's call).
 */
export const EVERY_ROUTE: readonly ErrorCode[] = ['unauthenticated', 'rate_limited', 'contention'];

/** Answered by every route that reads a JSON body (lambdas/http.ts readJsonBody). */
export const BODY_ROUTES: readonly ErrorCode[] = ['invalid_json', 'body_too_large'];

/**
 * What each route's domain call can throw, collected from the code it runs (the `throw`s of
 * domain/ and adapters/ reachable from its lambdas/ entry): `contention` where it runs in
 * withRetries (domain/retries.ts).
 */
export const ROUTE_ERRORS: Record<RouteId, readonly ErrorCode[]> = {
  CreateUpload: [
    'missing_block_digests',
    'too_many_block_digests',
    'block_digests_mismatch',
    'size_mismatch',
    'quota_exceeded',
    'content_deleting',
    'proof_failed',
    'invalid_challenge',
    'challenge_expired',
    'challenge_mismatch',
    'challenge_used',
    'proof_limited',
    'proof_busy',
    'contention',
  ],
  SignParts: ['too_many_parts', 'upload_not_found', 'invalid_part_number', 'upload_not_active', 'contention'],
  CompleteUpload: ['upload_not_found', 'upload_not_active', 'invalid_parts', 'upload_expired', 'object_not_uploaded'],
  GetUpload: ['upload_not_found'],
  CancelUpload: ['upload_not_found', 'upload_complete', 'contention'],
  ListFiles: ['invalid_cursor'],
  GetFile: ['file_not_found', 'content_quarantined', 'file_not_ready'],
  RenameFile: ['same_name', 'file_not_found', 'file_not_complete', 'file_exists', 'replacement_in_progress', 'contention'],
  DeleteFile: ['file_not_found', 'contention'],
  GetUsage: [],
};
