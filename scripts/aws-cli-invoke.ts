/**
 * One synchronous Lambda invocation through the AWS CLI, shared by the operator scripts (failure
 * replay, user erasure): they run with the operator's own credentials, profile and region, and
 * need no SDK client beyond what the functions bundle.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs `aws <args>` with whatever region and profile options the caller adds; resolves to stdout. */
export type AwsCli = (args: string[]) => Promise<string>;

export interface CliInvocation {
  readonly statusCode: number | undefined;
  /** Lambda's `FunctionError` (`Unhandled`…): the function threw; `response` holds the error. */
  readonly functionError: string | undefined;
  /** The function's answer (or its error), as the CLI wrote it. */
  readonly response: string;
}

export async function invokeThroughCli(cli: AwsCli, functionName: string, event: unknown): Promise<CliInvocation> {
  const dir = await mkdtemp(join(tmpdir(), 'hashdrop-invoke-'));
  try {
    const payload = join(dir, 'event.json');
    const response = join(dir, 'response.json');
    await writeFile(payload, JSON.stringify(event));
    const stdout = await cli([
      'lambda',
      'invoke',
      '--function-name',
      functionName,
      '--invocation-type',
      'RequestResponse',
      // fileb: the bytes as they are (fileb needs no --cli-binary-format).
      '--payload',
      `fileb://${payload}`,
      // The CLI gives up after 60 s by default; the functions may run 15 minutes.
      '--cli-read-timeout',
      '0',
      response,
    ]);
    const result = JSON.parse(stdout) as { StatusCode?: number; FunctionError?: string };
    return {
      statusCode: result.StatusCode,
      functionError: result.FunctionError,
      response: await readFile(response, 'utf8').catch(() => ''),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
