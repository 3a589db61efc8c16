/**
 * A small, strict local S3 for the local stack and the tests: SigV4 verified with the AWS SDK's
 * signer, checksums verified and reported, conditional writes, multipart uploads checked as S3
 * checks them, the bucket's CORS rules, ObjectCreated events, and bodies streamed to disk. The
 * README (after `npm start`) says what it enforces and what it does not.
 */
export type { CorsRule } from './cors.ts';
export { encodeEventKey } from './events.ts';
export { type Authorize, type AuthorizeRequest, type LocalS3, type LocalS3Options, startLocalS3 } from './server.ts';
