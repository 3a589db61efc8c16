// Runs the hashdrop CLI in this process and reports its peak resident set size (KiB) on exit,
// worker threads included. On Linux it reads VmHWM: getrusage's maxrss would also count the
// pages of the parent (the benchmark process) that this process shared between fork and exec.
import { readFileSync } from 'node:fs';

function peakKiB() {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

process.on('exit', () => process.stderr.write(`MAXRSS ${peakKiB()}\n`));
await import('../dist/cli/hashdrop.js'); // built by `npm run build` (npm run bench builds first)
