/**
 * Every response body of the HTTP API as a zod schema, for the OpenAPI contract
 * (docs/openapi.yaml, built by openapi/document.ts). The types in protocol/api.ts stay the truth
 * the server and the SDK compile against; the checks at the end of this file make the build fail
 * when a schema here and its type there stop describing the same JSON, in either direction.
 *
 * No Lambda bundle imports this folder (test/unit/architecture.test.ts): the handlers never
 * validate what they send, and the classic zod build used here costs 440 KB a bundle.
 */
import * as z from 'zod';
import type {
  ByteRange,
  CancelledUpload,
  Challenge,
  DeletedFile,
  ErrorBody,
  FileDownload,
  FileListing,
  FileView,
  PartPermit,
  RenamedFile,
  StoredPart,
  UploadPermit,
  UploadView,
  UsageView,
} from '#protocol/api';
import { MAX_PARTS_PER_REQUEST } from '#protocol/api';
import { MAX_PARTS } from '#protocol/content-id';

/** Schemas with an id become components of the document, referred to by `$ref`. */
export const responseRegistry = z.registry<{ id: string; description?: string }>();

function named<T extends z.ZodType>(schema: T, id: string, description: string): T {
  // The description goes through describe() too: toJSONSchema writes a schema's description from
  // the global registry only, never from another registry's metadata.
  const described = schema.describe(description);
  responseRegistry.add(described, { id, description });
  return described;
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const base64Sha256 = z.string().regex(/^[A-Za-z0-9+/]{43}=$/);
/** Sizes and offsets go past 2^31 (a file may be 48.8 TiB): document.ts marks them int64. */
const bytes = z.int().min(0);
const partNumber = z.int().min(1).max(MAX_PARTS);
const timestamp = z.iso.datetime();

export const byteRangeSchema = named(
  z.strictObject({ start: bytes, length: z.int().min(1) }),
  'ByteRange',
  'A range of the file: `length` bytes from offset `start`.',
);

export const fileViewSchema = named(
  z.strictObject({
    name: z.string().describe('The file name (UTF-8, NFC, `/`-separated segments).'),
    size: bytes,
    contentId: hex64.describe('Tree SHA-256 of the bytes (protocol/content-id.ts).'),
    state: z.enum(['PENDING', 'COMPLETE', 'FAILED']),
    failure: z.string().optional().describe('Why a FAILED file failed (a stable code).'),
    contentType: z.string().optional().describe('The MIME type declared when it was uploaded.'),
    createdAt: timestamp,
    updatedAt: timestamp,
    replacement: z
      .strictObject({ contentId: hex64, size: bytes, uploadId: z.string() })
      .optional()
      .describe(
        'An upload in progress that will replace this version once its bytes are verified; until then this version is the file.',
      ),
  }),
  'FileView',
  'A file of the caller.',
);

export const challengeSchema = named(
  z.strictObject({
    token: z.string(),
    ranges: z.array(byteRangeSchema).describe("Answer with the hex SHA-256 of these ranges' bytes, concatenated in order."),
    expiresAt: timestamp,
  }),
  'Challenge',
  'A proof-of-ownership challenge (docs/design.md §4).',
);

export const storedPartSchema = named(
  z.strictObject({ partNumber, etag: z.string(), size: bytes, sha256: base64Sha256.optional() }),
  'StoredPart',
  'A part of a multipart upload that storage holds already.',
);

export const partPermitSchema = named(
  z.strictObject({
    partNumber,
    method: z.literal('PUT'),
    url: z.url().describe('Presigned for exactly this block: its SHA-256 and length are signed.'),
    headers: z
      .record(z.string(), z.string())
      .describe('Send exactly as given: the signed checksum, and `if-none-match: *` on a single PUT (a 412 means stored).'),
  }),
  'PartPermit',
  'Where and how to PUT one block.',
);

export const uploadPermitSchema = named(
  z.strictObject({
    mode: z.enum(['single', 'multipart']),
    blockSize: bytes,
    partCount: z.int().min(1).max(MAX_PARTS),
    parts: z
      .array(partPermitSchema)
      .max(MAX_PARTS_PER_REQUEST)
      .describe('For the first parts storage lacks; ask /parts for the rest.'),
    uploadedParts: z.array(storedPartSchema).optional().describe('Parts storage holds already, whoever sent them.'),
    expiresAt: timestamp,
  }),
  'UploadPermit',
  'Presigned URLs to send the bytes straight to storage.',
);

const uploadId = z.string().describe('`base64url(name).<32 hex>`: pass it to the /v1/uploads/{uploadId} routes.');
const retryAfterSeconds = z.int().min(0);

export const uploadCompleteSchema = named(
  z.strictObject({
    status: z.literal('complete'),
    uploadId,
    file: fileViewSchema,
    deduplicated: z.boolean().optional().describe('true: storage had the content already, no bytes were sent.'),
  }),
  'UploadComplete',
  'The file is complete.',
);
export const uploadUploadSchema = named(
  z.strictObject({ status: z.literal('upload'), uploadId, file: fileViewSchema, permit: uploadPermitSchema }),
  'UploadUpload',
  'Send the bytes with the permit, then POST /v1/uploads/{uploadId}/complete.',
);
export const uploadPendingSchema = named(
  z.strictObject({ status: z.literal('pending'), uploadId, file: fileViewSchema, retryAfterSeconds }),
  'UploadPending',
  'The file waits for its content: ask again after `retryAfterSeconds` (0: at once, with POST /v1/uploads).',
);
export const uploadFailedSchema = named(
  z.strictObject({ status: z.literal('failed'), uploadId, file: fileViewSchema, failure: z.string() }),
  'UploadFailed',
  'The upload failed; `failure` is a stable code (e.g. `size_mismatch`).',
);
export const uploadChallengeSchema = named(
  z.strictObject({ status: z.literal('challenge'), challenge: challengeSchema }),
  'UploadChallenge',
  'Prove you hold the bytes: ask again with `proof`. Nothing was written.',
);
export const uploadWaitSchema = named(
  z.strictObject({ status: z.literal('wait'), retryAfterSeconds }),
  'UploadWait',
  'Someone else is uploading this content: ask again after `retryAfterSeconds`. Nothing was written.',
);

/** The variants of UploadView by `status`, the discriminator clients switch on. */
export const UPLOAD_VARIANTS = {
  complete: uploadCompleteSchema,
  upload: uploadUploadSchema,
  pending: uploadPendingSchema,
  failed: uploadFailedSchema,
  challenge: uploadChallengeSchema,
  wait: uploadWaitSchema,
} as const;
export type UploadStatus = keyof typeof UPLOAD_VARIANTS;

export const fileListingSchema = named(
  z.strictObject({
    files: z.array(fileViewSchema),
    cursor: z.string().optional().describe('Opaque; pass it back to get the next page. Absent on the last page.'),
  }),
  'FileListing',
  "A page of the caller's files, by name.",
);

export const fileDownloadSchema = named(
  z.strictObject({
    file: fileViewSchema,
    download: z.strictObject({
      url: z.url().describe('Presigned GET of the bytes; ranges work.'),
      method: z.literal('GET'),
      expiresAt: timestamp,
      disposition: z
        .enum(['inline', 'attachment'])
        .describe('`inline` only when asked for and the type is media a browser renders without running anything.'),
    }),
  }),
  'FileDownload',
  'A file and a short-lived URL to download it.',
);

export const renamedFileSchema = named(z.strictObject({ file: fileViewSchema }), 'RenamedFile', 'The file under its new name.');

export const deletedFileSchema = named(
  z.strictObject({ deleted: z.string().describe('The name of the file deleted.') }),
  'DeletedFile',
  'The file is gone; its bytes go once nobody owns them.',
);

export const cancelledUploadSchema = named(
  z.strictObject({ cancelled: z.string().describe('The upload id cancelled.') }),
  'CancelledUpload',
  'The upload is given up: its file is gone, or back to the version it was replacing.',
);

export const usageViewSchema = named(
  z.strictObject({
    files: z.int().min(0),
    bytes: bytes.describe("Logical bytes: the sum of the sizes of the user's files."),
    savedBytes: bytes.describe('Bytes the user did not have to send thanks to deduplication.'),
    quotaBytes: bytes,
  }),
  'UsageView',
  "The caller's usage and quota.",
);

export const errorBodySchema = named(
  z.strictObject({
    error: z.strictObject({
      code: z.string().describe('Stable: clients switch on it. New codes may be added; treat an unknown one by its status.'),
      message: z.string().describe('For people; it may change.'),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
  'ErrorBody',
  'Every error a function of this API answers.',
);

/** API Gateway's own answers (no route, authorizer refusal, throttling, payload too large): not ours, but on the wire. */
export const gatewayErrorSchema = named(
  z.strictObject({ message: z.string() }),
  'GatewayError',
  "API Gateway's own answer, before any function ran (e.g. `Unauthorized`, `Too Many Requests`).",
);

// Type-level checks: each schema's JSON and its protocol type accept exactly the same values.
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Variant<S extends UploadView['status']> = Extract<UploadView, { status: S }>;
/** Each entry is `true` only if the schema and the type agree both ways. */
type Checked = {
  ByteRange: Mutual<z.infer<typeof byteRangeSchema>, ByteRange>;
  FileView: Mutual<z.infer<typeof fileViewSchema>, FileView>;
  Challenge: Mutual<z.infer<typeof challengeSchema>, Challenge>;
  StoredPart: Mutual<z.infer<typeof storedPartSchema>, StoredPart>;
  PartPermit: Mutual<z.infer<typeof partPermitSchema>, PartPermit>;
  UploadPermit: Mutual<z.infer<typeof uploadPermitSchema>, UploadPermit>;
  UploadView: Mutual<z.infer<(typeof UPLOAD_VARIANTS)[UploadStatus]>, UploadView>;
  complete: Mutual<z.infer<typeof uploadCompleteSchema>, Variant<'complete'>>;
  upload: Mutual<z.infer<typeof uploadUploadSchema>, Variant<'upload'>>;
  pending: Mutual<z.infer<typeof uploadPendingSchema>, Variant<'pending'>>;
  failed: Mutual<z.infer<typeof uploadFailedSchema>, Variant<'failed'>>;
  challenge: Mutual<z.infer<typeof uploadChallengeSchema>, Variant<'challenge'>>;
  wait: Mutual<z.infer<typeof uploadWaitSchema>, Variant<'wait'>>;
  FileListing: Mutual<z.infer<typeof fileListingSchema>, FileListing>;
  FileDownload: Mutual<z.infer<typeof fileDownloadSchema>, FileDownload>;
  RenamedFile: Mutual<z.infer<typeof renamedFileSchema>, RenamedFile>;
  DeletedFile: Mutual<z.infer<typeof deletedFileSchema>, DeletedFile>;
  CancelledUpload: Mutual<z.infer<typeof cancelledUploadSchema>, CancelledUpload>;
  UsageView: Mutual<z.infer<typeof usageViewSchema>, UsageView>;
  ErrorBody: Mutual<z.infer<typeof errorBodySchema>, ErrorBody>;
};
/** Fails to compile the moment any entry of Checked is `false`. */
export const SAME_AS_PROTOCOL: Checked = {
  ByteRange: true,
  FileView: true,
  Challenge: true,
  StoredPart: true,
  PartPermit: true,
  UploadPermit: true,
  UploadView: true,
  complete: true,
  upload: true,
  pending: true,
  failed: true,
  challenge: true,
  wait: true,
  FileListing: true,
  FileDownload: true,
  RenamedFile: true,
  DeletedFile: true,
  CancelledUpload: true,
  UsageView: true,
  ErrorBody: true,
};
