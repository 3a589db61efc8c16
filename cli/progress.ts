/**
 * Progress display for the CLI: a bar with rate and ETA on a terminal; plain lines otherwise
 * (one per percent at most), so that logs stay readable and scripts can follow along.
 */

import { formatBytes } from '#sdk/format';
import type { UploadProgress } from '#sdk/upload';

export { formatBytes };

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export function progressPrinter(sink: ProgressSink, now: () => number = Date.now) {
  let phase: string | undefined;
  let phaseStart = 0;
  let lastPercent = -1;

  const line = (label: string, done: number, total: number, extra = '') => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    const elapsed = Math.max((now() - phaseStart) / 1000, 1e-3);
    const rate = done / elapsed;
    const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    const stats = `${formatBytes(done)}/${formatBytes(total)}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}${extra}`;
    if (sink.isTTY) {
      const width = 24;
      const filled = Math.round((percent / 100) * width);
      sink.write(
        `\r${label.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent).padStart(3)}%  ${stats}\x1b[K`,
      );
    } else if (percent !== lastPercent) {
      sink.write(`${label} ${percent}% ${stats}\n`);
    }
    lastPercent = percent;
  };

  return {
    update(progress: UploadProgress): void {
      if (progress.phase !== phase) {
        if (phase && sink.isTTY) sink.write('\n');
        phase = progress.phase;
        phaseStart = now();
        lastPercent = -1;
      }
      switch (progress.phase) {
        case 'hashing':
          line('hashing', progress.bytesHashed, progress.size);
          return;
        case 'waiting':
          if (lastPercent === -1) sink.write('waiting  for another upload of the same content\n');
          lastPercent = 0;
          return;
        case 'uploading': {
          const parts = `  parts ${progress.partsDone}/${progress.partCount}`;
          const resumed = progress.bytesResumed > 0 ? `  (resumed: ${formatBytes(progress.bytesResumed)} already stored)` : '';
          line('uploading', progress.bytesSent + progress.bytesResumed, progress.size, parts + resumed);
          return;
        }
      }
    },
    end(): void {
      if (phase && sink.isTTY) sink.write('\n');
    },
  };
}
