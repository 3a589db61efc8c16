/** Invariant 4 (docs/design.md): concurrent uploads of one new content store one object and complete every file. */
import { describe, expect, it } from 'vitest';
import { MiB } from '#protocol/content-id';
import { putFile } from '#sdk/upload';
import { clientFor, contentItem, fileItem, newUser, objectKeys, randomFile } from '../helpers.ts';

describe('concurrent uploads of the same new content', () => {
  it('20 users at once: one object, 20 complete files, refCount 20, the bytes sent about once', async () => {
    const { path, bytes } = randomFile(2 * 8 * MiB + MiB);
    const users = Array.from({ length: 20 }, () => newUser('racer'));
    const results = await Promise.all(users.map((user) => putFile(clientFor(user), path, { name: 'same.bin' })));

    const contentId = results[0]?.contentId ?? '';
    expect(results.every((result) => result.state === 'COMPLETE' && result.contentId === contentId)).toBe(true);
    for (const user of users) expect((await fileItem(user, 'same.bin'))?.state).toBe('COMPLETE');
    expect(await objectKeys(`blobs/${contentId}/`)).toHaveLength(1);
    expect(await contentItem(contentId)).toMatchObject({ state: 'READY', refCount: 20 });
    // One client uploads while the others wait for it; a lease takeover could add at most a few.
    const totalSent = results.reduce((sum, result) => sum + result.bytesSent, 0);
    expect(totalSent).toBeGreaterThanOrEqual(bytes.length);
    expect(totalSent).toBeLessThanOrEqual(3 * bytes.length);
    expect(results.filter((result) => result.deduplicated).length).toBeGreaterThanOrEqual(17);
  });

  it('one user asking twice at once for the same upload still gets one file and one reference', async () => {
    const user = newUser();
    const { path } = randomFile(5000);
    const [a, b] = await Promise.all([
      putFile(clientFor(user), path, { name: 'twice' }),
      putFile(clientFor(user), path, { name: 'twice' }),
    ]);
    expect(a.contentId).toBe(b.contentId);
    expect(await contentItem(a.contentId)).toMatchObject({ state: 'READY', refCount: 1 });
  });
});
