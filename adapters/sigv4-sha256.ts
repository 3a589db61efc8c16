/**
 * SHA-256 and its HMAC from node:crypto, in the shape `@smithy/signature-v4` takes for `sha256`
 * (`new (secret?)`, `update`, `digest`): shared by the functions' own signed request
 * (adapters/secret-value.ts) and the local S3's verifier (local/s3/sigv4.ts).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

type Bytes = string | ArrayBuffer | ArrayBufferView;

function buffer(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

export class NodeSha256 {
  private readonly hash: Hash | Hmac;

  constructor(secret?: Bytes) {
    this.hash =
      secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : buffer(secret));
  }

  update(data: Bytes): void {
    this.hash.update(typeof data === 'string' ? data : buffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}
