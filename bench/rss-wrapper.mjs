// Runs the hashdrop CLI in this process and reports its peak resident set size (KiB) on exit,
// worker threads included.
process.on('exit', () => process.stderr.write(`MAXRSS ${process.resourceUsage().maxRSS}\n`));
await import('../client/bin.js');
