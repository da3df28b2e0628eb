import { pino, type LoggerOptions } from 'pino';
import { ConfigError, loadConfig } from '../src/config.js';
import { loggerOptions } from '../src/logger.js';
import { installShutdown } from '../src/shutdown.js';
import { startWorkers } from './start.js';

/**
 * `npm run worker`: one worker process. SIGTERM stops taking jobs and lets running ones finish
 * within the shutdown deadline; past it the process exits, and the jobs it held are picked up
 * again by another worker's stalled-job check, as after a crash.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = pino(loggerOptions(config) as LoggerOptions);
  const workers = await startWorkers(config, { log });
  installShutdown(log, () => workers.close());
  log.info({ concurrency: config.WORKER_CONCURRENCY }, 'worker ready');
}

main().catch((err: unknown) => {
  const line = err instanceof ConfigError ? err.message : `worker failed to start: ${(err as Error).message ?? String(err)}`;
  process.stderr.write(`${line}\n`);
  process.exit(1);
});
