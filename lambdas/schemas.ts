/**
 * Input schemas, one per route, applied at the edge (DESIGN §4). Anything that fails them is
 * answered 400 with a stable `error.code` before any store is touched.
 */
import { z } from 'zod';
import { MAX_OBJECT_SIZE, MAX_PARTS } from '#core/content-id';
import { DEFAULTS } from '#core/definitions';

/** DynamoDB sort keys hold up to 1,024 bytes; names are measured in UTF-8 after NFC. */
export const MAX_NAME_BYTES = 1024;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A file name: in Unicode NFC (a decomposed twin would look identical yet be another file; the
 * SDK normalises before sending), 1–1,024 UTF-8 bytes, no control characters, `/`-separated
 * segments none of which is empty, `.` or `..`.
 */
export const fileName = z.string().superRefine((name, ctx) => {
  const problem =
    name.length === 0
      ? 'must not be empty'
      : name !== name.normalize('NFC')
        ? 'must be in Unicode NFC (normalise it first)'
        : Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES
          ? `must be at most ${MAX_NAME_BYTES} bytes in UTF-8`
          : CONTROL.test(name)
            ? 'must not contain control characters'
            : name.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')
              ? 'must not start or end with "/", nor hold empty, "." or ".." segments'
              : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: `name ${problem}` });
});

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const sha256Base64 = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be a base64 SHA-256');
const partNumber = z.number().int().min(1).max(MAX_PARTS);

export const createUploadBody = z.strictObject({
  name: fileName,
  size: z.number().int().min(0).max(MAX_OBJECT_SIZE),
  contentId: sha256Hex,
  blockDigests: z.array(sha256Hex).max(DEFAULTS.maxPartsPerBatch).default([]),
  proof: z.strictObject({ token: z.string().min(1).max(2048), sha256: sha256Hex }).optional(),
});

export const uploadPath = z.strictObject({ uploadId: z.string().min(1).max(2000) });

export const signPartsBody = z.strictObject({
  parts: z
    .array(z.strictObject({ partNumber, sha256: sha256Hex }))
    .min(1)
    .max(DEFAULTS.maxPartsPerBatch),
});

export const completeUploadBody = z.strictObject({
  parts: z
    .array(z.strictObject({ partNumber, etag: z.string().min(1).max(200), sha256: sha256Base64 }))
    .max(MAX_PARTS)
    .optional(),
});

export const listFilesQuery = z.strictObject({
  prefix: z
    .string()
    .max(MAX_NAME_BYTES)
    .transform((prefix) => prefix.normalize('NFC'))
    .refine((prefix) => !CONTROL.test(prefix), 'prefix must not contain control characters')
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(4096).optional(),
});

export const filePath = z.strictObject({ name: fileName });

export const renameFileBody = z.strictObject({
  /** The new name. */
  name: fileName,
  overwrite: z.boolean().default(false),
});
