/**
 * The API's contract and reference page, as `npm start` serves them beside the API: `/openapi.yaml`
 * (docs/openapi.yaml, the contract apps generate clients from) and `/docs` (that contract rendered
 * by Redoc). The page is built by `redocly build-docs --inlineBundle`, which puts Redoc's script in
 * the page itself, so it works offline (no CDN); it is built once per version of the contract and
 * kept in the data folder, since building takes about a second.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

/** A fixed answer to GET (and HEAD) of one path, outside the API's routes. */
export interface StaticPage {
  readonly contentType: string;
  readonly body: string;
}

export const CONTRACT_PATH = '/openapi.yaml';
export const REFERENCE_PATH = '/docs';

const CONTRACT_FILE = resolve(import.meta.dirname, '..', 'docs', 'openapi.yaml');

/** The Redocly CLI of the dev dependency, run with this Node. */
function redoclyCli(): string {
  const packageFile = createRequire(import.meta.url).resolve('@redocly/cli/package.json');
  return join(dirname(packageFile), 'bin', 'cli.js');
}

/** The reference page of `contractFile`, built into `cacheDir` unless that version was built already. */
export async function buildReferencePage(contractFile: string, cacheDir: string): Promise<string> {
  const contract = readFileSync(contractFile, 'utf8');
  const version = createHash('sha256').update(contract).digest('hex').slice(0, 16);
  const page = join(cacheDir, `api-reference-${version}.html`);
  if (!existsSync(page)) {
    mkdirSync(cacheDir, { recursive: true });
    const building = `${page}.${process.pid}.tmp`;
    await promisify(execFile)(
      process.execPath,
      [redoclyCli(), 'build-docs', contractFile, '--inlineBundle', '--title', 'hashdrop API reference', '-o', building],
      // No usage data and no update check: nothing leaves the machine.
      { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true' }, maxBuffer: 16 * 1024 * 1024 },
    );
    // Renamed into place only once complete: an interrupted build is never served.
    renameSync(building, page);
  }
  return readFileSync(page, 'utf8');
}

/** `/openapi.yaml` and `/docs`, for the local API server (local/http-adapter.ts). */
export async function apiDocPages(cacheDir: string, contractFile: string = CONTRACT_FILE): Promise<Map<string, StaticPage>> {
  return new Map([
    [CONTRACT_PATH, { contentType: 'application/yaml; charset=utf-8', body: readFileSync(contractFile, 'utf8') }],
    [REFERENCE_PATH, { contentType: 'text/html; charset=utf-8', body: await buildReferencePage(contractFile, cacheDir) }],
  ]);
}
