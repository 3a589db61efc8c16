/**
 * How every function is bundled (esbuild), shared by the CDK functions and the cold-start
 * benchmark, so that the benchmark measures exactly what is deployed.
 */
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';

export const BUNDLING = {
  target: 'node24',
  minify: true,
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies still call require() for Node built-ins.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  /**
   * Left out of the bundle (about 100 KB of every function, a cold-start cost): the SDK's default
   * credential chain imports these lazily, and only when the environment holds no credentials.
   * Lambda always provides them in the environment, so this code never runs there.
   */
  lazyCredentialProviders: [
    '@aws-sdk/credential-provider-sso',
    '@aws-sdk/credential-provider-ini',
    '@aws-sdk/credential-provider-process',
    '@aws-sdk/credential-provider-web-identity',
    '@aws-sdk/credential-provider-http',
    '@smithy/credential-provider-imds',
  ],
  /**
   * Modules replaced at bundling time: the S3 client's event-stream codec, for an operation
   * hashdrop never calls (lib/bundling/no-event-streams.mjs). The bundle test runs the deployed
   * bundles through every S3 call hashdrop makes.
   */
  alias: {
    '@smithy/core/event-streams': join(import.meta.dirname, '..', 'bundling', 'no-event-streams.mjs'),
  },
} as const;

/** The options of esbuild's API for a function bundle (the benchmark and tests that bundle by themselves). */
export function esbuildFunctionOptions(): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLING.target,
    minify: BUNDLING.minify,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    external: [...BUNDLING.lazyCredentialProviders],
    alias: { ...BUNDLING.alias },
  };
}
