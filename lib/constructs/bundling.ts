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
} as const;
