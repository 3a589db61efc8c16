/** Authentication at the edge and per-user isolation. */
import { createLocalJWKSet, exportJWK, generateKeyPair, type JSONWebKeySet, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { API_CORS } from '#deploy/definitions';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, mintToken } from '#local/auth';
import { filePath } from '#sdk/api';
import { putFile } from '#sdk/upload';
import { clientFor, fileItem, newUser, randomFile, rawRequest, stack, token } from '../helpers.ts';

async function forgedToken(claims: { sub: string; iss?: string; aud?: string; exp?: number }): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  void exportJWK;
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: stack.signingKey.privateJwk.kid ?? 'x' })
    .setSubject(claims.sub)
    .setIssuer(claims.iss ?? LOCAL_ISSUER)
    .setAudience(claims.aud ?? LOCAL_AUDIENCE)
    .setExpirationTime(claims.exp ?? '1h')
    .sign(privateKey);
}

describe('authentication', () => {
  it('refuses requests without a valid token before any handler runs', async () => {
    const victim = newUser('victim');
    const expired = await mintToken(stack.signingKey, victim, { ttlSeconds: -60 });
    const wrongAudience = await mintToken(stack.signingKey, victim, { audience: 'someone-else' });
    const wrongIssuer = await mintToken(stack.signingKey, victim, { issuer: 'https://evil.example' });
    for (const authorization of [
      undefined,
      'Bearer',
      'Basic dXNlcjpwYXNz',
      `Bearer ${await forgedToken({ sub: victim })}`,
      `Bearer ${expired}`,
      `Bearer ${wrongAudience}`,
      `Bearer ${wrongIssuer}`,
    ]) {
      const response = await rawRequest('GET', '/v1/files', authorization ? { authorization } : {});
      expect(response.status).toBe(401);
    }
  });
});

describe('browsers on another origin (CORS from API_CORS, as the stack declares it)', () => {
  const origin = 'https://app.example';

  it('get their preflight answered by the gateway, without a token', async () => {
    const response = await fetch(`${stack.endpoint}${filePath('docs/a b?.txt')}`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')?.split(',')).toContain('DELETE');
    expect(response.headers.get('access-control-allow-headers')?.split(',')).toEqual(['authorization', 'content-type']);
    expect(Number(response.headers.get('access-control-max-age'))).toBe(API_CORS.maxAgeSeconds);
  });

  it('may read responses, their retry-after, and a refused token', async () => {
    const user = newUser();
    const listed = await fetch(`${stack.endpoint}/v1/files`, {
      headers: { origin, authorization: `Bearer ${await token(user)}` },
    });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('access-control-allow-origin')).toBe('*');
    expect(listed.headers.get('access-control-expose-headers')?.split(',')).toContain('retry-after');
    const refused = await fetch(`${stack.endpoint}/v1/files`, { headers: { origin } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('the local issuer', () => {
  it('publishes its JWKS, against which its tokens verify by the authorizer’s rules', async () => {
    const response = await fetch(`${stack.endpoint}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const keySet = (await response.json()) as { keys: { kid?: string; d?: string }[] };
    expect(keySet.keys).toHaveLength(1);
    expect(keySet.keys[0]?.d, 'no private part is published').toBeUndefined();
    const user = newUser();
    const { payload } = await jwtVerify(await mintToken(stack.signingKey, user), createLocalJWKSet(keySet as JSONWebKeySet), {
      issuer: LOCAL_ISSUER,
      audience: LOCAL_AUDIENCE,
    });
    expect(payload.sub).toBe(user);
  });
});

describe('isolation', () => {
  it('user B can neither see nor fetch user A’s files or uploads', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const { path } = randomFile(321);
    const put = await putFile(clientFor(alice), path, { name: 'private/diary.txt' });

    const fetchFile = await rawRequest('GET', filePath('private/diary.txt'), { userId: bob });
    expect(fetchFile).toMatchObject({ status: 404, body: { error: { code: 'file_not_found' } } });
    const status = await rawRequest('GET', `/v1/uploads/${put.uploadId}`, { userId: bob });
    expect(status).toMatchObject({ status: 404, body: { error: { code: 'upload_not_found' } } });
    expect((await clientFor(bob).listFiles()).files).toEqual([]);

    // Bob can neither rename nor delete it, and his upload under the same name is his own file.
    const rename = await rawRequest('PATCH', filePath('private/diary.txt'), {
      userId: bob,
      body: JSON.stringify({ name: 'mine.txt' }),
    });
    expect(rename).toMatchObject({ status: 404, body: { error: { code: 'file_not_found' } } });
    const remove = await rawRequest('DELETE', filePath('private/diary.txt'), { userId: bob });
    expect(remove).toMatchObject({ status: 404, body: { error: { code: 'file_not_found' } } });
    await putFile(clientFor(bob), randomFile(99).path, { name: 'private/diary.txt' });
    expect(await fileItem(alice, 'private/diary.txt')).toMatchObject({ contentId: put.contentId, state: 'COMPLETE' });

    // Alice herself gets the file and a presigned URL scoped to its one object, one method and minutes.
    const own = await clientFor(alice).getFile('private/diary.txt');
    expect(own.file.contentId).toBe(put.contentId);
    const url = new URL(own.download.url);
    expect(url.pathname).toContain(`/blobs/${put.contentId}/`);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(own.download.method).toBe('GET');
  });
});
