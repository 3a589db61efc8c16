/** Authentication at the edge and per-user isolation. */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { encodeFileName } from '#client/api';
import { putFile } from '#client/upload';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, mintToken } from '#local/auth';
import { clientFor, newUser, randomFile, rawRequest, stack } from '../helpers.ts';

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

describe('isolation', () => {
  it('user B can neither see nor fetch user A’s files or uploads', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const { path } = randomFile(321);
    const put = await putFile(clientFor(alice), path, { name: 'private/diary.txt' });

    const fetchFile = await rawRequest('GET', `/v1/files/${encodeFileName('private/diary.txt')}`, { userId: bob });
    expect(fetchFile).toMatchObject({ status: 404, body: { error: { code: 'file_not_found' } } });
    const status = await rawRequest('GET', `/v1/uploads/${put.uploadId}`, { userId: bob });
    expect(status).toMatchObject({ status: 404, body: { error: { code: 'upload_not_found' } } });
    expect((await clientFor(bob).listFiles()).files).toEqual([]);

    // Alice herself gets the file and a presigned URL scoped to its one object.
    const own = await clientFor(alice).getFile('private/diary.txt');
    expect(own.file.contentId).toBe(put.contentId);
    expect(new URL(own.download.url).pathname).toContain(`/blobs/${put.contentId}/`);
  });
});
