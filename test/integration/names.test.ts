/**
 * Every name accepted at upload can be listed, fetched, renamed and deleted, however URL decoding
 * would treat it: names travel in JSON bodies and, in URLs, as file references
 * (protocol/file-ref.ts), which the local adapter's API Gateway rules (local/http-adapter.ts)
 * leave untouched. Old-style paths that carried the name itself are refused, and write nothing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeFileRef } from '#protocol/file-ref';
import { filePath } from '#sdk/api';
import { getFile } from '#sdk/download';
import { putFile } from '#sdk/upload';
import { clientFor, fileItem, filesOf, newUser, randomFile, rawRequest, scratchPath, usageItem } from '../helpers.ts';

/** Each with what would break it in a URL path or query string. */
const NAMES: readonly (readonly [why: string, name: string])[] = [
  ['a `?` cuts a decoded path', 'what?.txt'],
  ['a lone `?`', '?'],
  ['a `#` starts a fragment', 'tag #1.txt'],
  ['a `%`: API Gateway refuses %25 in a path', '100% done.txt'],
  ['an encoded slash, as text', 'a%2Fb.txt'],
  ['a doubly encoded slash, as text', 'a%252Fb.txt'],
  ['`+` is a space in a query string', 'c++ notes+.txt'],
  ['spaces, doubled and before the extension', 'two  spaces .txt'],
  ['folders', 'docs/sub dir/report.pdf'],
  ['emoji (4-byte UTF-8)', 'emoji 😀🎉.png'],
  ['right-to-left marks and Arabic', '\u200fملف\u200f.txt'],
  ['query syntax', 'a=1&b=2,3;x.txt'],
  ['the longest name (1,024 UTF-8 bytes)', `${'€'.repeat(340)}${'x'.repeat(1024 - 3 * 340)}`],
];

/** Sent decomposed (as macOS file systems give names), stored composed. */
const COMBINING = { sent: 'cafe\u0301 r\u00e9sume\u0301.txt', stored: 'caf\u00e9 r\u00e9sum\u00e9.txt' };

describe('every name accepted at upload is reachable', () => {
  it('uploads, lists, fetches (verified), renames and deletes each one through the SDK', async () => {
    const user = newUser('names');
    const client = clientFor(user);
    expect(Buffer.byteLength(NAMES.at(-1)?.[1] ?? '', 'utf8')).toBe(1024);

    const names = [...NAMES.map(([, name]) => name), COMBINING.stored];
    const sent = [...NAMES.map(([, name]) => name), COMBINING.sent];
    const files = sent.map(() => randomFile(100 + Math.floor(Math.random() * 900)));
    for (const [index, name] of sent.entries()) {
      const put = await putFile(client, files[index]?.path ?? '', { name });
      expect(put.name).toBe(names[index]);
    }

    // Listed under exactly their names, and found by prefixes that hold the same characters.
    const listed = await client.listFiles({ limit: 1000 });
    expect(listed.files.map((file) => file.name).sort()).toEqual([...names].sort());
    for (const [prefix, expected] of [
      ['docs/sub dir/', ['docs/sub dir/report.pdf']],
      ['100% ', ['100% done.txt']],
      ['c++', ['c++ notes+.txt']],
      ['a%25', ['a%252Fb.txt']],
      ['what?', ['what?.txt']],
      ['cafe\u0301', [COMBINING.stored]],
    ] as const) {
      expect(
        (await client.listFiles({ prefix })).files.map((file) => file.name),
        prefix,
      ).toEqual(expected);
    }

    // Fetched by name, and the bytes verified against the content id.
    for (const [index, name] of sent.entries()) {
      const out = scratchPath(`${index}.bin`);
      const got = await getFile(client, name, out);
      expect(got.name).toBe(names[index]);
      expect(readFileSync(out).equals(files[index]?.bytes ?? Buffer.alloc(0)), names[index]).toBe(true);
    }

    // Renamed away and back: the name in the path and the name in the body both arrive intact.
    for (const [index, name] of names.entries()) {
      expect((await client.renameFile(name, `renamed/${index}`)).name).toBe(`renamed/${index}`);
      expect(await fileItem(user, name)).toBeUndefined();
      expect((await client.renameFile(`renamed/${index}`, name)).name).toBe(name);
    }
    expect((await filesOf(user)).map((file) => file.name).sort()).toEqual([...names].sort());

    for (const name of names) await client.deleteFile(name);
    expect(await filesOf(user)).toEqual([]);
    expect(await usageItem(user)).toMatchObject({ files: 0, bytes: 0 });
  });
});

describe('old-style paths and malformed references are refused, and change nothing', () => {
  it('never acts on another file: a name in the path is not a reference', async () => {
    const user = newUser('oldstyle');
    const { path } = randomFile(50);
    for (const name of ['a', 'a?b', 'docs/a.txt', 'x/y', 'QUJD']) await putFile(clientFor(user), path, { name });
    const before = await filesOf(user);
    const usage = await usageItem(user);

    const refused: [method: string, path: string, status: number, code: string][] = [
      // API Gateway cuts the path at the decoded `?`: the old `DELETE a?b` would have deleted `a`.
      ['DELETE', '/v1/files/a%3Fb', 400, 'invalid_file_ref'],
      ['GET', '/v1/files/a', 400, 'invalid_file_ref'],
      ['PATCH', '/v1/files/hello.txt', 400, 'invalid_file_ref'],
      ['DELETE', '/v1/files/a%20b', 400, 'invalid_file_ref'],
      ['DELETE', '/v1/files/YQ%3D%3D', 400, 'invalid_file_ref'],
      ['GET', '/v1/files/QR', 400, 'invalid_file_ref'],
      ['DELETE', `/v1/files/${encodeFileRef('a\u0301')}`, 400, 'invalid_name'],
      // More than one segment matches no route: API Gateway's own 404.
      ['GET', '/v1/files/docs/a.txt', 404, 'Not Found'],
      ['DELETE', '/v1/files/docs%2Fa.txt', 404, 'Not Found'],
      ['DELETE', '/v1/files/x%252Fy', 404, 'Not Found'],
      // `%25` decodes to a `%` that does not decode again: API Gateway refuses the path.
      ['GET', '/v1/files/100%25', 400, 'Bad Request'],
      ['DELETE', '/v1/files/a%zz', 400, 'Bad Request'],
    ];
    for (const [method, target, status, code] of refused) {
      const response = await rawRequest(method, target, {
        userId: user,
        ...(method === 'PATCH' ? { body: JSON.stringify({ name: 'stolen' }) } : {}),
      });
      expect(response.status, `${method} ${target}`).toBe(status);
      expect(response.body.error?.code ?? response.body.message, `${method} ${target}`).toBe(code);
    }
    expect(await filesOf(user)).toEqual(before);
    expect(await usageItem(user)).toEqual(usage);

    // The reference of `a?b` deletes `a?b`, and only it.
    expect(await rawRequest('DELETE', filePath('a?b'), { userId: user })).toMatchObject({
      status: 200,
      body: { deleted: 'a?b' },
    });
    expect((await filesOf(user)).map((file) => file.name).sort()).toEqual(['QUJD', 'a', 'docs/a.txt', 'x/y']);
  });
});
