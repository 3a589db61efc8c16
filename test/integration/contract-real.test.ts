/**
 * The port contracts against the real adapters on the shared local stack: DynamoCatalog and
 * DynamoRateLimiter on DynamoDB Local, S3BlobStore on the local S3 (local/s3/). Bytes reach storage over HTTP,
 * through the presigned URL and its headers, as a client sends them.
 */
import type { PresignedRequest } from '#domain/ports';
import { blobStoreContract, type StorageResponse } from '../contract/blob-store-contract.ts';
import { catalogContract } from '../contract/catalog-contract.ts';
import { rateLimiterContract } from '../contract/rate-limiter-contract.ts';
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

rateLimiterContract('DynamoRateLimiter on DynamoDB Local', async () => ({ limiter: deps.limiter }));

blobStoreContract(
  'S3BlobStore on the local S3',
  // The local S3 verifies signatures and checksums, reports them and checks part lists, as AWS S3 does.
  { enforcesChecksums: true, enforcesSignatures: true, reportsChecksums: true, validatesMultipart: true },
  async () => ({ blobs: deps.blobs, storage: { send } }),
);
