/**
 * The little XML S3 speaks here: response documents built from elements, and the one request body
 * this server reads (CompleteMultipartUpload's part list). The request XML is S3's fixed schema,
 * so a strict pattern reader refuses anything else with MalformedXML instead of guessing.
 */

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g, (_, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCodePoint(Number.parseInt(dec, 10));
    if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[name] ?? '';
  });
}

/** `<name>text</name>` with the text escaped, or `<name>children</name>` with children as given. */
export function xmlElement(name: string, content: string | number | boolean | readonly string[]): string {
  const inner = Array.isArray(content) ? content.join('') : escapeXml(String(content));
  return `<${name}>${inner}</${name}>`;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** A root element in S3's namespace, as a document. */
export function xmlDocument(root: string, namespaced = false): string {
  const withNamespace = namespaced ? root.replace(/^<([A-Za-z]+)>/, `<$1 xmlns="${S3_NAMESPACE}">`) : root;
  return `${XML_DECLARATION}${withNamespace}`;
}

/** One `<Part>` of a CompleteMultipartUpload request. */
export interface ListedPart {
  readonly partNumber: number;
  readonly etag: string;
  /** `ChecksumSHA256`, `ChecksumCRC32`... as listed. */
  readonly checksums: Readonly<Record<string, string>>;
}

const PART_FIELDS = new Set([
  'PartNumber',
  'ETag',
  'ChecksumCRC32',
  'ChecksumCRC32C',
  'ChecksumCRC64NVME',
  'ChecksumSHA1',
  'ChecksumSHA256',
]);

/**
 * The part list of a CompleteMultipartUpload body; undefined when it is not that document
 * (S3 answers MalformedXML). An empty list is well-formed XML but S3 refuses it too.
 */
export function parseCompleteMultipartUpload(body: string): ListedPart[] | undefined {
  const document = body.replace(/^\s*<\?xml[^>]*\?>/, '').trim();
  const root = /^<CompleteMultipartUpload(?:\s+xmlns="[^"]*")?\s*>([\s\S]*)<\/CompleteMultipartUpload>$/.exec(document);
  if (!root) return undefined;
  const parts: ListedPart[] = [];
  let rest = root[1]?.trim() ?? '';
  while (rest.length > 0) {
    const part = /^<Part>([\s\S]*?)<\/Part>\s*/.exec(rest);
    if (!part) return undefined;
    rest = rest.slice(part[0].length);
    const fields: Record<string, string> = {};
    let inner = part[1]?.trim() ?? '';
    while (inner.length > 0) {
      const field = /^<([A-Za-z0-9]+)>([^<]*)<\/\1>\s*/.exec(inner);
      if (!field?.[1] || !PART_FIELDS.has(field[1]) || fields[field[1]] !== undefined) return undefined;
      fields[field[1]] = unescapeXml(field[2] ?? '');
      inner = inner.slice(field[0].length);
    }
    const { PartNumber, ETag, ...checksums } = fields;
    if (PartNumber === undefined || ETag === undefined || !/^\d{1,5}$/.test(PartNumber)) return undefined;
    parts.push({ partNumber: Number(PartNumber), etag: ETag, checksums });
  }
  return parts;
}
