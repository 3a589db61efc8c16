/**
 * Input schemas, one per route, applied at the edge: invariant 12 (docs/design.md). Anything that fails them is
 * answered 400 with a stable `error.code` before any store is touched.
 *
 * zod's tree-shakable "mini" build: the classic one adds 440 KB to every function's bundle
 * (a cold-start cost), this one about 20 KB.
 */
import * as z from 'zod/mini';
import { readCursor } from '#adapters/list-cursor';
import { MAX_NAME_BYTES, MAX_PARTS_PER_REQUEST } from '#protocol/api';
import { MAX_OBJECT_SIZE, MAX_PARTS } from '#protocol/content-id';
import { CONTENT_TYPE_PATTERN } from '#protocol/content-type';
import { decodeFileRef, maxFileRefLength } from '#protocol/file-ref';

export { MAX_NAME_BYTES };

/** DynamoDB and S3 measure keys in UTF-8 bytes, not in JavaScript's UTF-16 code units. */
const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** A lone UTF-16 surrogate: JSON can carry one, UTF-8 cannot, so it would be stored as U+FFFD. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A file name: in Unicode NFC (a decomposed twin would look identical yet be another file; the
 * SDK normalises before sending), well-formed (no lone surrogate, which would be stored as
 * another name), 1–1,024 UTF-8 bytes, no control characters, `/`-separated segments none of
 * which is empty, `.` or `..`.
 */
export const fileName = z.string().check(
  z.superRefine((name, ctx) => {
    const problem =
      name.length === 0
        ? 'must not be empty'
        : LONE_SURROGATE.test(name)
          ? 'must be well-formed Unicode (no lone surrogate)'
          : name !== name.normalize('NFC')
            ? 'must be in Unicode NFC (normalise it first)'
            : utf8Bytes(name) > MAX_NAME_BYTES
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
  // Every block's digest (at most 10,000: 670 KB of JSON, within MAX_BODY_BYTES); the domain
  // checks there is one per block and that they hash to the contentId.
  blockDigests: z.array(sha256Hex).check(z.minLength(1), z.maxLength(MAX_PARTS)),
  proof: z.optional(z.strictObject({ token: text(1, 2048), sha256: sha256Hex })),
  // Stored as given and handed back as a download's Content-Type: only the plain lowercase form,
  // so no header can carry anything else (the SDKs normalise a browser's type first).
  contentType: z.optional(
    z.string().check(z.regex(CONTENT_TYPE_PATTERN, 'must be a lowercase MIME type/subtype without parameters')),
  ),
});

export const uploadPath = z.strictObject({ uploadId: text(1, 2000) });

/** Part numbers only: each URL is signed for its own block's digest from the attempt's list, never a client's. */
export const signPartsBody = z.strictObject({
  partNumbers: z.array(partNumber).check(z.minLength(1), z.maxLength(MAX_PARTS_PER_REQUEST)),
});

export const completeUploadBody = z.strictObject({
  parts: z.optional(
    z.array(z.strictObject({ partNumber, etag: text(1, 200), sha256: sha256Base64 })).check(z.maxLength(MAX_PARTS)),
  ),
});

/**
 * A name (or prefix) in a URL: its file reference (protocol/file-ref.ts), which API Gateway's
 * decoding of paths and query strings leaves as it is. Refused (`invalid_<field>`) unless it is
 * the canonical reference of some text and no longer than that of a name of the maximum size.
 */
const nameRef = z.string().check(
  z.maxLength(maxFileRefLength(MAX_NAME_BYTES), `must be at most ${maxFileRefLength(MAX_NAME_BYTES)} characters`),
  z.refine((ref) => decodeFileRef(ref) !== undefined, 'must be the base64url (no padding) of UTF-8 text'),
);
/** Only after nameRef accepted it, so never the fallback. */
const decoded = (ref: string): string => decodeFileRef(ref) ?? '';

const PREFIX_TOO_LONG = `prefix must be at most ${MAX_NAME_BYTES} bytes in UTF-8`;

/**
 * `?prefixRef=&limit=&cursor=`. The prefix is decoded from its reference first, then checked as
 * text (`invalid_prefix`), as a name in a body is: the two steps are two stages, so each failure
 * names its own field.
 */
export const listFilesQuery = z.pipe(
  z.pipe(
    z.strictObject({
      prefixRef: z.optional(nameRef),
      limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100),
      // The longest cursor a listing issues (adapters/list-cursor.ts: a 1,024-byte name of `"`,
      // each escaped in JSON, and a 255-byte user, in base64url) is about 3,450 characters.
      cursor: z.optional(text(0, 4096)),
    }),
    z.transform(({ prefixRef, ...rest }) => ({ ...rest, ...(prefixRef === undefined ? {} : { prefix: decoded(prefixRef) }) })),
  ),
  z
    .object({
      prefix: z.optional(
        z.pipe(
          z.pipe(
            z.string().check(z.refine((prefix) => !CONTROL.test(prefix), 'prefix must not contain control characters')),
            z.transform((prefix) => prefix.normalize('NFC')),
          ),
          // Measured after NFC, which can lengthen text (U+0958 becomes two characters, 3 bytes
          // become 6): the prefix is the query's begins_with value, a sort key value that DynamoDB
          // refuses over 1,024 bytes. No longer prefix could match a name anyway.
          z.string().check(z.refine((prefix) => utf8Bytes(prefix) <= MAX_NAME_BYTES, PREFIX_TOO_LONG)),
        ),
      ),
      limit: z.number(),
      cursor: z.optional(z.string()),
    })
    .check(
      // Here, not only in the catalog: a refused request is refused before it is counted (lambdas/http.ts).
      z.refine(({ cursor, prefix }) => cursor === undefined || readCursor(cursor, prefix) !== undefined, {
        message: 'the cursor is not one this listing returned',
        path: ['cursor'],
      }),
    ),
);

/**
 * `/v1/files/{fileRef}`: the reference is decoded (`invalid_file_ref` if it cannot be), then the
 * name is checked exactly as a name in a body is (`invalid_name`).
 */
export const filePath = z.pipe(
  z.pipe(
    z.strictObject({ fileRef: nameRef }),
    z.transform(({ fileRef }) => ({ name: decoded(fileRef) })),
  ),
  z.strictObject({ name: fileName }),
);

/** `GET /v1/files/{fileRef}?disposition=inline`: ask for a URL that displays the file rather than downloads it. */
export const getFileQuery = z.strictObject({
  disposition: z.optional(z.enum(['inline', 'attachment'])),
});

export const renameFileBody = z.strictObject({
  /** The new name. */
  name: fileName,
  overwrite: z._default(z.boolean(), false),
});
