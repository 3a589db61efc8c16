import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { POWERTOOLS_ENVIRONMENT } from '#deploy/definitions';
import { BUNDLING } from './bundling.ts';

export const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

export interface HandlerFunctionProps {
  /** Module under the project root exporting `handler`, e.g. `lambdas/create-upload.ts`. */
  readonly entry: string;
  readonly environment: Record<string, string>;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
}

/**
 * Every hashdrop function is fixed the same way here: Node.js 24 on ARM64, bundled and minified
 * by the local esbuild (no Docker), ESM with source maps, its own log group with a retention, and
 * X-Ray active tracing. Tracing is Lambda's own (a segment per invocation, with its init and
 * duration, joined to API Gateway's trace): no tracer SDK is bundled, as Powertools Tracer would
 * add about 127 KB to every bundle and CreateUpload is at 487 KB of its 500 KB budget, so calls to
 * DynamoDB and S3 do not appear as subsegments (README, Observability).
 */
export class HandlerFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id, {
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(10),
      environment: { NODE_OPTIONS: '--enable-source-maps', ...POWERTOOLS_ENVIRONMENT, ...props.environment },
      tracing: Tracing.ACTIVE,
      logGroup: new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH }),
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLING.target,
        minify: BUNDLING.minify,
        sourceMap: true,
        // The SDK is bundled, not taken from the runtime, so the presigner behaves as tested.
        externalModules: [...BUNDLING.lazyCredentialProviders],
        mainFields: [...BUNDLING.mainFields],
        banner: BUNDLING.banner,
        esbuildArgs: Object.fromEntries(Object.entries(BUNDLING.alias).map(([module, path]) => [`--alias:${module}`, path])),
      },
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing grants xray:PutTraceSegments and xray:PutTelemetryRecords, which take no resource-level permission (AWS requires "*"); no other action is granted on "*" (asserted by the template tests).',
    });
  }
}
