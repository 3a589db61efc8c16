/** The Telemetry adapters (issue 14 point 2): what Lambda's log group and CloudWatch receive, and the readable local lines. */
import { describe, expect, it, vi } from 'vitest';
import { PowertoolsTelemetry } from '#adapters/powertools-telemetry';
import { ReadableTelemetry } from '#adapters/telemetry';

/** Every line Powertools writes (Logger: errors and warnings to stderr, the rest to stdout; Metrics: stdout), parsed. */
function captureOutput(): { readonly entries: () => Record<string, unknown>[]; readonly restore: () => void } {
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return {
    entries: () =>
      [...stdout.mock.calls, ...stderr.mock.calls]
        .flatMap(([chunk]) => String(chunk).split('\n'))
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      stdout.mockRestore();
      stderr.mockRestore();
    },
  };
}

describe('in Lambda (Powertools Logger and Metrics)', () => {
  it('writes Logger JSON lines with the request id, the user and the fields, and one EMF line per invocation', async () => {
    // What Lambda sets for an on-demand container: Powertools reports its first invocation as the cold start.
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const output = captureOutput();
    const telemetry = new PowertoolsTelemetry({ functionId: 'ObjectCreated' });
    const context = { awsRequestId: 'req-1', functionName: 'fn' } as NonNullable<Parameters<typeof telemetry.invocationOf>[0]>;
    await telemetry.invocationOf(context, async () => {
      telemetry.annotate({ user: 'alice' });
      telemetry.metric('BytesSent', 1234);
      telemetry.metric('VerificationFailures');
      telemetry.log('error', 'integrity_incident', { contentId: 'c1', objectKey: 'blobs/c1/a', reason: 'content_mismatch' });
    });
    const first = output.entries();
    const lines = first.filter((entry) => 'message' in entry).map((entry) => JSON.stringify(entry));
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'ERROR',
      message: 'integrity_incident',
      service: 'hashdrop',
      function: 'ObjectCreated',
      function_request_id: 'req-1',
      cold_start: true,
      user: 'alice',
      contentId: 'c1',
      reason: 'content_mismatch',
    });
    // The term the integrity alarm's metric filter matches (lib/constructs/monitoring.ts).
    expect(lines[0]).toContain('"integrity_incident"');
    const metrics = first.find((entry) => '_aws' in entry);
    expect(metrics).toMatchObject({ BytesSent: 1234, VerificationFailures: 1, service: 'hashdrop' });
    expect(JSON.stringify(metrics)).toContain('"Namespace":"hashdrop"');
    expect(JSON.stringify(metrics)).toContain('"Unit":"Bytes"');
    // The next invocation is warm and carries nothing of the first.
    await telemetry.invocationOf({ ...context, awsRequestId: 'req-2' }, async () => telemetry.log('info', 'next'));
    const next = output.entries().filter((entry) => entry.message === 'next');
    output.restore();
    expect(next).toHaveLength(1);
    expect(next[0]).toMatchObject({ cold_start: false, function_request_id: 'req-2', function: 'ObjectCreated' });
    expect(next[0]).not.toHaveProperty('user');
    vi.unstubAllEnvs();
  });
});

describe('locally (readable lines)', () => {
  it('prints key=value lines with the invocation fields, and keeps each concurrent invocation its own', async () => {
    const printed: string[] = [];
    const telemetry = new ReadableTelemetry({ write: (level, line) => printed.push(`${level}|${line}`) });
    await Promise.all(
      ['alice', 'bob'].map((user) =>
        telemetry.invocation({ requestId: `r-${user}` }, async () => {
          telemetry.annotate({ user });
          await new Promise((done) => setTimeout(done, user === 'alice' ? 20 : 0));
          telemetry.log('info', 'upload_requested', { contentId: 'c', status: 'upload' });
          telemetry.metric('UploadsRequested');
        }),
      ),
    );
    expect(printed).toContain('info|INFO  upload_requested contentId=c status=upload requestId=r-alice user=alice');
    expect(printed).toContain('info|INFO  upload_requested contentId=c status=upload requestId=r-bob user=bob');
    expect(printed).toContain('info|INFO  metrics UploadsRequested=1 requestId=r-bob user=bob');
    expect(telemetry.total('UploadsRequested')).toBe(2);
  });
});
