/**
 * The browser tests' page origin: a loopback server on a port of its own (not the API's, not
 * storage's), so that every call the SDK makes from the page is cross-origin and CORS is
 * exercised for real. It serves the test page, the built browser SDK (dist/browser/hashdrop.js,
 * exactly what `npm run build` wrote) and seeded test files (`/bytes/<seed>/<size>`) the test
 * process can regenerate to know what the page holds.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { seededBytes } from './bytes.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pageOrigin: string;
  }
}

const ROOT = resolve(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, 'dist', 'browser', 'hashdrop.js');

/** The page: loads the SDK as a page would, and offers the tests its seeded files as Blobs. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>hashdrop browser SDK test</title>
<script type="module">
  import * as hashdrop from '/hashdrop.js';
  window.hashdrop = hashdrop;
  window.seeded = async (seed, size) => {
    const response = await fetch('/bytes/' + seed + '/' + size);
    if (!response.ok) throw new Error('no seeded file ' + seed + ' of ' + size + ' bytes: HTTP ' + response.status);
    return response.blob();
  };
  window.sdkReady = true;
</script>
`;

/** The newest modification time of the sources the bundle is built from. */
function newestSource(): number {
  let newest = 0;
  for (const folder of ['sdk', 'protocol']) {
    for (const file of readdirSync(join(ROOT, folder))) newest = Math.max(newest, statSync(join(ROOT, folder, file)).mtimeMs);
  }
  return newest;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The tests run what is published, so it must be there and as new as its sources.
  let built: number;
  try {
    built = statSync(BUNDLE).mtimeMs;
  } catch {
    throw new Error(`${BUNDLE} is missing: run \`npm run build\` first (npm test does)`);
  }
  if (built < newestSource()) throw new Error(`${BUNDLE} is older than sdk/ or protocol/: run \`npm run build\` again`);

  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const bytes = /^\/bytes\/([\w-]+)\/(\d+)$/.exec(path);
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else if (path === '/no-workers') {
      // A page whose Content-Security-Policy allows no workers, as a strict app's may.
      const headers = { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "worker-src 'none'" };
      response.writeHead(200, headers).end(PAGE);
    } else if (path === '/hashdrop.js' || path === '/hashdrop.js.map') {
      const type = path.endsWith('.js') ? 'text/javascript' : 'application/json';
      response.writeHead(200, { 'content-type': type }).end(readFileSync(join(ROOT, 'dist', 'browser', path.slice(1))));
    } else if (bytes?.[1] && bytes[2]) {
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(seededBytes(bytes[1], Number(bytes[2])));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  project.provide('pageOrigin', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return () => new Promise((done) => server.close(() => done()));
}
