/**
 * The SDK's Node entry (built to dist/node/index.js): a typed API client, uploads that send only
 * the bytes storage lacks, verified downloads, and the content id of a file.
 *
 *   const client = new HashdropClient({ endpoint, token });
 *   const result = await putFile(client, 'video.mp4', { onProgress });
 */
export type {
  ByteRange,
  Challenge,
  CompletedPart,
  ErrorBody,
  FileDownload,
  FileListing,
  FileState,
  FileView,
  PartPermit,
  Proof,
  StoredPart,
  UploadPermit,
  UploadRequest,
  UploadView,
  UsageView,
} from '#protocol/api';
export type { TreeHash } from '#protocol/tree-hash';
export { ApiError, type ClientOptions, type CompletedPartInput, HashdropClient } from './api.ts';
export { type GetResult, getFile } from './download.ts';
export { hashFile } from './files.ts';
export type { RetryPolicy } from './retry.ts';
export type { StoragePut, StorageResponse } from './storage-put.ts';
export { type PutOptions, type PutResult, putFile, UploadFailedError, type UploadProgress } from './upload.ts';
