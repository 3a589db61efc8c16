import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Client } from '#adapters/clients';
import { contentDisposition, S3BlobStore } from '#adapters/s3-blob-store';

const checksum = Buffer.alloc(32, 7).toString('base64');
const block = { sha256Base64: checksum, length: 8 * 1024 * 1024 };

function store(client: S3Client = createS3Client({ s3ForcePathStyle: false })) {
  return new S3BlobStore(client, 'bucket');
}

describe('presigned upload URLs', () => {
  process.env.AWS_REGION ??= 'us-east-1';
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
  const client = new S3Client({
    region: 'eu-west-1',
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });

  for (const [label, presign, headers] of [
    ['PUT', () => store(client).presignPut('blobs/a/b', block, 900), { 'x-amz-checksum-sha256': checksum, 'if-none-match': '*' }],
    [
      'UploadPart',
      () => store(client).presignUploadPart('blobs/a/b', 'upload-1', 3, block, 900),
      { 'x-amz-checksum-sha256': checksum },
    ],
  ] as const) {
    it(`${label} signs the block's SHA-256 as a header S3 enforces, not a query parameter it ignores, and its length`, async () => {
      const request = await presign();
      const url = new URL(request.url);
      const signedHeaders = url.searchParams.get('X-Amz-SignedHeaders')?.split(';') ?? [];
      expect(signedHeaders).toContain('x-amz-checksum-sha256');
      // The body's exact length: no URL stores more or fewer bytes than its block.
      expect(signedHeaders).toContain('content-length');
      // A single PUT is write-once: the header the client must send is signed too.
      if (label === 'PUT') expect(signedHeaders).toContain('if-none-match');
      expect(request.headers).toEqual(headers);
      // Nothing the client could not reproduce: no SDK-added checksum of its own.
      const checksumParams = [...url.searchParams.keys()].filter(
        (key) => key.toLowerCase().startsWith('x-amz-checksum') || key.toLowerCase() === 'x-amz-sdk-checksum-algorithm',
      );
      expect(checksumParams).toEqual([]);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    });
  }

  it('a GET carries the file name for the browser to save under', async () => {
    const request = await store(client).presignGet('blobs/a/b', { fileName: 'résumé "final".pdf', expiresInSeconds: 300 });
    const disposition = new URL(request.url).searchParams.get('response-content-disposition');
    expect(disposition).toBe(contentDisposition('résumé "final".pdf'));
    expect(disposition).toContain("filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf");
    expect(disposition).toContain('filename="r_sum_ _final_.pdf"');
  });
});
