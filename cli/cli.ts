/**
 * `hashdrop`: the command line on top of the SDK.
 *
 *   hashdrop put <file> [--as <name>]     upload (instant when storage has the content)
 *   hashdrop get <name> [-o <path>]       download and verify
 *   hashdrop ls [--prefix <p>]            list your files
 *   hashdrop mv <name> <new-name> [--force]
 *   hashdrop rm <name>
 *   hashdrop usage
 *   hashdrop hash <file>                  print the content id
 *   hashdrop token <user>                 mint a dev token for the local stack
 *
 * Common flags: --endpoint, --token, --user (dev tokens), --json.
 */
import { parseArgs } from 'node:util';
import { ConnectionError, devToken, findLocalConfig, resolveConnection } from '#cli/connection';
import { ApiError, HashdropClient } from '#sdk/api';
import { getFile } from '#sdk/download';
import { hashFile } from '#sdk/files';
import { putFile, UploadFailedError } from '#sdk/upload';
import { formatBytes, progressPrinter } from './progress.ts';

const USAGE = `usage: hashdrop <command> [options]

commands:
  put <file> [--as <name>] [--concurrency <n>]
                              upload a file; instant when storage already holds its content;
                              run it again after an interruption and it resumes
  get <name> [-o <path>]      download a file and check its bytes against its content id;
                              run it again after an interruption and it resumes
  ls [--prefix <p>]           list your files
  mv <name> <new-name> [--force]
                              rename a file (--force: replace a file under the new name)
  rm <name>                   delete a file
  usage                       your files, bytes, quota, and bytes deduplication spared you
  hash <file>                 print a file's content id (tree SHA-256) and size
  token <user>                print a dev token for the local stack (sub=<user>)

options:
  --endpoint <url>   API endpoint (else HASHDROP_ENDPOINT, else .hashdrop/local.json)
  --token <jwt>      bearer token (else HASHDROP_TOKEN, else a dev token for --user)
  --user <id>        user of the dev token (else HASHDROP_USER, else "dev")
  --json             print one JSON object per result
  --quiet            print nothing but errors (no progress)`;

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    as: { type: 'string' },
    concurrency: { type: 'string' },
    output: { type: 'string', short: 'o' },
    prefix: { type: 'string' },
    endpoint: { type: 'string' },
    token: { type: 'string' },
    user: { type: 'string' },
    json: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    force: { type: 'boolean', short: 'f', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

class UsageError extends Error {}

function print(human: string, data: unknown): void {
  if (flags.json) console.log(JSON.stringify(data));
  else if (!flags.quiet) console.log(human);
}

/** The command's `index`th operand (after the command's name), which the command cannot do without. */
function operand(operands: readonly string[], index: number, what: string): string {
  const value = operands[index];
  if (!value) throw new UsageError(`missing ${what}\n\n${USAGE}`);
  return value;
}

function client(): HashdropClient {
  const connection = resolveConnection({ endpoint: flags.endpoint, token: flags.token, user: flags.user });
  let cached: Promise<string> | undefined;
  return new HashdropClient({ endpoint: connection.endpoint, token: () => (cached ??= connection.token()) });
}

async function put(operands: readonly string[]): Promise<void> {
  const path = operand(operands, 0, '<file>');
  const started = Date.now();
  // Progress goes to stderr, so that --json output on stdout stays one object per result.
  const progress = flags.quiet ? undefined : progressPrinter(process.stderr);
  const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new UsageError('--concurrency takes a positive whole number');
  }
  const result = await putFile(client(), path, {
    ...(flags.as ? { name: flags.as } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
  }).finally(() => progress?.end());
  const how = result.deduplicated
    ? 'instant: storage already had this content, 0 bytes sent'
    : `uploaded ${formatBytes(result.bytesSent)}`;
  print(
    `${result.name}  ${formatBytes(result.size)}  ${result.state.toLowerCase()}  (${how}, ${Date.now() - started} ms)`,
    result,
  );
}

async function get(operands: readonly string[]): Promise<void> {
  const name = operand(operands, 0, '<name>');
  const out = flags.output ?? name.slice(name.lastIndexOf('/') + 1);
  const result = await getFile(client(), name, out);
  const resumed =
    result.bytesReceived < result.size ? `, resumed: ${formatBytes(result.size - result.bytesReceived)} were here` : '';
  print(`${result.name} -> ${result.path}  ${formatBytes(result.size)}  (verified${resumed})`, result);
}

async function move(operands: readonly string[]): Promise<void> {
  const name = operand(operands, 0, '<name>');
  const newName = operand(operands, 1, '<new-name>');
  const file = await client().renameFile(name, newName, { overwrite: flags.force });
  print(`${name} -> ${file.name}`, file);
}

async function remove(operands: readonly string[]): Promise<void> {
  const name = operand(operands, 0, '<name>');
  await client().deleteFile(name);
  print(`deleted ${name}`, { deleted: name });
}

async function showUsage(): Promise<void> {
  const usage = await client().usage();
  const share = usage.quotaBytes > 0 ? ((usage.bytes / usage.quotaBytes) * 100).toFixed(1) : '0';
  print(
    `${usage.files} files, ${formatBytes(usage.bytes)} of ${formatBytes(usage.quotaBytes)} (${share}%); ` +
      `deduplication spared you sending ${formatBytes(usage.savedBytes)}`,
    usage,
  );
}

async function list(): Promise<void> {
  const api = client();
  const files = [];
  let cursor: string | undefined;
  do {
    const page = await api.listFiles({ ...(flags.prefix ? { prefix: flags.prefix } : {}), ...(cursor ? { cursor } : {}) });
    files.push(...page.files);
    cursor = page.cursor;
  } while (cursor);
  if (flags.json) {
    for (const file of files) console.log(JSON.stringify(file));
  } else if (!flags.quiet) {
    if (files.length > 0) console.log(`${'modified'.padEnd(24)}  ${'size'.padStart(10)}  ${'state'.padEnd(8)}  name`);
    for (const file of files) {
      console.log(
        `${file.updatedAt}  ${formatBytes(file.size).padStart(10)}  ${file.state.toLowerCase().padEnd(8)}  ${file.name}`,
      );
    }
    if (files.length === 0) console.log('(no files)');
  }
}

async function hash(operands: readonly string[]): Promise<void> {
  const path = operand(operands, 0, '<file>');
  const tree = await hashFile(path);
  print(`${tree.contentId}  ${tree.size}  ${path}`, {
    path,
    size: tree.size,
    contentId: tree.contentId,
    blocks: tree.blockDigests.length,
  });
}

async function printDevToken(operands: readonly string[]): Promise<void> {
  const user = operand(operands, 0, '<user>');
  const local = findLocalConfig();
  if (!local) throw new ConnectionError('no local stack found (.hashdrop/local.json): run `npm start` first');
  const token = await devToken(local, user);
  if (flags.json) console.log(JSON.stringify({ user, token }));
  else console.log(token);
}

/** Each command with the words that follow its name on the command line. */
const COMMANDS = new Map<string, (operands: readonly string[]) => Promise<void>>([
  ['put', put],
  ['get', get],
  ['ls', list],
  ['mv', move],
  ['rm', remove],
  ['usage', showUsage],
  ['hash', hash],
  ['token', printDevToken],
]);

async function run([name, ...operands]: readonly string[]): Promise<void> {
  const command = name === undefined ? undefined : COMMANDS.get(name);
  if (command) return command(operands);
  if (flags.help || !name) {
    console.log(USAGE);
    return;
  }
  throw new UsageError(`unknown command "${name}"\n\n${USAGE}`);
}

/** The stable code of a failure, as --json prints it; `usage` exits with 2, the others with 1. */
function errorCode(error: unknown): string {
  if (error instanceof ApiError || error instanceof UploadFailedError) return error.code;
  if (error instanceof UsageError) return 'usage';
  if (error instanceof ConnectionError) return 'no_connection';
  return 'error';
}

try {
  await run(positionals);
} catch (error) {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (flags.json) console.error(JSON.stringify({ error: { code, message } }));
  else console.error(`hashdrop: ${message}`);
  process.exitCode = code === 'usage' ? 2 : 1;
}
