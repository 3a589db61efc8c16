/**
 * The OpenAPI contract (docs/openapi.yaml) cannot go stale or lie about what the code does: it is
 * what the generator writes today, its error codes are the ones the sources throw, under the
 * status their kind maps to, and each route documents the schemas its handler validates with.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#deploy/definitions';
import type { ErrorKind } from '#domain/errors';
import { statusCodeOf } from '#lambdas/create-upload';
import * as schemas from '#lambdas/schemas';
import type { UploadView } from '#protocol/api';
import { CONTRACT_FILE, contractDocument, contractText, EVENTS_SCHEMA_FILE, eventsSchemaText } from '../../openapi/contract.ts';
import { ROUTE_DOCS, routeErrorCodes } from '../../openapi/document.ts';
import { ERROR_CODES, type ErrorCode, ROUTE_ERRORS } from '../../openapi/errors.ts';
import { responseRegistry } from '../../openapi/responses.ts';
import { toYaml } from '../../openapi/yaml.ts';
import { ContractChecker, checkedFetch } from '../support/contract-check.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const KINDS: readonly ErrorKind[] = [
  'invalid',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'too_large',
  'limited',
  'busy',
];

function sources(folders: readonly string[]): { file: string; text: string }[] {
  return folders.flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => ({ file: join(folder, file), text: readFileSync(join(ROOT, folder, file), 'utf8') })),
  );
}

/** The literal codes a `const name = a ? 'x' : 'y'` may hold (only the branches, not what is compared). */
function literalsOf(text: string, identifier: string): string[] | undefined {
  const statement = new RegExp(`const ${identifier}\\s*=([^;]+);`).exec(text)?.[1];
  return statement ? [...statement.matchAll(/[?:]\s*'([a-z_]+)'/g)].map((match) => match[1] ?? '') : undefined;
}

/**
 * Every (code, kind) thrown as a DomainError in these sources. The error classes are read from
 * the sources too: a class whose constructor passes its first parameter as the code of a fixed
 * kind (`super('conflict', code, …)`) takes codes; a `super(…)` inside a subclass is a `new` of its
 * parent, so ChallengeBusyError and QuotaExceededError count as what they throw.
 */
function thrownCodes(files: readonly { file: string; text: string }[]): { code: string; kind: ErrorKind; at: string }[] {
  const codeFirst = new Map<string, ErrorKind>();
  for (const { text } of files) {
    const classes = /class (\w+) extends \w+ \{\s*constructor\((\w+): string[^)]*\) \{\s*super\('(\w+)', (\w+)/g;
    for (const [, name, parameter, kind, passed] of text.matchAll(classes)) {
      if (name && parameter === passed && KINDS.includes(kind as ErrorKind)) codeFirst.set(name, kind as ErrorKind);
    }
  }
  const found: { code: string; kind: ErrorKind; at: string }[] = [];
  for (const { file, text } of files) {
    const parents = [...text.matchAll(/class \w+ extends (\w+)/g)].map((match) => ({ at: match.index, parent: match[1] ?? '' }));
    const calls = /\b(?:new (\w+)|(super))\(\s*(?:'([a-z_]+)'|(\w+))(?:\s*,\s*(?:'([a-z_]+)'|(\w+)))?/g;
    for (const match of text.matchAll(calls)) {
      const [, created, isSuper, firstLiteral, firstName, secondLiteral, secondName] = match;
      const cls = isSuper ? [...parents].reverse().find((parent) => parent.at < match.index)?.parent : created;
      const at = `${file}:${text.slice(0, match.index).split('\n').length}`;
      const codes = (literal: string | undefined, name: string | undefined) =>
        literal ? [literal] : name ? (literalsOf(text, name) ?? []) : [];
      if (cls === 'DomainError' && KINDS.includes(firstLiteral as ErrorKind)) {
        for (const code of codes(secondLiteral, secondName)) found.push({ code, kind: firstLiteral as ErrorKind, at });
      } else if (cls && codeFirst.has(cls)) {
        for (const code of codes(firstLiteral, firstName)) found.push({ code, kind: codeFirst.get(cls) ?? 'invalid', at });
      }
    }
  }
  return found;
}

describe('the OpenAPI contract', () => {
  it('docs/openapi.yaml is what `npm run openapi` writes today', () => {
    // Stale? Run `npm run openapi` and commit docs/openapi.yaml.
    expect(readFileSync(CONTRACT_FILE, 'utf8')).toBe(contractText());
  });

  it('docs/events.schema.json is what `npm run openapi` writes today', () => {
    // Stale? Run `npm run openapi` and commit docs/events.schema.json.
    expect(readFileSync(EVENTS_SCHEMA_FILE, 'utf8')).toBe(eventsSchemaText());
  });

  it('lists every error code the sources throw, under the status of the kind they throw it with', () => {
    const thrown = thrownCodes(sources(['domain', 'lambdas', 'adapters']));
    // The scan sees the codes it must see, however they are thrown.
    for (const code of [
      'file_exists',
      'too_many_block_digests',
      'missing_block_digests',
      'proof_busy',
      'quota_exceeded',
      'rate_limited',
      'invalid_json',
    ]) {
      expect(thrown.map((entry) => entry.code)).toContain(code);
    }
    const derived = new Set(ROUTES.flatMap((route) => routeErrorCodes(route.id).map((entry) => entry.code)));
    const unlisted = thrown.filter(({ code }) => !(code in ERROR_CODES) && !derived.has(code));
    expect(unlisted.map(({ code, at }) => `${code} (${at})`)).toEqual([]);
    const wrongKind = thrown.filter(({ code, kind }) => code in ERROR_CODES && ERROR_CODES[code as ErrorCode].kind !== kind);
    expect(wrongKind.map(({ code, kind, at }) => `${code} is ${kind} at ${at}`)).toEqual([]);
    const neverThrown = Object.keys(ERROR_CODES).filter((code) => !thrown.some((entry) => entry.code === code));
    expect(neverThrown).toEqual([]);
  });

  it('gives every registered code to at least one route', () => {
    const routed = new Set(ROUTES.flatMap((route) => routeErrorCodes(route.id).map((entry) => entry.code)));
    expect(Object.keys(ERROR_CODES).filter((code) => !routed.has(code))).toEqual([]);
    expect(Object.keys(ROUTE_ERRORS).sort()).toEqual(ROUTES.map((route) => route.id).sort());
  });

  it('describes every response schema it names (their descriptions once never reached the document)', () => {
    const components = (contractDocument() as { components: { schemas: Record<string, { description?: string }> } }).components
      .schemas;
    const undescribed = [...responseRegistry._idmap.keys()].filter((id) => !components[id]?.description);
    expect(undescribed).toEqual([]);
  });

  it("documents the schemas each route's handler validates with", () => {
    const exported = new Map(Object.entries(schemas).map(([name, schema]) => [schema as unknown, name]));
    for (const route of ROUTES) {
      const source = readFileSync(join(ROOT, route.entry), 'utf8');
      const call = /route\(\{([^}]*)\}/.exec(source)?.[1] ?? '';
      const used = Object.fromEntries([...call.matchAll(/\b(body|path|query): (\w+)/g)].map((match) => [match[1], match[2]]));
      const doc = ROUTE_DOCS[route.id];
      const documented = Object.fromEntries(
        Object.entries({ body: doc.body?.schema, path: doc.path, query: doc.query })
          .filter(([, schema]) => schema !== undefined)
          .map(([where, schema]) => [where, exported.get(schema)]),
      );
      expect(documented, route.id).toEqual(used);
    }
  });

  it('puts each UploadView under the status create-upload answers it with', () => {
    const samples: Record<UploadView['status'], UploadView> = {
      complete: { status: 'complete' } as UploadView,
      failed: { status: 'failed' } as UploadView,
      upload: { status: 'upload' } as UploadView,
      pending: { status: 'pending' } as UploadView,
      challenge: { status: 'challenge' } as UploadView,
      wait: { status: 'wait' } as UploadView,
    };
    const responses = ROUTE_DOCS.CreateUpload.responses;
    for (const [status, success] of Object.entries(responses)) {
      const variants = success && 'variants' in success ? success.variants : [];
      for (const variant of variants) expect(statusCodeOf(samples[variant]), variant).toBe(Number(status));
    }
    const listed = Object.values(responses).flatMap((success) => (success && 'variants' in success ? success.variants : []));
    expect(listed.sort()).toEqual(Object.keys(samples).sort());
  });
});

describe('the YAML writer', () => {
  it('quotes whatever would read as another type, an indicator or a comment, and keeps text as blocks', () => {
    const text = toYaml({ a: 'true', b: '200', c: '#/x', d: 'a: b', e: 'plain', f: ['one\ntwo', 3, null], g: {}, '200': [] });
    expect(text).toBe(
      // Integer-like keys come first in any JavaScript object.
      [
        '"200": []',
        'a: "true"',
        'b: "200"',
        'c: "#/x"',
        'd: "a: b"',
        'e: plain',
        'f:',
        '  - |-',
        '    one',
        '    two',
        '  - 3',
        '  - null',
        'g: {}',
        '',
      ].join('\n'),
    );
  });
});

describe('the contract check of the integration tests', () => {
  // The generator's document itself: whether the committed file is stale is the first test's to say.
  const checker = new ContractChecker(contractDocument() as ConstructorParameters<typeof ContractChecker>[0]);
  const file = {
    name: 'a.txt',
    size: 3,
    contentId: 'a'.repeat(64),
    state: 'COMPLETE',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
  const usage = 'http://127.0.0.1:9/v1/usage';
  const json = 'application/json';
  const check = (method: string, url: string, status: number, body: unknown) =>
    checker.check(method, url, status, json, JSON.stringify(body));

  it('accepts what the contract allows', () => {
    expect(check('GET', usage, 200, { files: 1, bytes: 3, savedBytes: 0, quotaBytes: 10 })).toBeUndefined();
    expect(
      check('GET', 'http://h/v1/files/YS50eHQ', 200, {
        file: file,
        download: { url: 'http://s3/x', method: 'GET', disposition: 'attachment', expiresAt: file.createdAt },
      }),
    ).toBeUndefined();
    expect(
      check('POST', 'http://h/v1/uploads', 200, { status: 'complete', uploadId: 'YQ.1', file, deduplicated: true }),
    ).toBeUndefined();
    expect(check('POST', 'http://h/v1/uploads', 202, { status: 'wait', retryAfterSeconds: 1 })).toBeUndefined();
    expect(
      check('GET', usage, 429, { error: { code: 'rate_limited', message: 'later', details: { retryAfterSeconds: 3 } } }),
    ).toBeUndefined();
    expect(check('GET', usage, 401, { message: 'Unauthorized' })).toBeUndefined();
    // Not an operation of the API (a presigned URL, an unknown path): not checked.
    expect(check('PUT', 'http://127.0.0.1:9/hashdrop-blobs/blobs/x', 400, 'nope')).toBeUndefined();
  });

  it('refuses a body, a status or an error code the contract does not allow', () => {
    expect(check('GET', usage, 200, { files: 1, bytes: 3, savedBytes: 0 })).toMatch(/quotaBytes/);
    expect(check('GET', usage, 200, { files: 1, bytes: 3, savedBytes: 0, quotaBytes: 10, extra: 1 })).toMatch(/additional/);
    expect(check('GET', usage, 200, { files: 1.5, bytes: 3, savedBytes: 0, quotaBytes: 10 })).toMatch(/integer/);
    expect(check('POST', 'http://h/v1/uploads', 200, { status: 'wait', retryAfterSeconds: 1 })).toMatch(/oneOf|const/);
    expect(check('GET', usage, 418, {})).toMatch(/lists no 418/);
    expect(check('GET', usage, 404, { error: { code: 'file_not_found', message: 'x' } })).toMatch(/lists no 404/);
    expect(check('GET', 'http://h/v1/files/YS50eHQ', 404, { error: { code: 'upload_not_found', message: 'x' } })).toMatch(
      /upload_not_found is not one the contract lists/,
    );
    expect(checker.check('GET', usage, 200, 'text/plain', '{}')).toMatch(/content-type/);
  });

  it('checks what fetch answers and reports it', async () => {
    const reported: string[] = [];
    const answer = new Response(JSON.stringify({ files: -1 }), { status: 200, headers: { 'content-type': json } });
    const fetchLike = checkedFetch(
      async () => answer,
      checker,
      (violation) => reported.push(violation),
    );
    const response = await fetchLike(usage);
    // The caller still reads the body.
    expect(await response.json()).toEqual({ files: -1 });
    expect(reported).toHaveLength(1);
  });
});
