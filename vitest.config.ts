import { defineConfig } from 'vitest/config';

/**
 * Three groups in one run: the unit group (domain on in-memory adapters, protocol, SDK pieces,
 * synthesized templates) needs no Java and runs first; the integration group starts one real
 * local stack (DynamoDB Local + S3 on loopback) and runs after it; the browser group runs the
 * built browser SDK in Chromium last.
 */
export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: integration files share one local stack and run two at a time.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/cdk/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          // Added to the root's test/setup.ts: every API response a test receives is checked against docs/openapi.yaml.
          setupFiles: ['test/setup.ts', 'test/support/contract-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // The browser SDK in Debian's Chromium (playwright-core), against a local stack of its
          // own, from a page on another loopback origin: CORS and the strict local S3 for real.
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts', 'test/browser/global-setup.ts'],
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
