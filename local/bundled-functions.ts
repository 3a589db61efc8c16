/**
 * The deployed artifact, run locally: `cdk synth` bundles every function with esbuild exactly as
 * `cdk deploy` ships it; each bundle then runs in a worker thread of its own with the environment
 * its Lambda function would get, so a module left out of a bundle, a dynamic import it cannot
 * resolve, a wrong output format or a variable the stack forgets to set fails a test.
 *
 * What this leaves untested: the functions run on nodejs24.x in AWS and on this machine's Node
 * here (the README says which version), and on x86_64 rather than ARM64.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { FUNCTIONS, type FunctionId } from '#deploy/definitions';
import { lambdaContext } from './http-adapter.ts';

const ROOT = resolve(import.meta.dirname, '..');
const STACK_NAME = 'Hashdrop';

interface TemplateResource {
  readonly Type: string;
  readonly Metadata?: Record<string, unknown>;
  readonly Properties?: { readonly Handler?: string };
}

/** `cdk synth` into `outDir`, offline, with the project's own esbuild (no Docker). */
export async function synthesizeBundles(outDir: string): Promise<Record<FunctionId, string>> {
  const env = { ...process.env };
  // Synthesis must need no account: nothing may be looked up.
  for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
  await promisify(execFile)('npx', ['cdk', 'synth', '--quiet', '--output', outDir], { cwd: ROOT, env, timeout: 180_000 });
  return bundlesIn(outDir);
}

/** Each function's bundle in a synthesized cloud assembly, found through its asset metadata. */
export function bundlesIn(outDir: string): Record<FunctionId, string> {
  const template = JSON.parse(readFileSync(join(outDir, `${STACK_NAME}.template.json`), 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
  const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
  const bundleOf = (id: FunctionId): string => {
    const resource = functions.find((fn) => fn.Metadata?.['aws:cdk:path'] === `${STACK_NAME}/${id}/Resource`);
    const asset = resource?.Metadata?.['aws:asset:path'];
    const [file, exported] = (resource?.Properties?.Handler ?? '').split('.');
    if (typeof asset !== 'string' || !file || exported !== 'handler') throw new Error(`no bundle for function ${id}`);
    const bundle = join(outDir, asset, `${file}.mjs`);
    if (!existsSync(bundle)) throw new Error(`${bundle} is missing`);
    return bundle;
  };
  return Object.fromEntries(FUNCTIONS.map(({ id }) => [id, bundleOf(id)])) as Record<FunctionId, string>;
}

export interface BundledFunction {
  invoke<R>(event: unknown): Promise<R>;
  stop(): Promise<void>;
}

interface Reply {
  readonly id?: number;
  readonly ready?: boolean;
  readonly result?: unknown;
  readonly error?: { readonly name?: string; readonly message?: string; readonly stack?: string };
}

/** Starts a function's bundle in its own worker thread with `env` as its whole environment. */
export async function startBundledFunction(
  functionName: string,
  bundle: string,
  env: Record<string, string>,
): Promise<BundledFunction> {
  const worker = new Worker(new URL('./lambda-worker.mjs', import.meta.url), {
    workerData: { bundle },
    // Only what Lambda would set: nothing of this process's environment leaks in.
    env: { ...env, NODE_OPTIONS: '--enable-source-maps' },
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const ready = new Promise<void>((resolveReady, rejectReady) => {
    worker.once('error', rejectReady);
    worker.on('message', (reply: Reply) => {
      if (reply.ready) return resolveReady();
      const call = reply.id === undefined ? undefined : pending.get(reply.id);
      if (!call || reply.id === undefined) return;
      pending.delete(reply.id);
      if (reply.error) {
        const error = new Error(reply.error.message ?? 'the function failed');
        error.name = reply.error.name ?? 'Error';
        if (reply.error.stack) error.stack = reply.error.stack;
        call.reject(error);
      } else {
        call.resolve(reply.result);
      }
    });
  });
  await ready;
  return {
    invoke<R>(event: unknown): Promise<R> {
      const id = nextId++;
      return new Promise<R>((resolveCall, rejectCall) => {
        pending.set(id, { resolve: (value) => resolveCall(value as R), reject: rejectCall });
        const {
          getRemainingTimeInMillis: _time,
          done: _done,
          fail: _fail,
          succeed: _succeed,
          ...context
        } = lambdaContext(functionName);
        worker.postMessage({ id, event, context });
      });
    },
    async stop() {
      await worker.terminate();
    },
  };
}
