/**
 * cdk-nag's AWS Solutions rules against the stack: zero findings. Every exception is an
 * acknowledgement in lib/ next to the resource it concerns, each with its reason.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { HashdropStack } from '../../lib/hashdrop-stack.ts';

interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
}

function nagFindings(props: ConstructorParameters<typeof HashdropStack>[2] = {}): string[] {
  const outdir = mkdtempSync(join(tmpdir(), 'hashdrop-nag-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    new HashdropStack(app, 'Nagged', props);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    let failure: unknown;
    try {
      app.synth();
    } catch (error) {
      failure = error;
    }
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
    const findings = report.pluginReports.flatMap((plugin) =>
      plugin.violations.map(
        (violation) => `${violation.ruleName} at ${violation.violatingConstructs.map((c) => c.constructPath).join(', ')}`,
      ),
    );
    if (failure && findings.length === 0) throw failure;
    return findings;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the stack with its own user pool', () => {
    expect(nagFindings()).toEqual([]);
  });

  it('finds nothing unacknowledged with self sign-up on, a quota and a budget of its own', () => {
    expect(nagFindings({ selfSignUp: true, defaultQuotaBytes: 1024 ** 3, requestsPerMinute: 0 })).toEqual([]);
  });

  it('finds nothing unacknowledged with the production settings of the user pool (managed login, SES)', () => {
    const oauth = { callbackUrls: ['https://files.acme-corp.net/signed-in'], domainPrefix: 'acme-files' };
    const sesEmail = { fromEmail: 'no-reply@acme-corp.net', sesRegion: 'eu-west-1' };
    expect(nagFindings({ oauth, sesEmail })).toEqual([]);
  });

  it('finds nothing unacknowledged with an external OIDC issuer', () => {
    expect(nagFindings({ jwt: { issuer: 'https://issuer.example.com', audience: ['app'] } })).toEqual([]);
  });

  it('finds nothing unacknowledged in the LocalStack variant (REST API, token authorizer, EventBridge)', () => {
    const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k' }] });
    expect(nagFindings({ api: 'rest', jwt: { issuer: 'https://issuer.example.com', audience: ['app'] }, jwks })).toEqual([]);
  });
});
