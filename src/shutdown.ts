import type { FastifyBaseLogger } from 'fastify';

const DEADLINE_MS = 10_000;

/**
 * SIGTERM/SIGINT: close gracefully, but never hang past the deadline (an orchestrator
 * would SIGKILL us anyway, and an exit code tells it what happened).
 */
export function installShutdown(log: FastifyBaseLogger, close: () => Promise<unknown>, deadlineMs = DEADLINE_MS): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    const started = performance.now();
    const timer = setTimeout(() => {
      log.error('shutdown deadline passed, exiting');
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    close().then(
      () => {
        // How long the close took, so a slow exit shows which run it was in.
        log.info({ ms: Math.round(performance.now() - started) }, 'shut down');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
