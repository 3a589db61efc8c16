/**
 * A file's content type (a MIME type), as a client declares it when it uploads, and whether a
 * download may display it inline. Shared by the API's validation and the SDKs.
 */

/**
 * `type/subtype` in RFC 6838's restricted-name characters, lowercase, without parameters: the
 * form the server stores and hands back as a download's Content-Type.
 */
export const CONTENT_TYPE_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** A browser's or a caller's type (`Image/PNG; charset=x`) in the stored form, or undefined if it has none. */
export function normalizeContentType(raw: string | undefined): string | undefined {
  const type = raw?.split(';')[0]?.trim().toLowerCase();
  return type && CONTENT_TYPE_PATTERN.test(type) ? type : undefined;
}

/**
 * Types a download may display inline: media a browser renders without running anything. SVG
 * (which may hold scripts), HTML and everything else always download as attachments: a file
 * rendered from the bucket's origin must never be able to act as a page.
 */
const INLINE_TYPES =
  /^(image\/(png|jpeg|gif|webp|avif|bmp)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+|application\/pdf|text\/plain)$/;

export function displaysInline(contentType: string | undefined): boolean {
  return contentType !== undefined && INLINE_TYPES.test(contentType);
}
