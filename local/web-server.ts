/**
 * The web app's origin under `npm start` (and the browser tests): the static files of dist/web/
 * (`npm run build` writes them from web/), a `config.json` pointing them at the local API, and a
 * dev sign-in (`POST /dev/token {"user": "alice"}` → `{"token": "…"}`) that mints the same dev
 * tokens as `npx hashdrop token alice`. It listens on a port of its own, so the app calls the API
 * and storage cross-origin, as it does when hosted anywhere; the dev sign-in exists only here,
 * never in the deployed stack.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { mintToken, type SigningKey } from './auth.ts';

export const WEB_ROOT = resolve(import.meta.dirname, '..', 'dist', 'web');

/** What the app reads from `config.json` (web/app.ts's `AppConfig`). */
export interface WebConfig {
  readonly endpoint: string;
  /** Where the dev sign-in is: only the local runner has one. */
  readonly devSignIn?: string;
  readonly cognito?: { readonly region: string; readonly clientId: string };
}

export interface WebServerOptions {
  readonly root?: string;
  /** @default any free port */
  readonly port?: number;
  /** The API and storage the page may reach (its Content-Security-Policy names them). */
  readonly endpoint: string;
  readonly s3Endpoint: string;
  readonly signingKey: SigningKey;
  /** Offer Cognito sign-in too (the tests, with a stand-in for Cognito's API at `endpoint`). */
  readonly cognito?: WebConfig['cognito'] & { readonly endpoint?: string };
}

export interface WebServer {
  readonly url: string;
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** A user name as the dev issuer takes it: what `npx hashdrop token` accepts, and nothing that looks like a path. */
const DEV_USER = /^[\w.@-]{1,64}$/;

/**
 * The policy a host of the app should send (README, "Web app"): scripts and styles of its own
 * origin only; requests to the API and storage; previews of stored images, audio and video from
 * storage; the SDK's hash workers from blob: URLs; verified downloads as blob: URLs.
 */
export function contentSecurityPolicy(endpoint: string, s3Endpoint: string, cognitoEndpoint?: string): string {
  const api = new URL(endpoint).origin;
  const storage = new URL(s3Endpoint).origin;
  const cognito = cognitoEndpoint ? new URL(cognitoEndpoint).origin : 'https://cognito-idp.*.amazonaws.com';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self' ${api} ${storage} ${cognito}`,
    `img-src 'self' blob: ${storage}`,
    `media-src 'self' blob: ${storage}`,
    'worker-src blob:',
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 4096) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/**
 * `POST /dev/token`. Only with `content-type: application/json`: a page of another origin cannot
 * send that without a preflight, which this server never grants, so no website the developer
 * visits can mint tokens of the local stack. And only when addressed as the loopback host it
 * listens on: a page that rebinds its own domain to 127.0.0.1 is same-origin with this server,
 * but its requests carry its own name in `Host`.
 */
async function devToken(request: IncomingMessage, response: ServerResponse, key: SigningKey, port: number): Promise<void> {
  const host = request.headers.host ?? '';
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
    return json(response, 403, {
      error: { code: 'forbidden_host', message: 'the dev sign-in answers only 127.0.0.1 or localhost' },
    });
  }
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
    return json(response, 415, { error: { code: 'unsupported_media_type', message: 'send {"user": "…"} as application/json' } });
  }
  const body = await readJson(request);
  const user = typeof body === 'object' && body !== null && 'user' in body ? body.user : undefined;
  if (typeof user !== 'string' || !DEV_USER.test(user)) {
    return json(response, 400, {
      error: { code: 'invalid_user', message: 'a user name of 1-64 letters, digits, ".", "@", "_" or "-"' },
    });
  }
  json(response, 200, { token: await mintToken(key, user) });
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const root = options.root ?? WEB_ROOT;
  const config: WebConfig = {
    endpoint: options.endpoint,
    devSignIn: '/dev/token',
    ...(options.cognito ? { cognito: options.cognito } : {}),
  };
  const policy = contentSecurityPolicy(options.endpoint, options.s3Endpoint, options.cognito?.endpoint);
  // Only the files the build wrote are served, by name: no path from a request reaches the file system.
  const files = new Set(existsSync(root) ? readdirSync(root).filter((file) => statSync(join(root, file)).isFile()) : []);

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method === 'POST' && path === '/dev/token') {
      const { port } = server.address() as AddressInfo;
      devToken(request, response, options.signingKey, port).catch(() => json(response, 500, { error: { code: 'internal' } }));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return json(response, 405, { error: { code: 'method_not_allowed' } });
    if (path === '/config.json') return json(response, 200, config);
    const file = path === '/' ? 'index.html' : path.slice(1);
    if (!files.has(file)) {
      const hint = files.size === 0 ? 'dist/web/ is missing: run `npm run build`' : 'not found';
      return response.writeHead(404, { 'content-type': 'text/plain' }).end(hint);
    }
    response
      .writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
        'content-security-policy': policy,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      })
      .end(request.method === 'HEAD' ? undefined : readFileSync(join(root, file)));
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', done);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    stop: () => new Promise((done) => server.close(() => done())),
  };
}
