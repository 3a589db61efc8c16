/**
 * The one source of truth for tables, bucket and routes. The CDK stack (lib/) and the embedded
 * local runner (local/) both build from these definitions, so they cannot drift apart.
 */
import { BLOB_PREFIX } from '#domain/object-keys';
import { MAX_PARTS_PER_REQUEST } from '#protocol/api';

export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface TableDefinition {
  /** CDK construct id. */
  readonly id: string;
  /** Environment variable that carries the table's name to the handlers. */
  readonly envVar: string;
  /** Table name used by the embedded local stack (in AWS, CloudFormation names it). */
  readonly localName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Attribute (epoch seconds) after which DynamoDB deletes an item. */
  readonly timeToLiveAttribute?: string;
  /** The table's change stream, read by a function (FILE_EVENTS for Files). @default none */
  readonly stream?: 'NEW_AND_OLD_IMAGES';
  readonly indexes: readonly {
    readonly indexName: string;
    readonly partitionKey: KeyAttribute;
    readonly sortKey?: KeyAttribute;
    /** What the index copies of each item. @default 'ALL' */
    readonly projection?: 'ALL' | 'KEYS_ONLY';
  }[];
}

/**
 * One item per distinct content: its state, reference count and the object holding its bytes.
 * `sweepDue` is a sparse index of the contents the sweeper is due to look at (`sweepAt`, epoch ms,
 * set when a content is reserved or loses a reference; docs/design.md §5), spread over 16
 * partitions (`sweepShard`: the content id's first hex digit) so that releases across the service
 * do not all write one index partition. Keys only: PENDING items carry their digest list (up to
 * 320 KB), which the index need not copy; the sweeper reads each candidate consistently anyway.
 */
export const CONTENTS_TABLE: TableDefinition = {
  id: 'Contents',
  envVar: 'CONTENTS_TABLE',
  localName: 'hashdrop-contents',
  partitionKey: { name: 'contentId', type: 'S' },
  indexes: [
    {
      indexName: 'sweepDue',
      partitionKey: { name: 'sweepShard', type: 'S' },
      sortKey: { name: 'sweepAt', type: 'N' },
      projection: 'KEYS_ONLY',
    },
  ],
};

/**
 * One item per (user, file name). `pendingContentId` is set only while the file waits for its
 * content, which makes `pendingByContent` a sparse index of exactly the files to complete when
 * that content becomes READY.
 */
export const FILES_TABLE: TableDefinition = {
  id: 'Files',
  envVar: 'FILES_TABLE',
  localName: 'hashdrop-files',
  partitionKey: { name: 'userId', type: 'S' },
  sortKey: { name: 'name', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  // The outbox of file events: every committed change, with both images (FILE_EVENTS).
  stream: 'NEW_AND_OLD_IMAGES',
  indexes: [
    {
      indexName: 'pendingByContent',
      partitionKey: { name: 'pendingContentId', type: 'S' },
      sortKey: { name: 'userId', type: 'S' },
    },
  ],
};

/**
 * Each user's usage (files, bytes, saved bytes, own quota) lives in the Files table under this
 * reserved name, so that it changes in the same transactions as the files. File names cannot
 * contain control characters, so no file can ever take it.
 */
export const RESERVED_NAME_PREFIX = '\u0000';
export const USAGE_ITEM_NAME = `${RESERVED_NAME_PREFIX}usage`;
/** A lower bound of every file name and an upper bound of every reserved one. */
export const FIRST_FILE_NAME = '\u0001';

/**
 * Per-user counters over fixed windows (the request budget and any other per-user limit,
 * adapters/dynamo-rate-limiter.ts): one item per user, counter and window, which DynamoDB's TTL
 * deletes once its window is over. A table of its own rather than reserved items of Files, so
 * that a function that only reads files need not be allowed to write them to be counted.
 */
export const LIMITS_TABLE: TableDefinition = {
  id: 'Limits',
  envVar: 'LIMITS_TABLE',
  localName: 'hashdrop-limits',
  partitionKey: { name: 'userId', type: 'S' },
  /** `<counter>#<window start, epoch ms>`. */
  sortKey: { name: 'windowKey', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  indexes: [],
};

export const TABLES = [CONTENTS_TABLE, FILES_TABLE, LIMITS_TABLE] as const;

export const BUCKET = {
  id: 'Blobs',
  envVar: 'BUCKET_NAME',
  localName: 'hashdrop-blobs',
  /** Every stored content lives under this prefix; only it triggers the object-created handler. */
  blobPrefix: BLOB_PREFIX,
  /**
   * The bucket's CORS rule, for browsers that PUT parts and GET downloads through presigned URLs:
   * the stack's bucket declares it (lib/constructs/blob-bucket.ts) and the local S3 applies it.
   * Presigned URLs, not cookies, carry the authority, so any origin may use them.
   */
  cors: {
    allowedMethods: ['PUT', 'GET', 'HEAD'],
    allowedOrigins: ['*'],
    allowedHeaders: ['*'],
    // Browsers may read a part's ETag only if the bucket exposes it.
    exposedHeaders: ['ETag'],
    maxAgeSeconds: 3600,
  },
} as const;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a route's function may touch; the stack turns it into least-privilege grants. */
export interface RouteAccess {
  readonly contents: 'none' | 'read' | 'readwrite';
  readonly files: 'read' | 'readwrite';
  /** put: presign PUT/UploadPart, create/complete/abort multipart; read: HEAD/GET; delete: remove objects. */
  readonly bucket: readonly ('put' | 'read' | 'delete')[];
  /** Reads the proof-of-ownership key (to issue and check challenges). */
  readonly proofSecret?: boolean;
}

export interface RouteDefinition {
  /** Also the function's construct id. */
  readonly id: string;
  readonly method: HttpMethod;
  /**
   * API Gateway route path. File names never appear in one: API Gateway decodes paths (twice,
   * cut at a decoded `?`), so a name travels as a file reference (protocol/file-ref.ts).
   */
  readonly path: string;
  /** Module under lambdas/ exporting `handler`. */
  readonly entry: string;
  readonly access: RouteAccess;
}

export const ROUTES = [
  {
    id: 'CreateUpload',
    method: 'POST',
    path: '/v1/uploads',
    entry: 'lambdas/create-upload.ts',
    // read: a proof of ownership is checked with range GETs of the stored object.
    access: { contents: 'readwrite', files: 'readwrite', bucket: ['put', 'read'], proofSecret: true },
  },
  {
    id: 'SignParts',
    method: 'POST',
    path: '/v1/uploads/{uploadId}/parts',
    entry: 'lambdas/sign-parts.ts',
    access: { contents: 'readwrite', files: 'read', bucket: ['put'] },
  },
  {
    id: 'CompleteUpload',
    method: 'POST',
    path: '/v1/uploads/{uploadId}/complete',
    entry: 'lambdas/complete-upload.ts',
    // Completing verifies and publishes synchronously, exactly as the object-created handler does.
    access: { contents: 'readwrite', files: 'readwrite', bucket: ['put', 'read', 'delete'] },
  },
  {
    id: 'GetUpload',
    method: 'GET',
    path: '/v1/uploads/{uploadId}',
    entry: 'lambdas/get-upload.ts',
    access: { contents: 'read', files: 'readwrite', bucket: [] },
  },
  {
    id: 'CancelUpload',
    method: 'DELETE',
    path: '/v1/uploads/{uploadId}',
    entry: 'lambdas/cancel-upload.ts',
    // put: aborts the multipart uploads of an attempt that was the cancelled file's own.
    access: { contents: 'readwrite', files: 'readwrite', bucket: ['put'] },
  },
  {
    id: 'ListFiles',
    method: 'GET',
    path: '/v1/files',
    entry: 'lambdas/list-files.ts',
    access: { contents: 'read', files: 'read', bucket: [] },
  },
  {
    id: 'GetFile',
    method: 'GET',
    path: '/v1/files/{fileRef}',
    entry: 'lambdas/get-file.ts',
    access: { contents: 'read', files: 'read', bucket: ['read'] },
  },
  {
    id: 'RenameFile',
    method: 'PATCH',
    path: '/v1/files/{fileRef}',
    entry: 'lambdas/rename-file.ts',
    access: { contents: 'readwrite', files: 'readwrite', bucket: [] },
  },
  {
    id: 'DeleteFile',
    method: 'DELETE',
    path: '/v1/files/{fileRef}',
    entry: 'lambdas/delete-file.ts',
    // Only releases the reference: the sweeper deletes unreferenced objects after a grace period.
    access: { contents: 'readwrite', files: 'readwrite', bucket: [] },
  },
  {
    id: 'GetUsage',
    method: 'GET',
    path: '/v1/usage',
    entry: 'lambdas/get-usage.ts',
    access: { contents: 'none', files: 'read', bucket: [] },
  },
] as const satisfies readonly RouteDefinition[];

/** An HTTP API's CORS configuration, as API Gateway takes it (`CorsConfiguration`). */
export interface CorsDefinition {
  /** Exact origins, `*`, or a scheme wildcard (`https://*`). */
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly HttpMethod[];
  /** Lower case, as browsers list them in Access-Control-Request-Headers. */
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds: number;
}

/**
 * The API's CORS configuration: the stack's HTTP API declares it (lib/constructs/api.ts) and the
 * local adapter serves it (local/http-adapter.ts). API Gateway answers preflights itself, before
 * the authorizer, and adds the allow-origin and expose-headers to every response.
 */
export const API_CORS: CorsDefinition = {
  /** Any origin: the bearer token, not a cookie, authenticates, so no origin gains ambient authority. */
  allowOrigins: ['*'],
  /** The methods of ROUTES (a unit test keeps them in step). */
  allowMethods: ['GET', 'POST', 'PATCH', 'DELETE'],
  /** What the SDK sends: the bearer token and JSON bodies. */
  allowHeaders: ['authorization', 'content-type'],
  /**
   * Response headers a browser script may read beyond the CORS-safelisted ones (content-type,
   * cache-control... are readable already): `retry-after` tells a client of a 503 when to retry.
   */
  exposeHeaders: ['retry-after'],
  /** How long a browser may reuse a preflight answer. */
  maxAgeSeconds: 60 * 60,
};

/** The S3 ObjectCreated handler. */
export const OBJECT_CREATED = {
  id: 'ObjectCreated',
  entry: 'lambdas/object-created.ts',
  /** Lambda's longest: where a store keeps no checksum, verification streams the whole object. */
  timeoutSeconds: 15 * 60,
} as const;

/**
 * The S3 notification the function is handed for an EventBridge "Object Created" event with
 * object key `key`: what the LocalStack variant's rule makes of one (lib/constructs/object-created.ts)
 * and what scripts/replay-failures.ts makes of one the rule could not deliver.
 */
export function objectCreatedRecords(key: string): { Records: [{ eventName: string; s3: { object: { key: string } } }] } {
  return { Records: [{ eventName: 'ObjectCreated:EventBridge', s3: { object: { key } } }] };
}

/**
 * The REST API's Lambda TOKEN authorizer (lib/constructs/rest-api.ts, the stack variant for
 * LocalStack's free plan, which has no API Gateway v2): it checks the bearer JWT as the HTTP API's
 * JWT authorizer does, against an issuer, audiences and public keys given by configuration.
 */
export const TOKEN_AUTHORIZER = {
  id: 'TokenAuthorizer',
  entry: 'lambdas/token-authorizer.ts',
  /** The `iss` every token must carry. */
  issuerEnvVar: 'HASHDROP_JWT_ISSUER',
  /** The accepted `aud` values, comma-separated. */
  audienceEnvVar: 'HASHDROP_JWT_AUDIENCE',
  /** The issuer's public keys, a JWKS document: a function inside LocalStack cannot fetch one from the host. */
  jwksEnvVar: 'HASHDROP_JWKS',
} as const;

/**
 * The function that turns the Files table's stream into file events for apps' backends
 * (domain/file-events.ts, docs/events.md): on EventBridge in AWS, to the local stack's event bus
 * stand-in locally. It reads the Files table only for rename marks (GetItem).
 */
export const FILE_EVENTS = {
  id: 'FileEvents',
  entry: 'lambdas/file-events.ts',
  timeoutSeconds: 60,
  /** The EventBridge bus the events are put on (a name, or `default`). */
  busEnvVar: 'HASHDROP_EVENT_BUS_NAME',
  /** Locally, instead: the URL events are POSTed to (local/event-bus.ts). */
  webhookEnvVar: 'HASHDROP_EVENT_WEBHOOK_URL',
  /**
   * How long a rename's mark on its source stays (the table's TTL deletes it later still):
   * longer than any stream record can wait for the function (24 h, the stream's retention).
   */
  renameMarkSeconds: 3 * 24 * 60 * 60,
} as const;

/** Every function of the stack, by construct id. */
export type FunctionId =
  | (typeof ROUTES)[number]['id']
  | typeof OBJECT_CREATED.id
  | typeof SWEEPER.id
  | typeof FILE_EVENTS.id
  | typeof ERASE_USER.id;

/** Where functions find the proof-of-ownership key: a Secrets Manager ARN in AWS, a file locally. */
export const PROOF_SECRET = {
  id: 'ProofSecret',
  arnEnvVar: 'HASHDROP_PROOF_SECRET_ARN',
  fileEnvVar: 'HASHDROP_PROOF_SECRET_FILE',
} as const;

/** The scheduled sweeper: abandoned uploads and unreferenced contents (domain/sweeper.ts). */
export const SWEEPER = {
  id: 'Sweeper',
  entry: 'lambdas/sweeper.ts',
  /** One run walks every candidate; a large backlog is finished by the next run. */
  timeoutSeconds: 15 * 60,
  access: { contents: 'readwrite', files: 'readwrite', bucket: ['put', 'read', 'delete'] },
} as const satisfies { id: string; entry: string; access: RouteAccess; timeoutSeconds: number };

/**
 * The operator's erasure of a user (domain/erase-user.ts): invoked directly, never through the API.
 * put: aborts the multipart uploads of the user's uploads, as a cancel does. The export is written
 * and linked under `exports/` only, granted by its construct (lib/constructs/erase-user.ts).
 */
export const ERASE_USER = {
  id: 'EraseUser',
  entry: 'lambdas/erase-user.ts',
  /**
   * Lambda's longest: the function stops taking files before its time runs out and says so
   * (`done: false`), and the operator's command invokes it again.
   */
  timeoutSeconds: 15 * 60,
  access: { contents: 'readwrite', files: 'readwrite', bucket: ['put'] },
} as const satisfies { id: string; entry: string; access: RouteAccess; timeoutSeconds: number };

/**
 * Every function the stack deploys in both variants, each a handler module: what the bundle test,
 * the cold-start benchmark and the local IAM's keys go through (the REST variant's authorizer is
 * its own).
 */
export const FUNCTIONS = [...ROUTES, OBJECT_CREATED, SWEEPER, FILE_EVENTS, ERASE_USER] as const satisfies readonly {
  readonly id: FunctionId;
  readonly entry: string;
}[];

/**
 * Environment variables that override a setting (all optional; DEFAULTS apply otherwise). The
 * stack sets `defaultQuotaBytes` and `requestsPerMinute` on every function, from its context
 * (bin/hashdrop.ts); an operator may set any, per function, and the local runner reads them once
 * in `npm start`.
 */
export const SETTING_ENV_VARS = {
  uploadUrlTtlSeconds: 'HASHDROP_UPLOAD_URL_TTL_SECONDS',
  downloadUrlTtlSeconds: 'HASHDROP_DOWNLOAD_URL_TTL_SECONDS',
  attemptLeaseSeconds: 'HASHDROP_ATTEMPT_LEASE_SECONDS',
  uploadTtlSeconds: 'HASHDROP_UPLOAD_TTL_SECONDS',
  gcGraceSeconds: 'HASHDROP_GC_GRACE_SECONDS',
  defaultQuotaBytes: 'HASHDROP_DEFAULT_QUOTA_BYTES',
  requestsPerMinute: 'HASHDROP_REQUESTS_PER_MINUTE',
  proofMode: 'HASHDROP_PROOF_MODE',
  proofTtlSeconds: 'HASHDROP_PROOF_TTL_SECONDS',
  proofPeriodSeconds: 'HASHDROP_PROOF_PERIOD_SECONDS',
  proofFailuresPerUser: 'HASHDROP_PROOF_FAILURES_PER_USER',
  proofFailuresPerContent: 'HASHDROP_PROOF_FAILURES_PER_CONTENT',
} as const;

/**
 * Powertools for AWS Lambda's settings, the environment every function is given
 * (lib/constructs/handler-function.ts) and what its telemetry adapter builds Logger and Metrics
 * with (adapters/powertools-telemetry.ts). An operator may lower the log level of one function
 * (DEBUG) without a deployment of code.
 */
export const POWERTOOLS_ENVIRONMENT = {
  POWERTOOLS_SERVICE_NAME: 'hashdrop',
  /** The CloudWatch namespace of every hashdrop metric. */
  POWERTOOLS_METRICS_NAMESPACE: 'hashdrop',
  POWERTOOLS_LOG_LEVEL: 'INFO',
} as const;

/** Path-style S3 URLs: LocalStack and the local S3 on loopback have no per-bucket host names. */
export const S3_FORCE_PATH_STYLE_ENV_VAR = 'HASHDROP_S3_FORCE_PATH_STYLE';

/** Tunables shared by the stack and the local runner (seconds). */
export const DEFAULTS = {
  /** Lifetime of presigned PUT/UploadPart URLs. */
  uploadUrlTtlSeconds: 15 * 60,
  /** Lifetime of presigned GET URLs. */
  downloadUrlTtlSeconds: 5 * 60,
  /**
   * How long an upload attempt keeps exclusive right to upload a content. Longer than the URL
   * lifetime, so that no URL of an expired attempt can still write when another takes over.
   */
  attemptLeaseSeconds: 16 * 60,
  /** Most parts signed in one response: a 10,000-part upload asks in batches. */
  maxPartsPerBatch: MAX_PARTS_PER_REQUEST,
  /**
   * An upload untouched for this long is abandoned. Clients renew the lease with every batch of
   * part URLs, so a slow but moving upload is never swept.
   */
  uploadTtlSeconds: 24 * 60 * 60,
  /**
   * Unreferenced contents stay this long before deletion, so a delete followed by a re-upload
   * of the same bytes (undo, overwrite with the same file) is still instant.
   */
  gcGraceSeconds: 60 * 60,
  /** Logical bytes per user (the sum of their files' sizes, deduplicated or not). */
  defaultQuotaBytes: 100 * 1024 ** 3,
  /**
   * API requests per user per minute (0: no budget). Generous: a 10 GiB upload asks for its part
   * URLs in about 13 requests, and a client listing a folder of 100,000 files in 100 pages; a
   * script looping on the API is held to 10 a second, then answered 429 until the minute ends.
   */
  requestsPerMinute: 600,
  /** How long a proof-of-ownership challenge may be answered. */
  proofTtlSeconds: 5 * 60,
  /**
   * A user's challenge for a content stays the same this long, so each account sees one set of
   * ranges per content per day, however often it asks (docs/design.md §4).
   */
  proofPeriodSeconds: 24 * 60 * 60,
  /**
   * Challenges a user may leave unmet per period, across contents (a met one no longer counts):
   * far above what an honest client leaves (one per interrupted upload), then 429 until the period ends.
   */
  proofFailuresPerUser: 20,
  /**
   * Challenges of one content left unmet for 30 s (failed) per period, across users: with the 32
   * that may be in flight at once, unanswered looks at a content are at most 36 a day, however many
   * accounts ask (a client holding 90% of the file passes one in 100).
   */
  proofFailuresPerContent: 5,
  /** How often the sweeper runs. */
  sweepIntervalSeconds: 60 * 60,
} as const;
