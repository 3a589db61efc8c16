/**
 * Integration setup: every response the tests receive from an API operation over fetch (the
 * SDK's calls, rawRequest, direct fetches) is checked against the OpenAPI contract, and the test
 * that received one the contract does not allow fails (test/support/contract-check.ts). Processes
 * the tests spawn (the CLI) fetch on their own and are not checked.
 */
import { afterAll, afterEach } from 'vitest';
import { checkedFetch, loadContractChecker } from './contract-check.ts';

const violations: string[] = [];
globalThis.fetch = checkedFetch(globalThis.fetch, loadContractChecker(), (violation) => violations.push(violation));

function failOnViolations(): void {
  const found = violations.splice(0);
  if (found.length > 0) throw new Error(`responses outside the OpenAPI contract (docs/openapi.yaml):\n${found.join('\n')}`);
}

afterEach(failOnViolations);
// Requests of beforeAll/afterAll hooks too.
afterAll(failOnViolations);
