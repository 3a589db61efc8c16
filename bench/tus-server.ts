/**
 * A tus server (@tus/server with @tus/s3-store) on loopback, in a process of its own as the
 * local stack's API is, storing into the local stack's bucket with the admin key. Run by
 * bench/peers.ts: `node --import tsx bench/tus-server.ts <s3Endpoint> <region> <bucket>`; prints
 * its URL on the first line of stdout.
 */
import type { AddressInfo } from 'node:net';
import { S3Store } from '@tus/s3-store';
import { Server } from '@tus/server';
import { LOCAL_CREDENTIALS } from '#local/stack';

const [endpoint = '', region = '', bucket = ''] = process.argv.slice(2);
const server = new Server({
  path: '/files',
  datastore: new S3Store({
    // The store's default part size (8 MiB), as hashdrop's blocks and the raw uploads use.
    partSize: 8 * 1024 * 1024,
    s3ClientConfig: { endpoint, region, bucket, credentials: LOCAL_CREDENTIALS, forcePathStyle: true },
  }),
});
const http = server.listen({ host: '127.0.0.1', port: 0 }, () => {
  const { port } = http.address() as AddressInfo;
  process.stdout.write(`http://127.0.0.1:${port}/files\n`);
});
process.on('SIGTERM', () => http.close(() => process.exit(0)));
