/**
 * Starts one real local stack (DynamoDB Local behind the local IAM, the strict local S3, and the handlers behind the API adapter)
 * for the whole test run, in a throw-away folder. Tests reach it over HTTP like any client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { SigningKey } from '#local/auth';
import { type LocalStackInfo, startLocalStack } from '#local/stack';

export interface ProvidedStack extends LocalStackInfo {
  readonly signingKey: SigningKey;
  /** Settings the stack runs with, so tests can reason about leases. */
  readonly attemptLeaseSeconds: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: ProvidedStack;
  }
}

/** Short enough for a test to outlive a lease, long enough not to expire mid-upload. */
const TEST_LEASE_SECONDS = 10;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The handlers run in this process; their routine logs would drown the test report.
  console.info = () => undefined;
  console.warn = () => undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'hashdrop-test-'));
  const stack = await startLocalStack({
    dataDir,
    persist: false,
    settings: { attemptLeaseSeconds: TEST_LEASE_SECONDS, uploadUrlTtlSeconds: TEST_LEASE_SECONDS - 2 },
  });
  project.provide('stack', { ...stack.info, signingKey: stack.signingKey, attemptLeaseSeconds: TEST_LEASE_SECONDS });
  return async () => {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
