/** The CLI's progress display: a redrawn bar with rate and ETA on a terminal, plain lines in logs. */
import { describe, expect, it } from 'vitest';
import { formatBytes, progressPrinter } from '#cli/progress';
import { MiB } from '#protocol/content-id';

function recorder(isTTY: boolean) {
  const written: string[] = [];
  return { written, sink: { isTTY, write: (text: string) => written.push(text) } };
}

describe('progress printer', () => {
  it('draws one redrawn bar per phase on a terminal, with rate and ETA', () => {
    const { written, sink } = recorder(true);
    let clock = 0;
    const printer = progressPrinter(sink, () => clock);
    const size = 100 * MiB;
    printer.update({ phase: 'hashing', bytesHashed: 0, size });
    clock = 2000;
    printer.update({ phase: 'hashing', bytesHashed: 50 * MiB, size });
    printer.update({ phase: 'uploading', bytesSent: 0, bytesResumed: 20 * MiB, partsDone: 2, partCount: 10, size });
    clock = 4000;
    printer.update({ phase: 'uploading', bytesSent: 40 * MiB, bytesResumed: 20 * MiB, partsDone: 6, partCount: 10, size });
    printer.end();

    const halfway = written[1] ?? '';
    expect(halfway.startsWith('\r')).toBe(true);
    expect(halfway).toContain('[############............]  50%');
    expect(halfway).toContain('25.0 MiB/s'); // 50 MiB in 2 s
    expect(halfway).toContain('ETA 0:02'); // 50 MiB left at 25 MiB/s
    expect(written[2]).toBe('\n'); // a new phase starts on its own line
    const last = written.at(-2) ?? '';
    expect(last).toContain(' 60%');
    expect(last).toContain('parts 6/10');
    expect(last).toContain('resumed: 20.0 MiB already stored');
    expect(written.at(-1)).toBe('\n');
  });

  it('writes plain lines, at most one per percent, when output is not a terminal', () => {
    const { written, sink } = recorder(false);
    const printer = progressPrinter(sink, () => 1000);
    const size = 1000;
    for (let sent = 0; sent <= size; sent += 1) {
      printer.update({ phase: 'uploading', bytesSent: sent, bytesResumed: 0, partsDone: 0, partCount: 1, size });
    }
    expect(written).toHaveLength(101);
    expect(written.every((line) => line.endsWith('\n') && !line.includes('\r') && !line.includes('\x1b'))).toBe(true);
    expect(written[0]).toMatch(/^uploading 0% /);
    expect(written.at(-1)).toMatch(/^uploading 100% 1000 B\/1000 B/);
  });

  it('formats sizes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(10 * 1024 ** 4)).toBe('10.0 TiB');
  });
});
