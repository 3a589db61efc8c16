/**
 * The web app (web/, built to dist/web/) in Chromium, as a user drives it: served by the local
 * runner's web server (local/web-server.ts) on an origin of its own, against the browser group's
 * local stack, so every API call, part PUT and download crosses origins under the page's
 * Content-Security-Policy. Controls are found by role and label, as a screen reader finds them.
 *
 * `HASHDROP_SCREENSHOT=1` also writes the last scenario's screenshot to docs/web-app.png (the
 * README's picture); without it the screenshot goes to a temporary folder.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '#local/auth';
import { startWebServer, type WebServer } from '#local/web-server';
import { MiB } from '#protocol/content-id';
import { hashBuffer } from '#sdk/hashing';
import { clientFor, newUser, objectKeys, stack, token } from '../helpers.ts';
import { seededBytes } from './bytes.ts';
import { type Browser, launch } from './chromium.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const WEB_DIST = join(ROOT, 'dist', 'web');
const SCREENSHOT = join(ROOT, 'docs', 'web-app.png');

let browser: Browser;
let web: WebServer;
const files = mkdtempSync(join(tmpdir(), 'hashdrop-web-files-'));

beforeAll(async () => {
  // The tests run what `npm run build` wrote, so it must be as new as web/.
  const built = statSync(join(WEB_DIST, 'app.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const newest = Math.max(...readdirSync(join(ROOT, 'web')).map((file) => statSync(join(ROOT, 'web', file)).mtimeMs));
  if (built < newest) throw new Error('dist/web/ is missing or older than web/: run `npm run build`');
  web = await startWebServer({ endpoint: stack.endpoint, s3Endpoint: stack.s3Endpoint, signingKey: stack.signingKey });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
});

/** A file on disk with seeded bytes (test/browser/bytes.ts), named as the app will store it. */
function seededFile(name: string, size: number, seed = `${name}-${size}-${Math.random()}`): { path: string; bytes: Buffer } {
  const folder = mkdtempSync(join(files, 'f-'));
  const bytes = seededBytes(seed, size);
  const path = join(folder, name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

/** A new tab on the app (its own session storage), signed in as `user` with the dev sign-in. */
async function openApp(user?: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1200, height: 800 });
  // Delete and rename-over confirm first; the tests answer yes.
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(web.url);
  await page.locator('body[data-ready="true"]').waitFor();
  if (user) {
    await page.getByLabel('User name').fill(user);
    await page.getByRole('button', { name: 'Dev sign-in' }).click();
    await page.getByRole('heading', { name: 'Your files' }).waitFor();
  }
  return page;
}

const uploadRow = (page: Page, name: string) => page.getByRole('listitem', { name: `Upload of ${name}` });

/** Waits for an upload to finish and returns what its row says. */
async function finished(page: Page, name: string): Promise<string> {
  const row = uploadRow(page, name);
  await row.locator('.phase[data-phase="done"]').waitFor({ timeout: 30_000 });
  return (await row.locator('.detail').textContent()) ?? '';
}

/** Every text an upload row's phase showed, in order (repeats collapsed). */
async function recordPhases(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, string[]> = {};
    Object.assign(window, { phasesSeen: seen });
    new MutationObserver((records) => {
      for (const record of records) {
        const phase = record.target instanceof HTMLElement ? record.target : record.target.parentElement;
        const name = phase?.closest('li')?.getAttribute('aria-label') ?? '';
        if (!phase?.classList.contains('phase')) continue;
        for (const node of Array.from(record.addedNodes)) {
          seen[name] ??= [];
          const list = seen[name];
          if (list.at(-1) !== node.textContent) list.push(node.textContent ?? '');
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
}

/** Requests the page sends to storage (part and single PUTs), as URLs. */
function storagePuts(page: Page): string[] {
  const puts: string[] = [];
  page.on('request', (request: Request) => {
    if (request.method() === 'PUT' && request.url().startsWith(stack.s3Endpoint)) puts.push(request.url());
  });
  return puts;
}

describe('web app', () => {
  it('is served on its own origin with a Content-Security-Policy, and config.json points at the API', async () => {
    const response = await fetch(web.url);
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain(`connect-src 'self' ${stack.endpoint} ${stack.s3Endpoint}`);
    expect(policy).toContain('worker-src blob:');
    expect(new URL(web.url).origin).not.toBe(new URL(stack.endpoint).origin);
    expect(new URL(web.url).origin).not.toBe(new URL(stack.s3Endpoint).origin);
    expect(await (await fetch(new URL('config.json', web.url))).json()).toEqual({
      endpoint: stack.endpoint,
      devSignIn: '/dev/token',
    });
    // Only the built files are served: nothing outside dist/web/.
    expect((await fetch(new URL('../package.json', web.url))).status).toBe(404);
    expect((await fetch(`${web.url}%2e%2e/package.json`)).status).toBe(404);
  });

  it('mints dev tokens only for a JSON request with a sane user name', async () => {
    const ask = (body: string, type = 'application/json') =>
      fetch(new URL('dev/token', web.url), { method: 'POST', headers: { 'content-type': type }, body });
    // A form or text/plain POST is what another website could send without a preflight.
    expect((await ask('{"user":"alice"}', 'text/plain')).status).toBe(415);
    expect((await ask('{"user":"../x y"}')).status).toBe(400);
    const answer = await ask('{"user":"alice"}');
    const { token: minted } = (await answer.json()) as { token: string };
    const files = await fetch(`${stack.endpoint}/v1/files`, { headers: { authorization: `Bearer ${minted}` } });
    expect(files.status).toBe(200);
  });

  it('refuses the dev sign-in to a request addressed to another host name (DNS rebinding)', async () => {
    // A page whose own domain now resolves to 127.0.0.1 is same-origin with this server, but its
    // requests carry its name in Host. fetch may not set Host, so node:http sends this one.
    const url = new URL('dev/token', web.url);
    const status = await new Promise<number>((done, fail) => {
      const sent = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { host: `attacker.example:${url.port}`, 'content-type': 'application/json' },
        },
        (answer) => {
          answer.resume();
          done(answer.statusCode ?? 0);
        },
      );
      sent.on('error', fail);
      sent.end('{"user":"alice"}');
    });
    expect(status).toBe(403);
  });

  it('dropping several files: a progress bar each, hashing then uploading, the bytes in storage', async () => {
    const user = newUser();
    const page = await openApp(user);
    await recordPhases(page);
    const one = seededFile('one.bin', 300_000);
    const two = seededFile('two.bin', 1 * MiB + 7);
    // A real drop: a DataTransfer holding both files, dispatched on the drop zone.
    const transfer = await page.evaluateHandle(
      (list) => {
        const data = new DataTransfer();
        for (const { name, base64 } of list) {
          data.items.add(new File([Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))], name));
        }
        return data;
      },
      [one, two].map(({ path, bytes }) => ({ name: path.split('/').pop() ?? '', base64: bytes.toString('base64') })),
    );
    await page.locator('#drop').dispatchEvent('drop', { dataTransfer: transfer });

    expect(await finished(page, 'one.bin')).toBe('293.0 KiB sent');
    expect(await finished(page, 'two.bin')).toBe('1.0 MiB sent');
    expect(await page.getByRole('progressbar', { name: 'Progress of two.bin' }).getAttribute('value')).toBe('1');
    const phases = (await page.evaluate(() => (window as unknown as { phasesSeen: Record<string, string[]> }).phasesSeen)) ?? {};
    // (Each row is added showing "queued"; the observer sees what changes after.)
    expect(phases['Upload of two.bin']).toEqual(['hashing', 'uploading', 'done']);
    for (const { bytes } of [one, two]) expect(await objectKeys(`blobs/${hashBuffer(bytes).contentId}`)).toHaveLength(1);
    // The list and the usage line follow.
    const table = page.getByRole('table', { name: 'Your files' });
    await expect.poll(() => table.getByRole('rowheader').allTextContents()).toEqual(['one.bin', 'two.bin']);
    await expect
      .poll(() => page.getByRole('status', { name: 'Usage' }).textContent())
      .toMatch(/^2 files · 1\.3 MiB of .* · deduplication saved 0 bytes$/);
  });

  it("another user's upload of stored bytes is instant: 0 bytes sent, and usage says what it saved", async () => {
    const file = seededFile('shared.bin', 400_000);
    const first = await openApp(newUser());
    await first.getByLabel('Choose files').setInputFiles(file.path);
    expect(await finished(first, 'shared.bin')).toBe('390.6 KiB sent');

    const second = await openApp(newUser());
    const puts = storagePuts(second);
    await second.getByLabel('Choose files').setInputFiles(file.path);
    expect(await finished(second, 'shared.bin')).toBe('0 bytes sent, storage already had it');
    expect(puts).toEqual([]);
    await expect
      .poll(() => second.getByRole('status', { name: 'Usage' }).textContent())
      .toMatch(/^1 file · 390\.6 KiB of .* · deduplication saved 390\.6 KiB$/);
  });

  it('a file larger than one block goes as a multipart upload, part by part', async () => {
    const page = await openApp(newUser());
    const puts = storagePuts(page);
    const big = seededFile('big.bin', 8 * MiB + 1024);
    await page.getByLabel('Choose files').setInputFiles(big.path);
    expect(await finished(page, 'big.bin')).toBe('8.0 MiB sent');
    expect(puts.map((url) => new URL(url).searchParams.get('partNumber')).sort()).toEqual(['1', '2']);
    expect(await objectKeys(`blobs/${hashBuffer(big.bytes).contentId}`)).toHaveLength(1);
  });

  it('an upload interrupted by a page reload resumes when the file is picked again: only the missing part is sent', async () => {
    const page = await openApp(newUser());
    const file = seededFile('resumed.bin', 8 * MiB + 1 * MiB);
    // Storage never answers part 2, so the reload interrupts the upload with part 1 stored.
    const part2 = (url: URL) => url.origin === new URL(stack.s3Endpoint).origin && url.searchParams.get('partNumber') === '2';
    await page.route(part2, () => undefined);
    await page.getByLabel('Choose files').setInputFiles(file.path);
    await uploadRow(page, 'resumed.bin').getByText('parts 1/2').waitFor({ timeout: 30_000 });
    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor();
    // Only now: a held request let go before the reload would store part 2 after all.
    await page.unroute(part2);

    // Still signed in (the session lives in this tab), and the upload is listed as in progress.
    const listed = page.getByRole('table', { name: 'Your files' }).getByRole('rowheader', { name: /^resumed\.bin/ });
    await expect.poll(() => listed.locator('.state').textContent()).toBe('uploading');
    const puts = storagePuts(page);
    await page.getByLabel('Choose files').setInputFiles(file.path);
    expect(await finished(page, 'resumed.bin')).toBe('1.0 MiB sent, 8.0 MiB already stored (resumed)');
    expect(puts.map((url) => new URL(url).searchParams.get('partNumber'))).toEqual(['2']);
  });

  it('Cancel stops an upload in progress and cancels it on the server', async () => {
    const page = await openApp(newUser());
    const cancels: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'DELETE' && request.url().startsWith(`${stack.endpoint}/v1/uploads/`)) cancels.push(request.url());
    });
    const file = seededFile('cancelled.bin', 8 * MiB + 100);
    const part2 = (url: URL) => url.searchParams.get('partNumber') === '2';
    await page.route(part2, () => undefined);
    await page.getByLabel('Choose files').setInputFiles(file.path);
    const row = uploadRow(page, 'cancelled.bin');
    await row.getByText('parts 1/2').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Cancel cancelled.bin' }).click();
    await row.locator('.phase[data-phase="cancelled"]').waitFor();
    expect(await row.locator('.detail').textContent()).toBe('cancelled');
    await expect.poll(() => cancels.length).toBe(1);
    await expect(page.getByRole('button', { name: 'Cancel cancelled.bin' }).count()).resolves.toBe(0);
  });

  it('Download saves the bytes byte for byte, after checking them against the content id', async () => {
    const page = await openApp(newUser());
    const file = seededFile('round-trip.bin', 8 * MiB + 4099);
    await page.getByLabel('Choose files').setInputFiles(file.path);
    await finished(page, 'round-trip.bin');
    const saving = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download round-trip.bin' }).click();
    const download = await saving;
    expect(download.suggestedFilename()).toBe('round-trip.bin');
    expect(readFileSync(await download.path()).equals(file.bytes)).toBe(true);
  });

  it('renames (and replaces a taken name when confirmed), then deletes', async () => {
    const user = newUser();
    const page = await openApp(user);
    await page.getByLabel('Choose files').setInputFiles([seededFile('draft.txt', 1000).path, seededFile('other.txt', 2000).path]);
    await finished(page, 'draft.txt');
    await finished(page, 'other.txt');
    const names = () => page.getByRole('table', { name: 'Your files' }).getByRole('rowheader').allTextContents();
    await expect.poll(names).toEqual(['draft.txt', 'other.txt']);

    await page.getByRole('button', { name: 'Rename draft.txt' }).click();
    await page.getByLabel('New name for draft.txt').fill('docs/final.txt');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(names).toEqual(['docs/final.txt', 'other.txt']);

    // other.txt onto the taken name: the app asks, the test answers yes, the file is replaced.
    await page.getByRole('button', { name: 'Rename other.txt' }).click();
    await page.getByLabel('New name for other.txt').fill('docs/final.txt');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(names).toEqual(['docs/final.txt']);
    expect((await clientFor(user).listFiles()).files.map((file) => [file.name, file.size])).toEqual([['docs/final.txt', 2000]]);

    await page.getByRole('button', { name: 'Delete docs/final.txt' }).click();
    await page.getByText('No files yet.').waitFor();
    expect((await clientFor(user).listFiles()).files).toEqual([]);
    await expect.poll(() => page.getByRole('status', { name: 'Usage' }).textContent()).toMatch(/^0 files · 0 bytes of /);
  });

  it('signs in with a pasted ID token, and signs out when the API refuses it', async () => {
    const user = newUser();
    const page = await openApp();
    await page.getByLabel('ID token').fill(await token(user));
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.getByText(`Signed in as ${user}`).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    const shortLived = await mintToken(stack.signingKey, user, { ttlSeconds: 1 });
    await new Promise((done) => setTimeout(done, 1500));
    await page.getByLabel('ID token').fill(shortLived);
    await page.getByRole('button', { name: 'Use this token' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Your sign-in expired or was refused: sign in again.');
    expect(await page.getByRole('button', { name: 'Dev sign-in' }).isVisible()).toBe(true);
  });

  it('signs in with a Cognito user pool (USER_PASSWORD_AUTH), answering the new-password challenge', async () => {
    const user = newUser('carol');
    const calls: { target: string; type: string; body: Record<string, unknown> }[] = [];
    // A stand-in for Cognito's API: it answers as the AWS documentation shows, and CORS as AWS does.
    const cognito = createServer(async (request, response) => {
      const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type,x-amz-target' };
      if (request.method === 'OPTIONS') return response.writeHead(204, cors).end();
      let text = '';
      for await (const chunk of request) text += chunk;
      const body = JSON.parse(text) as Record<string, unknown> & { AuthParameters?: { PASSWORD?: string } };
      const target = String(request.headers['x-amz-target']);
      calls.push({ target, type: String(request.headers['content-type']), body });
      const answer = (status: number, data: unknown) =>
        response.writeHead(status, { ...cors, 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(data));
      if (target.endsWith('.InitiateAuth') && body.AuthParameters?.PASSWORD !== 'correct horse battery') {
        return answer(400, { __type: 'NotAuthorizedException', message: 'Incorrect username or password.' });
      }
      if (target.endsWith('.InitiateAuth')) {
        return answer(200, {
          ChallengeName: 'NEW_PASSWORD_REQUIRED',
          Session: 'session-1',
          ChallengeParameters: { USER_ID_FOR_SRP: user },
        });
      }
      answer(200, { AuthenticationResult: { IdToken: await token(user), RefreshToken: 'refresh-1', ExpiresIn: 3600 } });
    });
    await new Promise<void>((done) => cognito.listen(0, '127.0.0.1', done));
    const endpoint = `http://127.0.0.1:${(cognito.address() as AddressInfo).port}/`;
    const pooled = await startWebServer({
      endpoint: stack.endpoint,
      s3Endpoint: stack.s3Endpoint,
      signingKey: stack.signingKey,
      cognito: { region: 'eu-west-1', clientId: 'client-1', endpoint },
    });
    try {
      const page = await browser.context.newPage();
      await page.goto(pooled.url);
      await page.getByLabel('Email').fill('carol@example.com');
      await page.getByLabel('Password', { exact: true }).fill('wrong');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe('sign-in refused: Incorrect username or password.');

      await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByLabel('New password').fill('a new long passphrase');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByText(`Signed in as ${user}`).waitFor();
      // The API took the pool's ID token.
      await expect.poll(() => page.getByRole('status', { name: 'Usage' }).textContent()).toMatch(/^0 files/);
      expect(calls.map(({ target, type }) => [target, type])).toEqual([
        ['AWSCognitoIdentityProviderService.InitiateAuth', 'application/x-amz-json-1.1'],
        ['AWSCognitoIdentityProviderService.InitiateAuth', 'application/x-amz-json-1.1'],
        ['AWSCognitoIdentityProviderService.RespondToAuthChallenge', 'application/x-amz-json-1.1'],
      ]);
      expect(calls[1]?.body).toEqual({
        AuthFlow: 'USER_PASSWORD_AUTH',
        ClientId: 'client-1',
        AuthParameters: { USERNAME: 'carol@example.com', PASSWORD: 'correct horse battery' },
      });
      expect(calls[2]?.body).toEqual({
        ChallengeName: 'NEW_PASSWORD_REQUIRED',
        ClientId: 'client-1',
        Session: 'session-1',
        ChallengeResponses: { USERNAME: user, NEW_PASSWORD: 'a new long passphrase' },
      });
    } finally {
      await pooled.stop();
      cognito.close();
    }
  });

  it('an image, audio or video file opens inline with its stored type, when the API stores one', async () => {
    const user = newUser();
    const page = await openApp(user);
    // A real PNG: a screenshot of a corner of the page.
    const png = await page.screenshot({ clip: { x: 0, y: 0, width: 40, height: 30 } });
    const path = join(mkdtempSync(join(files, 'png-')), 'corner.png');
    writeFileSync(path, png);
    await page.getByLabel('Choose files').setInputFiles(path);
    await finished(page, 'corner.png');
    const listed = (await clientFor(user).listFiles()).files[0];
    const open = page.getByRole('button', { name: 'Open corner.png' });
    // Once the SDK sends a file's type (it does when the API stores types), the preview must work.
    const sdkSendsTypes = readFileSync(join(WEB_DIST, 'hashdrop.js'), 'utf8').includes('contentType');
    if (!sdkSendsTypes && !(listed && 'contentType' in listed)) {
      // An API without content types: no preview is offered.
      await page.getByRole('button', { name: 'Download corner.png' }).waitFor();
      expect(await open.count()).toBe(0);
      return;
    }
    expect(listed && 'contentType' in listed ? listed.contentType : undefined).toBe('image/png');
    await open.click();
    const image = page.getByRole('img', { name: 'corner.png' });
    await expect.poll(() => image.evaluate((node) => (node as HTMLImageElement).naturalWidth)).toBe(40);
    const response = await fetch((await image.getAttribute('src')) ?? '');
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('content-disposition') ?? 'inline').toMatch(/^inline/);
  });

  it('a screenshot for the README: an instant upload, a multipart one, an image open inline, usage with savings', async () => {
    const page = await openApp('alice');
    const video = seededFile('holiday-video.mp4', 8 * MiB + 300_000);
    // Someone else stored the video already: alice's upload of it is instant.
    const other = await openApp(newUser());
    await other.getByLabel('Choose files').setInputFiles(video.path);
    await finished(other, 'holiday-video.mp4');
    await other.close();
    await page.getByLabel('Choose files').setInputFiles([video.path, seededFile('report.pdf', 9 * MiB).path]);
    // A picture, drawn in the page and dropped on the zone.
    const transfer = await page.evaluateHandle(async () => {
      const canvas = document.createElement('canvas');
      Object.assign(canvas, { width: 320, height: 150 });
      const draw = canvas.getContext('2d');
      if (!draw) throw new Error('no 2d canvas');
      const sky = draw.createLinearGradient(0, 0, 0, 150);
      sky.addColorStop(0, '#1e3a8a');
      sky.addColorStop(1, '#f59e0b');
      draw.fillStyle = sky;
      draw.fillRect(0, 0, 320, 150);
      draw.fillStyle = '#fde68a';
      draw.beginPath();
      draw.arc(160, 112, 34, 0, Math.PI * 2);
      draw.fill();
      draw.fillStyle = '#0f172a';
      draw.fillRect(0, 118, 320, 32);
      const blob = await new Promise<Blob | null>((done) => canvas.toBlob(done, 'image/png'));
      const data = new DataTransfer();
      if (blob) data.items.add(new File([blob], 'sunset.png', { type: 'image/png' }));
      return data;
    });
    await page.locator('#drop').dispatchEvent('drop', { dataTransfer: transfer });
    for (const name of ['holiday-video.mp4', 'report.pdf', 'sunset.png']) await finished(page, name);
    await expect.poll(() => page.getByRole('status', { name: 'Usage' }).textContent()).toMatch(/saved 8\.3 MiB$/);
    const open = page.getByRole('button', { name: 'Open sunset.png' });
    if ((await open.count()) > 0) {
      await open.click();
      await expect
        .poll(() => page.getByRole('img', { name: 'sunset.png' }).evaluate((node) => (node as HTMLImageElement).naturalWidth))
        .toBe(320);
    }
    const shot = await page.screenshot({ fullPage: false });
    // A PNG of the viewport: 1200×800 (width and height are bytes 16-23 of the IHDR chunk).
    expect([shot.readUInt32BE(16), shot.readUInt32BE(20)]).toEqual([1200, 800]);
    writeFileSync(process.env.HASHDROP_SCREENSHOT ? SCREENSHOT : join(files, 'web-app.png'), shot);
  });
});
