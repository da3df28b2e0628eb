// Preloaded (NODE_OPTIONS="--expose-gc --import ./test/faults/soak-probe.mjs") into the hub
// process under soak only; plain JS because it loads before tsx. On SIGUSR2 it forces full
// garbage collections and prints one line of memory figures, so the test compares live
// memory rather than whatever the collector happened to leave behind.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  const line = { rss: m.rss, heapUsed: m.heapUsed, external: m.external, resources: process.getActiveResourcesInfo().length };
  process.stderr.write(`SOAK-PROBE ${JSON.stringify(line)}\n`);
});
