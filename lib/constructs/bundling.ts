/**
 * How every function is bundled (esbuild), shared by the CDK functions and the cold-start
 * benchmark, so that the benchmark measures exactly what is deployed.
 */
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
} as const;
