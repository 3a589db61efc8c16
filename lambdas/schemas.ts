/**
 * Input schemas, one per route, applied at the edge: invariant 12 (docs/design.md). Anything that fails them is
 * answered 400 with a stable `error.code` before any store is touched.
 *
 * zod's tree-shakable "mini" build: the classic one adds 440 KB to every function's bundle
 * (a cold-start cost), this one about 20 KB.
 */
import * as z from 'zod/mini';
import { MAX_PARTS_PER_REQUEST } from '#protocol/api';
import { MAX_OBJECT_SIZE, MAX_PARTS } from '#protocol/content-id';

/** DynamoDB sort keys hold up to 1,024 bytes; names are measured in UTF-8 after NFC. */
export const MAX_NAME_BYTES = 1024;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A file name: in Unicode NFC (a decomposed twin would look identical yet be another file; the
 * SDK normalises before sending), 1–1,024 UTF-8 bytes, no control characters, `/`-separated
 * segments none of which is empty, `.` or `..`.
 */
export const fileName = z.string().check(
  z.superRefine((name, ctx) => {
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
    if (problem) ctx.addIssue({ code: 'custom', message: `name ${problem}`, input: name });
  }),
);

const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'));
const sha256Base64 = z.string().check(z.regex(/^[A-Za-z0-9+/]{43}=$/, 'must be a base64 SHA-256'));
const partNumber = z.number().check(z.int(), z.minimum(1), z.maximum(MAX_PARTS));
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));

export const createUploadBody = z.strictObject({
  name: fileName,
  size: z.number().check(z.int(), z.minimum(0), z.maximum(MAX_OBJECT_SIZE)),
  contentId: sha256Hex,
  blockDigests: z._default(z.array(sha256Hex).check(z.maxLength(MAX_PARTS_PER_REQUEST)), []),
  proof: z.optional(z.strictObject({ token: text(1, 2048), sha256: sha256Hex })),
});

export const uploadPath = z.strictObject({ uploadId: text(1, 2000) });

export const signPartsBody = z.strictObject({
  parts: z.array(z.strictObject({ partNumber, sha256: sha256Hex })).check(z.minLength(1), z.maxLength(MAX_PARTS_PER_REQUEST)),
});

export const completeUploadBody = z.strictObject({
  parts: z.optional(
    z.array(z.strictObject({ partNumber, etag: text(1, 200), sha256: sha256Base64 })).check(z.maxLength(MAX_PARTS)),
  ),
});

export const listFilesQuery = z.strictObject({
  prefix: z.optional(
    z.pipe(
      z.string().check(
        z.maxLength(MAX_NAME_BYTES),
        z.refine((prefix) => !CONTROL.test(prefix), 'prefix must not contain control characters'),
      ),
      z.transform((prefix) => prefix.normalize('NFC')),
    ),
  ),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100),
  cursor: z.optional(text(0, 4096)),
});

export const filePath = z.strictObject({ name: fileName });

export const renameFileBody = z.strictObject({
  /** The new name. */
  name: fileName,
  overwrite: z._default(z.boolean(), false),
});
