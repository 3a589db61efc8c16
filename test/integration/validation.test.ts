/** Bad input gets a 4xx with a stable error code, and nothing is written anywhere. */

import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#deploy/definitions';
import { encodeFileRef } from '#protocol/file-ref';
import { filePath } from '#sdk/api';
import { hashBuffer } from '#sdk/hashing';
import { putFile } from '#sdk/upload';
import {
  clientFor,
  contentItem,
  countersOf,
  db,
  filesOf,
  newUser,
  objectKeys,
  randomFile,
  rawRequest,
  stack,
  usageItem,
} from '../helpers.ts';

const id = hashBuffer(Buffer.from('validation')).contentId;
const digest = 'ab'.repeat(32);
// Well-formed (one block, one digest), though its digest does not hash to the id: each case
// breaks one field, and the schema refuses it before the digests are ever checked.
const ok = { name: 'ok.txt', size: 10, contentId: id, blockDigests: [digest] };
const body = (value: unknown) => JSON.stringify(value);

type Case = [label: string, payload: string, status: number, code: string];

const uploadCases: Case[] = [
  ['malformed JSON', '{"name":', 400, 'invalid_json'],
  ['a JSON array', '[]', 400, 'invalid_body'],
  ['a JSON string', '"upload"', 400, 'invalid_body'],
  ['JSON null', 'null', 400, 'invalid_body'],
  ['a JSON number', '42', 400, 'invalid_body'],
  ['an unknown field', body({ ...ok, userId: 'someone-else' }), 400, 'unknown_field'],
  ['no name', body({ size: 10, contentId: id }), 400, 'invalid_name'],
  ['an empty name', body({ ...ok, name: '' }), 400, 'invalid_name'],
  ['a NUL in the name', body({ ...ok, name: 'a\u0000b' }), 400, 'invalid_name'],
  ['a control character', body({ ...ok, name: 'a\u001bb' }), 400, 'invalid_name'],
  ['a DEL character', body({ ...ok, name: 'a\u007fb' }), 400, 'invalid_name'],
  ['a C1 control character', body({ ...ok, name: 'a\u0085b' }), 400, 'invalid_name'],
  ['a newline', body({ ...ok, name: 'a\nb' }), 400, 'invalid_name'],
  ['a ".." segment', body({ ...ok, name: '../etc/passwd' }), 400, 'invalid_name'],
  ['a ".." segment inside', body({ ...ok, name: 'a/../b' }), 400, 'invalid_name'],
  ['a "." segment', body({ ...ok, name: 'a/./b' }), 400, 'invalid_name'],
  ['a leading slash', body({ ...ok, name: '/abs' }), 400, 'invalid_name'],
  ['a trailing slash', body({ ...ok, name: 'dir/' }), 400, 'invalid_name'],
  ['an empty segment', body({ ...ok, name: 'a//b' }), 400, 'invalid_name'],
  ['a name over 1,024 UTF-8 bytes', body({ ...ok, name: '€'.repeat(342) }), 400, 'invalid_name'],
  [
    'a name of 257 four-byte characters (514 UTF-16 units, 1,028 bytes)',
    body({ ...ok, name: '😀'.repeat(257) }),
    400,
    'invalid_name',
  ],
  // JSON can escape a lone surrogate; UTF-8 cannot hold one, so it would be stored as U+FFFD.
  ['a lone surrogate in the name', `{"name":"a\\ud800b","size":10,"contentId":"${id}"}`, 400, 'invalid_name'],
  ['a lone low surrogate at the end', body({ ...ok, name: 'a\udc00' }), 400, 'invalid_name'],
  ['a non-NFC name (it would collide with its NFC twin)', body({ ...ok, name: 'cafe\u0301.txt' }), 400, 'invalid_name'],
  ['a number as name', body({ ...ok, name: 5 }), 400, 'invalid_name'],
  ['null as name', body({ ...ok, name: null }), 400, 'invalid_name'],
  ['a content type with parameters', body({ ...ok, contentType: 'text/plain; charset=utf-8' }), 400, 'invalid_content_type'],
  ['an uppercase content type', body({ ...ok, contentType: 'Image/PNG' }), 400, 'invalid_content_type'],
  ['a content type with a newline', body({ ...ok, contentType: 'text/plain\r\nx-evil: 1' }), 400, 'invalid_content_type'],
  ['a content type without a subtype', body({ ...ok, contentType: 'image' }), 400, 'invalid_content_type'],
  ['a content type over 255 characters', body({ ...ok, contentType: `image/${'x'.repeat(250)}` }), 400, 'invalid_content_type'],
  ['a negative size', body({ ...ok, size: -1 }), 400, 'invalid_size'],
  ['a fractional size', body({ ...ok, size: 1.5 }), 400, 'invalid_size'],
  ['a size as a string', body({ ...ok, size: '10' }), 400, 'invalid_size'],
  ['an infinite size', `{"name":"x","size":1e400,"contentId":"${id}"}`, 400, 'invalid_size'],
  ['no size', body({ name: 'x', contentId: id }), 400, 'invalid_size'],
  ['a size above S3’s largest object', body({ ...ok, size: 53_687_091_200_001 }), 400, 'invalid_size'],
  ['an uppercase id', body({ ...ok, contentId: id.toUpperCase() }), 400, 'invalid_content_id'],
  ['a short id', body({ ...ok, contentId: id.slice(1) }), 400, 'invalid_content_id'],
  ['a long id', body({ ...ok, contentId: `${id}0` }), 400, 'invalid_content_id'],
  ['an id that is not hex', body({ ...ok, contentId: 'g'.repeat(64) }), 400, 'invalid_content_id'],
  ['no id', body({ name: 'x', size: 1 }), 400, 'invalid_content_id'],
  ['digests that are not a list', body({ ...ok, blockDigests: digest }), 400, 'invalid_block_digests'],
  ['a digest that is not hex', body({ ...ok, blockDigests: ['zz'.repeat(32)] }), 400, 'invalid_block_digests'],
  ['10,001 digests', body({ ...ok, blockDigests: Array(10_001).fill(digest) }), 400, 'invalid_block_digests'],
  ['no digests (every block’s is required)', body({ name: 'x', size: 1, contentId: id }), 400, 'invalid_block_digests'],
  ['an empty digest list', body({ ...ok, blockDigests: [] }), 400, 'invalid_block_digests'],
  ['more digests than blocks', body({ ...ok, blockDigests: [digest, digest] }), 400, 'too_many_block_digests'],
  ['fewer digests than blocks', body({ ...ok, size: 8 * 1024 * 1024 + 1 }), 400, 'missing_block_digests'],
  ['digests that do not hash to the id', body({ ...ok, blockDigests: [digest] }), 400, 'block_digests_mismatch'],
  ['a proof without its token', body({ ...ok, proof: { sha256: digest } }), 400, 'invalid_proof'],
  ['a proof whose answer is not hex', body({ ...ok, proof: { token: 'x.y', sha256: 'nope' } }), 400, 'invalid_proof'],
  ['a proof with an unknown field', body({ ...ok, proof: { token: 'x.y', sha256: digest, ranges: [] } }), 400, 'unknown_field'],
  ['a body over 2 MiB', body({ ...ok, name: 'x'.repeat(3 * 1024 * 1024) }), 413, 'body_too_large'],
];

const fakeUpload = '/v1/uploads/YQ.00000000000000000000000000000000';
const parts = (...partNumbers: unknown[]) => body({ partNumbers });
const otherCases: [label: string, method: string, path: string, payload: string | undefined, code: string][] = [
  ['parts: an empty list', 'POST', `${fakeUpload}/parts`, parts(), 'invalid_part_numbers'],
  ['parts: part number 0', 'POST', `${fakeUpload}/parts`, parts(0), 'invalid_part_numbers'],
  ['parts: part number 10,001', 'POST', `${fakeUpload}/parts`, parts(10_001), 'invalid_part_numbers'],
  ['parts: a fractional part number', 'POST', `${fakeUpload}/parts`, parts(1.5), 'invalid_part_numbers'],
  // URLs are signed for the digests the server keeps, never for one a client sends.
  [
    'parts: digests (the old form)',
    'POST',
    `${fakeUpload}/parts`,
    body({ parts: [{ partNumber: 1, sha256: digest }] }),
    'invalid_part_numbers',
  ],
  [
    'parts: a digest beside the numbers',
    'POST',
    `${fakeUpload}/parts`,
    body({ partNumbers: [1], sha256: digest }),
    'unknown_field',
  ],
  ['parts: 101 parts', 'POST', `${fakeUpload}/parts`, parts(...Array(101).fill(1)), 'invalid_part_numbers'],
  ['parts: no list', 'POST', `${fakeUpload}/parts`, body({}), 'invalid_part_numbers'],
  [
    'complete: an empty ETag',
    'POST',
    `${fakeUpload}/complete`,
    body({ parts: [{ partNumber: 1, etag: '', sha256: `${'A'.repeat(43)}=` }] }),
    'invalid_parts',
  ],
  [
    'complete: a checksum that is not base64',
    'POST',
    `${fakeUpload}/complete`,
    body({ parts: [{ partNumber: 1, etag: 'e', sha256: 'nope' }] }),
    'invalid_parts',
  ],
  ['complete: parts that are not a list', 'POST', `${fakeUpload}/complete`, body({ parts: 'all' }), 'invalid_parts'],
  ['complete: an unknown field', 'POST', `${fakeUpload}/complete`, body({ parts: [], force: true }), 'unknown_field'],
  ['list: a limit of 0', 'GET', '/v1/files?limit=0', undefined, 'invalid_limit'],
  ['list: a limit of 1,001', 'GET', '/v1/files?limit=1001', undefined, 'invalid_limit'],
  ['list: a limit that is not a number', 'GET', '/v1/files?limit=abc', undefined, 'invalid_limit'],
  ['list: an unknown parameter', 'GET', '/v1/files?owner=victim', undefined, 'unknown_field'],
  [
    'list: a prefix with a control character',
    'GET',
    `/v1/files?prefixRef=${encodeFileRef('\u0001')}`,
    undefined,
    'invalid_prefix',
  ],
  ['list: a prefix as text (it travels as prefixRef)', 'GET', '/v1/files?prefix=docs', undefined, 'unknown_field'],
  [
    'list: a prefix of 1,024 three-byte characters (3,072 bytes)',
    'GET',
    `/v1/files?prefixRef=${encodeFileRef('€'.repeat(1024))}`,
    undefined,
    'invalid_prefix_ref',
  ],
  [
    // 341 × U+0958 is 1,023 bytes, and 2,046 once in NFC (each becomes two characters): DynamoDB
    // refuses a begins_with value over 1,024 bytes.
    'list: a prefix whose NFC form is over 1,024 bytes',
    'GET',
    `/v1/files?prefixRef=${encodeFileRef('\u0958'.repeat(341))}`,
    undefined,
    'invalid_prefix',
  ],
  ['list: a cursor longer than any listing issues', 'GET', `/v1/files?cursor=${'A'.repeat(4097)}`, undefined, 'invalid_cursor'],
  ['list: a prefixRef that is not base64url', 'GET', '/v1/files?prefixRef=docs%2F', undefined, 'invalid_prefix_ref'],
  ['list: two prefixRefs (joined with a comma)', 'GET', '/v1/files?prefixRef=YQ&prefixRef=Yg', undefined, 'invalid_prefix_ref'],
  [
    'list: a forged cursor',
    'GET',
    `/v1/files?cursor=${Buffer.from(JSON.stringify({ userId: 'victim', name: 'a' })).toString('base64url')}`,
    undefined,
    'invalid_cursor',
  ],
  ['rename: no new name', 'PATCH', filePath('a.txt'), body({}), 'invalid_name'],
  ['rename: a new name with ".."', 'PATCH', filePath('a.txt'), body({ name: '../b' }), 'invalid_name'],
  [
    'rename: overwrite that is not a boolean',
    'PATCH',
    filePath('a.txt'),
    body({ name: 'b', overwrite: 'yes' }),
    'invalid_overwrite',
  ],
  ['rename: an unknown field', 'PATCH', filePath('a.txt'), body({ name: 'b', owner: 'x' }), 'unknown_field'],
  ['rename: malformed JSON', 'PATCH', filePath('a.txt'), '{', 'invalid_json'],
  ['path: a name, not a reference', 'GET', '/v1/files/a.txt', undefined, 'invalid_file_ref'],
  ['path: a reference with padding', 'DELETE', '/v1/files/YQ%3D%3D', undefined, 'invalid_file_ref'],
  ['path: a reference that is not canonical', 'GET', '/v1/files/QR', undefined, 'invalid_file_ref'],
  ['path: a reference of bytes that are not UTF-8', 'DELETE', '/v1/files/_w', undefined, 'invalid_file_ref'],
  ['path: a reference longer than any name’s', 'GET', `/v1/files/${'A'.repeat(1368)}`, undefined, 'invalid_file_ref'],
  ['path: a NUL in the name', 'GET', `/v1/files/${encodeFileRef('a\u0000b')}`, undefined, 'invalid_name'],
  [
    'query: a disposition that is neither inline nor attachment',
    'GET',
    `/v1/files/${encodeFileRef('a')}?disposition=render`,
    undefined,
    'invalid_disposition',
  ],
  ['query: an unknown query field', 'GET', `/v1/files/${encodeFileRef('a')}?download=1`, undefined, 'unknown_field'],
  ['path: an empty segment', 'DELETE', `/v1/files/${encodeFileRef('a//b')}`, undefined, 'invalid_name'],
  ['path: a ".." segment', 'GET', `/v1/files/${encodeFileRef('x/../b')}`, undefined, 'invalid_name'],
  ['path: a non-NFC name', 'DELETE', `/v1/files/${encodeFileRef('cafe\u0301')}`, undefined, 'invalid_name'],
  ['path: a name of 1,025 bytes', 'GET', `/v1/files/${encodeFileRef(`${'€'.repeat(341)}ab`)}`, undefined, 'invalid_file_ref'],
  ['rename: a new name with a lone surrogate', 'PATCH', filePath('a.txt'), '{"name":"b\\ud800"}', 'invalid_name'],
  ['rename: a new name over 1,024 bytes', 'PATCH', filePath('a.txt'), body({ name: '😀'.repeat(257) }), 'invalid_name'],
  ['upload: an id longer than any upload’s', 'GET', `/v1/uploads/${'A'.repeat(2001)}`, undefined, 'invalid_upload_id'],
];

/** A cursor as the listing encodes one (adapters/list-cursor.ts), with whatever a forger puts in it. */
const cursorOf = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Forged cursors of the caller's own: each would reach DynamoDB as a start key it refuses or should never see. */
const forgedCursors: [label: string, query: (user: string) => string][] = [
  ['a 2,000-character name', (user) => `cursor=${cursorOf({ userId: user, name: 'x'.repeat(2000) })}`],
  ['a name of 1,026 bytes in 342 characters', (user) => `cursor=${cursorOf({ userId: user, name: '€'.repeat(342) })}`],
  ['a name with a lone surrogate', (user) => `cursor=${cursorOf({ userId: user, name: 'a\ud800' })}`],
  ['the reserved usage item', (user) => `cursor=${cursorOf({ userId: user, name: '\u0000usage' })}`],
  ['a name that is not text', (user) => `cursor=${cursorOf({ userId: user, name: 42 })}`],
  // DynamoDB: "The provided starting key does not match the range key predicate".
  [
    'a name outside the listing’s prefix',
    (user) => `prefixRef=${encodeFileRef('b/')}&cursor=${cursorOf({ userId: user, name: 'a.txt' })}`,
  ],
];

/**
 * Upload ids whose name part is no name: each would have been decoded leniently to a key of more
 * than 1,024 bytes (1,400 bytes; 1,024 stray bytes, each a 3-byte U+FFFD) and refused by DynamoDB.
 * A malformed id is answered like a foreign one.
 */
const nonce = '0'.repeat(32);
const badUploadIds: [label: string, uploadId: string][] = [
  ['a name part of 1,400 bytes', `${Buffer.from('x'.repeat(1400)).toString('base64url')}.${nonce}`],
  ['a name part of bytes that are not UTF-8', `${Buffer.alloc(1023, 0xff).toString('base64url')}.${nonce}`],
];

describe('bad input is refused with a stable code, and nothing is written', () => {
  it('covers at least 50 cases', () => {
    expect(uploadCases.length + otherCases.length).toBeGreaterThanOrEqual(50);
  });

  it.each(uploadCases)('POST /v1/uploads: %s', async (_label, payload, status, code) => {
    const user = newUser('bad');
    const response = await rawRequest('POST', '/v1/uploads', { userId: user, body: payload });
    expect(response.status).toBe(status);
    expect(response.body.error?.code).toBe(code);
    expect(response.body.error?.message).toEqual(expect.any(String));
    await expectNothingWritten(user);
  });

  it.each(otherCases)('%s', async (_label, method, path, payload, code) => {
    const user = newUser('bad');
    const response = await rawRequest(method, path, { userId: user, ...(payload === undefined ? {} : { body: payload }) });
    expect(response.status).toBe(400);
    expect(response.body.error?.code).toBe(code);
    await expectNothingWritten(user);
  });
});

describe('limits hold in UTF-8 bytes, and malformed keys never reach DynamoDB', () => {
  it.each(forgedCursors)('list: a forged cursor with %s: 400 invalid_cursor', async (_label, query) => {
    const user = newUser('bad');
    const response = await rawRequest('GET', `/v1/files?${query(user)}`, { userId: user });
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'invalid_cursor' } } });
    await expectNothingWritten(user);
  });

  it.each(badUploadIds)('an upload id with %s: 404 upload_not_found on every upload route', async (_label, uploadId) => {
    const user = newUser('bad');
    for (const [method, path, payload] of [
      ['GET', `/v1/uploads/${uploadId}`, undefined],
      ['POST', `/v1/uploads/${uploadId}/complete`, '{}'],
      ['POST', `/v1/uploads/${uploadId}/parts`, parts(1)],
    ] as const) {
      const response = await rawRequest(method, path, { userId: user, ...(payload === undefined ? {} : { body: payload }) });
      expect(response, `${method} ${path.slice(0, 40)}`).toMatchObject({
        status: 404,
        body: { error: { code: 'upload_not_found' } },
      });
    }
    await expectNothingWritten(user);
  });

  it('a token whose subject is over 255 UTF-8 bytes, in under 256 characters, is refused on every route: 401', async () => {
    const user = `${newUser('long')}${'€'.repeat(80)}`;
    expect(user.length).toBeLessThan(256);
    // A valid request of its own content: were it let through, it would reserve that content.
    const upload = { name: 'a.txt', size: 10, contentId: hashBuffer(Buffer.from(user)).contentId };
    for (const { method, path } of ROUTES) {
      const concrete = path.replace('{uploadId}', `YQ.${nonce}`).replace('{fileRef}', encodeFileRef('a.txt'));
      const payload =
        method === 'PATCH'
          ? body({ name: 'b' })
          : method === 'POST'
            ? path.endsWith('parts')
              ? parts(1)
              : body(upload)
            : undefined;
      const response = await rawRequest(method, concrete, { userId: user, ...(payload === undefined ? {} : { body: payload }) });
      expect(response.status, `${method} ${path}`).toBe(401);
    }
    expect(await filesOf(user)).toEqual([]);
    expect(await contentItem(upload.contentId)).toBeUndefined();
  });

  it('a subject of exactly 255 bytes is a user like any other', async () => {
    const base = newUser('long');
    const user = `${base}${'é'.repeat(Math.floor((255 - base.length) / 2))}${(255 - base.length) % 2 === 1 ? 'x' : ''}`;
    expect(Buffer.byteLength(user)).toBe(255);
    expect((await rawRequest('GET', '/v1/usage', { userId: user })).status).toBe(200);
  });
});

/** Every item of the user's in the Files table (files and reserved items), as stored. */
async function itemsOf(user: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: stack.tables.files,
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': user },
      ConsistentRead: true,
    }),
  );
  return Items;
}

/** The route a concrete request reaches (its path pattern matched segment by segment). */
function routeOf(method: string, path: string): string | undefined {
  const [pathname = ''] = path.split('?');
  return ROUTES.find(
    (candidate) =>
      candidate.method === method &&
      new RegExp(`^${candidate.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(pathname.replace(/%3D/g, '=')),
  )?.id;
}

describe('for every route, a refused request changes nothing', () => {
  it('a user’s file, its upload, its content, its object and their usage stay exactly as they were', async () => {
    const user = newUser('keep');
    const { path: local } = randomFile(10);
    const put = await putFile(clientFor(user), local, { name: 'keep.txt' });
    const keep = encodeFileRef('keep.txt');
    const refused: [method: string, path: string, payload: string | undefined, code: string][] = [
      [
        'POST',
        '/v1/uploads',
        body({ name: 'keep.txt', size: put.size, contentId: put.contentId, blockDigests: ['zz'] }),
        'invalid_block_digests',
      ],
      [
        'POST',
        '/v1/uploads',
        body({ name: 'keep.txt', size: put.size + 1, contentId: put.contentId, blockDigests: [digest], force: true }),
        'unknown_field',
      ],
      ['POST', `/v1/uploads/${put.uploadId}/parts`, parts(0), 'invalid_part_numbers'],
      ['POST', `/v1/uploads/${put.uploadId}/complete`, body({ parts: 'all' }), 'invalid_parts'],
      ['GET', `/v1/uploads/${put.uploadId}${'0'.repeat(2000)}`, undefined, 'invalid_upload_id'],
      ['DELETE', `/v1/uploads/${put.uploadId}${'0'.repeat(2000)}`, undefined, 'invalid_upload_id'],
      ['GET', `/v1/files/${keep}?disposition=open`, undefined, 'invalid_disposition'],
      ['GET', '/v1/files?limit=0', undefined, 'invalid_limit'],
      ['GET', `/v1/files?cursor=${cursorOf({ userId: user, name: 'x'.repeat(2000) })}`, undefined, 'invalid_cursor'],
      ['GET', `/v1/files/${keep}%3D`, undefined, 'invalid_file_ref'],
      ['PATCH', `/v1/files/${keep}`, body({ name: '../keep.txt' }), 'invalid_name'],
      ['PATCH', `/v1/files/${keep}`, body({ name: 'other.txt', overwrite: 'yes' }), 'invalid_overwrite'],
      ['PATCH', `/v1/files/${keep}`, body({ name: '😀'.repeat(257), overwrite: true }), 'invalid_name'],
      ['DELETE', `/v1/files/${keep}%3D`, undefined, 'invalid_file_ref'],
    ];
    // GET /v1/usage takes nothing but the token (refused on every route above, in its own test).
    const covered = new Set(refused.map(([method, path]) => routeOf(method, path)));
    expect([...covered].sort()).toEqual(
      ROUTES.map((route) => route.id)
        .filter((id) => id !== 'GetUsage')
        .sort(),
    );

    // Refused requests are not even counted against the request budget.
    const before = {
      counters: await countersOf(user),
      items: await itemsOf(user),
      content: await contentItem(put.contentId),
      objects: await objectKeys(`blobs/${put.contentId}/`),
    };
    expect(before.items.length).toBeGreaterThanOrEqual(2);
    for (const [method, path, payload, code] of refused) {
      const response = await rawRequest(method, path, { userId: user, ...(payload === undefined ? {} : { body: payload }) });
      expect(response, `${method} ${path.slice(0, 60)}`).toMatchObject({ status: 400, body: { error: { code } } });
    }
    expect({
      counters: await countersOf(user),
      items: await itemsOf(user),
      content: await contentItem(put.contentId),
      objects: await objectKeys(`blobs/${put.contentId}/`),
    }).toEqual(before);
  });
});

async function expectNothingWritten(user: string): Promise<void> {
  expect(await filesOf(user)).toEqual([]);
  expect(await usageItem(user)).toEqual({ files: 0, bytes: 0, savedBytes: 0 });
  expect(await contentItem(id)).toBeUndefined();
  expect(await objectKeys(`blobs/${id}/`)).toEqual([]);
}
describe('other routes refuse bad input', () => {
  it('the SDK sends names in NFC, so a decomposed name (as macOS gives) is one file with its composed twin', async () => {
    const user = newUser();
    const { path } = randomFile(10);
    const put = await putFile(clientFor(user), path, { name: 'cafe\u0301.txt' });
    expect(put.name).toBe('caf\u00e9.txt');
    await putFile(clientFor(user), path, { name: 'caf\u00e9.txt' });
    expect((await filesOf(user)).map((file) => file.name)).toEqual(['caf\u00e9.txt']);
    expect((await clientFor(user).getFile('cafe\u0301.txt')).file.name).toBe('caf\u00e9.txt');
  });

  it('an upload id that is not one of the caller’s: 404 upload_not_found', async () => {
    const user = newUser();
    for (const uploadId of ['nonsense', 'YQ.00000000000000000000000000000000']) {
      const status = await rawRequest('GET', `/v1/uploads/${uploadId}`, { userId: user });
      expect(status).toMatchObject({ status: 404, body: { error: { code: 'upload_not_found' } } });
      const complete = await rawRequest('POST', `/v1/uploads/${uploadId}/complete`, { userId: user, body: '{}' });
      expect(complete.body.error?.code).toBe('upload_not_found');
    }
  });

  it('a completion with a malformed part list: 400 invalid_parts', async () => {
    const user = newUser();
    const response = await rawRequest('POST', '/v1/uploads/YQ.00000000000000000000000000000000/complete', {
      userId: user,
      body: body({ parts: [{ partNumber: 0, etag: 'x', sha256: 'nope' }] }),
    });
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'invalid_parts' } } });
  });

  it('a path with a malformed escape: 400 before any handler', async () => {
    expect((await rawRequest('GET', '/v1/files/a%zz', { userId: newUser() })).status).toBe(400);
  });
});
