/**
 * The wire contract of the HTTP API: every request and response body, shared by the server
 * (lambdas/, domain/) and every client (sdk/). Types and constants only.
 */

/** Most part URLs signed in one request: a 10,000-part upload asks in batches. */
export const MAX_PARTS_PER_REQUEST = 100;

/**
 * Longest file name, in UTF-8 bytes (after NFC): names are the Files table's sort key, and
 * DynamoDB refuses a sort key over 1,024 bytes (a 500 if it reached the table).
 */
export const MAX_NAME_BYTES = 1024;

export interface ByteRange {
  readonly start: number;
  readonly length: number;
}

export type FileState = 'PENDING' | 'COMPLETE' | 'FAILED';

export interface FileView {
  readonly name: string;
  readonly size: number;
  readonly contentId: string;
  readonly state: FileState;
  /** Why a FAILED file failed (a stable code). */
  readonly failure?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The MIME type declared when it was uploaded, if any. */
  readonly contentType?: string;
  /**
   * An upload in progress that will replace this version once its bytes are stored and
   * verified. Until then this version is the file: listed, downloaded, counted.
   */
  readonly replacement?: { readonly contentId: string; readonly size: number; readonly uploadId: string };
}

/** A proof-of-ownership challenge (docs/design.md §4). */
export interface Challenge {
  readonly token: string;
  /** The client answers with the hex SHA-256 of these ranges' bytes, concatenated in order. */
  readonly ranges: ByteRange[];
  readonly expiresAt: string;
}

export interface Proof {
  readonly token: string;
  readonly sha256: string;
}

/** POST /v1/uploads */
export interface UploadRequest {
  readonly name: string;
  readonly size: number;
  readonly contentId: string;
  /**
   * Hex SHA-256 of every block, in order (blockCount(size) of them, at most 10,000; they must hash
   * to `contentId`). The server signs each part URL for its own block's digest from this list.
   */
  readonly blockDigests: readonly string[];
  /** The answer to a proof-of-ownership challenge this server issued for the same request. */
  readonly proof?: Proof | undefined;
  /**
   * The file's MIME type (`image/png`; protocol/content-type.ts: lowercase, no parameters). Stored
   * with the file; downloads carry it, and media may be asked to display inline.
   */
  readonly contentType?: string | undefined;
}

/** A part of a multipart upload that storage holds. */
export interface StoredPart {
  readonly partNumber: number;
  readonly etag: string;
  readonly size: number;
  /** Base64 SHA-256 of the part, where the store reports it. */
  readonly sha256?: string;
}

/** A part listed when completing a multipart upload. */
export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
  /** Base64 SHA-256 of the part. */
  readonly sha256: string;
}

export interface PartPermit {
  readonly partNumber: number;
  readonly method: 'PUT';
  /**
   * Signed for exactly one body: the block's bytes. Their SHA-256 and their length (the request's
   * Content-Length) are signed, so storage refuses anything else.
   */
  readonly url: string;
  /**
   * Headers to send exactly as given: the block's signed checksum, and on a single PUT
   * `if-none-match: *` (storage writes the object only once: a 412 means it holds it already).
   */
  readonly headers: Record<string, string>;
}

export interface UploadPermit {
  readonly mode: 'single' | 'multipart';
  readonly blockSize: number;
  readonly partCount: number;
  /** Permits for the first parts storage lacks (at most 100); ask /parts for the rest. */
  readonly parts: PartPermit[];
  /**
   * On a multipart upload under way: the parts storage holds already, whoever sent them. The
   * client sends only the others (and lists these, with their ETags, when it completes).
   */
  readonly uploadedParts?: StoredPart[];
  readonly expiresAt: string;
}

/** The answer to POST /v1/uploads, GET /v1/uploads/{id} and POST /v1/uploads/{id}/complete. */
export type UploadView =
  | { readonly status: 'complete'; readonly uploadId: string; readonly file: FileView; readonly deduplicated?: boolean }
  | { readonly status: 'upload'; readonly uploadId: string; readonly file: FileView; readonly permit: UploadPermit }
  | { readonly status: 'pending'; readonly uploadId: string; readonly file: FileView; readonly retryAfterSeconds: number }
  | { readonly status: 'failed'; readonly uploadId: string; readonly file: FileView; readonly failure: string }
  /** Prove you hold the bytes: ask again with `proof` (docs/design.md §4). Nothing was written. */
  | { readonly status: 'challenge'; readonly challenge: Challenge }
  /** Someone else is uploading this content right now: ask again later. Nothing was written. */
  | { readonly status: 'wait'; readonly retryAfterSeconds: number };

/** GET /v1/files */
export interface FileListing {
  readonly files: FileView[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  readonly cursor?: string;
}

/** GET /v1/files/{name} */
export interface FileDownload {
  readonly file: FileView;
  readonly download: {
    readonly url: string;
    readonly method: 'GET';
    readonly expiresAt: string;
    /**
     * How the URL's answer asks a browser to show it: `inline` only when asked for and the type
     * is media a browser renders without running anything (protocol/content-type.ts).
     */
    readonly disposition: 'inline' | 'attachment';
  };
}

/** The answer to PATCH /v1/files/{fileRef}: the file under its new name. */
export interface RenamedFile {
  readonly file: FileView;
}

/** The answer to DELETE /v1/files/{fileRef}. */
export interface DeletedFile {
  /** The name of the file deleted. */
  readonly deleted: string;
}

/** DELETE /v1/uploads/{uploadId} */
export interface CancelledUpload {
  /** The upload id cancelled. */
  readonly cancelled: string;
}

/** PATCH /v1/files/{name} */
export interface RenameBody {
  /** The new name. */
  readonly name: string;
  /** Replace a file already under the new name (releasing its content). */
  readonly overwrite?: boolean;
}

/** POST /v1/uploads/{id}/parts: URLs for these parts (at most 100), each signed for its own block. */
export interface SignPartsBody {
  readonly partNumbers: readonly number[];
}

/** POST /v1/uploads/{id}/complete (parts: a multipart upload's, all of them, in order). */
export interface CompleteUploadBody {
  readonly parts?: readonly CompletedPart[];
}

/** Every error answer: `code` is stable, clients switch on it; `message` is for people. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: Record<string, unknown> };
}

/** GET /v1/usage */
export interface UsageView {
  readonly files: number;
  /** Logical bytes: the sum of the sizes of the user's files. */
  readonly bytes: number;
  /** Bytes the user did not have to send thanks to deduplication. */
  readonly savedBytes: number;
  readonly quotaBytes: number;
}
