/** Bad input gets a 4xx with a stable error code, and nothing is written anywhere. */
import { describe, expect, it } from 'vitest';
import { hashBuffer } from '#core/tree-hash';
import { contentItem, filesOf, newUser, objectKeys, rawRequest } from '../helpers.ts';

const id = hashBuffer(Buffer.from('validation')).contentId;
const digest = 'ab'.repeat(32);
const ok = { name: 'ok.txt', size: 10, contentId: id };
const body = (value: unknown) => JSON.stringify(value);

const cases: [label: string, payload: string, status: number, code: string][] = [
  ['malformed JSON', '{"name":', 400, 'invalid_json'],
  ['a JSON array', '[]', 400, 'invalid_body'],
  ['a JSON string', '"upload"', 400, 'invalid_body'],
  ['an unknown field', body({ ...ok, userId: 'someone-else' }), 400, 'unknown_field'],
  ['no name', body({ size: 10, contentId: id }), 400, 'invalid_name'],
  ['an empty name', body({ ...ok, name: '' }), 400, 'invalid_name'],
  ['a NUL in the name', body({ ...ok, name: 'a\u0000b' }), 400, 'invalid_name'],
  ['a control character', body({ ...ok, name: 'a\u001bb' }), 400, 'invalid_name'],
  ['a ".." segment', body({ ...ok, name: '../etc/passwd' }), 400, 'invalid_name'],
  ['a leading slash', body({ ...ok, name: '/abs' }), 400, 'invalid_name'],
  ['a name over 1,024 UTF-8 bytes', body({ ...ok, name: '€'.repeat(342) }), 400, 'invalid_name'],
  ['a number as name', body({ ...ok, name: 5 }), 400, 'invalid_name'],
  ['a negative size', body({ ...ok, size: -1 }), 400, 'invalid_size'],
  ['a fractional size', body({ ...ok, size: 1.5 }), 400, 'invalid_size'],
  ['a size as a string', body({ ...ok, size: '10' }), 400, 'invalid_size'],
  ['a size above S3’s largest object', body({ ...ok, size: 53_687_091_200_001 }), 400, 'invalid_size'],
  ['an uppercase id', body({ ...ok, contentId: id.toUpperCase() }), 400, 'invalid_content_id'],
  ['a short id', body({ ...ok, contentId: id.slice(1) }), 400, 'invalid_content_id'],
  ['no id', body({ name: 'x', size: 1 }), 400, 'invalid_content_id'],
  ['a digest that is not hex', body({ ...ok, blockDigests: ['zz'.repeat(32)] }), 400, 'invalid_block_digests'],
  ['101 digests', body({ ...ok, blockDigests: Array(101).fill(digest) }), 400, 'invalid_block_digests'],
  ['more digests than blocks', body({ ...ok, blockDigests: [digest, digest] }), 400, 'too_many_block_digests'],
  ['digests that do not hash to the id', body({ ...ok, blockDigests: [digest] }), 400, 'block_digests_mismatch'],
  ['a body over 2 MiB', body({ ...ok, name: 'x'.repeat(3 * 1024 * 1024) }), 413, 'body_too_large'],
];

describe('POST /v1/uploads refuses bad input and writes nothing', () => {
  it.each(cases)('%s', async (_label, payload, status, code) => {
    const user = newUser('bad');
    const response = await rawRequest('POST', '/v1/uploads', { userId: user, body: payload });
    expect(response.status).toBe(status);
    expect(response.body.error?.code).toBe(code);
    expect(response.body.error?.message).toEqual(expect.any(String));
    expect(await filesOf(user)).toEqual([]);
    expect(await contentItem(id)).toBeUndefined();
    expect(await objectKeys(`blobs/${id}/`)).toEqual([]);
  });
});

describe('other routes refuse bad input', () => {
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

  it('a listing with a bad limit or a forged cursor: 400', async () => {
    const user = newUser();
    expect((await rawRequest('GET', '/v1/files?limit=0', { userId: user })).body.error?.code).toBe('invalid_limit');
    expect((await rawRequest('GET', '/v1/files?limit=abc', { userId: user })).body.error?.code).toBe('invalid_limit');
    const forged = Buffer.from(JSON.stringify({ userId: 'victim', name: 'a' })).toString('base64url');
    expect((await rawRequest('GET', `/v1/files?cursor=${forged}`, { userId: user })).body.error?.code).toBe('invalid_cursor');
  });

  it('a path with a malformed escape: 400 before any handler', async () => {
    expect((await rawRequest('GET', '/v1/files/a%zz', { userId: newUser() })).status).toBe(400);
  });

  it('a file path that decodes to a bad name: 400 invalid_name', async () => {
    for (const path of ['a%00b', 'a%2F%2Fb', 'x/%2E%2E%2Fb']) {
      const response = await rawRequest('GET', `/v1/files/${path}`, { userId: newUser() });
      expect(response).toMatchObject({ status: 400, body: { error: { code: 'invalid_name' } } });
    }
  });
});
