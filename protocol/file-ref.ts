/**
 * File references: how a file name travels in a URL (`/v1/files/{fileRef}`, `?prefixRef=`).
 *
 * API Gateway HTTP APIs rewrite what a URL carries before a handler sees it: the path is
 * percent-decoded (twice, and cut at a decoded `?`; a `%25` is refused) and query values are
 * form-decoded (`+` becomes a space, repeated keys are joined with commas). No encoding of a raw
 * name survives all of that, so a name never travels in a URL as text: it travels as the
 * base64url (RFC 4648 §5, no padding) of its UTF-8 bytes, whose alphabet `[A-Za-z0-9_-]` no
 * decoding step changes. Names themselves travel in JSON bodies, where nothing rewrites them.
 *
 * Every name has exactly one reference: decoding refuses anything that is not the canonical
 * encoding of well-formed UTF-8 (padding, stray trailing bits, overlong forms, a BOM that a
 * lenient decoder would drop), so two different refs never reach the same file.
 *
 * Pure: TextEncoder/TextDecoder and btoa/atob only, so the SDK (browsers, React Native) and the
 * server share this module.
 */

const REF = /^[A-Za-z0-9_-]*$/;

/** Longest reference of a name of `maxBytes` UTF-8 bytes (4 characters per 3 bytes, no padding). */
export const maxFileRefLength = (maxBytes: number): number => Math.ceil((maxBytes * 4) / 3);

export function encodeFileRef(name: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(name)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The name a reference stands for, or undefined if it is not the canonical reference of any text. */
export function decodeFileRef(ref: string): string | undefined {
  // A length of 4k+1 characters holds a dangling 6 bits: no byte sequence encodes to it.
  if (!REF.test(ref) || ref.length % 4 === 1) return undefined;
  let binary: string;
  try {
    binary = atob(ref.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  let name: string;
  try {
    // fatal: invalid UTF-8 is refused, not replaced; ignoreBOM: a leading U+FEFF is part of
    // the name (the default decoder would silently drop it and address another file).
    name = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
  // atob ignores non-zero trailing bits, so "QQ" and "QR" both decode to "A": only the one
  // encoding the name re-encodes to is accepted.
  return encodeFileRef(name) === ref ? name : undefined;
}
