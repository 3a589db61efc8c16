/**
 * The port contracts against the real adapters on the shared local stack: DynamoCatalog on
 * DynamoDB Local and S3BlobStore on the local S3 (s3rver). Bytes reach storage over HTTP, through
 * the presigned URL and its headers, as a client sends them.
 */
import type { PresignedRequest } from '#domain/ports';
import { blobStoreContract, type StorageResponse } from '../contract/blob-store-contract.ts';
import { catalogContract } from '../contract/catalog-contract.ts';
import { testDeps } from '../helpers.ts';

const deps = testDeps();

async function send(request: PresignedRequest, body?: Uint8Array, headers = request.headers): Promise<StorageResponse> {
  const response = await fetch(request.url, {
    method: request.method,
    headers,
    // A copy on its own ArrayBuffer: what fetch's BodyInit type asks for.
    ...(request.method === 'PUT' ? { body: new Uint8Array(body ?? []) } : {}),
  });
  const received: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    received[name] = value;
  });
  return { status: response.status, headers: received, body: new Uint8Array(await response.arrayBuffer()) };
}

catalogContract('DynamoCatalog on DynamoDB Local', async () => ({ catalog: deps.catalog }));

blobStoreContract(
  'S3BlobStore on the local S3 (s3rver)',
  // s3rver checks neither V4 signatures nor checksums, reports no ChecksumSHA256 and assembles
  // any part list; the AWS-parity work on the local S3 turns these on. AWS S3 has them all.
  { enforcesChecksums: false, enforcesSignatures: false, reportsChecksums: false, validatesMultipart: false },
  async () => ({ blobs: deps.blobs, storage: { send } }),
);
