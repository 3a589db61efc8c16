/**
 * The OpenAPI 3.1 contract of the HTTP API, built from what the server itself runs: the routes of
 * deploy/definitions.ts (ROUTES), the request schemas the handlers validate with
 * (lambdas/schemas.ts, as JSON Schema of their *input*: before defaults and transforms), the
 * response schemas of openapi/responses.ts (held to protocol/api.ts by the type checker), the
 * status of each error kind (lambdas/http.ts STATUS) and the error codes of openapi/errors.ts.
 * `npm run openapi` writes it to docs/openapi.yaml; a unit test fails when that file is stale.
 */
import * as z from 'zod';
import { ROUTES } from '#deploy/definitions';
import { MAX_BODY_BYTES, STATUS } from '#lambdas/http';
import {
  completeUploadBody,
  createUploadBody,
  filePath,
  getFileQuery,
  listFilesQuery,
  renameFileBody,
  signPartsBody,
  uploadPath,
} from '#lambdas/schemas';
import { MAX_NAME_BYTES, MAX_PARTS_PER_REQUEST } from '#protocol/api';
import { BODY_ROUTES, ERROR_CODES, type ErrorCode, EVERY_ROUTE, ROUTE_ERRORS } from './errors.ts';
import { eventSchemas, eventWebhooks } from './events.ts';
import {
  cancelledUploadSchema,
  deletedFileSchema,
  errorBodySchema,
  fileDownloadSchema,
  fileListingSchema,
  gatewayErrorSchema,
  renamedFileSchema,
  responseRegistry,
  UPLOAD_VARIANTS,
  type UploadStatus,
  usageViewSchema,
} from './responses.ts';
import type { Json } from './yaml.ts';

/** The id of one of ROUTES: every route has an entry in the tables keyed by it. */
type Route = (typeof ROUTES)[number];
type RouteId = Route['id'];
type JsonObject = { [key: string]: Json };
type Schema = z.core.$ZodType;

const ref = (id: string): JsonObject => ({ $ref: `#/components/schemas/${id}` });
const idOf = (schema: Schema): string => {
  const id = responseRegistry.get(schema)?.id;
  if (!id) throw new Error('a response schema without an id in responseRegistry');
  return id;
};

/** A success answer: one body schema, or UploadView variants told apart by `status`. */
type Success = { readonly description: string } & ({ readonly body: Schema } | { readonly variants: readonly UploadStatus[] });

interface RouteDoc {
  readonly summary: string;
  readonly description: string;
  readonly tag: 'uploads' | 'files' | 'usage';
  /** The schemas its handler passes to `route()` (test/unit/openapi.test.ts reads lambdas/ to check). */
  readonly body?: { readonly schema: Schema; readonly id: string };
  readonly path?: Schema;
  readonly query?: Schema;
  readonly responses: Partial<Record<200 | 202, Success>>;
}

/** The route's documentation and inputs; everything else is derived. */
export const ROUTE_DOCS: Record<RouteId, RouteDoc> = {
  CreateUpload: {
    summary: 'Upload a file, instantly if storage holds its content',
    description: [
      'The dedup decision (docs/design.md §1). A hit is answered `challenge`: ask again with `proof`, the hex SHA-256',
      "of the challenge's byte ranges, to get `complete` without sending the bytes. A miss is answered `upload` with",
      'presigned URLs for the first parts; `wait` while someone else uploads the same content.',
    ].join('\n'),
    tag: 'uploads',
    body: { schema: createUploadBody, id: 'CreateUploadRequest' },
    responses: {
      200: {
        description: 'The upload ended: `complete` (a hit, or a retry of a finished upload) or `failed`.',
        variants: ['complete', 'failed'],
      },
      202: {
        description:
          'The client has something to do: prove (`challenge`), send bytes (`upload`), or ask again (`pending`, `wait`).',
        variants: ['upload', 'pending', 'challenge', 'wait'],
      },
    },
  },
  SignParts: {
    summary: 'More part URLs for an upload',
    description: `Presigned URLs for these parts (at most ${MAX_PARTS_PER_REQUEST}), each signed for its own block's SHA-256 and length.`,
    tag: 'uploads',
    body: { schema: signPartsBody, id: 'SignPartsRequest' },
    path: uploadPath,
    responses: {
      200: { description: 'The upload, with permits for the parts asked for that storage lacks.', variants: ['upload'] },
    },
  },
  CompleteUpload: {
    summary: 'Complete an upload once its bytes are stored',
    description: [
      'For a multipart upload, list every part in order with its ETag and base64 SHA-256. The server assembles,',
      'verifies and publishes the object now, and answers the outcome. `pending` with `retryAfterSeconds: 0`:',
      'others shared the upload, so prove ownership with POST /v1/uploads.',
    ].join('\n'),
    tag: 'uploads',
    body: { schema: completeUploadBody, id: 'CompleteUploadRequest' },
    path: uploadPath,
    responses: { 200: { description: 'Where the upload stands now.', variants: ['complete', 'failed', 'pending'] } },
  },
  GetUpload: {
    summary: 'Where an upload stands',
    description: 'The status of one of the caller’s uploads.',
    tag: 'uploads',
    path: uploadPath,
    responses: { 200: { description: 'Where the upload stands.', variants: ['complete', 'failed', 'pending'] } },
  },
  CancelUpload: {
    summary: 'Cancel an upload in progress',
    description: [
      'Gives the upload up at once: its file is deleted, or goes back to the version it was replacing; parts stored',
      'for it alone are discarded. A failed upload is left as it is; a complete one is a file (`409 upload_complete`).',
    ].join('\n'),
    tag: 'uploads',
    path: uploadPath,
    responses: { 200: { description: 'The upload is given up.', body: cancelledUploadSchema } },
  },
  ListFiles: {
    summary: "List the caller's files",
    description: 'By name, a page at a time; `prefixRef` is the prefix as a file reference.',
    tag: 'files',
    query: listFilesQuery,
    responses: { 200: { description: 'A page of files.', body: fileListingSchema } },
  },
  GetFile: {
    summary: 'A file and a download URL',
    description: [
      'Metadata and a short-lived presigned GET URL (ranges work; it downloads under the file’s name, with its',
      'content type). `disposition=inline` asks for a URL a browser displays instead: granted for images (not',
      'SVG), audio, video, PDF and plain text; anything else stays an attachment (`download.disposition` says which).',
    ].join('\n'),
    tag: 'files',
    path: filePath,
    query: getFileQuery,
    responses: { 200: { description: 'The file and where to download it.', body: fileDownloadSchema } },
  },
  RenameFile: {
    summary: 'Rename a file',
    description: 'Atomically; `409 file_exists` if the new name is taken, unless `overwrite`.',
    tag: 'files',
    path: filePath,
    body: { schema: renameFileBody, id: 'RenameFileRequest' },
    responses: { 200: { description: 'The file under its new name.', body: renamedFileSchema } },
  },
  DeleteFile: {
    summary: 'Delete a file',
    description: 'Deletes the file and releases its content in one transaction; the bytes go once nobody owns them.',
    tag: 'files',
    path: filePath,
    responses: { 200: { description: 'The file is gone.', body: deletedFileSchema } },
  },
  GetUsage: {
    summary: "The caller's usage and quota",
    description: 'Files, logical bytes, bytes deduplication spared, and the quota.',
    tag: 'usage',
    responses: { 200: { description: 'Usage and quota.', body: usageViewSchema } },
  },
};

/** What the schemas cannot say (their refinements run code), said in words. */
const FIELD_DOCS: Record<string, string> = {
  name: `A file name: Unicode NFC, 1–${MAX_NAME_BYTES} bytes of UTF-8, no control characters, \`/\`-separated segments none of which is empty, \`.\` or \`..\`.`,
  blockDigests: 'The hex SHA-256 of every block of the file, in order; they must hash to `contentId`.',
  proof: 'The answer to a challenge this server issued for the same request.',
  fileRef: 'The file name as a file reference: base64url, without padding, of its UTF-8 bytes (protocol/file-ref.ts).',
  prefixRef: 'Only names that start with this prefix, as a file reference (base64url of its UTF-8, no padding).',
  cursor: 'The `cursor` of the previous page.',
  uploadId: 'The `uploadId` of an answer of POST /v1/uploads.',
  contentType: 'The file’s MIME type, lowercase, without parameters (e.g. `image/png`); downloads carry it.',
  disposition: '`inline`: a URL a browser displays (media only); `attachment` (the default): a URL that downloads.',
};

/** The JSON Schema of a zod schema: what a client sends (`input`: before defaults and transforms). */
function jsonSchemaOf(schema: Schema, io: 'input' | 'output'): JsonObject {
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io }) as JsonObject;
  return rest;
}

const propertiesOf = (schema: JsonObject): JsonObject =>
  typeof schema.properties === 'object' && schema.properties !== null && !Array.isArray(schema.properties)
    ? (schema.properties as JsonObject)
    : {};

const INT32_MAX = 2 ** 31 - 1;

/**
 * Integers get an OpenAPI `format`: Kotlin and Swift generators map a bare `integer` to a 32-bit
 * type, and sizes reach 48.8 TiB. int64 unless the bounds fit in 32 bits.
 */
function withFormats(value: Json, key?: string): Json {
  if (Array.isArray(value)) return value.map((item: Json) => withFormats(item));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as JsonObject;
  const out: JsonObject = {};
  for (const [name, item] of Object.entries(object)) {
    // `properties` maps names to schemas: a property may be called `format` or `type`.
    out[name] = withFormats(item, name);
  }
  if (key !== 'properties' && object.type === 'integer' && object.format === undefined) {
    const fits =
      typeof object.maximum === 'number' &&
      object.maximum <= INT32_MAX &&
      typeof object.minimum === 'number' &&
      object.minimum >= -INT32_MAX - 1;
    out.format = fits ? 'int32' : 'int64';
  }
  if (FIELD_DOCS[key ?? ''] && out.description === undefined) out.description = FIELD_DOCS[key ?? ''] ?? '';
  return out;
}

/** `invalid_<field>`, as lambdas/http.ts `parse` names the code of a field that fails its schema. */
const invalidField = (field: string): string => `invalid_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;

interface CodeDoc {
  readonly code: string;
  readonly status: number;
  readonly description: string;
}

/**
 * The codes of malformed input for one of a route's inputs, from its schema: every field of its
 * input and of its output (a pipe names a decoded field, e.g. `name` from `fileRef`);
 * `unknown_field` where the schema refuses other fields; `invalid_body` where a body that is not
 * an object fails before any field is looked at.
 */
function inputCodes(schema: Schema, where: 'body' | 'path' | 'query'): CodeDoc[] {
  const input = jsonSchemaOf(schema, 'input');
  const fields = new Set([...Object.keys(propertiesOf(input)), ...Object.keys(propertiesOf(jsonSchemaOf(schema, 'output')))]);
  const codes: CodeDoc[] = [...fields].map((field) => ({
    code: invalidField(field),
    status: STATUS.invalid,
    description: `The ${where === 'body' ? 'body field' : where === 'path' ? 'path parameter' : 'query parameter'} \`${field}\` breaks its schema (\`message\` says how).`,
  }));
  // Path parameters are exactly the route's: none can be unknown.
  if (where !== 'path' && input.additionalProperties === false) {
    codes.push({
      code: 'unknown_field',
      status: STATUS.invalid,
      description: `The ${where} has a field this route does not take.`,
    });
  }
  if (where === 'body')
    codes.push({ code: 'invalid_body', status: STATUS.invalid, description: 'The body is not a JSON object.' });
  return codes;
}

const registered = (code: ErrorCode): CodeDoc => ({
  code,
  status: STATUS[ERROR_CODES[code].kind],
  description: ERROR_CODES[code].description,
});

/** Every error code a route can answer, in a stable order: the edge's, then its domain call's. */
export function routeErrorCodes(id: RouteId): CodeDoc[] {
  const doc = ROUTE_DOCS[id];
  const codes = [
    ...EVERY_ROUTE.map(registered),
    ...(doc.body ? [...BODY_ROUTES.map(registered), ...inputCodes(doc.body.schema, 'body')] : []),
    ...(doc.path ? inputCodes(doc.path, 'path') : []),
    ...(doc.query ? inputCodes(doc.query, 'query') : []),
    ...ROUTE_ERRORS[id].map(registered),
  ];
  const seen = new Set<string>();
  return codes.filter(({ code }) => !seen.has(code) && seen.add(code));
}

const RETRY_AFTER: JsonObject = {
  'retry-after': {
    description: 'Seconds to wait before asking again (every 429 and 503 of a function carries it).',
    schema: { type: 'integer', minimum: 0, format: 'int64' },
  },
};

const GATEWAY_STATUSES = [400, 401, 404, 413, 429, 500, 503] as const;

/** What API Gateway itself answers under a status, before or instead of the function. */
function gatewayAnswer(status: number, doc: RouteDoc): string | undefined {
  switch (status) {
    case 400:
      return doc.path ? 'a path with a malformed percent-escape (`Bad Request`)' : undefined;
    case 401:
      return 'a missing, expired or foreign token (`Unauthorized`)';
    case 404:
      return doc.path ? 'a path parameter that decodes to more than one segment, e.g. holding `%2F` (`Not Found`)' : undefined;
    case 413:
      return doc.body ? 'a payload over 10 MiB (`Request Entity Too Large`)' : undefined;
    case 429:
      return "the stage's throttle (`Too Many Requests`)";
    case 500:
      return 'a function that failed to answer (`Internal Server Error`)';
    case 503:
      return 'a function that timed out or was throttled (`Service Unavailable`)';
    default:
      return undefined;
  }
}

const STATUS_WORDS: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Too large',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Busy: ask again in a moment',
};

function errorResponses(id: RouteId): JsonObject {
  const doc = ROUTE_DOCS[id];
  const byStatus = new Map<number, CodeDoc[]>();
  for (const code of routeErrorCodes(id)) {
    byStatus.set(code.status, [...(byStatus.get(code.status) ?? []), code]);
  }
  // Whatever else fails (lambdas/http.ts): logged, never echoed.
  byStatus.set(500, [{ code: 'internal', status: 500, description: 'Anything unexpected; the details are logged, not sent.' }]);
  // Statuses only API Gateway answers for this route, with no code of ours.
  for (const status of GATEWAY_STATUSES) if (gatewayAnswer(status, doc) && !byStatus.has(status)) byStatus.set(status, []);
  const responses: JsonObject = {};
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const codes = byStatus.get(status) ?? [];
    const gateway = gatewayAnswer(status, doc);
    const schemas = [
      ...(codes.length > 0 ? [ref(idOf(errorBodySchema))] : []),
      ...(gateway ? [ref(idOf(gatewayErrorSchema))] : []),
    ];
    const lines = [
      `${STATUS_WORDS[status] ?? 'Error'}.${codes.length > 0 ? ' `error.code` says why:' : ''}`,
      ...codes.map(({ code, description }) => `- \`${code}\`: ${description}`),
      ...(gateway ? ['', `API Gateway answers \`{"message": …}\` for ${gateway}.`] : []),
    ];
    responses[String(status)] = {
      description: lines.join('\n'),
      ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
      'x-error-codes': codes.map(({ code }) => code),
      content: { 'application/json': { schema: schemas.length === 1 ? (schemas[0] ?? {}) : { oneOf: schemas } } },
    };
  }
  return responses;
}

function successResponse(success: Success): JsonObject {
  let schema: JsonObject;
  if ('body' in success) {
    schema = ref(idOf(success.body));
  } else if (success.variants.length === 1) {
    schema = ref(idOf(UPLOAD_VARIANTS[success.variants[0] ?? 'upload']));
  } else {
    const mapping: JsonObject = {};
    for (const status of success.variants) mapping[status] = ref(idOf(UPLOAD_VARIANTS[status])).$ref ?? '';
    schema = {
      oneOf: success.variants.map((status) => ref(idOf(UPLOAD_VARIANTS[status]))),
      discriminator: { propertyName: 'status', mapping },
    };
  }
  return { description: success.description, content: { 'application/json': { schema } } };
}

function parameters(route: Route, doc: RouteDoc): Json[] {
  const out: Json[] = [];
  const inPath = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '');
  const pathSchema = doc.path ? jsonSchemaOf(doc.path, 'input') : {};
  const declared = Object.keys(propertiesOf(pathSchema));
  if (inPath.join() !== declared.join()) {
    throw new Error(`${route.id}: the path ${route.path} has {${inPath.join()}}, its schema ${declared.join() || 'nothing'}`);
  }
  for (const [name, schema] of Object.entries(propertiesOf(pathSchema))) {
    out.push({ name, in: 'path', required: true, description: FIELD_DOCS[name] ?? name, schema: withFormats(schema) });
  }
  if (doc.query) {
    const query = jsonSchemaOf(doc.query, 'input');
    const required = new Set(Array.isArray(query.required) ? query.required : []);
    for (const [name, schema] of Object.entries(propertiesOf(query))) {
      out.push({
        name,
        in: 'query',
        required: required.has(name),
        description: FIELD_DOCS[name] ?? name,
        schema: withFormats(schema),
      });
    }
  }
  return out;
}

const operationId = (id: RouteId): string => `${id.charAt(0).toLowerCase()}${id.slice(1)}`;

function operation(route: Route): JsonObject {
  const doc = ROUTE_DOCS[route.id];
  const success: JsonObject = {};
  for (const [status, answer] of Object.entries(doc.responses)) success[status] = successResponse(answer);
  const params = parameters(route, doc);
  return {
    operationId: operationId(route.id),
    summary: doc.summary,
    description: doc.description,
    tags: [doc.tag],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(doc.body.id) } } } } : {}),
    responses: { ...success, ...errorResponses(route.id) },
  };
}

/** Component schemas: the responses' (responseRegistry), each request body's input schema and the file events'. */
function componentSchemas(): JsonObject {
  const uri = (id: string) => `#/components/schemas/${id}`;
  const responses = z.toJSONSchema(responseRegistry, { target: 'draft-2020-12', io: 'output', uri }).schemas;
  const out: JsonObject = {};
  const add = (id: string, schema: JsonObject) => {
    const { $schema: _draft, $id: _id, ...rest } = schema;
    out[id] = withFormats(rest);
  };
  for (const route of ROUTES) {
    const body = ROUTE_DOCS[route.id].body;
    if (body) add(body.id, jsonSchemaOf(body.schema, 'input'));
  }
  for (const [id, schema] of Object.entries(responses)) add(id, schema as JsonObject);
  for (const [id, schema] of Object.entries(eventSchemas(uri(''), 'webhooks'))) add(id, schema);
  return out;
}

export interface DocumentOptions {
  /** The package's version, the contract's. */
  readonly version: string;
}

export function buildDocument({ version }: DocumentOptions): JsonObject {
  const paths: JsonObject = {};
  for (const route of ROUTES) {
    const item = (paths[route.path] ?? {}) as JsonObject;
    item[route.method.toLowerCase()] = operation(route);
    paths[route.path] = item;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'hashdrop',
      version,
      summary: 'Deduplicating ("instant") file uploads on API Gateway, Lambda, DynamoDB and S3.',
      description: [
        'A client hashes a file and asks to upload it. If storage holds that content already, the upload completes at',
        'once, after a proof of ownership; otherwise the client sends the bytes straight to S3 with presigned URLs.',
        '',
        'Generated from the server’s own schemas by `npm run openapi` (openapi/document.ts); do not edit by hand.',
        `Errors are \`{"error": {"code", "message"}}\` with a stable \`code\`; bodies are JSON of at most ${MAX_BODY_BYTES} bytes.`,
      ].join('\n'),
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'A deployed stack (its `ApiUrl` output).',
        variables: {
          apiId: { default: 'your-api-id', description: 'The HTTP API id, from the stack output `ApiUrl`.' },
          region: { default: 'us-east-1', description: 'The AWS region the stack is deployed in.' },
        },
      },
      { url: 'http://127.0.0.1:4000', description: '`npm start` on this machine.' },
    ],
    security: [{ bearerAuth: [] }],
    tags: [
      { name: 'uploads', description: 'Upload a file: instantly if storage holds its content, else straight to S3.' },
      { name: 'files', description: "The caller's files once uploaded." },
      { name: 'usage', description: "The caller's usage and quota." },
      { name: 'events', description: 'File events for an app’s backend (docs/events.md): EventBridge in AWS, webhooks locally.' },
    ],
    paths,
    webhooks: eventWebhooks(ref),
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'An ID token of the stack’s Cognito user pool (or of the issuer it was deployed with); the user is its `sub`. Locally: `npx hashdrop token <user>`.',
        },
      },
      schemas: componentSchemas(),
    },
  };
}
