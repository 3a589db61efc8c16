/**
 * A request body on its way to disk: streamed in one pass to a new file while every digest S3
 * checks is computed (MD5 for the ETag and Content-MD5, SHA-256 for a signed payload hash, the
 * requested additional checksum), so that a body of gigabytes is never held in memory and nothing
 * is read twice. Nothing here decides whether the bytes are kept: the caller checks the digests
 * and either commits the file or deletes it.
 *
 * aws-chunked bodies (`Content-Encoding: aws-chunked`, `x-amz-content-sha256:
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER`, what the AWS SDK sends for a stream with a checksum) are
 * decoded on the way: the chunk framing is dropped and the trailing checksum is collected.
 */
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ALGORITHMS, type ChecksumAlgorithm, type Hasher } from './checksums.ts';
import { errors } from './errors.ts';

/** Bytes gathered before one write: big writes keep a multi-GiB upload from being thousands of syscalls. */
const WRITE_BATCH = 1024 * 1024;
/** An aws-chunked size line or trailer longer than this is not one. */
const MAX_FRAMING_LINE = 4096;

export interface ReceiveOptions {
  /** Where the file goes (a directory of the store). */
  readonly directory: string;
  /** The body is aws-chunked: decode it and collect its trailers. */
  readonly awsChunked: boolean;
  /** Also compute SHA-256 of the (decoded) body as hex: the signed payload hash to check. */
  readonly sha256Hex: boolean;
  /** The additional checksum to compute, if the request carries one. */
  readonly checksum?: ChecksumAlgorithm | undefined;
  /** The most bytes S3 accepts in this request (5 GiB for PutObject and UploadPart). */
  readonly maxBytes: number;
}

export interface ReceivedBody {
  /** The new file's name in `directory`. */
  readonly file: string;
  readonly size: number;
  readonly md5: Buffer;
  readonly sha256Hex?: string;
  /** base64, of the algorithm asked for. */
  readonly checksum?: string;
  /** Trailer headers of an aws-chunked body, by lower-case name. */
  readonly trailers: ReadonlyMap<string, string>;
}

/**
 * Streams `source` to a new file in `options.directory`, hashing as it goes. On any failure (the
 * client went away, a framing error, too many bytes) the file is removed and the error thrown.
 */
export async function receiveBody(source: AsyncIterable<Buffer>, options: ReceiveOptions): Promise<ReceivedBody> {
  const file = `${Date.now().toString(36)}-${randomBytes(12).toString('hex')}`;
  const path = join(options.directory, file);
  const handle = await open(path, 'wx');
  const md5 = createHash('md5');
  // One SHA-256 serves both the payload hash and a SHA-256 checksum.
  const sha256: Hash | undefined = options.sha256Hex || options.checksum === 'SHA256' ? createHash('sha256') : undefined;
  const checksum: Hasher | undefined =
    options.checksum && options.checksum !== 'SHA256' ? ALGORITHMS[options.checksum].create() : undefined;
  const trailers = new Map<string, string>();
  let size = 0;
  let batch: Buffer[] = [];
  let batched = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const flush = async () => {
    // One write in flight while the next batch is hashed: disk and hashing overlap.
    await writing;
    const buffers = batch;
    batch = [];
    batched = 0;
    writing = buffers.length > 0 ? handle.writev(buffers) : Promise.resolve();
  };
  try {
    const chunks = options.awsChunked ? decodeAwsChunked(source, trailers) : source;
    for await (const chunk of chunks) {
      size += chunk.length;
      if (size > options.maxBytes) throw errors.entityTooLarge(size, options.maxBytes);
      md5.update(chunk);
      sha256?.update(chunk);
      checksum?.update(chunk);
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BATCH) await flush();
    }
    await flush();
    await writing;
    await handle.close();
    const sha256Digest = sha256?.digest();
    const checksumDigest = checksum ? Buffer.from(await checksum.digest()) : sha256Digest;
    return {
      file,
      size,
      md5: md5.digest(),
      ...(options.sha256Hex && sha256Digest ? { sha256Hex: sha256Digest.toString('hex') } : {}),
      ...(options.checksum && checksumDigest ? { checksum: checksumDigest.toString('base64') } : {}),
      trailers,
    };
  } catch (error) {
    await writing.catch(() => undefined);
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw error;
  }
}

/**
 * The payload of an aws-chunked body: `<hex size>[;extensions]\r\n<bytes>\r\n` chunks, a zero-size
 * chunk, then trailer lines `name:value\r\n` and an empty line. Data is passed on as slices of
 * the incoming buffers; only the short framing lines are copied.
 */
async function* decodeAwsChunked(source: AsyncIterable<Buffer>, trailers: Map<string, string>): AsyncGenerator<Buffer> {
  type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';
  let state: State = 'size';
  let line = '';
  let remaining = 0;
  const malformed = () => errors.invalidRequest('The aws-chunked body is malformed.');
  for await (const buffer of source) {
    let offset = 0;
    while (offset < buffer.length) {
      if (state === 'data') {
        const take = Math.min(remaining, buffer.length - offset);
        yield buffer.subarray(offset, offset + take);
        offset += take;
        remaining -= take;
        if (remaining === 0) state = 'data-end';
        continue;
      }
      if (state === 'done') throw malformed();
      // A framing line: up to the next LF.
      const end = buffer.indexOf(0x0a, offset);
      const stop = end === -1 ? buffer.length : end + 1;
      line += buffer.toString('latin1', offset, stop);
      offset = stop;
      if (line.length > MAX_FRAMING_LINE) throw malformed();
      if (end === -1) continue;
      if (!line.endsWith('\r\n')) throw malformed();
      const text = line.slice(0, -2);
      line = '';
      if (state === 'data-end') {
        if (text !== '') throw malformed();
        state = 'size';
      } else if (state === 'size') {
        const match = /^([0-9a-fA-F]{1,16})(;.*)?$/.exec(text);
        if (!match?.[1]) throw malformed();
        remaining = Number.parseInt(match[1], 16);
        state = remaining === 0 ? 'trailer' : 'data';
      } else if (text === '') {
        state = 'done';
      } else {
        const colon = text.indexOf(':');
        if (colon <= 0) throw malformed();
        trailers.set(text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim());
      }
    }
  }
  if (state !== 'done') throw errors.incompleteBody();
}
