/**
 * ListParts and AbortMultipartUpload for s3rver, which lacks both: resuming a multipart upload
 * asks storage which parts it already holds, and the sweeper aborts abandoned ones. Both work on
 * s3rver's own upload folder; a part counts once s3rver has written its MD5 (after the whole
 * body arrived), as S3 lists only fully received parts.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type S3rver from 's3rver';

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: string;
}

type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

interface S3rverInternals {
  store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
  middleware: Middleware[];
}

const xml = (strings: string[]) => `<?xml version="1.0" encoding="UTF-8"?>\n${strings.join('')}`;

export function addMultipartExtensions(server: S3rver): void {
  const internals = server as unknown as S3rverInternals;
  internals.middleware.unshift(async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    const isList = ctx.method === 'GET' && ctx.query.partNumber === undefined;
    if (typeof uploadId !== 'string' || !(isList || ctx.method === 'DELETE')) return next();
    const [, bucket = '', ...keyParts] = ctx.path.split('/');
    const key = decodeURIComponent(keyParts.join('/'));
    const dir = join(internals.store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    ctx.type = 'application/xml';
    if (!/^[0-9a-f]+$/.test(uploadId) || !existsSync(dir)) {
      ctx.status = 404;
      ctx.body = xml(['<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>']);
      return;
    }
    if (ctx.method === 'DELETE') {
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    const names = (await readdir(dir)).filter((name) => /^\d+\.md5$/.test(name));
    const numbers = names.map((name) => Number.parseInt(name, 10)).sort((a, b) => a - b);
    const parts = await Promise.all(
      numbers.map(async (number) => {
        const [size, md5] = await Promise.all([
          stat(join(dir, String(number))).then((s) => s.size),
          readFile(join(dir, `${number}.md5`), 'utf8'),
        ]);
        return `<Part><PartNumber>${number}</PartNumber><ETag>"${md5}"</ETag><Size>${size}</Size></Part>`;
      }),
    );
    ctx.status = 200;
    ctx.body = xml([
      `<ListPartsResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${uploadId}</UploadId>`,
      `<MaxParts>${Math.max(parts.length, 1000)}</MaxParts><IsTruncated>false</IsTruncated>`,
      ...parts,
      '</ListPartsResult>',
    ]);
  });
}
