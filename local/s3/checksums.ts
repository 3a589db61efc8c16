/**
 * S3's additional checksums (Amazon S3 User Guide, "Checking object integrity"): which one a
 * request carries, as a header (`x-amz-checksum-sha256: <base64>`) or as an aws-chunked trailer
 * announced by `x-amz-trailer`, checked against the bytes as they stream in; and the object-level
 * checksum of a multipart upload. The CRCs are the AWS SDK's own implementations, the SHAs and MD5
 * Node's, so a mismatch here is a mismatch in S3.
 */
import { createHash, type Hash } from 'node:crypto';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { errors } from './errors.ts';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

export interface Hasher {
  update(chunk: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

/** node:crypto behind the SDK's checksum interface. */
class NodeHash implements Hasher {
  private readonly hash: Hash;
  constructor(algorithm: string) {
    this.hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

interface AlgorithmSpec {
  /** Request and response header. */
  readonly header: string;
  /** XML element and SDK field (`ChecksumSHA256`). */
  readonly field: string;
  /** Digest length in bytes: a header of another length is not a checksum of this kind. */
  readonly bytes: number;
  /** Checksum types S3 allows for a multipart upload with this algorithm; the first is its default. */
  readonly types: readonly ChecksumType[];
  create(): Hasher;
}

export const ALGORITHMS: Readonly<Record<ChecksumAlgorithm, AlgorithmSpec>> = {
  CRC32: {
    header: 'x-amz-checksum-crc32',
    field: 'ChecksumCRC32',
    bytes: 4,
    types: ['COMPOSITE', 'FULL_OBJECT'],
    create: () => new Crc32(),
  },
  CRC32C: {
    header: 'x-amz-checksum-crc32c',
    field: 'ChecksumCRC32C',
    bytes: 4,
    types: ['COMPOSITE', 'FULL_OBJECT'],
    create: () => new Crc32c(),
  },
  CRC64NVME: {
    header: 'x-amz-checksum-crc64nvme',
    field: 'ChecksumCRC64NVME',
    bytes: 8,
    types: ['FULL_OBJECT'],
    create: () => new Crc64Nvme(),
  },
  SHA1: {
    header: 'x-amz-checksum-sha1',
    field: 'ChecksumSHA1',
    bytes: 20,
    types: ['COMPOSITE'],
    create: () => new NodeHash('sha1'),
  },
  SHA256: {
    header: 'x-amz-checksum-sha256',
    field: 'ChecksumSHA256',
    bytes: 32,
    types: ['COMPOSITE'],
    create: () => new NodeHash('sha256'),
  },
};

const NAMES = Object.keys(ALGORITHMS) as ChecksumAlgorithm[];

export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (NAMES as string[]).includes(name);
}

/** Headers of the x-amz-checksum- family that carry no checksum of the body. */
const NOT_CHECKSUMS = new Set(['x-amz-checksum-type', 'x-amz-checksum-mode', 'x-amz-checksum-algorithm']);

const algorithmOfHeader = (header: string): ChecksumAlgorithm | undefined =>
  NAMES.find((name) => ALGORITHMS[name].header === header.toLowerCase());

/** A checksum as S3 keeps it: the algorithm, the base64 value (with `-N` for a composite) and its type. */
export interface StoredChecksum {
  readonly algorithm: ChecksumAlgorithm;
  readonly value: string;
  readonly type: ChecksumType;
}

/** The checksum a request asks S3 to verify: where its expected value comes from. */
export type RequestChecksum =
  | { readonly algorithm: ChecksumAlgorithm; readonly source: 'header'; readonly expected: string }
  | { readonly algorithm: ChecksumAlgorithm; readonly source: 'trailer'; readonly trailer: string };

function isDigestOf(algorithm: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === ALGORITHMS[algorithm].bytes && bytes.toString('base64') === value;
}

/**
 * The checksum a PutObject or UploadPart request carries, refused as S3 refuses it: more than one,
 * a value that is not base64 of the algorithm's length, an `x-amz-sdk-checksum-algorithm` with no
 * checksum or naming another, a trailer on a body that is not aws-chunked.
 */
export function requestChecksum(
  headers: readonly string[],
  header: (name: string) => string | undefined,
  streaming: boolean,
): RequestChecksum | undefined {
  // S3 has more algorithms than this server checks (XXHASH*, SHA512, MD5): refused, never ignored.
  const unknown = headers.find(
    (name) => name.startsWith('x-amz-checksum-') && !NOT_CHECKSUMS.has(name) && !algorithmOfHeader(name),
  );
  if (unknown) throw errors.notImplemented(`the ${unknown} checksum`);
  const present = NAMES.filter((name) => header(ALGORITHMS[name].header) !== undefined);
  const trailerName = header('x-amz-trailer')?.trim().toLowerCase();
  const declared = header('x-amz-sdk-checksum-algorithm')?.toUpperCase();
  if (present.length + (trailerName ? 1 : 0) > 1) {
    throw errors.invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }
  let found: RequestChecksum | undefined;
  const [algorithm] = present;
  if (algorithm) {
    const expected = header(ALGORITHMS[algorithm].header) ?? '';
    if (!isDigestOf(algorithm, expected))
      throw errors.invalidRequest(`Value for ${ALGORITHMS[algorithm].header} header is invalid.`);
    found = { algorithm, source: 'header', expected };
  } else if (trailerName) {
    const trailed = algorithmOfHeader(trailerName);
    if (!trailed) throw errors.invalidRequest(`The value specified in the x-amz-trailer header is not supported: ${trailerName}`);
    if (!streaming)
      throw errors.invalidRequest('x-amz-trailer requires an aws-chunked body (STREAMING-UNSIGNED-PAYLOAD-TRAILER).');
    found = { algorithm: trailed, source: 'trailer', trailer: trailerName };
  }
  if (declared !== undefined) {
    if (!isChecksumAlgorithm(declared)) throw errors.notImplemented(`the ${declared} checksum algorithm`);
    if (!found) {
      throw errors.invalidRequest(
        'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
      );
    }
    if (declared !== found.algorithm) {
      throw errors.invalidRequest(
        `Value for x-amz-sdk-checksum-algorithm header is invalid: ${declared} with ${found.algorithm}.`,
      );
    }
  }
  return found;
}

/** The value a trailer carried; refuses a missing or malformed one as S3 does. */
export function trailerValue(checksum: RequestChecksum, trailers: ReadonlyMap<string, string>): string {
  if (checksum.source === 'header') return checksum.expected;
  const value = trailers.get(checksum.trailer);
  if (value === undefined)
    throw errors.invalidRequest(`The trailer ${checksum.trailer} announced by x-amz-trailer was not sent.`);
  if (!isDigestOf(checksum.algorithm, value))
    throw errors.invalidRequest(`Value for ${checksum.trailer} trailing header is invalid.`);
  return value;
}

/** Content-MD5: base64 of 16 bytes, else InvalidDigest (before a byte is stored). */
export function contentMd5(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== 16 || bytes.toString('base64') !== value) throw errors.invalidDigest();
  return value;
}

/**
 * A composite checksum: the algorithm over the concatenated part digests, suffixed with the part
 * count (`base64(SHA-256(d₁ ‖ … ‖ dₙ))-n`), which is how S3 reports a multipart upload's checksum.
 */
export async function compositeChecksum(algorithm: ChecksumAlgorithm, partValues: readonly string[]): Promise<string> {
  const hasher = ALGORITHMS[algorithm].create();
  for (const value of partValues) hasher.update(Buffer.from(value, 'base64'));
  return `${Buffer.from(await hasher.digest()).toString('base64')}-${partValues.length}`;
}

/** The checksum's value without a composite's `-N`: what GetObjectAttributes reports (it gives the count apart). */
export const withoutPartCount = (value: string): string => value.replace(/-\d+$/, '');
