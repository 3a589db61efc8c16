/**
 * The hashdrop web app: sign in, drop files, watch each one hash and upload (or complete at once
 * when storage holds its content), and manage your files. Static files only (`npm run build`
 * writes them to dist/web/): the page reads the API's address and the sign-in modes from
 * `config.json` beside it, so the same build runs under `npm start` and on any static host.
 *
 * It imports nothing but the browser SDK bundle copied beside it (`./hashdrop.js`), which does
 * the hashing, the upload protocol, verified downloads and typed errors.
 */
import {
  ApiError,
  type BrowserClient,
  createClient,
  type FileView,
  formatBytes as formatSize,
  type PutResult,
  type UploadProgress,
} from './hashdrop.js';

interface CognitoConfig {
  readonly region: string;
  readonly clientId: string;
  /** Another address for Cognito's API (tests, a VPC endpoint). @default https://cognito-idp.<region>.amazonaws.com/ */
  readonly endpoint?: string;
}

/** `config.json`: see README, "Web app". */
interface AppConfig {
  readonly endpoint: string;
  /** The local runner's dev sign-in (`POST {user}` → `{token}`); never in a deployment. */
  readonly devSignIn?: string;
  /** Sign in with a Cognito user pool's USER_PASSWORD_AUTH flow. */
  readonly cognito?: CognitoConfig;
}

type FileDownload = Awaited<ReturnType<BrowserClient['api']['getFile']>>;

/** What the page keeps across a reload (in this tab only), so that an interrupted upload can be picked again. */
interface Session {
  readonly idToken: string;
  readonly refreshToken?: string;
}

/** A Cognito answer to InitiateAuth or RespondToAuthChallenge (the fields used here). */
interface CognitoAnswer {
  readonly AuthenticationResult?: { readonly IdToken?: string; readonly RefreshToken?: string };
  readonly ChallengeName?: string;
  readonly Session?: string;
  readonly ChallengeParameters?: Record<string, string>;
}

const SESSION_KEY = 'hashdrop.session';
/** Uploads run two at a time: each hashes on every core already, and a small file need not wait behind a large one. */
const PARALLEL_UPLOADS = 2;
/** Types the API serves inline (its allowlist); images, audio and video are also shown in the page. */
const INLINE = /^(image\/(?!svg)|audio\/|video\/|application\/pdf$|text\/plain$)/;

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html has no #${id}`);
  return found as T;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) if (value !== undefined) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** Sizes as the CLI prints them, with whole bytes in words ("0 bytes sent"). */
function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}` : formatSize(bytes);
}

// ---------------------------------------------------------------------------------------------
// Configuration and sign-in

function parseConfig(value: unknown): AppConfig {
  if (typeof value !== 'object' || value === null) throw new Error('config.json is not a JSON object');
  const { endpoint, devSignIn, cognito } = value as Record<string, unknown>;
  if (typeof endpoint !== 'string' || !/^https?:\/\//.test(endpoint))
    throw new Error('config.json needs "endpoint": the API\'s URL');
  if (devSignIn !== undefined && typeof devSignIn !== 'string') throw new Error('config.json: "devSignIn" must be a URL');
  let pool: CognitoConfig | undefined;
  if (cognito !== undefined) {
    const { region, clientId, endpoint: cognitoEndpoint } = (cognito ?? {}) as Record<string, unknown>;
    if (typeof region !== 'string' || typeof clientId !== 'string')
      throw new Error('config.json: "cognito" needs "region" and "clientId"');
    pool = { region, clientId, ...(typeof cognitoEndpoint === 'string' ? { endpoint: cognitoEndpoint } : {}) };
  }
  return { endpoint, ...(devSignIn ? { devSignIn } : {}), ...(pool ? { cognito: pool } : {}) };
}

async function loadConfig(): Promise<AppConfig> {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok)
    throw new Error(`config.json: HTTP ${response.status} (see README, "Web app": the host serves it beside index.html)`);
  return parseConfig(await response.json());
}

/** The token's claims, for display and expiry only: the API verifies it. */
function claimsOf(token: string): { sub?: string; exp?: number; email?: string } | undefined {
  try {
    const payload = token.split('.')[1] ?? '';
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (char) => char.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === 'object' && claims !== null ? claims : undefined;
  } catch {
    return undefined;
  }
}

function loadSession(): Session | undefined {
  try {
    const stored: unknown = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
    if (typeof stored !== 'object' || stored === null || !('idToken' in stored) || typeof stored.idToken !== 'string')
      return undefined;
    const refreshToken = 'refreshToken' in stored && typeof stored.refreshToken === 'string' ? stored.refreshToken : undefined;
    return { idToken: stored.idToken, ...(refreshToken ? { refreshToken } : {}) };
  } catch {
    return undefined;
  }
}

/** Cognito's API, called as its own SDK does: a JSON POST naming the operation in `X-Amz-Target`. */
async function cognitoCall(pool: CognitoConfig, operation: string, body: object): Promise<CognitoAnswer> {
  const response = await fetch(pool.endpoint ?? `https://cognito-idp.${pool.region}.amazonaws.com/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityProviderService.${operation}` },
    body: JSON.stringify(body),
  });
  const data: unknown = await response.json().catch(() => undefined);
  const answer = (typeof data === 'object' && data !== null ? data : {}) as CognitoAnswer & { message?: string; __type?: string };
  if (!response.ok) throw new Error(`sign-in refused: ${answer.message ?? answer.__type ?? `HTTP ${response.status}`}`);
  return answer;
}

// ---------------------------------------------------------------------------------------------
// The page

const ui = {
  message: byId<HTMLParagraphElement>('message'),
  who: byId<HTMLParagraphElement>('who'),
  whoName: byId<HTMLElement>('who-name'),
  signIn: byId<HTMLElement>('sign-in'),
  devForm: byId<HTMLFormElement>('dev-form'),
  cognitoForm: byId<HTMLFormElement>('cognito-form'),
  challengeForm: byId<HTMLFormElement>('challenge-form'),
  challengeLabel: byId<HTMLElement>('challenge-label'),
  tokenForm: byId<HTMLFormElement>('token-form'),
  app: byId<HTMLElement>('app'),
  drop: byId<HTMLElement>('drop'),
  pick: byId<HTMLInputElement>('pick'),
  uploads: byId<HTMLUListElement>('uploads'),
  usage: byId<HTMLParagraphElement>('usage'),
  files: byId<HTMLTableElement>('files'),
  empty: byId<HTMLParagraphElement>('empty'),
  more: byId<HTMLButtonElement>('more'),
  preview: byId<HTMLElement>('preview'),
  previewBody: byId<HTMLElement>('preview-body'),
};

function say(text: string | undefined): void {
  ui.message.textContent = text ?? '';
  ui.message.hidden = !text;
}

/** What went wrong, in words: the API's stable code and message, or the SDK's. */
function describe(error: unknown): string {
  if (error instanceof DOMException && error.name === 'AbortError') return 'cancelled';
  if (error instanceof ApiError) return `${error.message}`;
  if (error instanceof TypeError) return `network error (${error.message})`;
  return error instanceof Error ? error.message : String(error);
}

let config: AppConfig | undefined;
let client: BrowserClient | undefined;
let challenge: { name: string; session: string; username: string } | undefined;

async function freshToken(): Promise<string> {
  const session = loadSession();
  if (!session) throw new ApiError(401, 'unauthenticated', 'signed out');
  const expires = (claimsOf(session.idToken)?.exp ?? Number.POSITIVE_INFINITY) * 1000;
  // Cognito's ID tokens last an hour: renew one a minute before it runs out, while uploads go on.
  if (config?.cognito && session.refreshToken && expires - Date.now() < 60_000) {
    const answer = await cognitoCall(config.cognito, 'InitiateAuth', {
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      ClientId: config.cognito.clientId,
      AuthParameters: { REFRESH_TOKEN: session.refreshToken },
    });
    const idToken = answer.AuthenticationResult?.IdToken;
    if (idToken) {
      sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...session, idToken }));
      return idToken;
    }
  }
  return session.idToken;
}

function signedIn(session: Session): void {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  const claims = claimsOf(session.idToken);
  ui.whoName.textContent = claims?.email ?? claims?.sub ?? 'unknown user';
  if (!config) return;
  client = createClient({ endpoint: config.endpoint, token: freshToken });
  ui.signIn.hidden = true;
  ui.who.hidden = false;
  ui.app.hidden = false;
  say(undefined);
  void refresh();
}

function signOut(reason?: string): void {
  sessionStorage.removeItem(SESSION_KEY);
  client = undefined;
  challenge = undefined;
  ui.app.hidden = true;
  ui.who.hidden = true;
  ui.signIn.hidden = false;
  ui.challengeForm.hidden = true;
  ui.uploads.replaceChildren();
  say(reason);
}

/** A refused token ends the session; anything else is reported. */
function failed(error: unknown): void {
  if (error instanceof ApiError && error.status === 401) signOut('Your sign-in expired or was refused: sign in again.');
  else say(describe(error));
}

function field(form: HTMLFormElement, name: string): string {
  const value = new FormData(form).get(name);
  return typeof value === 'string' ? value.trim() : '';
}

async function devSignIn(url: string, user: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  const data: unknown = await response.json().catch(() => undefined);
  const token =
    typeof data === 'object' && data !== null && 'token' in data && typeof data.token === 'string' ? data.token : undefined;
  if (!response.ok || !token) throw new Error(`dev sign-in refused (HTTP ${response.status})`);
  signedIn({ idToken: token });
}

/** The answer to a Cognito sign-in step: tokens, or the next challenge this page can answer. */
function cognitoStep(answer: CognitoAnswer, username: string): void {
  const result = answer.AuthenticationResult;
  if (result?.IdToken) {
    challenge = undefined;
    ui.challengeForm.hidden = true;
    signedIn({ idToken: result.IdToken, ...(result.RefreshToken ? { refreshToken: result.RefreshToken } : {}) });
    return;
  }
  const labels: Record<string, string> = { NEW_PASSWORD_REQUIRED: 'New password', SOFTWARE_TOKEN_MFA: 'Authenticator code' };
  const label = labels[answer.ChallengeName ?? ''];
  if (!label || !answer.Session)
    throw new Error(`Cognito asks for ${answer.ChallengeName ?? 'a step'} this page does not support: paste an ID token`);
  // Signing in by email, the challenge names the pool's own user name.
  challenge = {
    name: answer.ChallengeName ?? '',
    session: answer.Session,
    username: answer.ChallengeParameters?.USER_ID_FOR_SRP ?? username,
  };
  ui.challengeLabel.textContent = label;
  const input = ui.challengeForm.elements.namedItem('answer');
  if (input instanceof HTMLInputElement) input.type = label === 'New password' ? 'password' : 'text';
  ui.challengeForm.hidden = false;
  say(label === 'New password' ? 'Choose a new password to finish signing in.' : 'Enter the code from your authenticator app.');
}

function wireSignIn(current: AppConfig): void {
  const submit = (form: HTMLFormElement, action: () => Promise<void>) =>
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      action().catch((error: unknown) => say(describe(error)));
    });
  const { devSignIn: devUrl, cognito: pool } = current;
  ui.devForm.hidden = !devUrl;
  ui.cognitoForm.hidden = !pool;
  if (devUrl) submit(ui.devForm, () => devSignIn(new URL(devUrl, location.href).href, field(ui.devForm, 'user')));
  if (pool) {
    submit(ui.cognitoForm, async () => {
      const username = field(ui.cognitoForm, 'username');
      const answer = await cognitoCall(pool, 'InitiateAuth', {
        AuthFlow: 'USER_PASSWORD_AUTH',
        ClientId: pool.clientId,
        AuthParameters: { USERNAME: username, PASSWORD: new FormData(ui.cognitoForm).get('password') },
      });
      cognitoStep(answer, username);
    });
    submit(ui.challengeForm, async () => {
      if (!challenge) return;
      const key = challenge.name === 'NEW_PASSWORD_REQUIRED' ? 'NEW_PASSWORD' : 'SOFTWARE_TOKEN_MFA_CODE';
      const answer = await cognitoCall(pool, 'RespondToAuthChallenge', {
        ChallengeName: challenge.name,
        ClientId: pool.clientId,
        Session: challenge.session,
        ChallengeResponses: { USERNAME: challenge.username, [key]: field(ui.challengeForm, 'answer') },
      });
      cognitoStep(answer, challenge.username);
    });
  }
  submit(ui.tokenForm, async () => {
    const token = field(ui.tokenForm, 'token').replace(/^Bearer\s+/i, '');
    if (!claimsOf(token)?.sub) throw new Error('that is not a JWT with a "sub" claim: paste the ID token');
    signedIn({ idToken: token });
  });
  document.getElementById('sign-out')?.addEventListener('click', () => signOut());
}

// ---------------------------------------------------------------------------------------------
// Uploads

interface UploadRow {
  readonly file: File;
  readonly controller: AbortController;
  readonly phase: HTMLElement;
  readonly bar: HTMLProgressElement;
  readonly detail: HTMLElement;
  readonly cancel: HTMLButtonElement;
  /** Bytes storage held when the upload resumed. */
  resumed: number;
}

const queue: UploadRow[] = [];
let running = 0;

function setPhase(row: UploadRow, phase: string, detail: string, fraction?: number): void {
  row.phase.textContent = phase;
  row.phase.dataset.phase = phase;
  row.detail.textContent = detail;
  // No value: an indeterminate bar (waiting for another client's upload of the same content).
  if (fraction === undefined) row.bar.removeAttribute('value');
  else row.bar.value = Math.min(1, fraction);
}

function showProgress(row: UploadRow, progress: UploadProgress): void {
  const size = Math.max(progress.size, 1);
  if (progress.phase === 'hashing') {
    setPhase(
      row,
      'hashing',
      `hashed ${formatBytes(progress.bytesHashed)} of ${formatBytes(progress.size)}`,
      progress.bytesHashed / size,
    );
  } else if (progress.phase === 'waiting') {
    setPhase(row, 'waiting', 'another upload of the same content is under way');
  } else {
    row.resumed = progress.bytesResumed;
    const stored = progress.bytesResumed + progress.bytesSent;
    const resumed = progress.bytesResumed > 0 ? `, ${formatBytes(progress.bytesResumed)} already stored` : '';
    const parts = progress.partCount > 1 ? ` · parts ${progress.partsDone}/${progress.partCount}` : '';
    setPhase(row, 'uploading', `sent ${formatBytes(progress.bytesSent)}${resumed}${parts}`, stored / size);
  }
}

function showResult(row: UploadRow, result: PutResult): void {
  const how = result.deduplicated
    ? '0 bytes sent, storage already had it'
    : `${formatBytes(result.bytesSent)} sent${row.resumed > 0 ? `, ${formatBytes(row.resumed)} already stored (resumed)` : ''}`;
  setPhase(row, result.state === 'COMPLETE' ? 'done' : result.state.toLowerCase(), how, 1);
}

async function runUpload(row: UploadRow, current: BrowserClient): Promise<void> {
  try {
    const result = await current.put(row.file, {
      name: row.file.name,
      signal: row.controller.signal,
      onProgress: (progress) => showProgress(row, progress),
    });
    showResult(row, result);
  } catch (error) {
    setPhase(row, row.controller.signal.aborted ? 'cancelled' : 'failed', describe(error), 0);
    if (error instanceof ApiError && error.status === 401) failed(error);
  } finally {
    row.cancel.remove();
  }
}

function pump(): void {
  while (running < PARALLEL_UPLOADS && queue.length > 0 && client) {
    const row = queue.shift();
    if (!row) break;
    running++;
    void runUpload(row, client).finally(() => {
      running--;
      pump();
      void refresh();
    });
  }
}

function addUploads(files: readonly File[]): void {
  for (const file of files) {
    const name = file.name;
    const bar = el('progress', { max: '1', value: '0', 'aria-label': `Progress of ${name}` });
    const cancel = el('button', { type: 'button', 'aria-label': `Cancel ${name}` }, 'Cancel');
    const phase = el('span', { class: 'phase' }, 'queued');
    const detail = el('span', { class: 'detail' });
    const item = el('li', { 'aria-label': `Upload of ${name}` });
    item.append(
      el('span', { class: 'name' }, name),
      el('span', { class: 'size' }, formatBytes(file.size)),
      phase,
      bar,
      detail,
      cancel,
    );
    const row: UploadRow = { file, controller: new AbortController(), phase, bar, detail, cancel, resumed: 0 };
    cancel.addEventListener('click', () => {
      row.controller.abort();
      // Not started yet: it never will. Started: the SDK stops it and cancels it on the server.
      const waiting = queue.indexOf(row);
      if (waiting >= 0) {
        queue.splice(waiting, 1);
        setPhase(row, 'cancelled', '', 0);
        cancel.remove();
      }
    });
    ui.uploads.prepend(item);
    queue.push(row);
  }
  pump();
}

/** Dropped folders arrive as unreadable entries: only files are uploaded. */
function droppedFiles(transfer: DataTransfer): File[] {
  const files: File[] = [];
  let folders = 0;
  for (const item of Array.from(transfer.items)) {
    if (item.kind !== 'file') continue;
    if (item.webkitGetAsEntry?.()?.isDirectory) folders++;
    else {
      const file = item.getAsFile();
      if (file) files.push(file);
    }
  }
  if (folders > 0) say('Folders are not uploaded: drop the files in them.');
  return files;
}

function wireUploads(): void {
  // A file dropped beside the zone would make the browser open it and leave the page.
  for (const type of ['dragover', 'drop']) window.addEventListener(type, (event) => event.preventDefault());
  ui.drop.addEventListener('dragover', () => ui.drop.classList.add('over'));
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', (event) => {
    ui.drop.classList.remove('over');
    if (event.dataTransfer) addUploads(droppedFiles(event.dataTransfer));
  });
  ui.pick.addEventListener('change', () => {
    addUploads(Array.from(ui.pick.files ?? []));
    ui.pick.value = '';
  });
}

// ---------------------------------------------------------------------------------------------
// Files

let cursor: string | undefined;

/** The stored type, once the API reports one (older deployments do not: no preview then). */
function contentTypeOf(file: FileView): string | undefined {
  return 'contentType' in file && typeof file.contentType === 'string' ? file.contentType : undefined;
}

/** `getFile` with the download's disposition (the SDK takes it as a second argument; an older one ignores it). */
function inlineDownload(current: BrowserClient, name: string): Promise<FileDownload> {
  const getFile: (name: string, options: { disposition: 'inline' }) => Promise<FileDownload> = current.api.getFile.bind(
    current.api,
  );
  return getFile(name, { disposition: 'inline' });
}

async function open(file: FileView, type: string): Promise<void> {
  if (!client) return;
  const { download } = await inlineDownload(client, file.name);
  const media = type.startsWith('image/')
    ? el('img', { src: download.url, alt: file.name })
    : type.startsWith('audio/') || type.startsWith('video/')
      ? el(type.startsWith('audio/') ? 'audio' : 'video', { src: download.url, controls: '', 'aria-label': file.name })
      : undefined;
  const link = el('a', { href: download.url, target: '_blank', rel: 'noopener' }, `Open ${file.name} in a new tab`);
  ui.previewBody.replaceChildren(...(media ? [media] : []), el('p', {}, link));
  ui.preview.hidden = false;
  ui.preview.scrollIntoView({ block: 'nearest' });
}

/** Downloads the bytes, checks them against the content id, and only then saves them. */
async function download(file: FileView, button: HTMLButtonElement): Promise<void> {
  if (!client) return;
  button.disabled = true;
  button.textContent = 'Verifying…';
  try {
    const blob = await client.get(file.name);
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: file.name.split('/').pop() ?? file.name });
    document.body.append(link);
    link.click();
    link.remove();
    // The browser reads the blob when the download starts; keep it a while for slow disks.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } finally {
    button.disabled = false;
    button.textContent = 'Download';
  }
}

async function rename(from: string, to: string): Promise<void> {
  if (!client || !to || to === from) return;
  try {
    await client.rename(from, to);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'file_exists')) throw error;
    if (!confirm(`${to} exists. Replace it with ${from}?`)) return;
    await client.rename(from, to, { overwrite: true });
  }
  await refresh();
}

function renameForm(file: FileView, cell: HTMLElement): void {
  const input = el('input', { name: 'to', value: file.name, 'aria-label': `New name for ${file.name}`, required: '' });
  const form = el('form', { class: 'rename' }, input, el('button', { type: 'submit' }, 'Save'));
  const cancel = el('button', { type: 'button' }, 'Cancel');
  const before = Array.from(cell.childNodes);
  cancel.addEventListener('click', () => cell.replaceChildren(...before));
  form.append(cancel);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    rename(file.name, input.value.trim()).catch((error: unknown) => {
      failed(error);
      cell.replaceChildren(...before);
    });
  });
  cell.replaceChildren(form);
  input.focus();
  input.select();
}

function action(label: string, text: string, run: (button: HTMLButtonElement) => Promise<void>): HTMLButtonElement {
  const button = el('button', { type: 'button', 'aria-label': label }, text);
  button.addEventListener('click', () => {
    run(button).catch(failed);
  });
  return button;
}

function fileRow(file: FileView): HTMLTableRowElement {
  const state =
    file.state === 'COMPLETE'
      ? []
      : [
          el(
            'span',
            { class: `state ${file.state.toLowerCase()}` },
            file.state === 'PENDING' ? 'uploading' : `failed${file.failure ? `: ${file.failure}` : ''}`,
          ),
        ];
  const nameCell = el('th', { scope: 'row' }, el('span', { class: 'file-name' }, file.name), ...state);
  const type = contentTypeOf(file);
  const actions = el('td', { class: 'actions' });
  if (file.state === 'COMPLETE') {
    if (type && INLINE.test(type)) actions.append(action(`Open ${file.name}`, 'Open', () => open(file, type)));
    actions.append(action(`Download ${file.name}`, 'Download', (button) => download(file, button)));
  }
  actions.append(
    action(`Rename ${file.name}`, 'Rename', async () => renameForm(file, nameCell)),
    action(`Delete ${file.name}`, 'Delete', async () => {
      if (!client || !confirm(`Delete ${file.name}?`)) return;
      await client.remove(file.name);
      await refresh();
    }),
  );
  const modified = new Date(file.updatedAt);
  return el(
    'tr',
    {},
    nameCell,
    el('td', { class: 'num' }, formatBytes(file.size)),
    el('td', {}, el('time', { datetime: file.updatedAt }, modified.toLocaleString())),
    actions,
  );
}

async function showFiles(current: BrowserClient, more: boolean): Promise<void> {
  const listing = await current.list(more && cursor ? { cursor } : {});
  const body = ui.files.tBodies[0] ?? ui.files.createTBody();
  const rows = listing.files.map(fileRow);
  if (more) body.append(...rows);
  else body.replaceChildren(...rows);
  cursor = listing.cursor;
  ui.more.hidden = cursor === undefined;
  ui.empty.hidden = body.rows.length > 0;
  ui.files.hidden = body.rows.length === 0;
}

async function showUsage(current: BrowserClient): Promise<void> {
  const usage = await current.usage();
  const files = `${usage.files} ${usage.files === 1 ? 'file' : 'files'}`;
  ui.usage.textContent = `${files} · ${formatBytes(usage.bytes)} of ${formatBytes(usage.quotaBytes)} · deduplication saved ${formatBytes(usage.savedBytes)}`;
}

async function refresh(): Promise<void> {
  const current = client;
  if (!current) return;
  await Promise.all([showFiles(current, false), showUsage(current)]).catch(failed);
}

function wireFiles(): void {
  ui.more.addEventListener('click', () => {
    if (client) showFiles(client, true).catch(failed);
  });
  document.getElementById('preview-close')?.addEventListener('click', () => {
    ui.previewBody.replaceChildren();
    ui.preview.hidden = true;
  });
}

// ---------------------------------------------------------------------------------------------

try {
  config = await loadConfig();
  wireSignIn(config);
  wireUploads();
  wireFiles();
  const session = loadSession();
  if (session) signedIn(session);
  else signOut();
} catch (error) {
  say(describe(error));
}
document.body.dataset.ready = 'true';
